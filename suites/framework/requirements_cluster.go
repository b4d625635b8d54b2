package framework

// clusterCatalogue lists the cluster requirements (issue 15): what the
// nodes of a multi-node Socket.IO deployment (nodes sharing rooms and
// broadcasts through an adapter such as @socket.io/redis-adapter 8.3.0)
// do together, judged by suites/cluster through the cluster part of the
// extended fixture contract (testees/node/CONTRACT.md). They are Socket.IO
// v5 rules of area "cluster". The CLU-FAULT rows were measured on three
// Node nodes first (socket.io 4.8.4, redis-adapter 8.3.0, redis 4.7.1):
// with Redis killed no node crashed, each node kept delivering to its own
// sockets, and cross-node delivery came back within a second of Redis
// restarting on the same port. Under load, though, a broadcast whose
// PUBLISH races Redis going away is rejected (EPIPE) and redis-adapter
// 8.3.0 leaves the rejection unhandled: under Node's default
// --unhandled-rejections=throw the node dies, which CLU-FAULT-01 reports
// (docs/cluster.md); the proofs run Node nodes with warn.
var clusterCatalogue = []Requirement{
	// The rows are Socket.IO v5 rules (proto SIO5 in the registry); their
	// specs carry the label proto:CLUSTER, the suite that checks them.
	req("CLU-BC-01", s, MUST, SIO5, "cluster", "A broadcast to the whole namespace from one node reaches the sockets of every node of the cluster.", "N"),
	req("CLU-BC-02", s, MUST, SIO5, "cluster", "A broadcast to a room from one node reaches the sockets in that room on every node, and no other socket.", "N"),
	req("CLU-BC-03", s, MUST, SIO5, "cluster", "A broadcast with an exception room leaves out the sockets in that room on every node.", "N"),
	req("CLU-BC-04", s, MUST, SIO5, "cluster", "Binary arguments of a cross-node broadcast arrive intact as attachments on every node.", "N"),
	req("CLU-ROOM-01", s, MUST, SIO5, "cluster", "A room a socket joined on one node is seen from every other node (fetchSockets by room lists it with the room).", "N"),
	req("CLU-JOIN-01", s, MUST, SIO5, "cluster", "socketsJoin issued on one node makes the selected sockets of every node join the rooms.", "N"),
	req("CLU-JOIN-02", s, MUST, SIO5, "cluster", "socketsLeave issued on one node makes the selected sockets of every node leave the rooms.", "N"),
	req("CLU-DISC-01", s, MUST, SIO5, "cluster", "disconnectSockets issued on one node disconnects the selected sockets of every node, and only them.", "N"),
	req("CLU-FETCH-01", s, MUST, SIO5, "cluster", "fetchSockets issued on any node returns the selected sockets of every node, each once, with their rooms.", "N"),
	req("CLU-SSE-01", s, MUST, SIO5, "cluster", "serverSideEmit with an acknowledgement reaches every other node once and collects one answer from each.", "N"),
	req("CLU-ACK-01", s, MUST, SIO5, "cluster", "A broadcast with acknowledgements collects the answer of every selected socket of every node.", "N"),
	req("CLU-LB-01", s, MUST, SIO5, "cluster", "Behind a round-robin balancer without stickiness, a polling request that reaches a node that does not hold the session gets HTTP 400 with {\"code\":1,\"message\":\"Session ID unknown\"}.", "N,I"),
	req("CLU-LB-02", s, MUST, SIO5, "cluster", "Behind a balancer sticky by sid or by cookie, a polling client connects, joins and exchanges events as with one node.", "N,I"),
	req("CLU-LB-03", s, MUST, SIO5, "cluster", "A WebSocket-only client works behind a round-robin balancer with or without stickiness.", "N,I"),
	req("CLU-FAULT-01", s, MUST, SIO5, "cluster", "When the adapter's Redis goes away, no node crashes: every node keeps answering its connected sockets.", "N"),
	req("CLU-FAULT-02", s, MUST, SIO5, "cluster", "While the adapter's Redis is away, a node keeps delivering broadcasts to its own sockets.", "N"),
	req("CLU-FAULT-03", s, MUST, SIO5, "cluster", "Once the adapter's Redis is back, cross-node delivery resumes without restarting any node.", "N"),
}

// CLUSTER is the proto: label of the cluster suite's specs (suites/cluster)
// and its name in --suite cluster and in expected-failure files. The
// requirements they check are Socket.IO v5 rules (Proto SIO5, area
// "cluster"). Like NET it is not in AllSuites: a cluster run needs the
// nodes of a cluster (--cluster URLs, or --server-cmd with --nodes).
const CLUSTER Proto = "CLUSTER"

// ClusterRequirements returns the cluster requirements (CLU-*), in
// catalogue order.
func ClusterRequirements() []Requirement { return append([]Requirement(nil), clusterCatalogue...) }
