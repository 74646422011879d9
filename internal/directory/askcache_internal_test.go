package directory

import (
	"strings"
	"testing"
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
	var c askCache
	c.remember(remembered, 7)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.allowed(tt.k, tt.rev); got != tt.want {
				t.Errorf("allowed(%+v, %d) = %v, want %v", tt.k, tt.rev, got, tt.want)
			}
		})
	}

	t.Run("a long key remembered", func(t *testing.T) {
		k := askKey{org: long, actor: "user:" + long, namespace: "prod"}
		c.remember(k, 7)
		if !c.allowed(k, 7) {
			t.Errorf("a remembered key longer than the stack buffer is not found")
		}
		if c.allowed(askKey{org: long, actor: "user:" + long, namespace: "dev"}, 7) {
			t.Errorf("a long key's neighbour is found")
		}
	})
	t.Run("a new revision forgets", func(t *testing.T) {
		c.remember(askKey{org: "other", actor: "user:bob", namespace: "prod"}, 9)
		if c.allowed(remembered, 9) || c.allowed(remembered, 7) {
			t.Errorf("a key remembered at revision 7 is still allowed after revision 9 was remembered")
		}
	})
	t.Run("an older revision is not remembered", func(t *testing.T) {
		c.remember(remembered, 8)
		if c.allowed(remembered, 8) {
			t.Errorf("remembering at an older revision than the cache's replaced it")
		}
	})
}
