package faultproxy

import "time"

// Slicer splits each chunk into pieces of AverageSize ± SizeVariation bytes
// (uniform, at least 1) and waits Delay between pieces: parser fragmentation.
// Toxiproxy type "slicer", attributes "average_size", "size_variation"
// (bytes) and "delay" (µs).
type Slicer struct {
	Name          string    // default "slicer_<direction>"
	Direction     Direction // default Downstream
	Scope         Scope
	AverageSize   int           // bytes, >= 1
	SizeVariation int           // bytes, 0 <= SizeVariation < AverageSize
	Delay         time.Duration // pause between pieces, >= 0
}

// Type implements Fault.
func (Slicer) Type() string { return "slicer" }

// Validate implements Fault.
func (f Slicer) Validate() error {
	if err := validateCommon(f.Type(), f.Direction, f.Scope); err != nil {
		return err
	}
	if f.AverageSize < 1 {
		return &FieldError{Fault: f.Type(), Field: "AverageSize", Attr: "average_size", Reason: "must be at least 1"}
	}
	if f.SizeVariation < 0 || f.SizeVariation >= f.AverageSize {
		return &FieldError{Fault: f.Type(), Field: "SizeVariation", Attr: "size_variation", Reason: "must be in [0, average_size)"}
	}
	return nonNeg(f.Type(), "Delay", "delay", int64(f.Delay))
}

func (f Slicer) meta() faultMeta { return faultMeta{f.Name, f.Direction, f.Scope, levelStream} }

type slicerB struct{ f Slicer }

func (b *slicerB) process(in *instance, ck chunk, next emitFunc) error {
	var sizes []int
	for rest := len(ck.data); rest > 0; {
		n := b.f.AverageSize
		if v := b.f.SizeVariation; v > 0 {
			n += in.rng.IntN(2*v+1) - v
		}
		n = min(max(n, 1), rest)
		sizes = append(sizes, n)
		rest -= n
	}
	in.decide("slice", formatSizes(len(ck.data), sizes))
	data := ck.data
	for i, n := range sizes {
		if i > 0 && b.f.Delay > 0 {
			ok, err := in.wait(time.Now().Add(b.f.Delay))
			if err != nil {
				return err
			}
			if !ok {
				return next(chunk{data: data, at: ck.at, buf: ck.buf})
			}
		}
		if err := next(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// slicerKind registers Slicer (see registry.go).
var slicerKind = faultKind{
	typ: "slicer", goType: "Slicer", level: "stream", where: "stream",
	toxiproxy: true, stream: "downstream",
	summary: "`average_size` bytes, `size_variation` bytes, `delay` µs",
	attrs:   []AttrSpec{{"average_size", "bytes", "average piece size"}, {"size_variation", "bytes", "uniform ± variation"}, {"delay", "µs", "pause between pieces"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return Slicer{Name: name, Direction: dir, Scope: sc, AverageSize: int(a.int("average_size")), SizeVariation: int(a.int("size_variation")), Delay: a.dur("delay", time.Microsecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(Slicer)
		attrs["average_size"], attrs["size_variation"], attrs["delay"] = f.AverageSize, f.SizeVariation, f.Delay.Microseconds()
	},
	behaviour: func(x Fault) behaviour { return &slicerB{f: x.(Slicer)} },
}
