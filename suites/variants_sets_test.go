package suites

// allVariantSets returns the broken variants of every family but the
// first (brokenVariants appends them to its own): one family per file,
// each a function declared in that file. Adding a family is one line here.
func allVariantSets() []variant {
	var out []variant
	for _, set := range []func() []variant{
		sioSilenceVariants,   // variants_sio_test.go
		sessionEndVariants,   // variants_eio_test.go
		eioHandshakeVariants, // variants_eio_hs_test.go
		eioTransportVariants, // variants_eio_transport_test.go
		sioConnectVariants,   // variants_sio_connect_test.go
		sioPacketVariants,    // variants_sio_packet_test.go
		contractVariants,     // variants_contract_test.go
	} {
		out = append(out, set()...)
	}
	return out
}

// noVariantSets returns, by requirement ID, the server-binding MUST and
// SHOULD rules for which no broken variant can exist black-box, each with
// the reason; each family file declares its own map.
func noVariantSets() map[string]string {
	out := map[string]string{}
	for _, set := range []func() map[string]string{
		eioHandshakeNoVariant,
		eioTransportNoVariant,
		sioConnectNoVariant,
		sioPacketNoVariant,
		contractNoVariant,
	} {
		for id, why := range set() {
			out[id] = why
		}
	}
	return out
}
