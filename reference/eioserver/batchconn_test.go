package eioserver

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// countConn records every write.
type countConn struct {
	net.Conn
	writes [][]byte
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func TestBatchConnGathersWrites(t *testing.T) {
	srv := NewServer(nil)
	under := &countConn{}
	bc := &batchConn{Conn: under, srv: srv}

	// Outside a batch every write goes straight through.
	_, _ = bc.Write([]byte("a"))
	_, _ = bc.Write([]byte("b"))
	if len(under.writes) != 2 {
		t.Fatalf("outside a batch: %d writes, want 2", len(under.writes))
	}

	// In a batch the writes are gathered, in order, into one.
	under.writes = nil
	bc.begin(time.Time{})
	for _, s := range []string{"\x81\x01x", "\x81\x01y", "\x82\x02zz"} {
		if n, err := bc.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if len(under.writes) != 0 {
		t.Fatalf("%d writes before end", len(under.writes))
	}
	if err := bc.end(); err != nil {
		t.Fatal(err)
	}
	if len(under.writes) != 1 || string(under.writes[0]) != "\x81\x01x\x81\x01y\x82\x02zz" {
		t.Fatalf("after end: %q, want one write of the three frames", under.writes)
	}

	// A batch larger than maxBatch is written in pieces, bytes unchanged.
	under.writes = nil
	bc.begin(time.Time{})
	big := bytes.Repeat([]byte("q"), maxBatch/2+1)
	_, _ = bc.Write(big)
	_, _ = bc.Write(big)
	_, _ = bc.Write([]byte("end"))
	_ = bc.end()
	if got, want := bytes.Join(under.writes, nil), append(append(bytes.Clone(big), big...), "end"...); !bytes.Equal(got, want) || len(under.writes) != 2 {
		t.Fatalf("overflow: %d writes, bytes equal %v", len(under.writes), bytes.Equal(got, want))
	}
}

// chunkConn serves reads from a script of chunks and records the size of
// every read asked of it.
type chunkConn struct {
	net.Conn
	data  []byte
	asked []int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.asked = append(c.asked, len(p))
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestBatchConnReadAhead(t *testing.T) {
	srv := NewServer(nil)
	want := make([]byte, 3*readAhead+100)
	for i := range want {
		want[i] = byte(i * 7)
	}
	under := &chunkConn{data: bytes.Clone(want)}
	bc := &batchConn{Conn: under, srv: srv}
	var got []byte
	p := make([]byte, 4096)
	for {
		n, err := bc.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
	// The first read is direct (4096); it filled p, so the next ones
	// read ahead.
	if len(under.asked) < 2 || under.asked[0] != 4096 || under.asked[1] != readAhead {
		t.Fatalf("reads asked of the connection: %v", under.asked)
	}
	if len(under.asked) > 8 {
		t.Fatalf("%d reads for %d bytes: read-ahead not used", len(under.asked), len(want))
	}
	if bc.ra != nil {
		t.Fatal("read-ahead buffer kept after the stream ended")
	}
}
