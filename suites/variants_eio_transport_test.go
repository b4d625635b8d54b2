package suites

// eioTransportVariants are broken variants of the reference fixtures for one family of
// rules (see variants_sets_test.go).
func eioTransportVariants() []variant {
	return nil
}

// eioTransportNoVariant lists the family's rules that no broken variant can
// break black-box, each with the reason.
func eioTransportNoVariant() map[string]string {
	return nil
}
