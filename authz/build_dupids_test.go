package authz

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadOrgDuplicateBindingIDs: of bindings with the same id the last
// wins, whatever the order of the ids — the build skips its duplicate
// map only when the ids are strictly increasing.
func TestLoadOrgDuplicateBindingIDs(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	for _, c := range []struct {
		name     string
		bindings []Binding
		want     map[string]int // principal → highest level at org scope
	}{
		{"increasing ids", []Binding{
			roleB("a", "user:alice", "viewer", orgScope()),
			roleB("b", "user:bob", "owner", orgScope()),
			roleB("c", "user:carol", "builder", orgScope()),
		}, map[string]int{"user:alice": 10, "user:bob": 100, "user:carol": 50}},
		{"a duplicate in sorted order: the last wins", []Binding{
			roleB("a", "user:alice", "viewer", orgScope()),
			roleB("b", "user:bob", "owner", orgScope()),
			roleB("b", "user:carol", "builder", orgScope()),
		}, map[string]int{"user:alice": 10, "user:bob": -1, "user:carol": 50}},
		{"a duplicate out of order: the last wins", []Binding{
			roleB("b", "user:bob", "owner", orgScope()),
			roleB("a", "user:alice", "viewer", orgScope()),
			roleB("b", "user:carol", "builder", orgScope()),
		}, map[string]int{"user:alice": 10, "user:bob": -1, "user:carol": 50}},
		{"decreasing ids, no duplicate", []Binding{
			roleB("c", "user:carol", "builder", orgScope()),
			roleB("b", "user:bob", "owner", orgScope()),
			roleB("a", "user:alice", "viewer", orgScope()),
		}, map[string]int{"user:alice": 10, "user:bob": 100, "user:carol": 50}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := New()
			err := e.LoadOrg(1, OrgData{Org: "acme", Policy: m, Bindings: c.bindings,
				Principals: []Principal{{ID: "user:alice"}, {ID: "user:bob"}, {ID: "user:carol"}}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for p := range c.want {
				got[p] = e.HighestLevel("acme", p, Scope{})
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("levels (-want +got):\n%s", d)
			}
		})
	}
}
