package mcpgw

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
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
