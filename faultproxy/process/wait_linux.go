package process

import (
	"syscall"
	"unsafe"
)

// canSweep reports whether waitExited leaves the process unreaped, so that
// its process group id cannot be reused while the group is swept.
const canSweep = true

// waitExited blocks until the process pid has exited, without reaping it
// (waitid with WNOWAIT): the zombie keeps its pid and process group id
// reserved until [exec.Cmd.Wait] reaps it.
func waitExited(pid int) error {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return e
		}
	}
}
