package mcp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUpstreamAddresses: metadata, unspecified, multicast and broadcast
// addresses are refused whatever the allow list says; loopback, private,
// shared (CGNAT) and link-local ones unless it lists them; public ones
// never (docs/threat-model.md row 65).
func TestUpstreamAddresses(t *testing.T) {
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	lan := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("169.254.7.0/24")}
	for _, tc := range []struct {
		addr                      string
		byDefault, loopback, lan  bool // refused with no allow list, LoopbackPrefixes, lan
		evenWithEverythingAllowed bool
	}{
		{"169.254.169.254", true, true, true, true},
		{"::ffff:169.254.169.254", true, true, true, true},
		{"169.254.170.2", true, true, true, true},
		{"169.254.170.23", true, true, true, true},
		{"fd00:ec2::254", true, true, true, true},
		{"100.100.100.200", true, true, true, true},
		{"0.0.0.0", true, true, true, true},
		{"0.1.2.3", true, true, true, true},
		{"::", true, true, true, true},
		{"224.0.0.1", true, true, true, true},
		{"ff02::1", true, true, true, true},
		{"255.255.255.255", true, true, true, true},
		{"127.0.0.1", true, false, true, false},
		{"127.8.9.10", true, false, true, false},
		{"::ffff:127.0.0.1", true, false, true, false},
		{"::1", true, false, true, false},
		{"10.0.0.5", true, true, true, false},
		{"10.1.2.3", true, true, false, false},
		{"172.16.0.1", true, true, true, false},
		{"192.168.1.2", true, true, true, false},
		{"100.64.0.1", true, true, true, false},
		{"fd00::1", true, true, true, false},
		{"169.254.0.1", true, true, true, false},
		{"169.254.7.8", true, true, false, false},
		{"fe80::1", true, true, true, false},
		{"93.184.216.34", false, false, false, false},
		{"2606:2800:220:1::1", false, false, false, false},
	} {
		a := netip.MustParseAddr(tc.addr)
		for _, p := range []struct {
			name    string
			allow   []netip.Prefix
			refused bool
		}{{"no allow list", nil, tc.byDefault}, {"loopback", LoopbackPrefixes, tc.loopback}, {"lan", lan, tc.lan}, {"everything", all, tc.evenWithEverythingAllowed}} {
			if got := (UpstreamPolicy{Allow: p.allow}).Refuses(a); got != p.refused {
				t.Errorf("%s allowing %s: Refuses = %v, want %v", tc.addr, p.name, got, p.refused)
			}
		}
	}
}

// TestUpstreamTransportRefuses: the transport refuses when it dials, so a
// name resolving to a refused address ("localhost") is refused too.
func TestUpstreamTransportRefuses(t *testing.T) {
	for _, tc := range []struct {
		url   string
		allow []netip.Prefix
	}{
		{"http://169.254.169.254/latest/meta-data/", nil},
		{"http://169.254.169.254/latest/meta-data/", []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16")}},
		{"http://[fe80::1]:8080/", nil},
		{"http://0.0.0.0:1/", nil},
		{"http://127.0.0.1:1/", nil},
		{"http://localhost:1/", nil},
		{"http://[::1]:1/", nil},
	} {
		_, err := (&http.Client{Transport: UpstreamTransport(UpstreamPolicy{Allow: tc.allow})}).Get(tc.url)
		if !errors.Is(err, ErrAddressRefused) {
			t.Errorf("GET %s through UpstreamTransport (allowing %v): %v, want ErrAddressRefused", tc.url, tc.allow, err)
		}
	}
}

// TestUpstreamPorts (threat-model row 89): with Ports set, an address
// inside the allowed internal networks is dialed only at a listed port —
// an MCP server registered or called there cannot probe the host's other
// ports — while public addresses keep every port, even when Allow lists
// them; without Ports every port is dialed as before. Through the
// transport: a loopback listener at an unlisted port is refused before
// any connection, at a listed one it answers.
func TestUpstreamPorts(t *testing.T) {
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	lan := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	ports := []uint16{443, 8443}
	tests := []struct {
		name    string
		p       UpstreamPolicy
		addr    string
		refused bool
	}{
		{"listed port inside", UpstreamPolicy{Allow: lan, Ports: ports}, "10.1.2.3:8443", false},
		{"unlisted port inside", UpstreamPolicy{Allow: lan, Ports: ports}, "10.1.2.3:22", true},
		{"unlisted port inside, v4-mapped", UpstreamPolicy{Allow: lan, Ports: ports}, "[::ffff:10.1.2.3]:5432", true},
		{"any port inside without Ports", UpstreamPolicy{Allow: lan}, "10.1.2.3:22", false},
		{"public address, unlisted port", UpstreamPolicy{Allow: lan, Ports: ports}, "93.184.216.34:22", false},
		{"public address allowed by Allow, unlisted port", UpstreamPolicy{Allow: all, Ports: ports}, "93.184.216.34:22", false},
		{"outside Allow, listed port", UpstreamPolicy{Allow: lan, Ports: ports}, "10.2.0.1:443", true},
		{"metadata, listed port", UpstreamPolicy{Allow: all, Ports: []uint16{80}}, "169.254.169.254:80", true},
	}
	got, want := map[string]bool{}, map[string]bool{}
	for _, tc := range tests {
		got[tc.name], want[tc.name] = tc.p.RefusesAddrPort(netip.MustParseAddrPort(tc.addr)), tc.refused
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RefusesAddrPort (-want +got):\n%s", diff)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	port := netip.MustParseAddrPort(srv.Listener.Addr().String()).Port()
	for _, tc := range []struct {
		name  string
		ports []uint16
		want  error
	}{
		{"its port listed", []uint16{port}, nil},
		{"another port listed", []uint16{port + 1}, ErrAddressRefused},
	} {
		res, err := (&http.Client{Transport: UpstreamTransport(UpstreamPolicy{Allow: LoopbackPrefixes, Ports: tc.ports})}).Get(srv.URL)
		if err == nil {
			res.Body.Close()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: GET %s: %v, want %v", tc.name, srv.URL, err, tc.want)
		}
	}
}
