package server_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// mintedKeyReads counts the store's reads of minted API keys
// (APIKeyFilter.Minted): the reads by which a write's warning judges the
// keys it may have stopped (auth.OutrankedKeys).
type mintedKeyReads struct {
	store.Store
	n *atomic.Int64
}

func (s mintedKeyReads) ListAPIKeys(ctx context.Context, f store.APIKeyFilter, p store.Page) ([]store.APIKey, string, error) {
	if f.Minted {
		s.n.Add(1)
	}
	return s.Store.ListAPIKeys(ctx, f, p)
}

// TestRefusedWritesJudgeNoKeys: a write that is refused makes the server
// read and judge no minted key (threat-model row 99) — neither on the
// routes with no route-level permission (POST …/writes with a
// binding.delete, DELETE …/members/{user}, DELETE
// …/teams/{team}/members/{p}), which any member may call, nor on routes
// whose permission the caller holds but whose escalation rules refuse
// it, nor for a service key, nor for a caller of another org, nor for a
// refused DELETE /v1/me. The same writes, allowed, read the keys (the
// count sees them).
func TestRefusedWritesJudgeNoKeys(t *testing.T) {
	t.Parallel()
	var reads atomic.Int64
	e := newEnv(t, "sqlite", envOpts{wrap: func(st store.Store) store.Store { return mintedKeyReads{st, &reads} }})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	adm := e.userWithEmail("adm")
	e.must(201, "POST", org+"/members", w.owner, map[string]any{"user_id": "adm", "role": "admin"}, nil)
	stranger := e.user("stranger")
	e.must(201, "POST", "/v1/orgs", stranger, map[string]any{"id": "elsewhere", "name": "Elsewhere"}, nil)
	// The owner's org-scope binding (an admin may not delete it) and the
	// member's namespace binding (the owner may).
	var bs api.List[api.Binding]
	e.must(200, "GET", org+"/bindings", w.owner, nil, &bs)
	var ownerBinding, memberBinding string
	for _, b := range bs.Items {
		switch b.Principal {
		case "user:" + w.ownerID:
			ownerBinding = b.ID
		case "user:" + w.memberID:
			memberBinding = b.ID
		}
	}
	if ownerBinding == "" || memberBinding == "" {
		t.Fatalf("no binding of the owner or of the member in %+v", bs.Items)
	}
	deleteBinding := func(id string) map[string]any {
		return map[string]any{"changes": []any{map[string]any{"op": "binding.delete", "binding": id}}}
	}

	type row struct {
		name         string
		caller       string
		method, path string
		body         any
		status       int
	}
	refused := []row{
		{"writes binding.delete by a viewer", w.viewer, "POST", "/writes", deleteBinding(ownerBinding), 403},
		{"writes binding.delete by a member holding nothing", w.nobody, "POST", "/writes", deleteBinding(memberBinding), 403},
		{"writes binding.delete of an owner's by an admin", adm, "POST", "/writes", deleteBinding(ownerBinding), 403},
		{"writes binding.delete by a service key", w.serviceKey, "POST", "/writes", deleteBinding(memberBinding), 403},
		{"writes binding.delete by another org's member", stranger, "POST", "/writes", deleteBinding(memberBinding), 404},
		{"member.delete of the owner by a viewer", w.viewer, "DELETE", "/members/" + w.ownerID, nil, 403},
		{"member.delete of the owner by an admin", adm, "DELETE", "/members/" + w.ownerID, nil, 403},
		{"member.delete by another org's member", stranger, "DELETE", "/members/" + w.memberID, nil, 404},
		{"team.member.delete by a viewer", w.viewer, "DELETE", "/teams/support/members/user:" + w.memberID, nil, 403},
		{"team.member.delete by a service key", w.serviceKey, "DELETE", "/teams/support/members/user:" + w.memberID, nil, 403},
		{"member.delete by a service key", w.serviceKey, "DELETE", "/members/" + w.memberID, nil, 403},
		{"team.member.delete by another org's member", stranger, "DELETE", "/teams/support/members/user:" + w.memberID, nil, 404},
		{"member.update of the owner by an admin", adm, "PATCH", "/members/" + w.ownerID, map[string]any{"role": "viewer"}, 403},
		{"binding.delete of an owner's by an admin", adm, "DELETE", "/bindings/" + ownerBinding, nil, 403},
		{"user.delete by the org's last owner", w.owner, "DELETE", "/v1/me", nil, 409},
		{"user.delete by a service key", w.serviceKey, "DELETE", "/v1/me", nil, 403},
	}
	// url is a row's path, under the org unless it names its own.
	url := func(path string) string {
		if strings.HasPrefix(path, "/v1/") {
			return path
		}
		return org + path
	}
	got := map[string]int64{}
	want := map[string]int64{}
	for _, r := range refused {
		reads.Store(0)
		if res := e.do(r.method, url(r.path), r.caller, r.body); res.Status != r.status {
			t.Fatalf("%s: %s %s: status %d, want %d; body %s", r.name, r.method, r.path, res.Status, r.status, res.Body)
		}
		got[r.name], want[r.name] = reads.Load(), 0
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reads of minted keys by refused writes (-want +got):\n%s", diff)
	}

	// The count sees the judging of an allowed write of each kind.
	allowed := []row{
		{"team.member.delete by the owner", w.owner, "DELETE", "/teams/support/members/user:" + w.memberID, nil, 200},
		{"writes binding.delete by the owner", w.owner, "POST", "/writes", deleteBinding(memberBinding), 200},
		{"member.delete by the owner", w.owner, "DELETE", "/members/" + w.memberID, nil, 200},
		{"user.delete by the viewer", w.viewer, "DELETE", "/v1/me", nil, 200},
	}
	for _, r := range allowed {
		reads.Store(0)
		if res := e.do(r.method, url(r.path), r.caller, r.body); res.Status != r.status {
			t.Fatalf("%s: %s %s: status %d, want %d; body %s", r.name, r.method, r.path, res.Status, r.status, res.Body)
		}
		if reads.Load() == 0 {
			t.Errorf("%s: no minted key read: the count does not see the judging", r.name)
		}
	}
}

// TestDeleteMeWarnsOfOutrankedKeys: a member deleting its own user
// (DELETE /v1/me) stops every API key it minted, in every org it leaves:
// the answer warns of them, one warning per org naming the org, and each
// org's audit log records them (apikey.outranked, cause user.delete). A
// key already refused before is not the deletion's doing; the user, a
// member of no org any more, is told how many, not which (it may read
// no org's keys now).
func TestDeleteMeWarnsOfOutrankedKeys(t *testing.T) {
	t.Parallel()
	ow := newOutrankWorld(t)
	e := ow.e
	second := "/v1/orgs/second"
	e.must(201, "POST", "/v1/orgs", ow.owner, map[string]any{"id": "second", "name": "Second"}, nil)
	e.must(201, "POST", second+"/members", ow.owner, map[string]any{"user_id": "adm", "role": "admin"}, nil)
	mint := func(org, svc string) string {
		t.Helper()
		e.must(201, "POST", org+"/services", ow.owner, map[string]any{"name": svc, "role": "viewer"}, nil)
		var kc api.KeyCreated
		e.must(201, "POST", org+"/apikeys", ow.adm, map[string]any{"principal": "service:" + svc}, &kc)
		return kc.Item.ID
	}
	k1, k2, k3 := mint(ow.org, "one"), mint(ow.org, "two"), mint(second, "three")
	mint(second, "refused")
	e.must(201, "POST", second+"/bindings", ow.owner, map[string]any{"principal": "service:refused", "role": "owner"}, nil)

	var rev api.Revision
	r := e.must(200, "DELETE", "/v1/me", ow.adm, nil, &rev)
	for i := range rev.Warnings {
		if !strings.Contains(rev.Warnings[i].Message, "refused") {
			t.Errorf("warning %+v", rev.Warnings[i])
		}
		rev.Warnings[i].Message = ""
	}
	want := []api.WriteWarning{
		{Code: api.WarningCredentialsOutranked, Org: ow.world.org, Count: 2},
		{Code: api.WarningCredentialsOutranked, Org: "second", Count: 1},
	}
	if diff := cmp.Diff(want, rev.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, id := range []string{k1, k2, k3} {
		if strings.Contains(string(r.Body), id) {
			t.Errorf("the answer names key %s to a user that may read no org's keys: %s", id, r.Body)
		}
	}

	type entry struct {
		Details struct {
			Cause string `json:"cause"`
			Keys  []struct {
				ID     string `json:"id"`
				Minter string `json:"minter"`
			} `json:"keys"`
		} `json:"details"`
	}
	logged := func(org string) []string {
		t.Helper()
		var l struct{ Items []entry }
		e.must(200, "GET", org+"/audit?action=apikey.outranked", ow.owner, nil, &l)
		var ids []string
		for _, it := range l.Items {
			if it.Details.Cause != "user.delete" {
				continue // the binding that refused a key before
			}
			for _, k := range it.Details.Keys {
				if k.Minter != "user:adm" {
					t.Errorf("%s: entry %+v", org, it.Details)
				}
				ids = append(ids, k.ID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	want1 := []string{k1, k2}
	slices.Sort(want1)
	if diff := cmp.Diff(want1, logged(ow.org)); diff != "" {
		t.Errorf("%s's log (-want +got):\n%s", ow.org, diff)
	}
	if diff := cmp.Diff([]string{k3}, logged(second)); diff != "" {
		t.Errorf("second's log (-want +got):\n%s", diff)
	}
}
