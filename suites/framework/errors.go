package framework

import (
	"errors"
	"fmt"
	"net/http"

	g "github.com/onsi/ginkgo/v2"

	"github.com/siospec/siospec/reports"
)

// HarnessPrefix starts the failure message of a harness error, which the
// reports never count against the target (REPORT-CONTRACT.md).
const HarnessPrefix = reports.HarnessErrorPrefix + " "

// HarnessError is a failure of siospec itself (a local dial failing, a
// fixture not starting), not of the target.
type HarnessError struct {
	Op  string
	Err error
}

func (e *HarnessError) Error() string { return fmt.Sprintf("%s%s: %v", HarnessPrefix, e.Op, e.Err) }

// Unwrap returns the cause.
func (e *HarnessError) Unwrap() error { return e.Err }

// StatusError reports an HTTP status other than the one a helper needed.
type StatusError struct {
	Op     string
	Status int
	Body   []byte
}

func (e *StatusError) Error() string {
	body := e.Body
	if len(body) > 120 {
		body = body[:120]
	}
	return fmt.Sprintf("%s: HTTP %d %s: %q", e.Op, e.Status, http.StatusText(e.Status), body)
}

// ErrClosed is returned by WSConn reads once the connection is closed and
// every recorded frame was consumed; the *CloseError wrapping it tells how.
var ErrClosed = errors.New("websocket closed")

// CloseError describes how a WebSocket ended: Code is the close status from
// the peer's close frame (1005 when it had none, 1006 for an abnormal end).
type CloseError struct {
	Code int
	Text string
	Err  error
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket closed: code %d %q (%v)", e.Code, e.Text, e.Err)
}

// Unwrap lets errors.Is(err, ErrClosed) match.
func (e *CloseError) Unwrap() error { return ErrClosed }

// FailIfHarness fails the running spec as a harness error (a failure
// message starting "harness-error:", never counted against the target)
// when err is or wraps a *HarnessError. Other errors are left to the spec.
func FailIfHarness(err error) {
	var he *HarnessError
	if errors.As(err, &he) {
		g.GinkgoHelper()
		g.Fail(he.Error())
	}
}
