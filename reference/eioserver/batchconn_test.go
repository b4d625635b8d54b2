package eioserver

import (
	"bytes"
	"net"
	"testing"
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
	bc.begin()
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
	bc.begin()
	big := bytes.Repeat([]byte("q"), maxBatch/2+1)
	_, _ = bc.Write(big)
	_, _ = bc.Write(big)
	_, _ = bc.Write([]byte("end"))
	_ = bc.end()
	if got, want := bytes.Join(under.writes, nil), append(append(bytes.Clone(big), big...), "end"...); !bytes.Equal(got, want) || len(under.writes) != 2 {
		t.Fatalf("overflow: %d writes, bytes equal %v", len(under.writes), bytes.Equal(got, want))
	}
}
