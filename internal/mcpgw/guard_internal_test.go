package mcpgw

import (
	"errors"
	"testing"

	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
)

// TestGatewayUpstreamsAreGuarded: the gateway's default upstream client
// dials through mcp.UpstreamTransport, so a server whose spec names a
// metadata address is never reached (row 65).
func TestGatewayUpstreamsAreGuarded(t *testing.T) {
	_, err := defaultUpstreamClient().Get("http://169.254.169.254/latest/meta-data/")
	if !errors.Is(err, mcpspec.ErrAddressRefused) {
		t.Errorf("the gateway's client dialed 169.254.169.254: %v", err)
	}
}
