package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nodeCase is one entry of a testdata/node/*.json file (see
// testdata/node/README.md): an encode case (Packet + Encoded) or a decode
// error case (Input + Error).
type nodeCase struct {
	ID      string            `json:"id"`
	Version int               `json:"version"`
	Name    string            `json:"name"`
	Packet  *nodePacket       `json:"packet"`
	Encode  []json.RawMessage `json:"encoded"`
	Input   []json.RawMessage `json:"input"`
	Error   string            `json:"error"`
}

type nodePacket struct {
	Type        int             `json:"type"`
	Nsp         string          `json:"nsp"`
	Query       string          `json:"query"`
	ID          *uint64         `json:"id"`
	Data        json.RawMessage `json:"data"`
	Attachments int             `json:"attachments"`
}

// nodePart is a text message or a binary one ({"base64": ...}).
type nodePart struct {
	text   []byte
	binary []byte
	isBin  bool
}

func parseNodeParts(t testing.TB, raw []json.RawMessage) []nodePart {
	t.Helper()
	var parts []nodePart
	for _, r := range raw {
		if len(r) > 0 && r[0] == '"' {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				t.Fatalf("part %s: %v", r, err)
			}
			parts = append(parts, nodePart{text: []byte(s)})
			continue
		}
		var b struct {
			Base64 *string `json:"base64"`
		}
		if err := json.Unmarshal(r, &b); err != nil || b.Base64 == nil {
			t.Fatalf("part %s: want a string or {\"base64\":...}", r)
		}
		bin, err := base64.StdEncoding.DecodeString(*b.Base64)
		if err != nil {
			t.Fatalf("part %s: %v", r, err)
		}
		parts = append(parts, nodePart{binary: bin, isBin: true})
	}
	return parts
}

func loadNodeCases(t testing.TB) []nodeCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "node", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no testdata/node/*.json yet: generate them with testees/node (see testdata/node/README.md)")
	}
	var all []nodeCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []nodeCase
		if err := json.Unmarshal(b, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(cases) == 0 {
			t.Fatalf("%s: no cases", f)
		}
		if strings.Contains(filepath.Base(f), "-v4") {
			for i := range cases {
				if cases[i].Version == 0 {
					cases[i].Version = 4
				}
			}
		}
		all = append(all, cases...)
	}
	return all
}

// markersToBinary replaces {"$binary": base64} objects by []byte.
func markersToBinary(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		for i := range x {
			var err error
			if x[i], err = markersToBinary(x[i]); err != nil {
				return nil, err
			}
		}
		return x, nil
	case Object:
		if len(x) == 1 && x[0].Key == "$binary" {
			s, ok := x[0].Value.(string)
			if !ok {
				return nil, errors.New("$binary marker is not a string")
			}
			return base64.StdEncoding.DecodeString(s)
		}
		for i := range x {
			var err error
			if x[i].Value, err = markersToBinary(x[i].Value); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	return v, nil
}

// buildNodePacket builds in Go the packet Node was given.
func buildNodePacket(t *testing.T, np *nodePacket) Packet {
	t.Helper()
	var value any
	if np.Data != nil {
		v, err := ParseJSON(np.Data)
		if err != nil {
			t.Fatalf("packet data: %v", err)
		}
		if value, err = markersToBinary(v); err != nil {
			t.Fatalf("packet data: %v", err)
		}
	}
	p, err := NewPacket(PacketType(np.Type), np.Nsp, value)
	if err != nil {
		t.Fatalf("NewPacket: %v", err)
	}
	if np.ID != nil {
		p = p.WithID(*np.ID)
	}
	p.Query = np.Query
	return p
}

// reassembleAll feeds parts to a fresh Reassembler and returns the complete
// packets, or the first error with the index of the part that caused it.
func reassembleAll(d Decoder, parts []nodePart) ([]Packet, int, error) {
	r := Reassembler{Decoder: d}
	var out []Packet
	for i, part := range parts {
		var p Packet
		var done bool
		var err error
		if part.isBin {
			p, done, err = r.AddBinary(part.binary)
		} else {
			p, done, err = r.AddText(part.text)
		}
		if err != nil {
			return out, i, err
		}
		if done {
			out = append(out, p)
		}
	}
	if r.Waiting() != 0 {
		return out, len(parts), errors.New("still waiting for attachments at the end")
	}
	return out, -1, nil
}

func samePacket(a, b Packet) bool { return a.Equal(b) }

// nodeSentinels maps socket.io-parser's error messages to the sentinels our
// decoder may report for the same input.
func nodeSentinels(msg string) []error {
	switch {
	case msg == "invalid payload":
		return []error{ErrPayload, ErrInvalidJSON, ErrAckID, ErrNamespace}
	case strings.HasPrefix(msg, "unknown packet type"):
		return []error{ErrUnknownType}
	case msg == "Illegal attachments":
		return []error{ErrAttachments}
	case msg == "too many attachments":
		return []error{ErrTooManyAttachments}
	case msg == "illegal attachments":
		return []error{ErrPlaceholder}
	case msg == "got plaintext data when reconstructing a packet":
		return []error{ErrUnexpectedText}
	case msg == "got binary data when not reconstructing a packet":
		return []error{ErrUnexpectedBinary}
	}
	return nil
}

// TestNodeVectors checks byte identity with socket.io-parser: every packet
// Node encoded is built here from the same description and must encode to
// the same bytes and attachments, and Node's output must decode back to it;
// every input Node's decoder rejected must be rejected here with a matching
// sentinel.
func TestNodeVectors(t *testing.T) {
	cases := loadNodeCases(t)
	var nEnc, nErr int
	for _, c := range cases {
		t.Run(c.ID+"/"+c.Name, func(t *testing.T) {
			switch {
			case c.Packet != nil:
				nEnc++
				testNodeEncode(t, c)
			case c.Input != nil:
				nErr++
				testNodeError(t, c)
			default:
				t.Fatalf("case has neither packet nor input")
			}
		})
	}
	t.Logf("%d encode cases, %d decode-error cases", nEnc, nErr)
}

// codecs returns the strict Decoder and Encoder for the case's version.
func (c nodeCase) codecs() (Decoder, Encoder) {
	v := Version(c.Version)
	return Decoder{Version: v}, Encoder{Version: v}
}

func testNodeEncode(t *testing.T, c nodeCase) {
	dec, enc := c.codecs()
	want := parseNodeParts(t, c.Encode)
	if len(want) == 0 || want[0].isBin {
		t.Fatalf("encoded must start with the text packet")
	}
	p := buildNodePacket(t, c.Packet)

	text, bins, err := enc.Encode(p)
	if err != nil {
		// The strict encoder may refuse only what the strict decoder
		// refuses too.
		if _, _, derr := reassembleAll(dec, want); derr == nil {
			t.Fatalf("strict encoder refused a packet the decoder accepts: %v", err)
		}
		enc.AllowIllegal = true
		text, bins, err = enc.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(text) != string(want[0].text) {
		t.Errorf("text:\n got %s\nwant %s", text, want[0].text)
	}
	if len(bins) != len(want)-1 {
		t.Fatalf("got %d attachments, want %d", len(bins), len(want)-1)
	}
	for i, b := range bins {
		if !want[i+1].isBin || !bytes.Equal(b, want[i+1].binary) {
			t.Errorf("attachment %d: got %x, want %x", i, b, want[i+1].binary)
		}
	}

	got, _, err := reassembleAll(dec, want)
	if err != nil {
		t.Fatalf("decode Node's output: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("decoded %d packets, want 1", len(got))
	}
	if !samePacket(got[0], p) {
		t.Errorf("decoded:\n got %v\nwant %v", got[0], p)
	}
	// The values survive too.
	gv, err := got[0].Value()
	if err != nil {
		t.Fatal(err)
	}
	wv, err := p.Value()
	if err != nil {
		t.Fatal(err)
	}
	ge, _, _ := Deconstruct(gv)
	we, _, _ := Deconstruct(wv)
	if !bytes.Equal(ge, we) {
		t.Errorf("values differ: %s vs %s", ge, we)
	}
}

func testNodeError(t *testing.T, c nodeCase) {
	dec, _ := c.codecs()
	parts := parseNodeParts(t, c.Input)
	_, at, err := reassembleAll(dec, parts)
	if err == nil {
		t.Fatalf("accepted input Node rejects with %q", c.Error)
	}
	sentinels := nodeSentinels(c.Error)
	if sentinels == nil {
		t.Fatalf("unknown Node error %q (ours: %v)", c.Error, err)
	}
	ok := false
	for _, s := range sentinels {
		ok = ok || errors.Is(err, s)
	}
	if !ok {
		t.Errorf("part %d: got %v, want one of %v (Node: %q)", at, err, sentinels, c.Error)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Errorf("error %T is not a *DecodeError", err)
	}
}
