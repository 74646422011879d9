package directory

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// sampleHistory is a replayed org using every field a snapshot carries.
func sampleHistory() *orgHistory {
	h := newOrgHistory()
	h.born, h.exists, h.hasPolicy = true, true, true
	h.rev, h.when = 42, time.Date(2026, 11, 1, 10, 0, 0, 123456000, time.UTC)
	h.policyText = "role viewer {\n  chains: read\n}\n"
	h.d.Lifecycle = authz.LifecycleSettings{InactiveAfter: 30 * 24 * time.Hour, AttestEvery: 90 * 24 * time.Hour}
	h.namespaces["default"], h.namespaces["prod"] = true, true
	h.principals["user:dave"] = authz.Principal{ID: "user:dave", Attributes: map[string]any{"level": float64(3), "tags": []any{"a", "b"}, "ok": true}}
	h.principals["agent:Triage"] = authz.Principal{ID: "agent:Triage", Role: "operator",
		ExpiresAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Lifecycle: &authz.Lifecycle{Sponsors: []string{"user:dave", "team:support"}, RequireSponsor: true, Suspended: true,
			AttestedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), LastUsedAt: time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)}}
	h.teams["support"] = authz.Team{Slug: "support", Members: []string{"user:dave", "agent:Triage"}}
	h.teams["empty"] = authz.Team{Slug: "empty", Members: []string{}}
	h.bindings["b1"] = authz.Binding{ID: "b1", Principal: "user:dave", Role: "operator", Scope: authz.Scope{Namespace: "prod"}}
	h.bindings["b2"] = authz.Binding{ID: "b2", Principal: "agent:Triage", Actions: []string{"run", "*"},
		Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "x"}, Condition: "business_hours",
		ExpiresAt: time.Date(2026, 11, 1, 10, 30, 0, 0, time.UTC)}
	h.bindings["b3"] = authz.Binding{ID: "b3", Principal: "team:support", Role: "viewer"}
	h.resources[[3]string{"prod", "chains", "x"}] = authz.Resource{Namespace: "prod", Type: "chains", ID: "x",
		Labels: map[string]string{"env": "prod"}, Attributes: map[string]any{"owner": "dave", "n": float64(1.5)}}
	h.resources[[3]string{"default", "chains", "y"}] = authz.Resource{Namespace: "default", Type: "chains", ID: "y"}
	return h
}

// flat is h with its bindings in the map only (a decoded snapshot keeps
// them in base), for comparing states.
func flat(h *orgHistory) *orgHistory {
	c := *h
	c.bindings = map[string]authz.Binding{}
	for _, b := range h.allBindings() {
		c.bindings[b.ID] = b
	}
	c.base, c.dropped = nil, map[string]bool{}
	return &c
}

var historyCmp = []cmp.Option{cmp.AllowUnexported(orgHistory{}), cmpopts.EquateEmpty(), cmpopts.IgnoreFields(authz.OrgData{}, "Policy")}

// TestSnapshotRoundTrip: what is encoded decodes to the same state, for a
// full org, an empty one, a deleted one and one without a policy.
func TestSnapshotRoundTrip(t *testing.T) {
	deleted := newOrgHistory()
	deleted.born, deleted.rev, deleted.when = true, 7, time.Unix(0, 5).UTC()
	empty := newOrgHistory()
	empty.born, empty.exists, empty.rev, empty.when = true, true, 3, time.Unix(1, 0).UTC()
	for name, h := range map[string]*orgHistory{"full": sampleHistory(), "deleted": deleted, "no policy": empty} {
		data := encodeSnapshot("acme", h)
		got, err := decodeSnapshot("acme", data)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if diff := cmp.Diff(flat(h), flat(got), historyCmp...); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", name, diff)
		}
		if !bytes.Equal(encodeSnapshot("acme", got), data) {
			t.Errorf("%s: re-encoding differs (the encoding is not canonical)", name)
		}
	}
}

// TestSnapshotRejects: a snapshot of another org, a flipped byte anywhere,
// a truncation or trailing bytes is an error (and the caller replays),
// never a different state.
func TestSnapshotRejects(t *testing.T) {
	data := encodeSnapshot("acme", sampleHistory())
	if _, err := decodeSnapshot("globex", data); !errors.Is(err, errSnapshot) {
		t.Errorf("another org's snapshot: %v, want errSnapshot", err)
	}
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x10
		if _, err := decodeSnapshot("acme", bad); !errors.Is(err, errSnapshot) {
			t.Fatalf("byte %d flipped: %v, want errSnapshot", i, err)
		}
	}
	for _, n := range []int{0, 4, len(data) / 2, len(data) - 1} {
		if _, err := decodeSnapshot("acme", data[:n]); !errors.Is(err, errSnapshot) {
			t.Errorf("truncated to %d bytes: %v, want errSnapshot", n, err)
		}
	}
	if _, err := decodeSnapshot("acme", append(bytes.Clone(data), 0)); !errors.Is(err, errSnapshot) {
		t.Errorf("a trailing byte: %v, want errSnapshot", err)
	}
}

// TestSnapshotCoversEveryField fails when a field is added to what a
// snapshot encodes by hand (bindings, teams) or to the org's state, so
// that the encoding is extended with it rather than silently dropping it
// (which would make past answers wrong). Principals and resources are
// JSON: their new fields travel if they have JSON names.
func TestSnapshotCoversEveryField(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []string
	}{
		{authz.Binding{}, []string{"ID", "Principal", "Role", "Actions", "Scope", "Condition", "ExpiresAt"}},
		{authz.Scope{}, []string{"Namespace", "Type", "ID"}},
		{authz.Team{}, []string{"Slug", "Members"}},
		{authz.LifecycleSettings{}, []string{"InactiveAfter", "AttestEvery"}},
		{authz.OrgData{}, []string{"Org", "Policy", "Namespaces", "Principals", "Teams", "Bindings", "Resources", "Lifecycle"}},
		{authz.Resource{}, []string{"Namespace", "Type", "ID", "Labels", "Attributes"}},
	} {
		typ := reflect.TypeOf(tc.v)
		var got []string
		for i := range typ.NumField() {
			got = append(got, typ.Field(i).Name)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s changed; extend the snapshot encoding (snapshot.go) and this list (-encoded +now):\n%s", typ, diff)
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeOf(authz.Principal{}), reflect.TypeOf(authz.Lifecycle{})} {
		for i := range typ.NumField() {
			if f := typ.Field(i); f.Tag.Get("json") == "" || f.Tag.Get("json") == "-" {
				t.Errorf("%s.%s has no JSON name: a snapshot would drop it", typ, f.Name)
			}
		}
	}
}

// FuzzDecodeSnapshot: decoding arbitrary bytes never panics or allocates
// without bound, and what decodes is a fixed point (encoding it and
// decoding again gives the same state). The fuzzed input is a snapshot
// without its checksum, which the target appends: otherwise nearly every
// input would stop at the checksum and the fuzzer would never reach the
// sections (TestSnapshotRejects covers the checksum itself).
func FuzzDecodeSnapshot(f *testing.F) {
	seed := func(data []byte) { f.Add(data[:len(data)-4]) }
	seed(encodeSnapshot("acme", sampleHistory()))
	empty := newOrgHistory()
	empty.born, empty.exists, empty.rev, empty.when = true, true, 1, time.Unix(0, 0).UTC()
	seed(encodeSnapshot("acme", empty))
	f.Add([]byte(snapshotMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		data := binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, crcTable))
		h, err := decodeSnapshot("acme", data)
		if err != nil {
			if !errors.Is(err, errSnapshot) {
				t.Fatalf("error %v does not wrap errSnapshot", err)
			}
			return
		}
		again, err := decodeSnapshot("acme", encodeSnapshot("acme", h))
		if err != nil {
			t.Fatalf("re-encoding what decoded does not decode: %v", err)
		}
		if diff := cmp.Diff(flat(h), flat(again), historyCmp...); diff != "" {
			t.Fatalf("not a fixed point (-first +again):\n%s", diff)
		}
	})
}

// TestHistoryOverSnapshot: bindings changed after a snapshot (put over a
// snapshot's binding, deleted, deleted then put again, new) combine with
// the snapshot's as if everything were in one map.
func TestHistoryOverSnapshot(t *testing.T) {
	h, err := decodeSnapshot("acme", encodeSnapshot("acme", sampleHistory()))
	if err != nil {
		t.Fatal(err)
	}
	want := flat(sampleHistory())
	changes := []authz.Change{
		{Op: authz.OpPutBinding, Binding: authz.Binding{ID: "b1", Principal: "user:dave", Role: "viewer"}},
		{Op: authz.OpDeleteBinding, ID: "b2"},
		{Op: authz.OpDeleteBinding, ID: "b3"},
		{Op: authz.OpPutBinding, Binding: authz.Binding{ID: "b3", Principal: "user:erin", Role: "viewer"}},
		{Op: authz.OpPutBinding, Binding: authz.Binding{ID: "b4", Principal: "user:erin", Role: "admin"}},
		{Op: authz.OpDeleteBinding, ID: "b4"},
		{Op: authz.OpPutBinding, Binding: authz.Binding{ID: "b0", Principal: "user:erin", Role: "viewer"}},
	}
	for i := range changes {
		h.apply(&changes[i])
		want.apply(&changes[i])
	}
	if diff := cmp.Diff(flat(want), flat(h), historyCmp...); diff != "" {
		t.Errorf("(-one map +over a snapshot):\n%s", diff)
	}
	if got, wantN := len(h.allBindings()), 3; got != wantN {
		t.Errorf("%d bindings, want %d", got, wantN)
	}
}

// BenchmarkRebuildFromSnapshot: decoding a snapshot of an org of N
// bindings (GATEHOUSE_BENCH_AT_BINDINGS, default 1,000,000; 10,000
// users) and building its engine — the fixed part of a point-in-time
// question, before the replay of the changes after the snapshot.
func BenchmarkRebuildFromSnapshot(b *testing.B) {
	n := 1000000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_AT_BINDINGS")); err == nil && v > 0 {
		n = v
	}
	h := newOrgHistory()
	h.born, h.exists, h.rev, h.when = true, true, 1, time.Now()
	h.namespaces["prod"] = true
	for i := range 10000 {
		id := fmt.Sprintf("user:u%07d", i)
		h.principals[id] = authz.Principal{ID: id}
	}
	roles := []string{"viewer", "operator", "builder", "admin"}
	nss := []string{"", "default", "prod"}
	for i := range n {
		id := fmt.Sprintf("s%08d", i)
		h.bindings[id] = authz.Binding{ID: id, Principal: fmt.Sprintf("user:u%07d", i%10000), Role: roles[i%4], Scope: authz.Scope{Namespace: nss[i%3]}}
	}
	data := encodeSnapshot("acme", h)
	b.ReportMetric(float64(len(data))/float64(n), "bytes/binding")
	b.ResetTimer()
	for b.Loop() {
		h, err := decodeSnapshot("acme", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.engine("acme", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// TestForkedHistoryMatchesFolded: the engine of a point after a snapshot
// built by forking the snapshot's engine and applying the changes after
// it decides as the engine built whole from the folded state; changes the
// engine refuses are reported as errForkRefused (engineAt then builds the
// org whole).
func TestForkedHistoryMatchesFolded(t *testing.T) {
	comp := &compiler{}
	data := encodeSnapshot("acme", sampleHistory())
	decode := func() *orgHistory {
		t.Helper()
		h, err := decodeSnapshot("acme", data)
		if err != nil {
			t.Fatal(err)
		}
		h.d.Policy = comp.engineModel(h.policyText)
		return h
	}
	base, err := decode().engine("acme", 42)
	if err != nil {
		t.Fatal(err)
	}
	changes := []authz.Change{
		{Op: authz.OpPutPrincipal, Principal: authz.Principal{ID: "user:erin"}},
		{Op: authz.OpPutBinding, Binding: authz.Binding{ID: "b1", Principal: "user:dave", Role: "viewer"}},
		{Op: authz.OpDeleteBinding, ID: "b3"},
		{Op: authz.OpPutBinding, Binding: authz.Binding{ID: "b4", Principal: "user:erin", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}}},
		{Op: authz.OpPutBinding, Binding: authz.Binding{ID: "b5", Principal: "agent:Triage", Role: "viewer"}},
		{Op: authz.OpDeleteBinding, ID: "b5"},
		{Op: authz.OpDeletePrincipal, ID: "agent:Triage"},
	}
	for i := range changes {
		changes[i].Org = "acme"
	}
	for n := 0; n <= len(changes); n++ {
		folded, forked := decode(), newOrgHistory()
		forked.born, forked.exists, forked.rev, forked.from = true, true, 42, base
		for i := range changes[:n] {
			folded.apply(&changes[i])
			forked.apply(&changes[i])
		}
		forked.delta = changes[:n]
		want, err := folded.engine("acme", 43)
		if err != nil {
			t.Fatal(err)
		}
		got, err := forked.engine("acme", 43)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		for _, p := range []string{"user:dave", "user:erin", "agent:Triage"} {
			for _, target := range [][2]string{{"prod", "x"}, {"default", "y"}, {"dev", "z"}} {
				req := authz.Request{Org: "acme", Principal: p, Namespace: target[0], ResourceType: "chains", ResourceID: target[1], Action: "read", Now: now}
				if w, g := want.CheckWithReason(&req), got.CheckWithReason(&req); w.Allowed != g.Allowed || w.Reason != g.Reason {
					t.Errorf("after %d changes, %s read %s/%s: forked %v %q, folded %v %q", n, p, target[0], target[1], g.Allowed, g.Reason, w.Allowed, w.Reason)
				}
			}
		}
	}
	if got := base.Revision(); got != 42 {
		t.Errorf("the snapshot's engine moved to revision %d", got)
	}
	refused := newOrgHistory()
	refused.born, refused.exists, refused.rev, refused.from = true, true, 42, base
	refused.delta = []authz.Change{{Org: "acme", Op: authz.OpPutBinding}} // a binding without an id
	if _, err := refused.engine("acme", 43); !errors.Is(err, errForkRefused) {
		t.Errorf("a change the engine refuses: %v, want errForkRefused", err)
	}
	refused.delta = changes[:1]
	if _, err := refused.engine("acme", 42); !errors.Is(err, errForkRefused) {
		t.Errorf("changes at the snapshot's own revision: %v, want errForkRefused", err)
	}
}
