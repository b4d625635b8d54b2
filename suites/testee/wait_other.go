//go:build !linux

package testee

import "errors"

// canSweep is false where the exit cannot be observed without reaping: the
// group of a leader that exited by itself is then not killed, since its id
// could already belong to another group.
const canSweep = false

func waitExited(int) error { return errors.ErrUnsupported }

// groupAlive cannot tell here; Stop then goes by the leader alone.
func groupAlive(int) bool { return false }
