package authz

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// orgBindings reconstructs every binding org holds in e's current
// snapshot, from the holders' stored grants (their strs and gx), sorted by
// id.
func orgBindings(t *testing.T, e *Engine, org string) []Binding {
	t.Helper()
	o, ok := e.cur.Load().org(org)
	if !ok {
		t.Fatalf("org %q missing", org)
	}
	var out []Binding
	for hid, h := range o.holders.all() {
		for i := range h.gs() {
			g := h.view(&h.gs()[i])
			out = append(out, o.binding(string(hid), h, &g, "", ""))
		}
		for i := range h.rs() {
			rg := &h.rs()[i]
			g := h.view(&rg.sgrant)
			out = append(out, o.binding(string(hid), h, &g, h.str(rg.typ), h.str(rg.rid)))
		}
	}
	slices.SortFunc(out, func(a, b Binding) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// TestStoredGrantsSurviveWriters: the grant lists keep strings as offsets
// into a holder's strs and rarer parts as indexes into its gx, which built
// holders share and writers append to, rebuild and compact. Whatever a
// writer does, (1) a published snapshot reads back exactly the bindings it
// was built with, and (2) the writer's result reads back exactly the
// bindings applied — ids, scopes, share actions, conditions, expiries.
func TestStoredGrantsSurviveWriters(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	exp := time.Date(2999, 3, 4, 5, 6, 7, 0, time.UTC)
	share := func(id, p, ns, rid string, actions ...string) Binding {
		return Binding{ID: id, Principal: p, Actions: actions, Scope: Scope{Namespace: ns, Type: "chains", ID: rid}}
	}
	// Holders u0..u9 each hold shares "run" and "read" (equal gx lists,
	// shared), a namespace role, and u0 many resource grants.
	var base []Binding
	var principals []Principal
	for u := range 10 {
		p := "user:u" + strconv.Itoa(u)
		principals = append(principals, Principal{ID: p})
		base = append(base,
			share("s-run-"+strconv.Itoa(u), p, "prod", "c1", "run"),
			share("s-read-"+strconv.Itoa(u), p, "prod", "c2", "read"),
			Binding{ID: "ns-" + strconv.Itoa(u), Principal: p, Role: "viewer", Scope: Scope{Namespace: "dev"}})
	}
	for i := range 40 {
		base = append(base, Binding{ID: "many-" + strconv.Itoa(100+i), Principal: "user:u0", Role: "operator",
			Scope: Scope{Namespace: "prod", Type: "chains", ID: "chain-" + strconv.Itoa(i)}})
	}
	base = append(base, Binding{ID: "cond", Principal: "user:u1", Role: "owner", Condition: "senior_only"},
		Binding{ID: "exp", Principal: "user:u2", Role: "viewer", ExpiresAt: exp, Scope: Scope{Namespace: "prod"}})

	del := func(id string) Change { return Change{Org: "acme", Op: OpDeleteBinding, ID: id} }
	put := func(b Binding) Change { return Change{Org: "acme", Op: OpPutBinding, Binding: b} }
	var dropMany []Change
	for i := range 38 {
		dropMany = append(dropMany, del("many-"+strconv.Itoa(100+i)))
	}
	tests := []struct {
		name    string
		changes []Change
	}{
		{"a new rare part appended to a shared gx", []Change{put(share("s-new", "user:u3", "prod", "c9", "run", "read"))}},
		{"two holders sharing gx each given another rare part", []Change{
			put(share("s-x7", "user:u7", "prod", "c7", "run", "read")),
			put(Binding{ID: "s-x8", Principal: "user:u8", Role: "viewer", Condition: "prod_only"})}},
		{"a condition added to a holder sharing gx", []Change{put(Binding{ID: "c2", Principal: "user:u4", Role: "viewer", Condition: "prod_only"})}},
		{"most of a holder's grants deleted (compaction)", dropMany},
		{"deleted then put again with other strings", append(slices.Clone(dropMany),
			put(share("many-100", "user:u0", "prod", "another-chain", "read")), del("s-run-0"), del("ns-0"))},
		{"a binding replaced by id on another holder", []Change{put(Binding{ID: "s-read-5", Principal: "user:u6", Role: "owner"})}},
		{"an expiring binding moved", []Change{del("exp"), put(Binding{ID: "exp2", Principal: "user:u2", Role: "viewer", ExpiresAt: exp.Add(time.Hour)})}},
		{"the policy set again (every holder rebuilt)", []Change{{Org: "acme", Op: OpSetPolicy, Policy: m}, del("s-run-3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			if err := e.LoadOrg(1, OrgData{Org: "acme", Policy: m, Namespaces: []string{"prod", "dev"},
				Principals: principals, Bindings: slices.Clone(base)}); err != nil {
				t.Fatal(err)
			}
			before := orgBindings(t, e, "acme")
			if d := cmp.Diff(sortedBindings(base), before); d != "" {
				t.Fatalf("built org reads back other bindings (-want +got):\n%s", d)
			}
			f := e.Fork()
			want := map[string]Binding{}
			for _, b := range base {
				want[b.ID] = b
			}
			for i, ch := range tt.changes {
				if err := f.Apply(uint64(2+i), ch); err != nil {
					t.Fatalf("change %d: %v", i, err)
				}
				switch ch.Op {
				case OpDeleteBinding:
					delete(want, ch.ID)
				case OpPutBinding:
					want[ch.Binding.ID] = ch.Binding
				}
			}
			if d := cmp.Diff(before, orgBindings(t, e, "acme")); d != "" {
				t.Errorf("the published snapshot changed under the fork's writers (-before +after):\n%s", d)
			}
			var wl []Binding
			for _, b := range want {
				wl = append(wl, b)
			}
			if d := cmp.Diff(sortedBindings(wl), orgBindings(t, f, "acme")); d != "" {
				t.Errorf("the writer's result reads back other bindings (-want +got):\n%s", d)
			}
			assertPacked(t, e, "acme")
			assertPacked(t, f, "acme")
		})
	}
}

// assertPacked fails unless every holder of org in e's current snapshot
// keeps its lists in its pointer-free block: a published holder with a
// writer's edit (holder.w) would give the collector its lists' pointers
// to mark again (issue 19).
func assertPacked(t *testing.T, e *Engine, org string) {
	t.Helper()
	o, ok := e.cur.Load().org(org)
	if !ok {
		t.Fatalf("org %q missing", org)
	}
	for hid, h := range o.holders.all() {
		if h.w != nil {
			t.Errorf("holder %s published with a writer's edit", hid)
		}
		if h.flags&hPrivate != 0 {
			t.Errorf("holder %s published private", hid)
		}
	}
}

// TestHolderSize: a holder is one 48-byte block with three pointers
// (blk, x, gx) and w, nil once published; 0.42 holders a binding on
// loadgen's orgs1m make every byte here about 0.4 bytes a binding the
// collector scans (issue 19).
func TestHolderSize(t *testing.T) {
	if got := unsafe.Sizeof(holder{}); got > 48 {
		t.Errorf("holder is %d bytes, want at most 48", got)
	}
}

func sortedBindings(bs []Binding) []Binding {
	out := slices.Clone(bs)
	slices.SortFunc(out, func(a, b Binding) int { return strings.Compare(a.ID, b.ID) })
	return out
}
