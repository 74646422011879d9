package mcp

import (
	"context"
	"net"
	"net/netip"
	"testing"
)

// redteam4Refused is the guard this branch replaced (main at 0f3ff79),
// kept to measure the new one beside it: the check runs once per dial.
func redteam4Refused(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a == metadata[3] || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

var benchAddrs = []netip.Addr{
	netip.MustParseAddr("10.20.3.4"), netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1"),
	netip.MustParseAddr("2606:2800:220:1::1"), netip.MustParseAddr("169.254.169.254"),
}

var benchSink bool

// BenchmarkUpstreamGuard: the cost of the dial-time check per address,
// before (redteam4) and after (an allow list of four networks).
func BenchmarkUpstreamGuard(b *testing.B) {
	p := UpstreamPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("192.168.7.0/24"),
		netip.MustParsePrefix("fd12:3456::/48"), netip.MustParsePrefix("127.0.0.0/8")}}
	b.Run("redteam4", func(b *testing.B) {
		for i := range b.N {
			benchSink = redteam4Refused(benchAddrs[i%len(benchAddrs)])
		}
	})
	b.Run("policy", func(b *testing.B) {
		for i := range b.N {
			benchSink = p.Refuses(benchAddrs[i%len(benchAddrs)])
		}
	})
}

// BenchmarkUpstreamDial: one loopback TCP connection through
// UpstreamTransport's dialer (the check included), for scale.
func BenchmarkUpstreamDial(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := UpstreamTransport(UpstreamPolicy{Allow: LoopbackPrefixes}).DialContext
	for range b.N {
		c, err := dial(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
