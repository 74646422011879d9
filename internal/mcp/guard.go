package mcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// Where an MCP server may be. Anyone may create an org and, as its owner,
// import an MCP server (or write an mcp_servers resource) naming any URL:
// the server then connects there, from inside its own network. Which
// addresses it connects to is decided when they are dialed — after name
// resolution, on every address actually dialed, so a name that resolves
// to a refused address (or is re-pointed to one later) is refused too:
//
//   - never: cloud metadata services, which hand out the host's
//     credentials (169.254.169.254, 169.254.170.2, 169.254.170.23,
//     fd00:ec2::254, 100.100.100.200), unspecified addresses (0.0.0.0/8,
//     ::), multicast and broadcast — not even when an allow list names
//     them;
//   - only when UpstreamPolicy.Allow lists them: loopback (127.0.0.0/8,
//     ::1), private networks (RFC 1918, fc00::/7), shared address space
//     (100.64.0.0/10, CGNAT) and other link-local addresses
//     (169.254.0.0/16, fe80::/10);
//   - every other (public) address.
//
// The zero UpstreamPolicy is the safe one: nothing inside the server's
// networks is reached. Through an HTTP proxy ($HTTPS_PROXY) the proxy is
// what is dialed, and it decides. docs/threat-model.md row 65.

// ErrAddressRefused is the cause of a dial to a refused address. Its
// text is for the server's log: answering it would tell callers which
// addresses a name resolves to.
var ErrAddressRefused = errors.New("the address is not one the server's MCP upstream policy allows (metadata, unspecified, multicast or broadcast; or loopback, private or link-local and not in --mcp-upstream-allow, or at a port --mcp-upstream-ports does not list)")

// metadata are cloud metadata service addresses, refused even when an
// allow list names them: AWS, GCP, Azure and Oracle's 169.254.169.254,
// AWS ECS's 169.254.170.2 and EKS pod identity's 169.254.170.23, AWS's
// IPv6 fd00:ec2::254, and Alibaba Cloud's 100.100.100.200.
var metadata = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("169.254.170.2"), netip.MustParseAddr("169.254.170.23"),
	netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("100.100.100.200"),
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")
	broadcast   = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// LoopbackPrefixes are 127.0.0.0/8 and ::1: what `gatehouse serve --dev`
// allows by default, so that MCP servers on the same machine can be
// tried out.
var LoopbackPrefixes = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// UpstreamPolicy says which addresses inside the server's networks MCP
// servers may be at.
type UpstreamPolicy struct {
	// Allow lists the loopback, private and link-local networks MCP
	// servers may be at (gatehouse serve --mcp-upstream-allow). It never
	// allows a metadata, unspecified, multicast or broadcast address.
	Allow []netip.Prefix
	// Ports, when not empty, are the only ports an MCP server may be at
	// inside the networks Allow lets in (gatehouse serve
	// --mcp-upstream-ports): whoever may import or call an MCP server
	// there cannot make the gateway connect to the hosts' other services
	// and learn from the answer's timing which ports are open
	// (threat-model row 89). Public addresses are not limited, even when
	// Allow lists them.
	Ports []uint16
}

// RefusesAddrPort reports whether an MCP server is never dialed at ap:
// Refuses for its address, and, inside Allow's networks, a port that
// Ports (when set) does not list.
func (p UpstreamPolicy) RefusesAddrPort(ap netip.AddrPort) bool {
	a := ap.Addr().Unmap()
	if p.Refuses(a) {
		return true
	}
	return len(p.Ports) > 0 && internal(a) && !slices.Contains(p.Ports, ap.Port())
}

// internal reports whether a is in the networks only Allow lets in:
// loopback, private, shared (CGNAT) and link-local.
func internal(a netip.Addr) bool {
	return a.IsLoopback() || a.IsPrivate() || sharedSpace.Contains(a) || a.IsLinkLocalUnicast()
}

// Refuses reports whether an MCP server is never dialed at a.
func (p UpstreamPolicy) Refuses(a netip.Addr) bool {
	a = a.Unmap()
	if alwaysRefused(a) {
		return true
	}
	for _, pf := range p.Allow {
		if pf.Contains(a) {
			return false
		}
	}
	return internal(a)
}

func alwaysRefused(a netip.Addr) bool {
	for _, m := range metadata {
		if a == m {
			return true
		}
	}
	return !a.IsValid() || a.IsUnspecified() || thisNetwork.Contains(a) || a.IsMulticast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a == broadcast
}

// UpstreamTransport is http.DefaultTransport's configuration with a
// dialer that refuses the addresses p refuses: the transport of every
// connection to an MCP server (import and gateway).
func UpstreamTransport(p UpstreamPolicy) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || p.RefusesAddrPort(ap) {
				return fmt.Errorf("dial %s: %w", address, ErrAddressRefused)
			}
			return nil
		}}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return tr
}
