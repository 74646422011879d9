package mcpgw

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
)

// TestGatewayUpstreamsAreGuarded: the gateway's default upstream client
// dials through mcp.UpstreamTransport with Config.UpstreamPolicy, so a
// server whose spec names a metadata address is never reached, nor one
// on loopback unless the policy allows it (row 65).
func TestGatewayUpstreamsAreGuarded(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer up.Close()
	loopback := mcpspec.UpstreamPolicy{Allow: mcpspec.LoopbackPrefixes}
	for _, tc := range []struct {
		name    string
		policy  mcpspec.UpstreamPolicy
		url     string
		refused bool
	}{
		{"metadata", loopback, "http://169.254.169.254/latest/meta-data/", true},
		{"loopback by default", mcpspec.UpstreamPolicy{}, up.URL, true},
		{"localhost by default", mcpspec.UpstreamPolicy{}, "http://localhost:1/", true},
		{"private by default", mcpspec.UpstreamPolicy{}, "http://10.0.0.1:1/", true},
		{"private not listed", mcpspec.UpstreamPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}, "http://10.0.0.1:1/", true},
		{"loopback allowed", loopback, up.URL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := defaultUpstreamClient(tc.policy).Get(tc.url)
			if err == nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, mcpspec.ErrAddressRefused); got != tc.refused {
				t.Errorf("GET %s: %v; refused = %v, want %v", tc.url, err, got, tc.refused)
			}
			if !tc.refused && err != nil {
				t.Errorf("GET %s: %v", tc.url, err)
			}
		})
	}
}

// TestUpstreamFailuresLookAlike (threat-model row 89): whatever made the
// connection to an upstream fail — a closed port, a filtered one, a
// service that is not an MCP server, an address or port the policy
// refuses — the agent is told one text; the cause goes to the server's
// log only, so error texts tell an agent nothing about a host's ports.
func TestUpstreamFailuresLookAlike(t *testing.T) {
	causes := []error{
		errors.New("dial tcp 10.1.2.3:22: connect: connection refused"),
		errors.New("dial tcp 10.1.2.3:23: i/o timeout"),
		errors.New("calling \"initialize\": broken session: 404 Not Found"),
		mcpspec.ErrAddressRefused,
	}
	texts := map[string]bool{}
	for _, c := range causes {
		msg := unavailable(fmt.Errorf("%w: connect: %s", errUpstream, c.Error()))
		texts[msg] = true
		for _, leak := range []string{"refused", "timeout", "404", "10.1.2.3", "policy"} {
			if strings.Contains(msg, leak) {
				t.Errorf("the answer for %q names %q: %q", c, leak, msg)
			}
		}
	}
	if len(texts) != 1 {
		t.Errorf("%d different answers for %d causes: %v", len(texts), len(causes), texts)
	}
}
