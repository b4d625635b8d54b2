package cluster

import "github.com/siospec/siospec/reference/redisadapter"

// BrokenAdapter is a Go reference adapter broken on purpose (a
// redisadapter.Fault) and the requirements whose specs a cluster of three
// Go nodes on it must fail, and only those (the cluster suite's proof,
// TestCluster). The suites' kill matrix counts these requirements as
// killed by a variant.
type BrokenAdapter struct {
	Name  string
	Fault redisadapter.Fault
	// CrashOnRedisLoss: instead of a Fault, the first node dies when the
	// cluster's Redis is stopped (as a node that crashes when its adapter
	// loses Redis); only the CLU-FAULT specs run on it.
	CrashOnRedisLoss bool
	// Fails lists the requirement IDs, sorted. Without CrashOnRedisLoss
	// the balancer specs (which do not involve the adapter) and the Redis
	// fault specs are not run.
	Fails []string
}

// BrokenAdapters returns the broken adapters of the proof.
func BrokenAdapters() []BrokenAdapter {
	return []BrokenAdapter{
		{Name: "drop-broadcasts", Fault: redisadapter.FaultDropBroadcasts, Fails: []string{"CLU-ACK-01", "CLU-BC-01", "CLU-BC-02", "CLU-BC-03", "CLU-BC-04"}},
		{Name: "lose-rooms", Fault: redisadapter.FaultLoseRooms, Fails: []string{"CLU-BC-02", "CLU-JOIN-01", "CLU-JOIN-02"}},
		{Name: "crash-on-redis-loss", CrashOnRedisLoss: true, Fails: []string{"CLU-FAULT-01", "CLU-FAULT-02", "CLU-FAULT-03"}},
	}
}
