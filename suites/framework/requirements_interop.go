package framework

// IOP is the proto value of the interop matrix's own requirements
// (interopCatalogue). No suite checks them, so it is not in
// SelectableSuites: `siospec matrix` and `siospec certify` judge them on
// what two implementations did together (package interop, docs/matrix.md).
const IOP Proto = "IOP"

// interopCatalogue lists the requirements the interop matrix judges of a
// pair of implementations, client and server, beyond the protocol and
// network rows it also names. They bind both sides: a cell charges each
// failure to the side that broke it, or to the pair when the evidence
// cannot tell. They are in the registry for Lookup and listed by
// Registry.Interop, not by Registry.All, which lists what the suites check.
var interopCatalogue = []Requirement{
	req("IOP-DELIV-01", BindBoth, MUST, IOP, "interop", "With nothing between client and server, every event of the workload is delivered exactly once and in order in both directions, and every requested ack is answered once.", "P,I"),
	req("IOP-RUN-01", BindBoth, MUST, IOP, "interop", "Each implementation starts, connects to its peer and carries the workload.", "I"),
	req("IOP-RUN-02", BindBoth, MUST, IOP, "interop", "Each implementation stays up until the workload ends: neither peer exits early.", "I"),
}
