package feed_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
)

const policyText = `role viewer level 10 {
    permission chains { read }
}
`

func sample() *feed.Snapshot {
	text := policyText
	return &feed.Snapshot{
		Header: feed.Header{Format: feed.SnapshotFormat, Org: "acme", Revision: 42, Policy: &text,
			Lifecycle: authz.LifecycleSettings{InactiveAfter: time.Hour}, Namespaces: []string{"default", "prod"},
			Principals: 2, Teams: 1, Bindings: 2, Resources: 1},
		Principals: []authz.Principal{{ID: "user:alice", Attributes: map[string]any{"tier": "gold"}},
			{ID: "agent:Triage", Role: "viewer", Lifecycle: &authz.Lifecycle{Sponsors: []string{"user:alice"}, RequireSponsor: true}}},
		Teams:     []authz.Team{{Slug: "support", Members: []string{"user:alice"}}},
		Bindings:  []authz.Binding{{ID: "b1", Principal: "user:alice", Role: "viewer"}, {ID: "b2", Principal: "team:support", Actions: []string{"read"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "x"}}},
		Resources: []authz.Resource{{Namespace: "prod", Type: "chains", ID: "x", Labels: map[string]string{"env": "prod"}}},
	}
}

func encode(t testing.TB, s *feed.Snapshot) []byte {
	t.Helper()
	var buf bytes.Buffer
	sw := feed.NewSnapshotWriter(&buf)
	if err := sw.WriteHeader(s.Header); err != nil {
		t.Fatal(err)
	}
	for i := range s.Principals {
		_ = sw.Put(feed.Change{Op: feed.OpPutPrincipal, Principal: &s.Principals[i]})
	}
	for i := range s.Teams {
		_ = sw.Put(feed.Change{Op: feed.OpPutTeam, Team: &s.Teams[i]})
	}
	for i := range s.Bindings {
		_ = sw.Put(feed.Change{Op: feed.OpPutBinding, Binding: &s.Bindings[i]})
	}
	for i := range s.Resources {
		_ = sw.Put(feed.Change{Op: feed.OpPutResource, Resource: &s.Resources[i]})
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	want := sample()
	got, err := feed.ReadSnapshot(bytes.NewReader(encode(t, want)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	// The decoded snapshot decides: the compiled policy grants viewer.
	e := authz.New()
	if err := e.LoadOrg(got.Revision, got.OrgData()); err != nil {
		t.Fatal(err)
	}
	d := e.Check(&authz.Request{Org: "acme", Principal: "user:alice", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "read"})
	if !d.Allowed || d.Revision != 42 {
		t.Fatalf("decision from the decoded snapshot: %+v", d)
	}
}

// TestSnapshotCutShort: every proper prefix of a snapshot is refused — a
// replica never starts from part of an org.
func TestSnapshotCutShort(t *testing.T) {
	b := encode(t, sample())
	for n := 0; n < len(b); n++ {
		if _, err := feed.ReadSnapshot(bytes.NewReader(b[:n])); err == nil {
			t.Fatalf("a snapshot cut at byte %d of %d was accepted", n, len(b))
		}
	}
}

func TestSnapshotRefusals(t *testing.T) {
	full := string(encode(t, sample()))
	lines := strings.SplitAfter(full, "\n")
	header, trailer := lines[0], lines[len(lines)-2]
	binding := `{"op":"binding.put","binding":{"id":"b9","principal":"user:bob","role":"viewer","scope":{}}}` + "\n"
	principal := `{"op":"principal.put","principal":{"id":"user:bob"}}` + "\n"
	for _, c := range []struct {
		name, text, want string
	}{
		{"empty", "", "line 1"},
		{"not JSON", "{\n", "line 1 (header)"},
		{"wrong format", strings.Replace(header, feed.SnapshotFormat, "v0", 1) + trailer, "format"},
		{"no org", strings.Replace(header, `"org":"acme"`, `"org":""`, 1) + trailer, "org"},
		{"delete in a snapshot", header + `{"op":"binding.delete","id":"b1"}` + "\n" + trailer, "only puts"},
		{"unknown op", header + `{"op":"binding.grant","id":"b1"}` + "\n" + trailer, "unknown op"},
		{"put without its object", header + `{"op":"binding.put"}` + "\n" + trailer, "needs a binding"},
		{"out of order", strings.Join(lines[:3], "") + binding + principal + trailer, "after a later kind"},
		{"counts do not match", header + binding + `{"end":true,"lines":1}` + "\n", "trailer"},
		{"data after the trailer", full + principal, "after the trailer"},
		{"no final newline", strings.TrimSuffix(full, "\n"), "cut short"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := feed.ReadSnapshot(strings.NewReader(c.text))
			if !errors.Is(err, feed.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ReadSnapshot = %v; want ErrMalformed mentioning %q", err, c.want)
			}
		})
	}
}

func TestDecodePage(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"ok", `{"org":"a","after":3,"revision":9,"events":[{"revision":4,"changes":[{"op":"binding.delete","id":"b"}]},{"revision":9}]}`, ""},
		{"event not after", `{"org":"a","after":3,"revision":9,"events":[{"revision":3}]}`, "not after 3"},
		{"events out of order", `{"org":"a","after":3,"revision":9,"events":[{"revision":6},{"revision":5}]}`, "not after 6"},
		{"revision before last event", `{"org":"a","after":3,"revision":4,"events":[{"revision":6}]}`, "before its last event"},
		{"bad change", `{"org":"a","after":3,"revision":9,"events":[{"revision":6,"changes":[{"op":"policy.set"}]}]}`, "needs a policy"},
		{"not JSON", `{"org":`, "page"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := feed.DecodePage([]byte(c.text))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, feed.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("DecodePage = %v; want ErrMalformed mentioning %q", err, c.want)
			}
		})
	}
}

// TestEngineChanges: every op translates to the engine's, and a policy
// that does not compile denies everything (as on the server).
func TestEngineChanges(t *testing.T) {
	e := authz.New()
	s := sample()
	if err := e.LoadOrg(1, s.OrgData()); err != nil {
		t.Fatal(err)
	}
	q := &authz.Request{Org: "acme", Principal: "user:alice", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "read"}
	bad := "role nope {"
	steps := []struct {
		changes []feed.Change
		allowed bool
	}{
		{[]feed.Change{{Op: feed.OpDeleteBinding, ID: "b1"}}, true}, // still through the team's share
		{[]feed.Change{{Op: feed.OpPutTeam, Team: &authz.Team{Slug: "support", Members: []string{}}}}, false},
		{[]feed.Change{{Op: feed.OpPutBinding, Binding: &authz.Binding{ID: "b3", Principal: "user:alice", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}}}}, true},
		{[]feed.Change{{Op: feed.OpSetPolicy, Policy: &bad}}, false},
		{[]feed.Change{{Op: feed.OpSetPolicy, Policy: s.Policy}}, true},
		{[]feed.Change{{Op: feed.OpDeletePrincipal, ID: "user:alice"}}, false},
		{[]feed.Change{{Op: feed.OpPutPrincipal, Principal: &authz.Principal{ID: "user:alice"}}, {Op: feed.OpDeleteNamespace, ID: "prod"}}, false},
		{[]feed.Change{{Op: feed.OpPutNamespace, ID: "prod"}, {Op: feed.OpPutBinding, Binding: &authz.Binding{ID: "b4", Principal: "user:alice", Role: "viewer"}}}, true},
		{[]feed.Change{{Op: feed.OpDeleteOrg}}, false},
	}
	for i, st := range steps {
		for _, c := range st.changes {
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Apply(uint64(i+2), feed.Engine("acme", st.changes)...); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d := e.Check(q); d.Allowed != st.allowed {
			t.Fatalf("step %d (%s): allowed = %v, want %v", i, st.changes[0].Op, d.Allowed, st.allowed)
		}
	}
}

func FuzzReadSnapshot(f *testing.F) {
	f.Add(encode(f, sample()))
	f.Add([]byte(`{"format":"gatehouse.snapshot.v1","org":"a","revision":1,"policy":null,"lifecycle":{},"namespaces":[],"principals":0,"teams":0,"bindings":0,"resources":0}` + "\n" + `{"end":true,"lines":0}` + "\n"))
	f.Add([]byte(`{"format":"gatehouse.snapshot.v1","org":"a","revision":1,"principals":1000000000}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := feed.ReadSnapshot(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, feed.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		// What decodes re-encodes to a snapshot that decodes the same.
		again, err := feed.ReadSnapshot(bytes.NewReader(encode(t, s)))
		if err != nil {
			t.Fatalf("re-encoded snapshot refused: %v", err)
		}
		if again.Revision != s.Revision || len(again.Bindings) != len(s.Bindings) || len(again.Principals) != len(s.Principals) {
			t.Fatal("re-encoded snapshot differs")
		}
		// Loading it never panics.
		_ = authz.New().LoadOrg(max(s.Revision, 1), s.OrgData())
	})
}

func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"org":"a","after":3,"revision":9,"events":[{"revision":4,"changes":[{"op":"binding.delete","id":"b"}]},{"revision":9}]}`))
	f.Add([]byte(`{"org":"a","after":0,"revision":1,"events":[{"revision":1,"changes":[{"op":"policy.set","policy":"role a level 1 {}"},{"op":"org.delete"}]}]}`))
	f.Add([]byte(`{"revision":5,"changes":[{"op":"team.put","team":{"slug":"t","members":["user:a"]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := feed.DecodePage(b); err == nil {
			e := authz.New()
			_ = e.LoadOrg(1, authz.OrgData{Org: "a"})
			for _, ev := range p.Events {
				_ = e.Apply(ev.Revision+1, feed.Engine("a", ev.Changes)...)
			}
		} else if !errors.Is(err, feed.ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		if ev, err := feed.DecodeEvent(b); err == nil {
			_ = feed.Engine("a", ev.Changes)
		} else if !errors.Is(err, feed.ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
	})
}
