package bench

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/siospec/siospec/protocol/socketio"
	zsio "github.com/zishang520/socket.io/parsers/socket/v3/parser"
	ztypes "github.com/zishang520/socket.io/v3/pkg/types"
)

// Socket.IO inputs: emit("chat", "hello, world"), emit("blob", <64 KiB
// string>) with bigText (ASCII mixed with € and 😀) and with bigASCII, and
// emit("upload", "a.bin", b0, b1, b2, b3) with four 1 KiB attachments, all
// in the main namespace.
var (
	sioAttachments = [][]byte{pattern(1024), pattern(1025)[1:], pattern(1026)[2:], pattern(1027)[3:]}
	// bigASCII is 65524 bytes of ASCII text (with a few characters JSON
	// escapes: '"', '\\' and a newline every 256 bytes).
	bigASCII = strings.Repeat(strings.Repeat("lorem ipsum ", 21)+"say \"hi\" \\\n", 255)[:65524]
)

type sioCase struct {
	name string
	args []any // the event name first
}

func sioCases() []sioCase {
	return []sioCase{
		{"small-text-event", []any{"chat", "hello, world"}},
		{"64KiB-text-event", []any{"blob", bigText}},
		{"64KiB-ascii-text-event", []any{"blob", bigASCII}},
		{"binary-event-4-attachments", []any{"upload", "a.bin", sioAttachments[0], sioAttachments[1], sioAttachments[2], sioAttachments[3]}},
	}
}

// encodeOurs builds the packet from Go values (NewEvent writes the JSON
// payload and splits off the attachments) and writes it with a strict
// Encoder into a new slice: the text packet and its attachments. This is
// the same work as encodeTheirs: Go values in, wire bytes out.
func (c sioCase) encodeOurs() ([]byte, [][]byte, error) {
	p, err := socketio.NewEvent("/", c.args[0].(string), c.args[1:]...)
	if err != nil {
		return nil, nil, err
	}
	return socketio.Encode(p)
}

// appendOurs does encodeOurs's work with Encoder.AppendEvent: the JSON is
// written straight into dst (a reused buffer), with no Packet or payload
// buffer in between.
func (c sioCase) appendOurs(dst []byte) ([]byte, [][]byte, error) {
	return socketio.Encoder{}.AppendEvent(dst, "/", socketio.NoAck, c.args[0].(string), c.args[1:]...)
}

func (c sioCase) encodeTheirs() []ztypes.BufferInterface {
	return zsio.NewEncoder().Encode(&zsio.Packet{Type: zsio.EVENT, Nsp: "/", Data: c.args})
}

// ourDecoder decodes one packet and its attachments. With values set it
// also builds the arguments as Go values, as zishang520's decoder always
// does; without, it validates the packet and leaves the JSON unparsed.
type ourDecoder struct {
	r      socketio.Reassembler
	values bool
}

func (d *ourDecoder) decode(text []byte, atts [][]byte) (socketio.Packet, []any, error) {
	p, done, err := d.r.AddText(text)
	for _, a := range atts {
		if err != nil || done {
			break
		}
		p, done, err = d.r.AddBinary(a)
	}
	if err != nil {
		return p, nil, err
	}
	if !done {
		return p, nil, fmt.Errorf("packet incomplete")
	}
	if !d.values {
		return p, nil, nil
	}
	v, err := p.Value()
	if err != nil {
		return p, nil, err
	}
	return p, v.([]any), nil
}

// theirDecoder wraps zishang520's event-emitting decoder.
type theirDecoder struct {
	d    zsio.Decoder
	last *zsio.Packet
}

func newTheirDecoder() *theirDecoder {
	td := &theirDecoder{d: zsio.NewDecoder()}
	_ = td.d.On("decoded", func(args ...any) { td.last = args[0].(*zsio.Packet) })
	return td
}

func (td *theirDecoder) decode(text []byte, atts [][]byte) (*zsio.Packet, error) {
	td.last = nil
	if err := td.d.Add(ztypes.NewStringBuffer(text)); err != nil {
		return nil, err
	}
	for _, a := range atts {
		if err := td.d.Add(a); err != nil {
			return nil, err
		}
	}
	if td.last == nil {
		return nil, fmt.Errorf("no packet decoded")
	}
	return td.last, nil
}

// TestSocketIOSameWork checks that both implementations write the same text
// and attachments and decode them to the same arguments.
func TestSocketIOSameWork(t *testing.T) {
	for _, c := range sioCases() {
		t.Run(c.name, func(t *testing.T) {
			text, atts, err := c.encodeOurs()
			if err != nil {
				t.Fatal(err)
			}
			appended, appAtts, err := c.appendOurs([]byte("prefix"))
			if err != nil || string(appended) != "prefix"+string(text) || len(appAtts) != len(atts) {
				t.Fatalf("appendOurs = %.60q, %d attachments, %v", appended, len(appAtts), err)
			}
			bufs := c.encodeTheirs()
			if len(bufs) != 1+len(atts) {
				t.Fatalf("%d buffers from zishang520, %d from us", len(bufs), 1+len(atts))
			}
			if !bytes.Equal(text, bufs[0].Bytes()) {
				t.Fatalf("text differs:\n ours   %.100q\n theirs %.100q", text, bufs[0].Bytes())
			}
			for i, a := range atts {
				if !bytes.Equal(a, bufs[1+i].Bytes()) {
					t.Fatalf("attachment %d differs", i)
				}
			}
			d := &ourDecoder{values: true}
			_, args, err := d.decode(text, atts)
			if err != nil {
				t.Fatal(err)
			}
			zp, err := newTheirDecoder().decode(text, atts)
			if err != nil {
				t.Fatal(err)
			}
			zargs, ok := zp.Data.([]any)
			if !ok || len(zargs) != len(c.args) || len(args) != len(c.args) {
				t.Fatalf("decoded %d and %d arguments, want %d", len(args), len(zargs), len(c.args))
			}
			for i, want := range c.args {
				if got, zgot := norm(t, args[i]), norm(t, zargs[i]); got != norm(t, want) || zgot != norm(t, want) {
					t.Fatalf("argument %d: ours %.40q, theirs %.40q", i, got, zgot)
				}
			}
		})
	}
}

// norm renders a decoded argument comparably: strings as themselves,
// binary as its bytes.
func norm(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return "s:" + x
	case []byte:
		return "b:" + string(x)
	case io.Reader:
		b, err := io.ReadAll(x)
		if err != nil {
			t.Fatal(err)
		}
		return "b:" + string(b)
	}
	return fmt.Sprintf("%T:%v", v, v)
}

// BenchmarkSocketIO compares encoding from Go values and decoding, for
// impl=siospec and impl=zishang520.
//
// Encoding starts from the same Go values on both sides and ends with the
// text packet and its attachments: impl=siospec is NewEvent + Encode (a
// payload buffer and a new output slice each time), impl=siospec-reuse is
// Encoder.AppendEvent into a reused buffer (one pass, no payload buffer),
// impl=zishang520 is Encoder.Encode of a Packet whose Data is the argument
// list (json.Marshal inside, new buffers each time). Neither side encodes
// a prebuilt payload.
//
// zishang520 always builds Go values when decoding; impl=siospec-values
// does the same with Packet.Value, while impl=siospec validates the packet
// and leaves the JSON unparsed until asked.
func BenchmarkSocketIO(b *testing.B) {
	for _, c := range sioCases() {
		text, atts, err := c.encodeOurs()
		if err != nil {
			b.Fatal(err)
		}
		size := int64(len(text))
		for _, a := range atts {
			size += int64(len(a))
		}
		b.Run("encode/"+c.name+"/impl=siospec", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.encodeOurs(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("encode/"+c.name+"/impl=siospec-reuse", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			dst := make([]byte, 0, len(text))
			for b.Loop() {
				if dst, _, err = c.appendOurs(dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("encode/"+c.name+"/impl=zishang520", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if bufs := c.encodeTheirs(); len(bufs) == 0 {
					b.Fatal("no output")
				}
			}
		})
		for _, values := range []bool{false, true} {
			name := "siospec"
			if values {
				name = "siospec-values"
			}
			b.Run("decode/"+c.name+"/impl="+name, func(b *testing.B) {
				d := &ourDecoder{values: values}
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := d.decode(text, atts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run("decode/"+c.name+"/impl=zishang520", func(b *testing.B) {
			d := newTheirDecoder()
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.decode(text, atts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
