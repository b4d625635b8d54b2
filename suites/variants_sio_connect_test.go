package suites

// sioConnectVariants are broken variants of the reference fixtures for one family of
// rules (see variants_sets_test.go).
func sioConnectVariants() []variant {
	return nil
}

// sioConnectNoVariant lists the family's rules that no broken variant can
// break black-box, each with the reason.
func sioConnectNoVariant() map[string]string {
	return nil
}
