package interop

import (
	"fmt"
	"slices"
	"strings"

	"github.com/siospec/siospec/protocol/engineio"
)

// Visibility is how much of a cell's Engine.IO traffic the proxy's tap
// decoded and attributed to a session (matrix.json cells[].visibility).
type Visibility struct {
	// Sessions is how many Engine.IO sessions (sids) the tap saw.
	Sessions int `json:"sessions"`
	// FullyDecoded is how many of them were fully visible: their open
	// packet seen, every unit decoded, no unattributed traffic that may be
	// theirs.
	FullyDecoded int `json:"fully_decoded"`
	// Unattributed counts units (packets or undecoded units) the tap could
	// not attribute to a session.
	Unattributed int `json:"unattributed,omitempty"`
	// Partial lists what was not visible, per partially visible session
	// (SID "" for traffic of no known session).
	Partial []SessionGap `json:"partial,omitempty"`
}

// SessionGap says what was not visible of one session.
type SessionGap struct {
	SID string `json:"sid"`
	// Undecoded is how many units of the session were not decoded, and
	// Bytes how many bytes they held (as far as the tap knew).
	Undecoded int `json:"undecoded"`
	Bytes     int `json:"bytes"`
	// Why lists the distinct reasons (at most 5).
	Why []string `json:"why"`
}

// partial reports whether any traffic was not fully visible.
func (v Visibility) partial() bool { return len(v.Partial) > 0 }

// why explains partial evidence in one phrase ("" when everything was
// visible).
func (v Visibility) why() string {
	if !v.partial() {
		return ""
	}
	g := v.Partial[0]
	who := "session " + g.SID
	if g.SID == "" {
		who = "traffic of no known session"
	}
	more := ""
	if len(v.Partial) > 1 {
		more = fmt.Sprintf(" (and %d more partially visible)", len(v.Partial)-1)
	}
	return fmt.Sprintf("the tap saw %d of %d sessions whole; %s: %s%s", v.FullyDecoded, v.Sessions, who, strings.Join(g.Why, "; "), more)
}

// String is the one-line form for the HTML cell detail.
func (v *Visibility) String() string {
	if v == nil {
		return ""
	}
	s := fmt.Sprintf("%d Engine.IO session(s) seen, %d fully decoded", v.Sessions, v.FullyDecoded)
	if v.Unattributed > 0 {
		s += fmt.Sprintf(", %d unit(s) of no known session", v.Unattributed)
	}
	return s
}

// session is the traffic of one Engine.IO session, in recorded order.
type session struct {
	sid   string
	pkts  []wirePacket
	conns map[uint64]bool
	gap   SessionGap // what was not visible; empty Why: fully visible
}

func (s *session) partial() bool { return len(s.gap.Why) > 0 }

func (s *session) because(why string) {
	if len(s.gap.Why) < 5 && !slices.Contains(s.gap.Why, why) {
		s.gap.Why = append(s.gap.Why, why)
	}
}

// splitSessions groups the recorded traffic by Engine.IO session and says
// which sessions are partially visible:
//   - a session with a unit the tap did not decode;
//   - a session whose open packet was not seen (its start is missing);
//   - a session that used a connection on which the tap saw traffic it
//     could not attribute (that traffic may be the session's);
//   - every session, when traffic of no known session came on a connection
//     that carried no known session (it may be any session's).
//
// Traffic of no known session is itself a partially visible pseudo-session
// (SID ""), never judged by the per-session rules.
func splitSessions(pkts []wirePacket) ([]*session, Visibility) {
	var order []*session
	bySID := map[string]*session{}
	connSIDs := map[uint64][]*session{}
	var stray []wirePacket // traffic of no known session
	for _, p := range pkts {
		if p.SID == "" {
			stray = append(stray, p)
			continue
		}
		s := bySID[p.SID]
		if s == nil {
			s = &session{sid: p.SID, conns: map[uint64]bool{}, gap: SessionGap{SID: p.SID}}
			bySID[p.SID] = s
			order = append(order, s)
		}
		s.pkts = append(s.pkts, p)
		if !s.conns[p.Conn] {
			s.conns[p.Conn] = true
			connSIDs[p.Conn] = append(connSIDs[p.Conn], s)
		}
		if p.undecoded() {
			s.gap.Undecoded++
			s.gap.Bytes += p.Undecoded
			s.because(fmt.Sprintf("%s on conn %d: %s", dirName(p.Up), p.Conn, p.Why))
		}
	}
	for _, s := range order {
		if !slices.ContainsFunc(s.pkts, func(p wirePacket) bool { return !p.undecoded() && !p.Up && p.Type == engineio.Open }) {
			s.because("its open packet was not seen")
		}
	}
	vis := Visibility{Sessions: len(order), Unattributed: len(stray)}
	if len(stray) > 0 {
		g := SessionGap{}
		for _, p := range stray {
			why := p.Why
			if !p.undecoded() {
				why = "packets of no known session"
			} else {
				g.Undecoded++
				g.Bytes += p.Undecoded
			}
			why = fmt.Sprintf("%s on conn %d: %s", dirName(p.Up), p.Conn, why)
			if len(g.Why) < 5 && !slices.Contains(g.Why, why) {
				g.Why = append(g.Why, why)
			}
			taint := connSIDs[p.Conn]
			if len(taint) == 0 {
				taint = order
			}
			for _, s := range taint {
				s.because(fmt.Sprintf("conn %d carried traffic of no known session", p.Conn))
			}
		}
		vis.Partial = append(vis.Partial, g)
	}
	for _, s := range order {
		if s.partial() {
			vis.Partial = append(vis.Partial, s.gap)
		} else {
			vis.FullyDecoded++
		}
	}
	// Sessions before the stray traffic's entry read better.
	if len(stray) > 0 {
		vis.Partial = append(vis.Partial[1:], vis.Partial[0])
	}
	return order, vis
}

func dirName(up bool) string {
	if up {
		return "C→S"
	}
	return "S→C"
}
