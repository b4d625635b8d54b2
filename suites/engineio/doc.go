// Package engineio holds siospec's Engine.IO server conformance specs, v4
// and v3. Register declares them in the Ginkgo tree of the calling test or
// runner; every spec checks one requirement of docs/requirements.md
// (its ID ends the spec text and is its req: label) against a black-box
// server reached with the raw client of package framework.
//
// The v4 specs carry proto:EIO4, the v3 specs proto:EIO3; a runner selects
// the revision under test with a label filter.
package engineio
