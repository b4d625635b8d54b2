package eioserver

import "time"

// Clock is the time source of a [Server]: every heartbeat, upgrade and close
// timer is created through it, so that unit tests can drive timers without
// sleeping. Read and write deadlines on network connections always use real
// time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a fake clock, from
	// whatever advances time) once d has elapsed, like [time.AfterFunc].
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer created by a [Clock].
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
	// Reset re-arms the timer to fire d from now, whether or not it has
	// already fired or been stopped, like [time.Timer.Reset].
	Reset(d time.Duration) bool
}

// realClock is the Clock used when Options.Clock is nil.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
