package socketio

import (
	"context"
	"errors"
	"fmt"

	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

// ProbeError says why the extended-contract probe could not decide.
type ProbeError struct {
	// Step is what the probe was doing: "open", "connect", "probe".
	Step string
	Err  error
}

func (e *ProbeError) Error() string { return fmt.Sprintf("ext:hello probe: %s: %v", e.Step, e.Err) }

// Unwrap returns the cause.
func (e *ProbeError) Unwrap() error { return e.Err }

// ProbeExtended asks the Socket.IO server of cfg once, for the preflight,
// whether it implements the siospec extended contract: it opens a polling
// session (Socket.IO v4 over Engine.IO v3 when cfg.EIO is 3, else v5),
// joins "/", sends ext:hello with an ack id and right after it a
// message-with-ack. Packets are handled in order, so the ack of
// ext:hello arriving first means yes, the other ack first (or no ack
// within the reply window, pingInterval+pingTimeout scaled plus grace)
// means no. The whole probe takes at most three reply windows. cfg.Target must hold the Engine.IO preflight's findings (for
// the window). A session that cannot open or join "/", or that ends,
// returns framework.ExtendedUnknown and a *ProbeError. The session is
// closed politely before ProbeExtended returns.
func ProbeExtended(ctx context.Context, cfg *framework.Config) (framework.Extended, error) {
	rec := framework.NewRecorder()
	c, err := framework.NewClient(cfg, rec)
	if err != nil {
		return framework.ExtendedUnknown, &ProbeError{Step: "open", Err: err}
	}
	defer c.Close()
	e := framework.NewEnv(cfg, rec, c, cfg.Timing())
	w := replyWindow(e)
	// Three exchanges (open, connect, ext:hello), each within the reply
	// window, bound the whole probe.
	ctx, cancel := context.WithTimeout(ctx, 3*w.Max)
	defer cancel()
	v := sio.V5
	if cfg.EIO == 3 {
		v = sio.V4
	}
	s, err := OpenSession(ctx, e, framework.Polling, &OpenOptions{Version: v})
	if err != nil {
		return framework.ExtendedUnknown, &ProbeError{Step: "open", Err: err}
	}
	defer s.Close()
	defer func() {
		// Leave "/" and the session, so that no socket of the probe is
		// left for the specs' broadcasts to find.
		_ = s.Send(ctx, sio.NewDisconnect("/"))
		_ = s.SendEIO(ctx, engineio.TextPacket(engineio.Close, ""))
	}()
	read := func() (sio.Packet, error) {
		rctx, cancel := context.WithTimeout(ctx, w.Max)
		defer cancel()
		return s.Next(rctx)
	}
	if v == sio.V5 {
		conn, _ := sio.NewConnect("/", nil)
		if err := s.Send(ctx, conn); err != nil {
			return framework.ExtendedUnknown, &ProbeError{Step: "connect", Err: err}
		}
	}
	for joined := false; !joined; {
		if ctx.Err() != nil {
			return framework.ExtendedUnknown, &ProbeError{Step: "connect", Err: fmt.Errorf("no CONNECT reply for / within %v: %w", 3*w.Max, ctx.Err())}
		}
		p, err := read()
		if err != nil {
			return framework.ExtendedUnknown, &ProbeError{Step: "connect", Err: fmt.Errorf("no CONNECT reply for / within %v: %w", w.Max, err)}
		}
		switch {
		case p.Type == sio.Connect && p.Namespace() == "/":
			joined = true
		case p.Type == sio.ConnectError:
			return framework.ExtendedUnknown, &ProbeError{Step: "connect", Err: fmt.Errorf("CONNECT to / refused: %s", p)}
		}
	}
	hello, probe := s.AckID(), s.AckID()
	h, _ := sio.NewEvent("/", "ext:hello")
	m, _ := sio.NewEvent("/", "message-with-ack", "siospec-ext-probe")
	if err := s.Send(ctx, h.WithID(hello)); err != nil {
		return framework.ExtendedUnknown, &ProbeError{Step: "probe", Err: err}
	}
	if err := s.Send(ctx, m.WithID(probe)); err != nil {
		return framework.ExtendedUnknown, &ProbeError{Step: "probe", Err: err}
	}
	for ctx.Err() == nil {
		p, err := read()
		switch {
		case err == nil:
		case errors.Is(err, ErrEnded):
			return framework.ExtendedUnknown, &ProbeError{Step: "probe", Err: err}
		case ctx.Err() != nil:
			return framework.ExtendedUnknown, &ProbeError{Step: "probe", Err: fmt.Errorf("no answer within %v: %w", 3*w.Max, ctx.Err())}
		case errors.Is(err, context.DeadlineExceeded):
			// Neither ack within the reply window.
			return framework.ExtendedNo, nil
		default:
			continue // a message that did not decode: not an answer
		}
		if p.Type != sio.Ack || !p.HasID || p.Namespace() != "/" {
			continue
		}
		switch p.ID {
		case hello:
			return framework.ExtendedYes, nil
		case probe:
			return framework.ExtendedNo, nil
		}
	}
	return framework.ExtendedUnknown, &ProbeError{Step: "probe", Err: fmt.Errorf("no ack within %v: %w", 3*w.Max, ctx.Err())}
}
