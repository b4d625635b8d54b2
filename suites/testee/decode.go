package testee

import (
	"encoding/json"
	"fmt"
)

// Decode unmarshals field k of the report into v; it fails when the field
// is absent or does not fit v.
func (r Report) Decode(k string, v any) error {
	raw, ok := r.Fields[k]
	if !ok {
		return fmt.Errorf("testee: report %q has no field %q", r.Ev, k)
	}
	return json.Unmarshal(raw, v)
}
