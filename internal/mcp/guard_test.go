package mcp

import (
	"errors"
	"net/http"
	"net/netip"
	"testing"
)

// TestUpstreamAddresses: link-local, metadata, unspecified, multicast and
// broadcast addresses are refused; loopback, private and public ones are
// not (docs/threat-model.md row 65).
func TestUpstreamAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		refused bool
	}{
		{"169.254.169.254", true}, {"169.254.0.1", true}, {"fe80::1", true}, {"fd00:ec2::254", true},
		{"::ffff:169.254.169.254", true}, {"0.0.0.0", true}, {"::", true}, {"224.0.0.1", true},
		{"ff02::1", true}, {"255.255.255.255", true},
		{"127.0.0.1", false}, {"::1", false}, {"10.0.0.5", false}, {"192.168.1.2", false}, {"fd00::1", false}, {"93.184.216.34", false},
	} {
		if got := RefusedAddress(netip.MustParseAddr(tc.addr)); got != tc.refused {
			t.Errorf("RefusedAddress(%s) = %v, want %v", tc.addr, got, tc.refused)
		}
	}
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:8080/", "http://0.0.0.0:1/"} {
		_, err := (&http.Client{Transport: UpstreamTransport()}).Get(u)
		if !errors.Is(err, ErrAddressRefused) {
			t.Errorf("GET %s through UpstreamTransport: %v, want ErrAddressRefused", u, err)
		}
	}
}
