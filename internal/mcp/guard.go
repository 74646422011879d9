package mcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Where an MCP server may be. Anyone may create an org and, as its owner,
// import an MCP server (or write an mcp_servers resource) naming any URL:
// the server then connects there, from inside its own network, and the
// import's 502 says what answered. Addresses no MCP server is at are
// refused when they are dialed — after name resolution, so a name that
// resolves to one (or is re-pointed to one later) is refused too:
// link-local addresses (169.254.0.0/16 and fe80::/10: cloud metadata
// services, which hand out the host's credentials), the IPv6 metadata
// address fd00:ec2::254, unspecified, multicast and broadcast addresses.
// Loopback and private networks stay reachable (MCP servers run there);
// docs/threat-model.md says what that leaves. Through an HTTP proxy
// ($HTTPS_PROXY) the proxy is what is dialed, and it decides.

// ErrAddressRefused is the cause of a dial to a refused address.
var ErrAddressRefused = errors.New("the address is not one an MCP server is reached at (link-local, metadata, unspecified, multicast or broadcast)")

var metadataV6 = netip.MustParseAddr("fd00:ec2::254")

// RefusedAddress reports whether an MCP server is never dialed at a.
func RefusedAddress(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a == metadataV6 || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// UpstreamTransport is http.DefaultTransport's configuration with a
// dialer that refuses RefusedAddress addresses: the transport of every
// connection to an MCP server (import and gateway).
func UpstreamTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, ErrAddressRefused)
			}
			if RefusedAddress(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", address, ErrAddressRefused)
			}
			return nil
		}}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return tr
}
