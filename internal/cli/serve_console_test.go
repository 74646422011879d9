package cli

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var consoleLinkRE = regexp.MustCompile(`(http://\S+/console/link\?t=[A-Za-z0-9_-]+)`)

// TestServeDevConsoleLink: `serve --dev` serves the console at /console/
// and prints a one-time sign-in link for the demo owner that opens its
// confirmation page (a GET never consumes it).
func TestServeDevConsoleLink(t *testing.T) {
	base, out, stop := startServe(t, "--dev", "--data", t.TempDir())
	defer func() { _ = stop() }()
	var link string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := consoleLinkRE.FindStringSubmatch(out.String()); m != nil {
			link = m[1]
			break
		}
	}
	if link == "" || !strings.HasPrefix(link, base+"/console/link?t=") {
		t.Fatalf("no console sign-in link for %s in:\n%s", base, out)
	}
	for i := 0; i < 2; i++ {
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `name="t"`) {
			t.Fatalf("GET the link: %d %s", resp.StatusCode, body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("console page CSP %q", csp)
		}
	}
	resp, err := http.Get(base + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/console/signin" {
		t.Errorf("/console ended at %s, want the sign-in page", resp.Request.URL.Path)
	}
}
