# Shared by the bad testees: honour the contract's probe (exit 127 for a
# case the harness's list does not name), so that the run reaches the
# misbehaviour under test.
listed() {
  [ -n "$SIOSPEC_CASES" ] && grep -qx "$SIOSPEC_SUITE $SIOSPEC_CASE" "$SIOSPEC_CASES"
}
listed || exit 127
