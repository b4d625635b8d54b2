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
// The suite is Ginkgo specs through suites/framework like every other
// suite: [Register] declares one spec per CLU-* requirement (labels
// req:ID, level:, proto:CLUSTER, area:cluster, role:server), and
// suites.RunCluster runs them after [Preflight], one after another (they
// share the cluster), into the standard reports. Windows derive from the
// largest pingInterval and pingTimeout the nodes advertise, times
// --time-scale: a cross-node effect must show within pingInterval plus
// grace. A spec that cannot set itself up (a client that cannot connect,
// an unanswered fixture event) ends as a harness error, never as a
// conformance failure. The transcript of a spec records its clients'
// emits, acks, events and disconnections at the Socket.IO level, and the
// raw HTTP requests of CLU-LB-01.
//
// The CLU-FAULT specs stop and restart the cluster's Redis through
// [Config.Redis]; [StartRedis] provides one (redis-server on a free
// loopback port, no persistence). Without it they are unsupported, with
// the reason in the report. The CLU-LB specs start their own faultproxy
// balancer over the node URLs; given one URL (a balancer) they are
// unsupported.
package cluster
