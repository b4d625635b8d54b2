package main

import (
	"bytes"
	"context"
	"github.com/siospec/siospec/suites"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// siospec testee refuses the harness's probe case and a bad environment.
func TestTesteeRefusals(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{"SIOSPEC_SUITE": "eio4", "SIOSPEC_CASE": "siospec-no-such-case-4711", "SIOSPEC_URL": "http://127.0.0.1:1/"}, 127},
		{map[string]string{"SIOSPEC_SUITE": "cluster", "SIOSPEC_CASE": "ok", "SIOSPEC_URL": "http://127.0.0.1:1/"}, 127},
		{map[string]string{"SIOSPEC_SUITE": "eio4", "SIOSPEC_CASE": "ok", "SIOSPEC_URL": "http://127.0.0.1:1/", "SIOSPEC_SEED": "x"}, 1},
	} {
		for _, k := range []string{"SIOSPEC_SUITE", "SIOSPEC_CASE", "SIOSPEC_URL", "SIOSPEC_SEED", "SIOSPEC_CASES_FILE"} {
			t.Setenv(k, tc.env[k])
		}
		var out, errb bytes.Buffer
		if got := run(context.Background(), []string{"testee"}, &out, &errb); got != tc.want {
			t.Errorf("%v: exit %d, want %d (stderr %s)", tc.env, got, tc.want, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q", tc.env, out.String())
		}
	}
}

func TestClientCasesOfTestee(t *testing.T) {
	declared, err := clientCases("")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for sc := range suites.ClientCases() {
		suite, name, _ := strings.Cut(sc, " ")
		if !declared(suite, name) {
			t.Errorf("declared case %s refused", sc)
		}
		n++
	}
	if n == 0 || declared("sio5", "siospec-no-such-case-1") {
		t.Fatalf("default case rule: %d declared cases", n)
	}
	file := filepath.Join(t.TempDir(), "cases.txt")
	if err := os.WriteFile(file, []byte("# comment\neio4 handshake-url\nsio5 emit-ack # trailing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listed, err := clientCases(file)
	if err != nil {
		t.Fatal(err)
	}
	if !listed("eio4", "handshake-url") || !listed("sio5", "emit-ack") || listed("eio4", "emit-ack") || listed("sio5", "other") {
		t.Fatal("case file rule")
	}
	if _, err := clientCases(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}
