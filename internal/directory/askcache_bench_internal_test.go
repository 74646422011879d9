package directory

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAskCacheAllowed: a right-to-ask lookup in a cache holding the
// keys of 1,000 orgs × 4 namespaces (as on orgs1m), visited in a stride
// that defeats the CPU caches, as a server answering for many orgs does.
//
//	go test ./internal/directory -run '^$' -bench AskCacheAllowed -benchmem
func BenchmarkAskCacheAllowed(b *testing.B) {
	var c gateCache
	var keys []askKey
	for o := range 1000 {
		for _, ns := range []string{"prod", "dev", "research", "staging"} {
			k := askKey{org: fmt.Sprintf("org-%04d", o), actor: "user:loadgen-admin", namespace: ns}
			c.remember(k, 1, time.Time{})
			// The lookup's strings are not the cache's (a request's body).
			keys = append(keys, askKey{org: fmt.Sprintf("org-%04d", o), actor: fmt.Sprint("user:loadgen-", "admin"), namespace: ns})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if !c.allowed(keys[i], 1) {
			b.Fatal("not found")
		}
		i = (i + 997) % len(keys)
	}
}

// BenchmarkGateThenAsk: /check's org gate and right to ask over the keys of
// BenchmarkAskCacheAllowed. "two" looks both up in the shared cache, as
// before Asker.Gated; "one" finds the right to ask in the entry the gate
// found.
//
//	go test ./internal/directory -run '^$' -bench GateThenAsk -benchmem
func BenchmarkGateThenAsk(b *testing.B) {
	var c gateCache
	var keys []askKey
	for o := range 1000 {
		for _, ns := range []string{"prod", "dev", "research", "staging"} {
			c.remember(askKey{org: fmt.Sprintf("org-%04d", o), actor: "user:loadgen-admin", namespace: ns}, 1, time.Time{})
			keys = append(keys, askKey{org: fmt.Sprintf("org-%04d", o), actor: fmt.Sprint("user:loadgen-", "admin"), namespace: ns})
		}
	}
	for _, mode := range []string{"two", "one"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i]
				e := c.entry(k.org, k.actor, 1)
				if e == nil {
					b.Fatal("not a member")
				}
				if mode == "two" && !c.allowed(k, 1) || mode == "one" && !e.allows(k, 1) {
					b.Fatal("not allowed")
				}
				i = (i + 997) % len(keys)
			}
		})
	}
}

// BenchmarkGateEntryParallel: the org gate's lookup (gateCache.entry) of
// BenchmarkGateThenAsk from every P at once (-cpu 2 on this machine), as
// a loaded server's cores make it: what the lookup's shared writes (a
// read lock's, before the cache took none) cost when the cores contend.
//
//	go test ./internal/directory -run '^$' -bench GateEntryParallel -benchmem -cpu 2
func BenchmarkGateEntryParallel(b *testing.B) {
	var c gateCache
	var keys []askKey
	for o := range 1000 {
		c.remember(askKey{org: fmt.Sprintf("org-%04d", o), actor: "user:loadgen-admin", namespace: "prod"}, 1, time.Time{})
		keys = append(keys, askKey{org: fmt.Sprintf("org-%04d", o), actor: fmt.Sprint("user:loadgen-", "admin"), namespace: "prod"})
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := keys[i]
			if c.entry(k.org, k.actor, 1) == nil {
				b.Error("not a member")
				return
			}
			i = (i + 997) % len(keys)
		}
	})
}
