//go:build !race

package sioserver

// raceEnabled reports whether the tests run under the race detector, whose
// instrumentation makes every stack frame larger.
const raceEnabled = false
