package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// TestHTMLSelfContainedAndEscaped checks the page without a browser: no
// external resources, every value escaped.
func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	gr, meta := fixtureRun()
	r := FromGinkgo(gr, meta)
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<link", " src=", "@import", "url(", "<script>alert(1)", `"<b>"`, "@font-face"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, good := range []string{
		"extra key &#34;extra&#34; &lt;script&gt;alert(1)&lt;/script&gt;",
		"extra} &amp; &#34;&lt;b&gt;&#34;",
		`data-outcome="non-strict"`,
		"00000000  30 7b 22 73 69 64 22 3a  22 6c 76 5f 56 49 39 37  |0{&#34;sid&#34;:&#34;lv_VI97|",
	} {
		if !strings.Contains(page, good) {
			t.Errorf("page lacks %q", good)
		}
	}
	if n := strings.Count(page, "<script>"); n != 1 {
		t.Errorf("page has %d script elements, want 1 (inline)", n)
	}
}

func TestHexDump(t *testing.T) {
	got := hexDump([]byte("0{\"sid\":\"abc\"}\x00\xff12345"), 1<<10)
	want := "00000000  30 7b 22 73 69 64 22 3a  22 61 62 63 22 7d 00 ff  |0{\"sid\":\"abc\"}..|\n" +
		"00000010  31 32 33 34 35                                    |12345|\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := hexDump(bytes.Repeat([]byte{'a'}, 40), 32); !strings.HasSuffix(got, "… 8 more bytes not shown\n") || strings.Count(got, "\n") != 3 {
		t.Errorf("capped dump:\n%s", got)
	}
	if hexDump(nil, 10) != "" {
		t.Error("empty dump not empty")
	}
}

func TestHTMLEmptyRun(t *testing.T) {
	var buf bytes.Buffer
	if err := FromGinkgo(types.Report{}, Meta{}).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Nothing failed.") || !strings.Contains(buf.String(), ">PASS<") {
		t.Errorf("empty run page:\n%s", buf.String())
	}
}
