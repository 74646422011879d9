package directory_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func toolSpec(ns, id, spec string) directory.ResourceSpec {
	return directory.ResourceSpec{Namespace: ns, Type: "tools", ID: id, Spec: json.RawMessage(spec)}
}

// TestWriteResources: creates, updates and deletes in one revision, each
// audited as the single-resource method; a dry run writes and audits
// nothing; a refused change fails the whole batch.
func TestWriteResources(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := authz.ResourceRef{Namespace: "prod", Type: "tools", ID: "s.a"}
	b := authz.ResourceRef{Namespace: "prod", Type: "tools", ID: "s.b"}
	_, _, err := f.d.WriteResources(f.ctx, bob, "acme", []directory.ResourceWrite{
		{Kind: directory.ResourceCreate, Resource: toolSpec("prod", "s.a", `{"v":1}`)},
		{Kind: directory.ResourceCreate, Resource: toolSpec("prod", "s.b", `{"v":1}`)},
	}, false)
	ok(t, "first batch", err)

	// A dry run: answers as the write would, writes nothing.
	rev0 := f.d.Revision()
	seq := f.auditSeq()
	rs, rev, err := f.d.WriteResources(f.ctx, bob, "acme", []directory.ResourceWrite{
		{Kind: directory.ResourceUpdate, Resource: toolSpec("prod", "s.a", `{"v":2}`)},
		{Kind: directory.ResourceDelete, Resource: toolSpec("prod", "s.b", ``)},
	}, true)
	ok(t, "dry run", err)
	if rev != 0 || len(rs) != 2 || rs[0].Version != 2 {
		t.Errorf("dry run = rev %d, %d resources (first at version %d); want rev 0, 2, version 2", rev, len(rs), rs[0].Version)
	}
	if f.d.Revision() != rev0 {
		t.Errorf("dry run moved the revision %d → %d", rev0, f.d.Revision())
	}
	if got := f.auditActions(seq); len(got) != 0 {
		t.Errorf("dry run audited %q", got)
	}
	if r, err := f.d.GetResource(f.ctx, bob, "acme", a); err != nil || string(r.Spec) != `{"v":1}` {
		t.Errorf("after dry run: %s, %v; want the old spec", r.Spec, err)
	}

	// The same batch for real: one revision, one entry each.
	_, rev, err = f.d.WriteResources(f.ctx, bob, "acme", []directory.ResourceWrite{
		{Kind: directory.ResourceUpdate, Resource: toolSpec("prod", "s.a", `{"v":2}`), IfVersion: 1},
		{Kind: directory.ResourceDelete, Resource: toolSpec("prod", "s.b", ``)},
	}, false)
	ok(t, "batch", err)
	if rev != rev0+1 {
		t.Errorf("revision %d, want %d", rev, rev0+1)
	}
	want := []string{"resource.update resource/prod/tools/s.a", "resource.delete resource/prod/tools/s.b"}
	if diff := cmp.Diff(want, f.auditActions(seq)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if _, err := f.d.GetResource(f.ctx, bob, "acme", b); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("deleted tool: %v, want not found", err)
	}
	vs, _, err := f.d.ListResourceVersions(f.ctx, bob, "acme", a, store.Page{})
	ok(t, "versions", err)
	if len(vs) != 2 {
		t.Errorf("%d versions of s.a, want 2", len(vs))
	}

	// A stale if-version, a viewer, an unknown kind: nothing written.
	rev0 = f.d.Revision()
	for _, tc := range []struct {
		name  string
		actor directory.Actor
		ws    []directory.ResourceWrite
		want  error
	}{
		{"stale version", bob, []directory.ResourceWrite{
			{Kind: directory.ResourceCreate, Resource: toolSpec("prod", "s.c", `{}`)},
			{Kind: directory.ResourceUpdate, Resource: toolSpec("prod", "s.a", `{"v":3}`), IfVersion: 1},
		}, directory.ErrConflict},
		{"viewer", dave, []directory.ResourceWrite{{Kind: directory.ResourceCreate, Resource: toolSpec("prod", "s.c", `{}`)}}, directory.ErrForbidden},
		{"viewer dry run", dave, []directory.ResourceWrite{{Kind: directory.ResourceDelete, Resource: toolSpec("prod", "s.a", ``)}}, directory.ErrForbidden},
		{"builder (no resources:*)", carol, []directory.ResourceWrite{{Kind: directory.ResourceUpdate, Resource: toolSpec("prod", "s.a", `{}`)}}, directory.ErrForbidden},
		{"unknown kind", bob, []directory.ResourceWrite{{Kind: "upsert", Resource: toolSpec("prod", "s.a", `{}`)}}, directory.ErrInvalid},
		{"system type", bob, []directory.ResourceWrite{{Kind: directory.ResourceCreate, Resource: directory.ResourceSpec{Namespace: "prod", Type: "secrets", ID: "x"}}}, directory.ErrInvalid},
		{"empty", bob, nil, directory.ErrInvalid},
	} {
		_, _, err := f.d.WriteResources(f.ctx, tc.actor, "acme", tc.ws, tc.name == "viewer dry run")
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if f.d.Revision() != rev0 {
		t.Errorf("refused batches moved the revision %d → %d", rev0, f.d.Revision())
	}
	if _, err := f.d.GetResource(f.ctx, bob, "acme", authz.ResourceRef{Namespace: "prod", Type: "tools", ID: "s.c"}); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("s.c of a failed batch: %v, want not found", err)
	}
	// Another org's member reaches nothing: not found.
	if _, _, err := f.d.WriteResources(f.ctx, erin, "acme", []directory.ResourceWrite{{Kind: directory.ResourceDelete, Resource: toolSpec("prod", "s.a", ``)}}, false); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("another org's owner: %v, want not found", err)
	}
}
