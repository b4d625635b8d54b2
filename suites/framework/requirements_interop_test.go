package framework

import (
	"slices"
	"testing"
)

// TestInteropRows: the interop matrix's rows are found by Lookup and
// listed by Interop, not by All (the suites' requirements), and IOP is no
// selectable suite.
func TestInteropRows(t *testing.T) {
	reg := Requirements()
	var ids []string
	for _, r := range reg.Interop() {
		ids = append(ids, r.ID)
		if r.Proto != IOP || r.Bind != BindBoth || r.Level != MUST || r.Summary == "" {
			t.Errorf("%s: %+v", r.ID, r)
		}
		if got, ok := reg.Lookup(r.ID); !ok || got != r {
			t.Errorf("Lookup(%s) = %+v, %v", r.ID, got, ok)
		}
	}
	if !slices.Equal(ids, []string{"IOP-DELIV-01", "IOP-RUN-01", "IOP-RUN-02"}) {
		t.Errorf("Interop() = %v", ids)
	}
	for _, r := range reg.All() {
		if r.Proto == IOP {
			t.Errorf("All() lists %s", r.ID)
		}
	}
	if slices.Contains(SelectableSuites, IOP) {
		t.Error("IOP is a selectable suite")
	}
}
