package authz

import (
	"strings"
	"testing"
)

// TestNameTableAgreesWithMap: a compiled policy's inline type and action
// tables (typeID, actionID) answer what its maps answer, for every name
// the policy has, for prefixes and extensions of them, and for names it
// lacks; a policy whose names do not fit inline (too many, too long) asks
// the maps.
func TestNameTableAgreesWithMap(t *testing.T) {
	long := strings.Repeat("x", nameFastLen+1)
	cases := []struct {
		name     string
		text     string
		inlineOK bool
	}{
		{"few", synthPolicyText(5, 10, false), true},
		{"more types than fit", synthPolicyText(40, 30, false), false},
		{"a long type", "role r level 1 { permission " + long + " { read } permission t1 { run } }\n", false},
		{"a type of the longest that fits", "role r level 1 { permission " + long[1:] + " { read } permission t1 { run, read } }\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := compilePolicy(mustPolicy(t, c.text))
			if p.typesFast.ok != c.inlineOK {
				t.Fatalf("types inline: %v, want %v (%d types)", p.typesFast.ok, c.inlineOK, len(p.types))
			}
			probe := []string{"", "t", "t1x", "rea", "reads", "zz", long, long[1:], long[2:]}
			for name := range p.types {
				probe = append(probe, name, name[:len(name)-1], name+"x")
			}
			for name := range p.actions {
				probe = append(probe, name, name[:len(name)-1], name+"x")
			}
			for _, s := range probe {
				want := int32(-1)
				if i, ok := p.types[s]; ok {
					want = i
				}
				if got := p.typeID(s); got != want {
					t.Errorf("typeID(%q) = %d, want %d", s, got, want)
				}
				want = -1
				if i, ok := p.actions[s]; ok {
					want = i
				}
				if got := p.actionID(s); got != want {
					t.Errorf("actionID(%q) = %d, want %d", s, got, want)
				}
			}
		})
	}
}
