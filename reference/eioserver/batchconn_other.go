//go:build !unix

package eioserver

import (
	"errors"
	"net"
	"syscall"
)

// rawReadConn returns nil: off Unix, batchConn reads through the
// connection itself (Read's direct and read-ahead path).
func rawReadConn(net.Conn) syscall.RawConn { return nil }

// readRaw is never called off Unix (rawReadConn gives no raw connection).
func (c *batchConn) readRaw([]byte) (int, error) { return 0, errors.ErrUnsupported }
