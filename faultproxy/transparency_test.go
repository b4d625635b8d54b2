package faultproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// transparencyBytes is the total payload of TestTransparency (both
// directions, all connections). Override with SIOSPEC_TRANSPARENCY_BYTES,
// e.g. SIOSPEC_TRANSPARENCY_BYTES=1073741824 go test -run Transparency ./faultproxy/
func transparencyBytes(t *testing.T) int64 {
	if s := os.Getenv("SIOSPEC_TRANSPARENCY_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("SIOSPEC_TRANSPARENCY_BYTES=%q: want a positive integer", s)
		}
		return n
	}
	if testing.Short() {
		return 8 << 20
	}
	return 64 << 20
}

func randStream(id uint64, salt byte) io.Reader {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], id)
	seed[8] = salt
	return rand.NewChaCha8(seed)
}

// hashingSource upstream: each connection starts with a 16-byte header
// (id, bytes to send back); the server streams that many pseudo-random bytes
// back while hashing everything else it receives.
type hashingServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	got  map[uint64][32]byte
	errs []error
}

func startHashingServer(t *testing.T) *hashingServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &hashingServer{ln: ln, got: map[uint64][32]byte{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				if err := s.serve(c.(*net.TCPConn)); err != nil {
					s.mu.Lock()
					s.errs = append(s.errs, err)
					s.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *hashingServer) serve(c *net.TCPConn) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	var hdr [16]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return fmt.Errorf("server: header: %w", err)
	}
	id := binary.LittleEndian.Uint64(hdr[:])
	n := int64(binary.LittleEndian.Uint64(hdr[8:]))
	werr := make(chan error, 1)
	go func() {
		_, err := io.CopyN(c, randStream(id, 'd'), n)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	if _, err := io.Copy(h, c); err != nil {
		return fmt.Errorf("server: read: %w", err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("server: write: %w", err)
	}
	s.mu.Lock()
	s.got[id] = [32]byte(h.Sum(nil))
	s.mu.Unlock()
	return nil
}

func hashOf(id uint64, salt byte, n int64) [32]byte {
	h := sha256.New()
	_, _ = io.CopyN(h, randStream(id, salt), n)
	return [32]byte(h.Sum(nil))
}

// TestTransparency: with no fault, random bytes each way across many
// concurrent connections arrive byte-exact (SHA-256 per direction).
func TestTransparency(t *testing.T) {
	transparency(t, transparencyBytes(t), nil)
}

// TestTransparencyTapped: the protocol tap forwards bytes it cannot parse
// untouched.
func TestTransparencyTapped(t *testing.T) {
	transparency(t, 8<<20, &Options{Tap: true})
}

func transparency(t *testing.T, total int64, opts *Options) {
	const conns = 100
	per := total / (2 * conns)
	srv := startHashingServer(t)
	p := startProxy(t, srv.ln.Addr().String(), opts)

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range uint64(conns) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- transparencyConn(p.Addr(), i+1, per)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	elapsed := time.Since(start)
	// The server records its hash after the client saw EOF; wait for it.
	srv.ln.Close()
	srv.wg.Wait()
	for _, err := range srv.errs {
		t.Error(err)
	}
	for i := range uint64(conns) {
		id := i + 1
		want := hashOf(id, 'u', per)
		if got, ok := srv.got[id]; !ok || got != want {
			t.Errorf("conn %d upstream: sha256 mismatch (received=%v)", id, ok)
		}
	}
	t.Logf("transparency: %d connections, %d bytes each way each (%d MiB total) in %v (%.1f MiB/s)",
		conns, per, 2*conns*per>>20, elapsed, float64(2*conns*per)/(1<<20)/elapsed.Seconds())
}

func transparencyConn(addr string, id uint64, n int64) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	_ = tc.SetDeadline(time.Now().Add(5 * time.Minute))
	werr := make(chan error, 1)
	go func() {
		var hdr [16]byte
		binary.LittleEndian.PutUint64(hdr[:], id)
		binary.LittleEndian.PutUint64(hdr[8:], uint64(n))
		_, err := io.Copy(tc, io.MultiReader(bytes.NewReader(hdr[:]), io.LimitReader(randStream(id, 'u'), n)))
		if err == nil {
			err = tc.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	got, err := io.Copy(h, tc)
	if err != nil {
		return fmt.Errorf("conn %d: read: %w", id, err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("conn %d: write: %w", id, err)
	}
	if got != n || [32]byte(h.Sum(nil)) != hashOf(id, 'd', n) {
		return fmt.Errorf("conn %d downstream: got %d bytes, sha256 mismatch or short (want %d)", id, got, n)
	}
	return nil
}
