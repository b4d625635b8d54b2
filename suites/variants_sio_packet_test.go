package suites

// sioPacketVariants are broken variants of the reference fixtures for one family of
// rules (see variants_sets_test.go).
func sioPacketVariants() []variant {
	return nil
}

// sioPacketNoVariant lists the family's rules that no broken variant can
// break black-box, each with the reason.
func sioPacketNoVariant() map[string]string {
	return nil
}
