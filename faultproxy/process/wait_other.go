//go:build !linux

package process

import "errors"

// canSweep is false where the exit cannot be observed without reaping: the
// group is then not swept after the leader exits, since its id could be
// reused.
const canSweep = false

func waitExited(int) error { return errors.ErrUnsupported }
