// Package cluster is the cluster suite (issue 15): what the nodes of a
// multi-node Socket.IO deployment do together when they share rooms and
// broadcasts through an adapter (@socket.io/redis-adapter 8.3.0 or the Go
// reference's redisadapter), judged against the CLU-* requirements of
// suites/framework (requirements_cluster.go).
//
// The suite drives the nodes through the cluster part of the extended
// fixture contract (testees/node/CONTRACT.md): ext:cluster-info,
// ext:cluster-broadcast, ext:fetch-sockets, ext:sockets-join,
// ext:sockets-leave, ext:disconnect-sockets, ext:server-side-emit and
// ext:broadcast-ack, plus ext:join / ext:info of the extended contract.
// Clients use the Go reference client (reference/sioclient), WebSocket
// only unless a spec is about polling; they are spread over the given URLs
// and kept on distinct nodes by the node names ext:cluster-info reports,
// so one load-balancer URL works as well as one URL per node (the CLU-LB
// specs, which start their own faultproxy balancer, need node URLs).
//
// The CLU-FAULT specs stop and restart the cluster's Redis through
// [RedisControl]; [StartRedis] provides one (redis-server on a free
// loopback port, no persistence). Without it they are skipped.
//
// The suite has its own small runner ([Run]), one spec after another (the
// specs share the cluster), not Ginkgo: its verdicts are [Result] values.
package cluster
