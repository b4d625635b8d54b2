package testee

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/sioclient"
)

// netEvent is the event of the net suite's sequenced streams (the stream
// command, testees/CLIENT-CONTRACT.md).
const netEvent = "net:seq"

// nowMillis is the "t" field of the net reports: milliseconds since the
// Unix epoch.
func nowMillis() int64 { return time.Now().UnixMilli() }

// netReceived reports one event of the server's stream and acks it with
// its seq when asked; an offset the server appends (connection state
// recovery) is ignored.
func (s *sioRun) netReceived(nsp string, args []any, ack sioclient.AckFunc) {
	var seq, dir any
	if len(args) > 0 {
		if o, ok := args[0].(socketio.Object); ok {
			seq, _ = o.Get("seq")
			dir, _ = o.Get("dir")
		}
	}
	bin := false
	for _, a := range args[min(1, len(args)):] {
		if _, ok := a.([]byte); ok {
			bin = true
		}
	}
	s.out.report("net_recv", "nsp", nsp, "seq", seq, "dir", dir, "bin", bin, "t", nowMillis())
	if ack != nil {
		if err := ack(seq); err != nil {
			s.out.report("error", "message", "ack of "+netEvent+": "+err.Error())
		}
	}
}

// whole reads a whole number field of c that is at least 0 (def when
// absent).
func whole(c command, key string, def int) (int, bool) {
	v, ok := c.obj.Get(key)
	if !ok {
		return def, true
	}
	f, isNum := v.(float64)
	if !isNum || f < 0 || f > 1<<31 || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

// stream carries out the stream command: count sequenced events, one
// every interval_ms (seq from 0; the events with seq % k == k-1 for
// ack_every and binary_every k carry an ack request and a 4-byte big-endian
// seq as a binary attachment), emitted whatever the connection state (sioclient
// buffers while disconnected); the command is confirmed at once and the
// end reported as stream_done.
func (s *sioRun) stream(sc sioCommand, nsp string, fail func(ev, msg string)) {
	c := sc.cmd
	so := s.lookup(nsp)
	if so == nil {
		fail("error", "no socket for namespace "+nsp)
		return
	}
	count, ok1 := whole(c, "count", 0)
	interval, ok2 := whole(c, "interval_ms", 0)
	ackEvery, ok3 := whole(c, "ack_every", 0)
	binEvery, ok4 := whole(c, "binary_every", 0)
	timeout, ok5 := whole(c, "timeout_ms", 0)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		fail("error", "bad stream: count, interval_ms, ack_every, binary_every and timeout_ms must be whole numbers")
		return
	}
	event, ok := c.str("event")
	if !ok || event == "" {
		event = netEvent
	}
	s.done(c)
	ackOK(sc.ack)
	s.goFn(func() {
		t := time.NewTimer(0)
		defer t.Stop()
		for n := range count {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
			}
			s.streamOne(so, nsp, event, n, ackEvery > 0 && n%ackEvery == ackEvery-1, binEvery > 0 && n%binEvery == binEvery-1, time.Duration(timeout)*time.Millisecond)
			t.Reset(time.Duration(interval) * time.Millisecond)
		}
		s.out.report("stream_done", "nsp", nsp, "tag", c.tag, "count", count, "t", nowMillis())
	})
}

// streamOne emits event number n of a stream and, with an ack, reports the
// ack or its failure when it comes.
func (s *sioRun) streamOne(so *sioclient.Socket, nsp, event string, n int, withAck, bin bool, timeout time.Duration) {
	args := []any{socketio.Object{{Key: "seq", Value: n}, {Key: "dir", Value: "up"}}}
	if bin {
		args = append(args, binary.BigEndian.AppendUint32(nil, uint32(n)))
	}
	s.out.report("net_sent", "nsp", nsp, "seq", n, "ack", withAck, "bin", bin, "connected", so.Connected(), "t", nowMillis())
	failed := func(err error) {
		s.out.report("net_ack_error", "nsp", nsp, "seq", n, "message", err.Error(), "t", nowMillis())
	}
	if !withAck {
		if err := so.Emit(s.ctx, event, args...); err != nil {
			s.out.report("error", "message", "stream emit "+strconv.Itoa(n)+": "+err.Error())
		}
		return
	}
	em := so.Timeout(timeout)
	var wait func() (sioclient.Message, error)
	var err error
	if timeout > 0 {
		wait, err = em.EmitWithAckAsync(s.ctx, event, args...)
	} else {
		wait, err = so.EmitWithAckAsync(s.ctx, event, args...)
	}
	if err != nil {
		failed(err)
		return
	}
	s.goFn(func() {
		msg, err := wait()
		if err != nil {
			if s.ctx.Err() == nil {
				failed(err)
			}
			return
		}
		vals, err := msg.Values()
		if err != nil {
			failed(err)
			return
		}
		if vals == nil {
			vals = []any{}
		}
		s.out.report("net_ack", "nsp", nsp, "seq", n, "args", vals, "t", nowMillis())
	})
}
