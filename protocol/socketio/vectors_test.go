package socketio

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The wire vectors in testdata/*.txt are named after the requirement they
// demonstrate. Format (see testdata/README.md):
//
//	# comment
//	name: <case name>            starts a case
//	packet: <JSON description>   {"type","nsp","query","id","data","attachments","raw"}
//	wire: <text packet>          rest of the line, verbatim (repeatable: message sequence)
//	wireq: "<Go-quoted text>"    the same, for bytes a text file cannot show
//	bin: <hex>                   a binary attachment message (repeatable, "-" for empty)
//	mode: roundtrip|decode|encode-error|illegal
//	error: <Sentinel> <offset> [part <n>]
//	version: 4                   options of the Decoder/Encoder
//	max-attachments: <n>
//	allow-zero-attachments: true
//	max-size: <n>
//	canon: <text>                decode mode: what the decoded packet re-encodes to

type vecPart struct {
	text  []byte
	bin   []byte
	isBin bool
}

type vector struct {
	file, name string
	line       int
	packet     *Packet
	parts      []vecPart
	mode       string
	errName    string
	errOffset  int
	errPart    int
	canon      *string
	dec        Decoder
	enc        Encoder
}

type vecPacket struct {
	Type        int             `json:"type"`
	Nsp         string          `json:"nsp"`
	Query       string          `json:"query"`
	ID          *uint64         `json:"id"`
	Data        json.RawMessage `json:"data"`
	DataText    *string         `json:"datatext"`
	Attachments int             `json:"attachments"`
	Raw         *RawHeader      `json:"raw"`
}

var sentinelByName = map[string]error{
	"ErrEmpty": ErrEmpty, "ErrUnknownType": ErrUnknownType, "ErrAttachments": ErrAttachments,
	"ErrTooManyAttachments": ErrTooManyAttachments, "ErrPlaceholder": ErrPlaceholder,
	"ErrNamespace": ErrNamespace, "ErrAckID": ErrAckID, "ErrInvalidJSON": ErrInvalidJSON,
	"ErrPayload": ErrPayload, "ErrEventName": ErrEventName, "ErrReservedEvent": ErrReservedEvent,
	"ErrTooLarge": ErrTooLarge, "ErrUnexpectedText": ErrUnexpectedText,
	"ErrUnexpectedBinary": ErrUnexpectedBinary, "ErrBinaryNotAllowed": ErrBinaryNotAllowed,
	"ErrIllegal": ErrIllegal,
}

func loadVectors(t testing.TB) []*vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.txt vectors (%v)", err)
	}
	var all []*vector
	for _, f := range files {
		all = append(all, parseVectorFile(t, f)...)
	}
	return all
}

func parseVectorFile(t testing.TB, path string) []*vector {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	file := filepath.Base(path)
	var out []*vector
	var cur *vector
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	ln := 0
	for sc.Scan() {
		ln++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			if strings.HasSuffix(line, ":") {
				key, val = strings.TrimSuffix(line, ":"), ""
			} else {
				t.Fatalf("%s:%d: want \"key: value\"", file, ln)
			}
		}
		if key == "name" {
			cur = &vector{file: file, name: val, line: ln, mode: "roundtrip", errPart: -1}
			out = append(out, cur)
			continue
		}
		if cur == nil {
			t.Fatalf("%s:%d: %s before the first name:", file, ln, key)
		}
		fail := func(err error) { t.Fatalf("%s:%d: %s: %v", file, ln, key, err) }
		switch key {
		case "packet":
			var vp vecPacket
			if err := json.Unmarshal([]byte(val), &vp); err != nil {
				fail(err)
			}
			p := Packet{Type: PacketType(vp.Type), Nsp: vp.Nsp, Query: vp.Query, Attachments: vp.Attachments, Raw: vp.Raw}
			if p.Nsp == "" {
				p.Nsp = "/"
			}
			if vp.ID != nil {
				p.ID, p.HasID = *vp.ID, true
			}
			if vp.Data != nil {
				p.Data = []byte(vp.Data)
			}
			if vp.DataText != nil {
				p.Data = []byte(*vp.DataText)
			}
			cur.packet = &p
		case "wire":
			cur.parts = append(cur.parts, vecPart{text: []byte(val)})
		case "wireq":
			s, err := strconv.Unquote(val)
			if err != nil {
				fail(err)
			}
			cur.parts = append(cur.parts, vecPart{text: []byte(s)})
		case "bin":
			var b []byte
			if val != "-" {
				if b, err = hex.DecodeString(strings.ReplaceAll(val, " ", "")); err != nil {
					fail(err)
				}
			}
			if b == nil {
				b = []byte{}
			}
			cur.parts = append(cur.parts, vecPart{bin: b, isBin: true})
		case "mode":
			cur.mode = val
		case "error":
			f := strings.Fields(val)
			if len(f) != 2 && len(f) != 4 {
				fail(errors.New("want <Sentinel> <offset> [part <n>]"))
			}
			if _, ok := sentinelByName[f[0]]; !ok {
				fail(errors.New("unknown sentinel " + f[0]))
			}
			cur.errName = f[0]
			if cur.errOffset, err = strconv.Atoi(f[1]); err != nil {
				fail(err)
			}
			if len(f) == 4 {
				if cur.errPart, err = strconv.Atoi(f[3]); err != nil {
					fail(err)
				}
			}
		case "version":
			n, err := strconv.Atoi(val)
			if err != nil {
				fail(err)
			}
			cur.dec.Version, cur.enc.Version = Version(n), Version(n)
		case "max-attachments":
			n, err := strconv.Atoi(val)
			if err != nil {
				fail(err)
			}
			cur.dec.MaxAttachments, cur.enc.MaxAttachments = n, n
		case "allow-zero-attachments":
			cur.dec.AllowZeroAttachments = val == "true"
		case "max-size":
			n, err := strconv.Atoi(val)
			if err != nil {
				fail(err)
			}
			cur.dec.MaxSize, cur.enc.MaxSize = n, n
		case "canon":
			cur.canon = &val
		default:
			t.Fatalf("%s:%d: unknown key %q", file, ln, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// binaries returns the attachment parts that follow the first text part
// (all leading ones when there is no text part).
func (v *vector) binaries() [][]byte {
	var bins [][]byte
	for i, p := range v.parts {
		if !p.isBin {
			if i == 0 {
				continue
			}
			break
		}
		bins = append(bins, p.bin)
	}
	return bins
}

func (v *vector) nodeParts() []nodePart {
	out := make([]nodePart, len(v.parts))
	for i, p := range v.parts {
		out[i] = nodePart{text: p.text, binary: p.bin, isBin: p.isBin}
	}
	return out
}

func (v *vector) wantPacket() Packet {
	p := *v.packet
	if p.Type.IsBinary() && v.mode != "illegal" {
		p.Binary = v.binaries()
		if p.Binary == nil {
			p.Binary = [][]byte{}
		}
	}
	return p
}

func (v *vector) checkErr(t *testing.T, err error, at int) {
	t.Helper()
	want := sentinelByName[v.errName]
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %s", err, v.errName)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %T is not a *DecodeError", err)
	}
	if de.Offset != v.errOffset {
		t.Errorf("offset %d, want %d (%v)", de.Offset, v.errOffset, err)
	}
	if v.errPart >= 0 && at != v.errPart {
		t.Errorf("error at part %d, want part %d", at, v.errPart)
	}
}

func TestVectors(t *testing.T) {
	vecs := loadVectors(t)
	seen := map[string]bool{}
	for _, v := range vecs {
		id := strings.TrimSuffix(v.file, ".txt") + "/" + v.name
		if seen[id] {
			t.Errorf("%s:%d: duplicate case name %q", v.file, v.line, v.name)
		}
		seen[id] = true
		t.Run(id, func(t *testing.T) { runVector(t, v) })
	}
	t.Logf("%d vectors", len(vecs))
}

func runVector(t *testing.T, v *vector) {
	if len(v.parts) == 0 && v.mode != "encode-error" {
		t.Fatalf("%s:%d: no wire", v.file, v.line)
	}
	switch v.mode {
	case "roundtrip", "decode":
		if v.packet == nil {
			if v.errName == "" {
				t.Fatalf("%s:%d: needs packet: or error:", v.file, v.line)
			}
			_, at, err := reassembleAll(v.dec, v.nodeParts())
			if err == nil {
				t.Fatalf("decoded without error, want %s", v.errName)
			}
			v.checkErr(t, err, at)
			return
		}
		want := v.wantPacket()
		got, _, err := reassembleAll(v.dec, v.nodeParts())
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(got) != 1 || !samePacket(got[0], want) {
			t.Fatalf("decode:\n got %v\nwant %v", got, want)
		}
		if v.mode == "roundtrip" {
			text, bins, err := v.enc.Encode(want)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(text) != string(v.parts[0].text) {
				t.Errorf("encode:\n got %q\nwant %q", text, v.parts[0].text)
			}
			if len(bins) != len(want.Binary) {
				t.Errorf("encode: %d attachments, want %d", len(bins), len(want.Binary))
			}
		} else if v.canon != nil {
			text, err := v.enc.AppendPacket(nil, got[0])
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if string(text) != *v.canon {
				t.Errorf("re-encode:\n got %q\nwant %q", text, *v.canon)
			}
		}
	case "encode-error":
		_, err := v.enc.AppendPacket(nil, v.wantPacket())
		if err == nil {
			t.Fatalf("strict encoder accepted the packet, want %s", v.errName)
		}
		if !errors.Is(err, sentinelByName[v.errName]) {
			t.Fatalf("got %v, want %s", err, v.errName)
		}
		var ee *EncodeError
		if !errors.As(err, &ee) {
			t.Fatalf("error %T is not an *EncodeError", err)
		}
	case "illegal":
		p := v.wantPacket()
		if _, err := v.enc.AppendPacket(nil, p); err == nil {
			t.Errorf("strict encoder accepted an illegal packet")
		}
		enc := v.enc
		enc.AllowIllegal = true
		text, err := enc.AppendPacket(nil, p)
		if err != nil {
			t.Fatalf("AllowIllegal encode: %v", err)
		}
		if string(text) != string(v.parts[0].text) {
			t.Errorf("encode:\n got %q\nwant %q", text, v.parts[0].text)
		}
		if v.errName != "" {
			_, at, err := reassembleAll(v.dec, v.nodeParts())
			if err == nil {
				t.Fatalf("decoder accepted the illegal packet, want %s", v.errName)
			}
			v.checkErr(t, err, at)
		}
	default:
		t.Fatalf("%s:%d: unknown mode %q", v.file, v.line, v.mode)
	}
}
