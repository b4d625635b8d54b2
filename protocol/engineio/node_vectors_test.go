package engineio_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// The files under testdata/node are written by testees/node/vectors/gen-engineio.js
// from Node's engine.io-parser; their format is in testdata/node/README.md.

type nodePacket struct {
	Type   string  `json:"type"`
	Data   *string `json:"data"`
	Binary *string `json:"binary"`
}

type nodeCase struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Kind          string          `json:"kind"`
	Base64Session bool            `json:"base64session"`
	Packets       []nodePacket    `json:"packets"`
	Encoded       json.RawMessage `json:"encoded"`
}

// wire returns the encoded bytes and whether Node produced bytes (a binary
// frame or an octet-stream body) rather than a string.
func (c nodeCase) wire(t *testing.T) ([]byte, bool) {
	t.Helper()
	var s string
	if err := json.Unmarshal(c.Encoded, &s); err == nil {
		return []byte(s), false
	}
	var b struct {
		Base64 *string `json:"base64"`
	}
	if err := json.Unmarshal(c.Encoded, &b); err != nil || b.Base64 == nil {
		t.Fatalf("%s %q: encoded is neither a string nor {\"base64\":...}: %s", c.ID, c.Name, c.Encoded)
	}
	raw, err := base64.StdEncoding.DecodeString(*b.Base64)
	if err != nil {
		t.Fatalf("%s %q: %v", c.ID, c.Name, err)
	}
	return raw, true
}

func (c nodeCase) packets(t *testing.T) []engineio.Packet {
	t.Helper()
	pkts := []engineio.Packet{}
	for _, np := range c.Packets {
		typ, err := packetType(np.Type)
		if err != nil || !typ.Valid() {
			t.Fatalf("%s %q: packet type %q", c.ID, c.Name, np.Type)
		}
		p := engineio.Packet{Type: typ}
		switch {
		case np.Binary != nil:
			raw, err := base64.StdEncoding.DecodeString(*np.Binary)
			if err != nil {
				t.Fatalf("%s %q: %v", c.ID, c.Name, err)
			}
			p.Data, p.Binary = raw, true
		case np.Data != nil:
			p.Data = []byte(*np.Data)
		}
		pkts = append(pkts, p)
	}
	return pkts
}

func loadNodeCases(t *testing.T, name string) []nodeCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "node", name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("testdata/node/%s is absent: run `cd testees/node && npm ci && npm run vectors` to generate Node's vectors", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	var cases []nodeCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("testdata/node/%s: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("testdata/node/%s holds no cases", name)
	}
	return cases
}

func collectPayload(parse func([]byte, func(engineio.Packet) error) error, b []byte) ([]engineio.Packet, error) {
	pkts := []engineio.Packet{}
	err := parse(b, func(p engineio.Packet) error { pkts = append(pkts, p); return nil })
	return pkts, err
}

// TestNodeVectorsV4 requires our v4 encoders to write exactly the bytes
// engine.io-parser 5.x writes, and our decoders to read them back to the
// same packets.
func TestNodeVectorsV4(t *testing.T) {
	for _, c := range loadNodeCases(t, "engineio-v4.json") {
		t.Run(c.ID+"/"+c.Name, func(t *testing.T) {
			wire, isBytes := c.wire(t)
			pkts := c.packets(t)
			switch {
			case c.Kind == "packet" && !c.Base64Session:
				// WebSocket framing.
				got, bin, err := engineio.AppendFrame(nil, engineio.V4, pkts[0])
				if err != nil || bin != isBytes || !bytes.Equal(got, wire) {
					t.Fatalf("AppendFrame = %q binary=%v, %v; Node wrote %q binary=%v", got, bin, err, wire, isBytes)
				}
				p, err := engineio.ParseFrame(engineio.V4, isBytes, wire)
				if err != nil || !p.Equal(pkts[0]) {
					t.Fatalf("ParseFrame(%q) = %v, %v; want %v", wire, p, err, pkts[0])
				}
			case c.Kind == "packet":
				got, err := engineio.AppendText(nil, engineio.V4, pkts[0])
				if err != nil || isBytes || !bytes.Equal(got, wire) {
					t.Fatalf("AppendText = %q, %v; Node wrote %q", got, err, wire)
				}
				p, err := engineio.ParseText(engineio.V4, wire)
				if err != nil || !p.Equal(pkts[0]) {
					t.Fatalf("ParseText(%q) = %v, %v; want %v", wire, p, err, pkts[0])
				}
			case c.Kind == "payload" && c.ID == "EIO-POLL-19":
				// Node joins a message holding 0x1E unescaped; our strict
				// encoder refuses, AllowIllegal writes Node's bytes, and both
				// decoders split it into more packets.
				if _, err := engineio.AppendPayload(nil, pkts); !errors.Is(err, engineio.ErrSeparatorInText) {
					t.Fatalf("strict AppendPayload error = %v, want ErrSeparatorInText", err)
				}
				got, err := engineio.Encoder{AllowIllegal: true}.AppendPayload(nil, pkts)
				if err != nil || !bytes.Equal(got, wire) {
					t.Fatalf("AllowIllegal AppendPayload = %q, %v; Node wrote %q", got, err, wire)
				}
				dec, err := collectPayload(engineio.ParsePayload, wire)
				want := []engineio.Packet{engineio.TextPacket(engineio.Message, "a"), engineio.TextPacket(engineio.Message, "b"), engineio.TextPacket(engineio.Message, "c")}
				if err != nil || !samePackets(dec, want) {
					t.Fatalf("ParsePayload(%q) = %v, %v; want %v", wire, dec, err, want)
				}
			case c.Kind == "payload":
				got, err := engineio.AppendPayload(nil, pkts)
				if err != nil || isBytes || !bytes.Equal(got, wire) {
					t.Fatalf("AppendPayload = %q, %v; Node wrote %q", got, err, wire)
				}
				dec, err := collectPayload(engineio.ParsePayload, wire)
				if err != nil || !samePackets(dec, pkts) {
					t.Fatalf("ParsePayload(%q) = %v, %v; want %v", wire, dec, err, pkts)
				}
			default:
				t.Fatalf("unknown case kind %q", c.Kind)
			}
			checkNodeOpen(t, pkts, engineio.V4)
		})
	}
}

// TestNodeVectorsV3 does the same for engine.io-parser 2.x (protocol v3).
func TestNodeVectorsV3(t *testing.T) {
	for _, c := range loadNodeCases(t, "engineio-v3.json") {
		t.Run(c.ID+"/"+c.Name, func(t *testing.T) {
			wire, isBytes := c.wire(t)
			pkts := c.packets(t)
			// xhr is whether the body is the XHR2 binary payload.
			xhr := c.Kind == "payload-binary" || (c.Kind == "payload" && !c.Base64Session && engineio.HasBinary(pkts))
			switch {
			case c.Kind == "packet" && !c.Base64Session:
				got, bin, err := engineio.AppendFrame(nil, engineio.V3, pkts[0])
				if err != nil || bin != isBytes || !bytes.Equal(got, wire) {
					t.Fatalf("AppendFrame = %q binary=%v, %v; Node wrote %q binary=%v", got, bin, err, wire, isBytes)
				}
				p, err := engineio.ParseFrame(engineio.V3, isBytes, wire)
				if err != nil || !p.Equal(pkts[0]) {
					t.Fatalf("ParseFrame(%q) = %v, %v; want %v", wire, p, err, pkts[0])
				}
			case c.Kind == "packet":
				got, err := engineio.AppendText(nil, engineio.V3, pkts[0])
				if err != nil || isBytes || !bytes.Equal(got, wire) {
					t.Fatalf("AppendText = %q, %v; Node wrote %q", got, err, wire)
				}
				p, err := engineio.ParseText(engineio.V3, wire)
				if err != nil || !p.Equal(pkts[0]) {
					t.Fatalf("ParseText(%q) = %v, %v; want %v", wire, p, err, pkts[0])
				}
			case xhr:
				if !isBytes {
					t.Fatalf("Node wrote a string where an XHR2 binary payload was expected")
				}
				got, err := engineio.AppendBinaryPayloadV3(nil, pkts)
				if err != nil || !bytes.Equal(got, wire) {
					t.Fatalf("AppendBinaryPayloadV3 = %x, %v; Node wrote %x", got, err, wire)
				}
				dec, err := collectPayload(engineio.ParseBinaryPayloadV3, wire)
				if len(wire) == 0 {
					// Node's decoder yields nothing for an empty body; ours
					// is strict and refuses it (EIO3-10).
					if !errors.Is(err, engineio.ErrEmptyPayload) {
						t.Fatalf("ParseBinaryPayloadV3(empty) error = %v, want ErrEmptyPayload", err)
					}
					return
				}
				if err != nil || !samePackets(dec, pkts) {
					t.Fatalf("ParseBinaryPayloadV3(%x) = %v, %v; want %v", wire, dec, err, pkts)
				}
			case c.Kind == "payload":
				got, err := engineio.AppendPayloadV3(nil, pkts)
				if err != nil || isBytes || !bytes.Equal(got, wire) {
					t.Fatalf("AppendPayloadV3 = %q, %v; Node wrote %q", got, err, wire)
				}
				dec, err := collectPayload(engineio.ParsePayloadV3, wire)
				if err != nil || !samePackets(dec, pkts) {
					t.Fatalf("ParsePayloadV3(%q) = %v, %v; want %v", wire, dec, err, pkts)
				}
			default:
				t.Fatalf("unknown case kind %q", c.Kind)
			}
			checkNodeOpen(t, pkts, engineio.V3)
		})
	}
}

// checkNodeOpen requires that the open packet data Node's vectors carry
// parses and is written back byte for byte (EIO-HS-02, EIO3-08).
func checkNodeOpen(t *testing.T, pkts []engineio.Packet, v engineio.Version) {
	t.Helper()
	for _, p := range pkts {
		if p.Type != engineio.Open || len(p.Data) == 0 {
			continue
		}
		o, err := engineio.ParseOpen(p.Data)
		if err != nil {
			t.Fatalf("ParseOpen(%s): %v", p.Data, err)
		}
		if v == engineio.V3 != o.OmitMaxPayload {
			t.Fatalf("ParseOpen(%s): OmitMaxPayload = %v in v%d", p.Data, o.OmitMaxPayload, v)
		}
		if got := o.AppendJSON(nil); !bytes.Equal(got, p.Data) {
			t.Fatalf("AppendJSON = %s, Node wrote %s", got, p.Data)
		}
	}
}

// TestNodeVectorsUpToDate re-runs the generator into a temporary copy of
// the tree and requires the committed files to equal its output, so that
// the vectors cannot drift from the pinned parsers. It needs node and
// testees/node/node_modules (npm ci); otherwise it is skipped.
func TestNodeVectorsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node; skipped with -short")
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	modules := filepath.Join(root, "testees", "node", "node_modules")
	if st, err := os.Stat(modules); err != nil || !st.IsDir() {
		t.Skip("testees/node/node_modules is absent: run `cd testees/node && npm ci`")
	}
	srcDir := filepath.Join(root, "testees", "node", "vectors")
	scripts, err := filepath.Glob(filepath.Join(srcDir, "*.js"))
	if err != nil || len(scripts) == 0 {
		t.Skipf("no generator scripts in %s", srcDir)
	}
	if _, err := os.Stat(filepath.Join(srcDir, "gen-engineio.js")); err != nil {
		t.Skip("testees/node/vectors/gen-engineio.js is absent")
	}

	// The generator writes relative to the module root it finds from its
	// own location (../../..), so a copy of it under a temporary root
	// writes there, and the real node_modules is reached through a symlink.
	tmp := t.TempDir()
	dstDir := filepath.Join(tmp, "testees", "node", "vectors")
	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dstDir, filepath.Base(s)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(modules, filepath.Join(tmp, "testees", "node", "node_modules")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, filepath.Join(dstDir, "gen-engineio.js"))
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gen-engineio.js: %v\n%s", err, out)
	}
	for _, name := range []string{"engineio-v4.json", "engineio-v3.json"} {
		fresh, err := os.ReadFile(filepath.Join(tmp, "protocol", "engineio", "testdata", "node", name))
		if err != nil {
			t.Fatalf("generator did not write %s: %v\n%s", name, err, out)
		}
		committed, err := os.ReadFile(filepath.Join("testdata", "node", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("testdata/node/%s differs from a fresh run of gen-engineio.js; regenerate with `cd testees/node && npm run vectors`:\n%s",
				name, firstDiff(string(committed), string(fresh)))
		}
	}
}

// firstDiff describes the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n committed: %s\n fresh:     %s", i+1, x, y)
		}
	}
	return "(no line differs)"
}
