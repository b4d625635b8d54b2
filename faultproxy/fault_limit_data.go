package faultproxy

import "fmt"

// LimitData forwards exactly Bytes bytes in its direction (counted from
// activation), then closes the connection normally.
// Toxiproxy type "limit_data", attribute "bytes".
type LimitData struct {
	Name      string    // default "limit_data_<direction>"
	Direction Direction // default Downstream
	Scope     Scope
	Bytes     int64 // >= 0
}

// Type implements Fault.
func (LimitData) Type() string { return "limit_data" }

// Validate implements Fault.
func (f LimitData) Validate() error {
	if err := validateCommon(f.Type(), f.Direction, f.Scope); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Bytes", "bytes", f.Bytes)
}

func (f LimitData) meta() faultMeta { return faultMeta{f.Name, f.Direction, f.Scope, levelStream} }

type limitB struct {
	f    LimitData
	sent int64
}

func (b *limitB) process(in *instance, ck chunk, next emitFunc) error {
	left := b.f.Bytes - b.sent
	data := ck.data
	if int64(len(data)) > left {
		data = data[:left]
	}
	if len(data) > 0 {
		if err := next(chunk{data: data, at: ck.at, buf: ck.buf}); err != nil {
			return err
		}
		b.sent += int64(len(data))
	}
	if b.sent >= b.f.Bytes {
		in.decide("close", fmt.Sprintf("limit of %d bytes reached", b.f.Bytes))
		in.c.abort(CloseFIN)
		return errAborted
	}
	return nil
}

// limitDataKind registers LimitData (see registry.go).
var limitDataKind = faultKind{
	typ: "limit_data", goType: "LimitData", level: "stream", where: "stream",
	toxiproxy: true, stream: "downstream",
	summary: "`bytes`",
	attrs:   []AttrSpec{{"bytes", "bytes", "bytes to forward before closing"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return LimitData{Name: name, Direction: dir, Scope: sc, Bytes: a.int("bytes")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(LimitData)
		attrs["bytes"] = f.Bytes
	},
	behaviour: func(x Fault) behaviour { return &limitB{f: x.(LimitData)} },
}
