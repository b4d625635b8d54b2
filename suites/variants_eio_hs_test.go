package suites

// eioHandshakeVariants are broken variants of the reference fixtures for one family of
// rules (see variants_sets_test.go).
func eioHandshakeVariants() []variant {
	return nil
}

// eioHandshakeNoVariant lists the family's rules that no broken variant can
// break black-box, each with the reason.
func eioHandshakeNoVariant() map[string]string {
	return nil
}
