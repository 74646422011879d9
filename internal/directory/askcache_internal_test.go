package directory

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// TestAskCacheKeys: the right-to-ask cache answers "allowed" only for the
// very key it remembered, at the revision it remembered it — keys whose
// strings would concatenate alike, that differ in self, or are long are
// told apart (a guard for any change to how keys are stored, such as one
// string per key), and a new revision forgets everything.
func TestAskCacheKeys(t *testing.T) {
	long := strings.Repeat("x", 200)
	remembered := askKey{org: "acme", actor: "user:ann", namespace: "prod"}
	tests := []struct {
		name string
		k    askKey
		rev  uint64
		want bool
	}{
		{"the remembered key", remembered, 7, true},
		{"the same key, other string values", askKey{org: strings.Clone("acme"), actor: "user:" + "ann", namespace: "pro" + "d"}, 7, true},
		{"another revision", remembered, 8, false},
		{"self differs", askKey{org: "acme", actor: "user:ann", namespace: "prod", self: true}, 7, false},
		{"bytes moved from org to actor", askKey{org: "acm", actor: "euser:ann", namespace: "prod"}, 7, false},
		{"bytes moved from actor to namespace", askKey{org: "acme", actor: "user:an", namespace: "nprod"}, 7, false},
		{"a length byte inside a string", askKey{org: "acme\x08user:ann", actor: "", namespace: "prod"}, 7, false},
		{"another org", askKey{org: "acme2", actor: "user:ann", namespace: "prod"}, 7, false},
		{"empty key", askKey{}, 7, false},
		{"a long key not remembered", askKey{org: long, actor: "user:ann", namespace: "prod"}, 7, false},
	}
	var c gateCache
	c.remember(remembered, 7, time.Time{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.allowed(tt.k, tt.rev); got != tt.want {
				t.Errorf("allowed(%+v, %d) = %v, want %v", tt.k, tt.rev, got, tt.want)
			}
		})
	}

	t.Run("a long key remembered", func(t *testing.T) {
		k := askKey{org: long, actor: "user:" + long, namespace: "prod"}
		c.remember(k, 7, time.Time{})
		if !c.allowed(k, 7) {
			t.Errorf("a remembered key longer than the stack buffer is not found")
		}
		if c.allowed(askKey{org: long, actor: "user:" + long, namespace: "dev"}, 7) {
			t.Errorf("a long key's neighbour is found")
		}
	})
	t.Run("a new revision forgets", func(t *testing.T) {
		c.remember(askKey{org: "other", actor: "user:bob", namespace: "prod"}, 9, time.Time{})
		if c.allowed(remembered, 9) || c.allowed(remembered, 7) {
			t.Errorf("a key remembered at revision 7 is still allowed after revision 9 was remembered")
		}
	})
	t.Run("an older revision is not remembered", func(t *testing.T) {
		c.remember(remembered, 8, time.Time{})
		if c.allowed(remembered, 8) {
			t.Errorf("remembering at an older revision than the cache's replaced it")
		}
	})
}

// TestGateEntryAllows: what the org gate hands an Asker (Asker.Gated)
// answers "may ask" only for its own org, actor and revision and for a
// question it holds; an entry already handed out is not changed when the
// cache later remembers more, and a membership alone allows no question.
func TestGateEntryAllows(t *testing.T) {
	var c gateCache
	c.remember(askKey{org: "acme", actor: "user:ann"}, 7, time.Time{}) // the gate: membership only
	member := c.entry("acme", "user:ann", 7)
	if member == nil {
		t.Fatal("a remembered member has no entry")
	}
	c.remember(askKey{org: "acme", actor: "user:ann", namespace: "prod"}, 7, time.Time{})
	e := c.entry("acme", "user:ann", 7)
	k := askKey{org: "acme", actor: "user:ann", namespace: "prod"}
	tests := []struct {
		name string
		e    *gateEntry
		k    askKey
		rev  uint64
		want bool
	}{
		{"its question", e, k, 7, true},
		{"another revision", e, k, 8, false},
		{"another actor", e, askKey{org: "acme", actor: "user:bob", namespace: "prod"}, 7, false},
		{"another org", e, askKey{org: "acme2", actor: "user:ann", namespace: "prod"}, 7, false},
		{"another namespace", e, askKey{org: "acme", actor: "user:ann", namespace: "dev"}, 7, false},
		{"self differs", e, askKey{org: "acme", actor: "user:ann", namespace: "prod", self: true}, 7, false},
		{"membership alone", member, k, 7, false},
		{"no entry", nil, k, 7, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.allows(tt.k, tt.rev); got != tt.want {
				t.Errorf("allows(%+v, %d) = %v, want %v", tt.k, tt.rev, got, tt.want)
			}
		})
	}
	if c.entry("acme", "user:ann", 8) != nil {
		t.Errorf("an entry is found at another revision")
	}
	c.remember(askKey{org: "acme", actor: "user:bob", namespace: "prod"}, 8, time.Time{})
	if c.entry("acme", "user:ann", 8) != nil || c.entry("acme", "user:ann", 7) != nil {
		t.Errorf("a new revision did not forget the entries of the old one")
	}
}

// TestGateEntryManyQuestions: an entry holding more questions than it
// keeps inline still answers for every one, and for no other.
func TestGateEntryManyQuestions(t *testing.T) {
	var c gateCache
	var asked []string
	for i := range 2*gateInline + 1 {
		ns := fmt.Sprint("ns", i)
		c.remember(askKey{org: "acme", actor: "user:ann", namespace: ns}, 3, time.Time{})
		asked = append(asked, ns)
		e := c.entry("acme", "user:ann", 3)
		var got []string
		for j := range 2*gateInline + 2 {
			if ns := fmt.Sprint("ns", j); e.allows(askKey{org: "acme", actor: "user:ann", namespace: ns}, 3) {
				got = append(got, ns)
			}
		}
		if d := cmp.Diff(asked, got); d != "" {
			t.Fatalf("after %d questions, allowed (-want +got):\n%s", i+1, d)
		}
	}
}

// TestGateAllows: a Gate (what Member hands an Asker) compares a check's
// org and actor with the strings its entry was found under, not the
// entry's own copies; it must still answer only for its own org, actor
// and revision. Fails when Gate.allows skips either comparison.
func TestGateAllows(t *testing.T) {
	var c gateCache
	c.remember(askKey{org: "acme", actor: "user:ann", namespace: "prod"}, 7, time.Time{})
	e := c.entry("acme", "user:ann", 7)
	if e == nil {
		t.Fatal("a remembered member has no entry")
	}
	g := Gate{e: e, org: "acme", actor: "user:ann"}
	k := askKey{org: "acme", actor: "user:ann", namespace: "prod"}
	for _, tt := range []struct {
		name string
		g    Gate
		k    askKey
		rev  uint64
		want bool
	}{
		{"its question", g, k, 7, true},
		{"another revision", g, k, 8, false},
		{"another actor", g, askKey{org: "acme", actor: "user:bob", namespace: "prod"}, 7, false},
		{"another org", g, askKey{org: "acme2", actor: "user:ann", namespace: "prod"}, 7, false},
		{"another namespace", g, askKey{org: "acme", actor: "user:ann", namespace: "dev"}, 7, false},
		{"the zero gate", Gate{}, k, 7, false},
	} {
		if got := tt.g.allows(tt.k, tt.rev); got != tt.want {
			t.Errorf("%s: allows(%+v, %d) = %v, want %v", tt.name, tt.k, tt.rev, got, tt.want)
		}
	}
	if g.settings("acme") != e.settings || g.settings("acme2") != nil || (Gate{}).settings("acme") != nil {
		t.Errorf("a gate hands a settings slot for an org other than its own")
	}
}

// TestGateClockBound: an entry's questions about others hold only while
// the clock is before its until; questions about the actor itself and
// membership do not depend on the clock. An until at the instant the
// findings were made (an actor under a clock-based lifecycle rule,
// gateFacts) remembers no question about others at all.
func TestGateClockBound(t *testing.T) {
	var until int64
	c := gateCache{facts: func(_, _ string, _ time.Time) gateFacts { return gateFacts{until: until, policyRead: true} }}
	other := askKey{org: "acme", actor: "user:ann", namespace: "prod"}
	self := askKey{org: "acme", actor: "user:ann", namespace: "prod", self: true}

	until = time.Now().Add(time.Hour).UnixNano()
	c.remember(other, 1, time.Now())
	c.remember(self, 1, time.Now())
	if !c.allowed(other, 1) || !c.allowed(self, 1) {
		t.Fatalf("before until: other %v, self %v; want both", c.allowed(other, 1), c.allowed(self, 1))
	}
	if held, known := (Gate{e: c.entry("acme", "user:ann", 1), org: "acme", actor: "user:ann"}).policyRead("acme", "user:ann", 1); !held || !known {
		t.Errorf("before until: policyRead (%v, %v), want (true, true)", held, known)
	}

	var d gateCache
	d.facts = func(_, _ string, at time.Time) gateFacts { return gateFacts{until: at.UnixNano(), policyRead: true} }
	d.remember(other, 1, time.Now())
	d.remember(self, 1, time.Now())
	if d.allowed(other, 1) || !d.allowed(self, 1) {
		t.Errorf("until at the finding: other %v (want false), self %v (want true)", d.allowed(other, 1), d.allowed(self, 1))
	}
	if _, known := (Gate{e: d.entry("acme", "user:ann", 1), org: "acme", actor: "user:ann"}).policyRead("acme", "user:ann", 1); known {
		t.Errorf("until at the finding: policyRead known")
	}
}

// allowed reports whether c remembers k as allowed at rev, as Asker.Check
// reads it (entry, then holds).
func (c *gateCache) allowed(k askKey, rev uint64) bool {
	return c.entry(k.org, k.actor, rev).allows(k, rev)
}

// allows reports whether g, at rev, says k may be asked, as Asker.Check
// reads it (of, then holds).
func (g Gate) allows(k askKey, rev uint64) bool {
	return g.of(k).holds(k, rev)
}

// TestGateEntryLayout: what a check reads of a gate entry (Asker.Check:
// holds, then Gate.settings) is in its first 64 bytes, and the entry is
// 128 bytes, a size class whose objects start at a cache line, so that a
// check on a directory too large for the processor's caches reads one
// line of it (docs/benchmarks.md, checkcpu7).
func TestGateEntryLayout(t *testing.T) {
	var e gateEntry
	if got := unsafe.Sizeof(e); got != 128 {
		t.Errorf("gateEntry is %d bytes, want 128 (adjust its padding)", got)
	}
	hot := []struct {
		name      string
		off, size uintptr
	}{
		{"rev", unsafe.Offsetof(e.rev), unsafe.Sizeof(e.rev)},
		{"until", unsafe.Offsetof(e.until), unsafe.Sizeof(e.until)},
		{"settings", unsafe.Offsetof(e.settings), unsafe.Sizeof(e.settings)},
		{"names", unsafe.Offsetof(e.names), unsafe.Sizeof(e.names)},
		{"orgEnd", unsafe.Offsetof(e.orgEnd), unsafe.Sizeof(e.orgEnd)},
		{"actorEnd", unsafe.Offsetof(e.actorEnd), unsafe.Sizeof(e.actorEnd)},
		{"ns", unsafe.Offsetof(e.ns), unsafe.Sizeof(e.ns)},
		{"n", unsafe.Offsetof(e.n), unsafe.Sizeof(e.n)},
		{"self", unsafe.Offsetof(e.self), unsafe.Sizeof(e.self)},
	}
	for _, f := range hot {
		if f.off+f.size > 64 {
			t.Errorf("gateEntry.%s ends at byte %d, past the first 64", f.name, f.off+f.size)
		}
	}
}

// TestGateEntryNamespaces: an entry answers for exactly the questions it
// was given, whether their namespaces are kept inline (in names) or in
// more (too long, or past what fits): not for the same namespace about
// the other subject (self), nor for a prefix or an extension of one; and
// its org and actor are the ones it was made for, held in its own copy.
func TestGateEntryNamespaces(t *testing.T) {
	long := strings.Repeat("n", maxInlineNS)
	tests := []struct {
		name string
		qs   []askQ
	}{
		{"none", nil},
		{"one", []askQ{{namespace: "prod"}}},
		{"self and not, one namespace", []askQ{{namespace: "prod", self: true}, {namespace: "dev"}}},
		{"the longest inline", []askQ{{namespace: long}, {namespace: long + "x", self: true}}},
		{"past 255 bytes", []askQ{{namespace: long}, {namespace: long + "a"[:0]}, {namespace: strings.Repeat("m", 63)}, {namespace: strings.Repeat("o", 63)}, {namespace: "p"}}},
		{"four inline, more after", []askQ{{namespace: "a"}, {namespace: "b", self: true}, {namespace: "c"}, {namespace: "d"}, {namespace: "e", self: true}, {namespace: strings.Repeat("f", 300)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("acme" + "user:ann")
			org, actor := string(body[:4]), string(body[4:])
			e, ok := newGateEntry(org, actor, tt.qs)
			if !ok {
				t.Fatal("newGateEntry refused a short key")
			}
			e.rev, e.until = 5, forever
			if e.org() != "acme" || e.actor() != "user:ann" {
				t.Errorf("org, actor = %q, %q; want acme, user:ann", e.org(), e.actor())
			}
			if d := cmp.Diff(tt.qs, e.asks(), cmp.AllowUnexported(askQ{})); d != "" && len(tt.qs) > 0 {
				t.Errorf("asks (-want +got):\n%s", d)
			}
			for _, q := range tt.qs {
				k := askKey{org: "acme", actor: "user:ann", namespace: q.namespace, self: q.self}
				if !e.allows(k, 5) {
					t.Errorf("its question %+v is not allowed", q)
				}
				held := func(ns string, self bool) bool {
					for _, p := range tt.qs {
						if p.namespace == ns && p.self == self {
							return true
						}
					}
					return false
				}
				for _, other := range []askKey{
					{org: "acme", actor: "user:ann", namespace: q.namespace, self: !q.self},
					{org: "acme", actor: "user:ann", namespace: q.namespace + "x", self: q.self},
					{org: "acme", actor: "user:ann", namespace: q.namespace[:len(q.namespace)-1], self: q.self},
				} {
					if e.allows(other, 5) != held(other.namespace, other.self) {
						t.Errorf("allows(%+v) = %v, want %v", other, !held(other.namespace, other.self), held(other.namespace, other.self))
					}
				}
			}
			if e.allows(askKey{org: "acme", actor: "user:ann", namespace: "zzz"}, 5) {
				t.Errorf("a namespace never given is allowed")
			}
		})
	}
	t.Run("too long a key", func(t *testing.T) {
		if _, ok := newGateEntry(strings.Repeat("o", 1<<24), "user:x", nil); ok {
			t.Errorf("newGateEntry kept a key longer than 16 MiB")
		}
	})
}
