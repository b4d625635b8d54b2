package interop

// Emitted is a requirement ID the matrix can name in a cell's failures,
// with the sides it can be charged to (SideClient, SideServer, SidePair).
type Emitted struct {
	ID    string
	Sides []string
}

// RequirementIDs lists every requirement ID a cell can fail, with the
// sides it can be charged to: the interop IDs, the delivery requirements of
// the profiles, the load-balancer checks and the wire judge's rules. Every
// one must be in siospec's requirement registry, with a binding that covers
// its sides (a "pair" failure needs a rule that binds both); a test of
// cmd/siospec checks that, and a test here that every ID literal of the
// package is listed.
func RequirementIDs() []Emitted {
	all := []string{SideClient, SideServer, SidePair}
	both := []string{SideClient, SideServer}
	out := []Emitted{
		{IDDelivery, all},
		{IDStart, all},
		{IDCrash, both},
		{"NET-LB-01", []string{SideServer}},
		{IDCrashReconnect, []string{SideClient}},
		{IDHalfOpenReconnect, []string{SideClient}},
		{"SIO-ACK-01", all},
		{"EIO-HB-01", []string{SideServer}},
		{"EIO-HB-02", []string{SideClient}},
		{"EIO-HB-07", both},
		{"EIO3-02", both},
		{"EIO-PKT-04", both},
		{"SIO-ENC-01", both},
		{"SIO-BIN-02", both},
	}
	seen := map[string]bool{}
	for _, id := range deliveryID {
		if id == IDDelivery || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, Emitted{id, all})
	}
	return out
}
