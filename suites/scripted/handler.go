package scripted

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// handler answers one HTTP request.
type handler struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	req      *Request
	gen      chan struct{}
	tooLarge bool
}

// respond writes a complete answer and records it.
func (h *handler) respond(status int, ctype string, body []byte) {
	hd := h.w.Header()
	if ctype != "" {
		hd.Set("Content-Type", ctype)
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	h.w.WriteHeader(status)
	_, _ = h.w.Write(body)
	sum := strconv.Itoa(status)
	if ctype != "" {
		sum += " " + ctype
	}
	sum += " " + strconv.Itoa(len(body)) + "B"
	h.s.rec.Add(h.req.Conn, dirS2C, kindHTTPResponse, sum, body)
	h.s.finish(h.req, status)
}

// fail answers with an Engine.IO error body.
func (h *handler) fail(code engineio.ErrorCode) {
	e := engineio.NewHTTPError(code)
	h.respond(e.Status(), "application/json", e.AppendJSON(nil))
}

// abort drops the connection without an answer.
func (h *handler) abort(why string) {
	h.s.rec.Add(h.req.Conn, dirLocal, kindTCPClose, why, nil)
	h.s.finish(h.req, 0)
	h.s.abort(h.w)
}

func (h *handler) route() {
	s := h.s
	p := h.r.URL.Path
	if p != s.opts.Path && p != strings.TrimSuffix(s.opts.Path, "/") {
		h.respond(http.StatusNotFound, "text/plain; charset=utf-8", []byte("404 page not found\n"))
		return
	}
	q := url.Values(h.req.Query)
	transport := q.Get("transport")
	if transport != "polling" && transport != "websocket" {
		h.fail(engineio.CodeTransportUnknown)
		return
	}
	if transport == "websocket" && !h.req.Upgrade {
		h.fail(engineio.CodeBadRequest)
		return
	}
	if sid := q.Get("sid"); sid != "" {
		s.mu.Lock()
		ss := s.sessions[sid]
		gone := ss == nil || (ss.ended && len(ss.out) == 0)
		s.mu.Unlock()
		if gone {
			h.fail(engineio.CodeUnknownSID)
			return
		}
		if h.req.Upgrade {
			h.upgrade(ss)
			return
		}
		switch h.r.Method {
		case http.MethodGet:
			h.poll(ss)
		case http.MethodPost:
			h.post(ss)
		default:
			h.fail(engineio.CodeBadRequest)
		}
		return
	}
	if h.r.Method != http.MethodGet {
		h.fail(engineio.CodeBadHandshakeMethod)
		return
	}
	if q.Get("EIO") != strconv.Itoa(s.opts.EIO) {
		h.fail(engineio.CodeUnsupportedProtocolVersion)
		return
	}
	if h.req.Upgrade {
		h.websocketHandshake()
		return
	}
	ss, open := s.newSession(h.req, nil)
	pl, ctype, err := ss.encodeBatch(h.req.Conn, []outItem{{pkt: open}})
	if err != nil {
		s.log.Error("encode open packet", "err", err)
	}
	h.respond(http.StatusOK, ctype, pl)
	s.mu.Lock()
	s.announceLocked(ss)
	s.mu.Unlock()
}

// contentType of polling responses.
const (
	textPlain   = "text/plain; charset=UTF-8"
	octetStream = "application/octet-stream"
)

// poll answers a polling GET: it long-polls until something is queued.
func (h *handler) poll(ss *Session) {
	s := h.s
	s.mu.Lock()
	if ss.transport != "polling" {
		s.mu.Unlock()
		h.fail(engineio.CodeBadRequest)
		return
	}
	if ss.getActive {
		s.mu.Unlock()
		s.rec.Note("overlapping GET on " + ss.id + ": answered 400, session closed")
		h.fail(engineio.CodeBadRequest)
		s.mu.Lock()
		ss.endLocked("transport error", endClosePacket)
		s.mu.Unlock()
		return
	}
	ss.getActive = true
	defer func() {
		s.mu.Lock()
		ss.getActive = false
		s.mu.Unlock()
	}()
	ctx := h.r.Context()
	var noop *time.Timer
	for {
		if s.stopped {
			s.mu.Unlock()
			h.abort("server stopped")
			return
		}
		if ss.ended && ss.action == endAbort {
			s.mu.Unlock()
			h.abort("transport closed by the server")
			return
		}
		if ss.ended && ss.action == endUnknownSID {
			s.mu.Unlock()
			h.fail(engineio.CodeUnknownSID)
			return
		}
		if !ss.silent {
			switch {
			case ss.ended && len(ss.out) == 0:
				act := ss.action
				s.mu.Unlock()
				if act == endNoop {
					h.sendBatch(ss, []outItem{{pkt: engineio.Packet{Type: engineio.Noop}}})
				} else {
					h.sendBatch(ss, []outItem{{pkt: engineio.Packet{Type: engineio.Close}}})
				}
				return
			case ss.upgrading && s.opts.PollDuringUpgrade && len(ss.out) > 0:
				items := ss.takeBatchLocked()
				s.mu.Unlock()
				h.sendBatch(ss, items)
				return
			case ss.upgrading && s.opts.PollDuringUpgrade && noop == nil:
				// Node's server: a GET with nothing to carry during the
				// upgrade gets a noop within 100 ms.
				noop = time.NewTimer(upgradeNoopAfter)
				defer noop.Stop()
			case ss.upgrading && s.opts.PollDuringUpgrade:
			case ss.upgrading || ss.transport != "polling":
				s.mu.Unlock()
				s.rec.Note("GET during the upgrade answered with noop")
				h.sendBatch(ss, []outItem{{pkt: engineio.Packet{Type: engineio.Noop}}})
				return
			case len(ss.out) > 0:
				items := ss.takeBatchLocked()
				s.mu.Unlock()
				h.sendBatch(ss, items)
				return
			}
		}
		ch := ss.changed
		s.mu.Unlock()
		var noopC <-chan time.Time
		if noop != nil {
			noopC = noop.C
		}
		select {
		case <-noopC:
			s.rec.Note("GET during the upgrade answered with noop after " + upgradeNoopAfter.String())
			h.sendBatch(ss, []outItem{{pkt: engineio.Packet{Type: engineio.Noop}}})
			return
		case <-ch:
		case <-h.gen:
		case <-ctx.Done():
			s.rec.Add(h.req.Conn, dirLocal, kindTCPClose, "client went away during the GET", nil)
			s.finish(h.req, 0)
			return
		}
		s.mu.Lock()
	}
}

// upgradeNoopAfter is how long a GET with nothing to carry waits during an
// upgrade with Options.PollDuringUpgrade (Node's check interval).
const upgradeNoopAfter = 100 * time.Millisecond

// sendBatch answers a GET with items (all packets, or one raw body).
func (h *handler) sendBatch(ss *Session, items []outItem) {
	body, ctype, err := ss.encodeBatch(h.req.Conn, items)
	if err != nil {
		h.s.log.Error("encode payload", "sid", ss.id, "err", err)
		h.respond(http.StatusInternalServerError, "text/plain", []byte(err.Error()))
		return
	}
	h.respond(http.StatusOK, ctype, body)
}

// post reads a polling POST.
func (h *handler) post(ss *Session) {
	s := h.s
	s.mu.Lock()
	if ss.transport != "polling" {
		s.mu.Unlock()
		h.fail(engineio.CodeBadRequest)
		return
	}
	if ss.ended {
		s.mu.Unlock()
		h.fail(engineio.CodeUnknownSID)
		return
	}
	if ss.postActive {
		s.mu.Unlock()
		s.rec.Note("overlapping POST on " + ss.id + ": answered 400, session closed")
		h.fail(engineio.CodeBadRequest)
		s.mu.Lock()
		ss.endLocked("transport error", endClosePacket)
		s.mu.Unlock()
		return
	}
	ss.postActive = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		ss.postActive = false
		s.mu.Unlock()
	}()
	if h.tooLarge {
		s.rec.Note("POST body above maxPayload: 413")
		h.respond(http.StatusRequestEntityTooLarge, "text/plain", nil)
		return
	}
	body := h.req.Body
	handle := func(p engineio.Packet) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ss.ended {
			return errStop
		}
		ss.receiveLocked(p, "polling", h.req.Conn)
		ss.handleLocked(p)
		return nil
	}
	var err error
	switch {
	case ss.version == engineio.V4:
		err = engineio.ParsePayload(body, handle)
	case strings.HasPrefix(h.r.Header.Get("Content-Type"), octetStream):
		err = engineio.ParseBinaryPayloadV3(body, handle)
	default:
		err = engineio.ParsePayloadV3(body, handle)
	}
	if err != nil && err != errStop {
		s.rec.Note("POST payload does not decode (" + err.Error() + "): session closed")
		s.mu.Lock()
		ss.endLocked("parse error", endClosePacket)
		s.mu.Unlock()
	}
	h.respond(http.StatusOK, "text/html", []byte("ok"))
}
