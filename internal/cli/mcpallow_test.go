package cli

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/mcp"
)

// TestMCPUpstreamAllow: --mcp-upstream-allow's value as the server takes
// it: none by default, loopback with --dev unless the flag is given, and
// a bad entry refused (exit 2) rather than ignored.
func TestMCPUpstreamAllow(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		t.Helper()
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		dev, set bool
		vals     []string
		want     []netip.Prefix
		bad      bool
	}{
		{"default: none", false, false, nil, nil, false},
		{"--dev: loopback", true, false, nil, mcp.LoopbackPrefixes, false},
		{"--dev with the flag: the flag alone", true, true, []string{"10.20.0.0/16"}, pfx("10.20.0.0/16"), false},
		{"--dev with an empty flag: none", true, true, nil, nil, false},
		{"CIDRs and addresses", false, true, []string{"10.20.0.0/16", " 192.168.1.7", "fd12:3456::/48"}, pfx("10.20.0.0/16", "192.168.1.7/32", "fd12:3456::/48"), false},
		{"unmasked", false, true, []string{"10.20.3.4/16"}, pfx("10.20.0.0/16"), false},
		{"IPv4-mapped", false, true, []string{"::ffff:10.0.0.0/104"}, pfx("10.0.0.0/8"), false},
		{"not an address", false, true, []string{"intranet"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mcpUpstreamAllow(tc.dev, tc.set, tc.vals)
			var ee *exitError
			if tc.bad {
				if !errors.As(err, &ee) || ee.code != ExitBadInput {
					t.Fatalf("err = %v, want exit %d", err, ExitBadInput)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
