package server_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestBatchChecksCarryApprovals: a batch item takes arguments and
// approval_id exactly like /check — an approval_required item carries
// the approval (the same one /check opened for that question), a granted
// approval presented by two items of one batch is consumed once (one
// allow), and an item with other arguments is another question.
func TestBatchChecksCarryApprovals(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			args := map[string]any{"ticket": 7}
			item := func(args any, id string) map[string]any {
				m := map[string]any{"action": "chains:run", "resource": "chains/deploy", "namespace": "prod", "arguments": args}
				if id != "" {
					m["approval_id"] = id
				}
				return m
			}
			batch := func(items ...map[string]any) api.BatchCheckResponse {
				t.Helper()
				var out api.BatchCheckResponse
				e.must(200, "POST", "/v1/orgs/"+w.org+"/checks", w.op, map[string]any{"checks": items}, &out)
				if len(out.Results) != len(items) {
					t.Fatalf("%d results for %d items", len(out.Results), len(items))
				}
				return out
			}
			first := batch(item(args, ""), item(map[string]any{"ticket": 8}, ""))
			r0, r1 := first.Results[0], first.Results[1]
			if r0.Allowed || r0.Result != api.ResultApprovalRequired || r0.Approval == nil || r0.Approval.Status != "pending" {
				t.Fatalf("batch item needing approval: %+v", r0)
			}
			if r1.Approval == nil || r1.Approval.ID == r0.Approval.ID || r1.Approval.ArgsDigest == r0.Approval.ArgsDigest {
				t.Errorf("other arguments share the approval: %+v vs %+v", r1.Approval, r0.Approval)
			}
			id := r0.Approval.ID
			if c := w.check(w.op, args, ""); c.Approval == nil || c.Approval.ID != id {
				t.Errorf("/check opened another approval for the batch's question: %+v", c.Approval)
			}
			base := "/v1/orgs/" + w.org + "/approvals/" + id
			e.must(200, "POST", base+"/approve", w.ann, nil, nil)
			e.must(200, "POST", base+"/approve", w.amy, nil, nil)
			// Two items presenting it, plus one with other arguments.
			got := batch(item(args, id), item(args, id), item(map[string]any{"ticket": 9}, id))
			allows := 0
			for i, r := range got.Results {
				if r.Error != nil {
					t.Fatalf("item %d: %+v", i, r.Error)
				}
				if r.Allowed {
					allows++
					if r.Approval == nil || r.Approval.ID != id || r.Approval.Status != "consumed" {
						t.Errorf("the allow does not name the consumed approval: %+v", r)
					}
				} else if r.Result != api.ResultApprovalRequired {
					t.Errorf("item %d: %+v", i, r)
				}
			}
			if allows != 1 || !got.Results[0].Allowed {
				t.Fatalf("presenting one approval twice in a batch: %d allows (%+v)", allows, got.Results)
			}
			if again := batch(item(args, id)); again.Results[0].Allowed {
				t.Fatal("the approval was used again in a later batch")
			}
			// A malformed approval_id is that item's 400, not the batch's.
			bad := batch(item(args, "nope"), map[string]any{"action": "chains:read", "resource": "chains/deploy", "namespace": "prod"})
			if p := bad.Results[0].Error; p == nil || p.Status != 400 || p.Field != "checks[0].approval_id" {
				t.Errorf("malformed approval_id: %+v", bad.Results[0])
			}
			if !bad.Results[1].Allowed {
				t.Errorf("the other item: %+v", bad.Results[1])
			}
		})
	}
}

// failRuns fails CreateRun while fail is set (an injected store failure
// in the write that records a run).
type failRuns struct {
	store.Store
	fail *atomic.Bool
}

func (f failRuns) Write(ctx context.Context, fn func(store.Tx) error) (uint64, error) {
	return f.Store.Write(ctx, func(tx store.Tx) error { return fn(failRunsTx{tx, f.fail}) })
}

type failRunsTx struct {
	store.Tx
	fail *atomic.Bool
}

func (t failRunsTx) CreateRun(ctx context.Context, r store.Run) (store.Run, error) {
	if t.fail.Load() {
		return store.Run{}, errors.New("injected: the disk is full")
	}
	return t.Tx.CreateRun(ctx, r)
}

// TestRunStartConsumesApprovalWithTheRun: a run start presenting a granted
// approval consumes it in the write that records the run. When recording
// the run fails (injected), the start fails and the approval is still
// granted, with no approval.consume, run.start or run token entry; once
// the store works again the same approval starts the run (with its run
// token, which the runtime can exchange), once.
func TestRunStartConsumesApprovalWithTheRun(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			fail := &atomic.Bool{}
			w := newApvWorldOpts(t, backend, envOpts{wrap: func(st store.Store) store.Store { return failRuns{st, fail} }})
			e := w.e
			org := "/v1/orgs/" + w.org
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "runner", "role": "admin"}, nil)
			var kc struct {
				Token string `json:"token"`
			}
			e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:runner"}, &kc)
			start := map[string]any{"resource": "chains/deploy", "namespace": "prod", "input": map[string]any{"ticket": 5},
				"issue_token": true, "runtime": "service:runner"}
			var st api.RunStartResponse
			e.must(202, "POST", org+"/runs", w.op, start, &st)
			if st.Approval == nil {
				t.Fatalf("no approval: %+v", st)
			}
			id := st.Approval.ID
			e.must(200, "POST", org+"/approvals/"+id+"/approve", w.ann, nil, nil)
			e.must(200, "POST", org+"/approvals/"+id+"/approve", w.amy, nil, nil)
			entries := func() map[string]int {
				var list struct {
					Items []api.AuditEntry `json:"items"`
				}
				e.must(200, "GET", org+"/audit?page_size=1000", w.owner, nil, &list)
				n := map[string]int{}
				for _, en := range list.Items {
					n[en.Action+"/"+en.Result]++
				}
				return n
			}
			before := entries()
			start["approval_id"] = id
			fail.Store(true)
			if r := e.do("POST", org+"/runs", w.op, start); r.Status != 503 || strings.Contains(string(r.Body), "disk") {
				t.Fatalf("start with the store failing: %d %s (want 503, no internal text)", r.Status, r.Body)
			}
			var ap api.Approval
			e.must(200, "GET", org+"/approvals/"+id, w.op, nil, &ap)
			if ap.Status != "granted" {
				t.Fatalf("after a failed start the approval is %s, want granted", ap.Status)
			}
			after := entries()
			for _, k := range []string{"approval.consume/success", "run.start/success", "secrets.run_token/success"} {
				if after[k] != before[k] {
					t.Errorf("%s entries went from %d to %d in a start that failed", k, before[k], after[k])
				}
			}
			fail.Store(false)
			e.must(201, "POST", org+"/runs", w.op, start, &st)
			if st.Run == nil || st.Run.ApprovalID != id || st.RunToken == nil {
				t.Fatalf("start once the store works: %+v", st)
			}
			e.must(200, "GET", org+"/approvals/"+id, w.op, nil, &ap)
			if ap.Status != "consumed" {
				t.Errorf("approval after the run: %s", ap.Status)
			}
			// The token of an approved run is exchangeable (its issuer's
			// right to run is the approved one).
			e.must(200, "POST", org+"/runs/exchange", kc.Token, map[string]any{"token": st.RunToken.Token}, nil)
			if r := e.do("POST", org+"/runs", w.op, start); r.Status != 202 {
				t.Errorf("starting again with the consumed approval: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestApprovalSettingsOverHTTP: an org's approval lifetimes are its own
// setting — shown on GET org (the server's defaults until set), set by
// org:update only, bounded with specific errors, audited, and applied to
// approvals asked for and granted afterwards (not to existing ones).
func TestApprovalSettingsOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			var o api.Org
			e.must(200, "GET", org, w.v, nil, &o)
			want := &api.OrgApprovalSettings{PendingTTL: "24h", UseWindow: "15m", PendingTTLDefault: true, UseWindowDefault: true}
			if diff := cmp.Diff(want, o.Approvals); diff != "" {
				t.Errorf("a new org's settings (-want +got):\n%s", diff)
			}
			old := w.check(w.op, map[string]any{"n": 1}, "").Approval // before the change
			if old == nil {
				t.Fatal("no approval")
			}
			for _, tc := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"pending_ttl": "30s"}, "pending_ttl"},
				{map[string]any{"pending_ttl": "31d"}, "pending_ttl"},
				{map[string]any{"use_window": "25h"}, "use_window"},
				{map[string]any{"use_window": "-5m"}, "use_window"},
				{map[string]any{"use_window": "90.5s"}, "use_window"},
				{map[string]any{"pending_ttl": "soon"}, "pending_ttl"},
				{map[string]any{"pending_ttl": "2h", "pending_ttl_default": true}, "pending_ttl_default"},
			} {
				p := e.do("PUT", org+"/approval-settings", w.owner, tc.body).problem(t)
				if p.Status != 400 || p.Field != tc.field {
					t.Errorf("%v: %d field %q (want 400 %q): %s", tc.body, p.Status, p.Field, tc.field, p.Detail)
				}
			}
			body := map[string]any{"pending_ttl": "2h", "use_window": "5m"}
			if r := e.do("PUT", org+"/approval-settings", w.op, body); r.Status != 403 {
				t.Errorf("an operator (no org:update): %d", r.Status)
			}
			stranger := e.user("apvsetstranger")
			e.must(201, "POST", "/v1/orgs", stranger, map[string]any{"id": "apvsetother"}, nil)
			if r := e.do("PUT", org+"/approval-settings", stranger, body); r.Status != 404 {
				t.Errorf("another org's owner: %d", r.Status)
			}
			var wr api.Written[api.Org]
			e.must(200, "PUT", org+"/approval-settings", w.owner, body, &wr)
			want = &api.OrgApprovalSettings{PendingTTL: "2h", UseWindow: "5m"}
			if diff := cmp.Diff(want, wr.Item.Approvals); diff != "" {
				t.Errorf("after the change (-want +got):\n%s", diff)
			}
			o = api.Org{}
			e.must(200, "GET", org, w.v, nil, &o)
			if diff := cmp.Diff(want, o.Approvals); diff != "" {
				t.Errorf("GET org after the change (-want +got):\n%s", diff)
			}
			// New approvals get the new times; the old one keeps its own.
			asked := time.Now()
			ap := w.check(w.op, map[string]any{"n": 2}, "").Approval
			if ap == nil || ap.ExpiresAt.Sub(asked) > 2*time.Hour+time.Minute || ap.ExpiresAt.Sub(asked) < 2*time.Hour-time.Minute {
				t.Errorf("a new approval expires at %v, want about 2h after %v", ap.ExpiresAt, asked)
			}
			var got api.Approval
			e.must(200, "GET", org+"/approvals/"+old.ID, w.op, nil, &got)
			if !got.ExpiresAt.Equal(old.ExpiresAt) {
				t.Errorf("the change moved an existing approval's expiry from %v to %v", old.ExpiresAt, got.ExpiresAt)
			}
			e.must(200, "POST", org+"/approvals/"+ap.ID+"/approve", w.ann, nil, nil)
			e.must(200, "POST", org+"/approvals/"+ap.ID+"/approve", w.amy, nil, &got)
			if use := got.UseBy.Sub(got.Votes[1].At); use != 5*time.Minute {
				t.Errorf("granted with a use window of %v, want 5m", use)
			}
			// "0" goes back to the server's default.
			wr = api.Written[api.Org]{}
			e.must(200, "PUT", org+"/approval-settings", w.owner, map[string]any{"pending_ttl": "0", "use_window": "5m"}, &wr)
			if a := wr.Item.Approvals; a.PendingTTL != "24h" || !a.PendingTTLDefault || a.UseWindow != "5m" || a.UseWindowDefault {
				t.Errorf("after resetting pending_ttl: %+v", a)
			}
			var list struct {
				Items []api.AuditEntry `json:"items"`
			}
			e.must(200, "GET", org+"/audit?page_size=1000", w.owner, nil, &list)
			n := map[string]int{}
			for _, en := range list.Items {
				if en.Action == "org_approval_settings.set" {
					n[en.Result]++
				}
			}
			if n["success"] != 2 || n["denied"] != 1 {
				t.Errorf("org_approval_settings.set entries: %v (want 2 success, 1 denied)", n)
			}
		})
	}
}

// TestRoleEditKeepsAskBefore: a custom role with an `ask before … quorum
// 2` rule, redefined through the roles API (which says permissions, not
// approval rules), keeps the rule: it is still in the policy text and
// still enforced (approval_required with quorum 2), while the edit itself
// takes effect.
func TestRoleEditKeepsAskBefore(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			const ask = "ask before run chains when in_prod from admin quorum 2"
			var pol struct {
				Text string `json:"text"`
			}
			e.must(200, "GET", org+"/policy", w.owner, nil, &pol)
			text := pol.Text + "\nrole deployer: viewer level 25 {\n    permission chains { run }\n    " + ask + "\n}\n"
			e.must(200, "PUT", org+"/policy", w.owner, map[string]any{"text": text}, nil)
			dep := e.user("apvdeployer")
			e.must(201, "POST", org+"/members", w.owner, map[string]any{"user_id": "apvdeployer", "role": "deployer"}, nil)
			needsTwo := func(when string, args any) {
				t.Helper()
				c := w.check(dep, args, "")
				if c.Allowed || c.Result != api.ResultApprovalRequired || c.Approval == nil || c.Approval.Quorum != 2 {
					t.Fatalf("%s: %+v (want approval_required, quorum 2)", when, c)
				}
			}
			needsTwo("before the edit", map[string]any{"n": 1})
			// Redefine the role through the roles API: add chains:update.
			e.must(200, "PUT", org+"/roles/deployer", w.owner, map[string]any{"level": 25, "parents": []string{"viewer"},
				"permissions": []string{"chains:run", "chains:update"}}, nil)
			e.must(200, "GET", org+"/policy", w.owner, nil, &pol)
			_, role, _ := strings.Cut(pol.Text, "role deployer")
			role, _, _ = strings.Cut(role, "}\n}")
			role, _, _ = strings.Cut(role, "\n}")
			if !strings.Contains(role, ask) || !strings.Contains(role, "update") {
				t.Fatalf("the edited role (want its ask before rule and the new permission):\nrole deployer%s", role)
			}
			needsTwo("after the edit", map[string]any{"n": 2})
			var upd api.CheckResponse
			e.must(200, "POST", org+"/check", dep, map[string]any{"action": "chains:update", "resource": "chains/deploy", "namespace": "prod"}, &upd)
			if !upd.Allowed {
				t.Errorf("the edit's new permission: %+v", upd)
			}
		})
	}
}

// TestPolicyApplyWarnsOfUnreachableQuorum: applying a policy whose ask
// rule needs more approvers than the org has people who could approve
// (decisions:approve and the `from` role; agents never count) answers a
// quorum-unreachable warning; a reachable quorum answers none.
func TestPolicyApplyWarnsOfUnreachableQuorum(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend) // two admins: apvann, apvamy
			e := w.e
			org := "/v1/orgs/" + w.org
			// An agent with the admin role is no approver.
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Helper", "role": "admin"}, nil)
			apply := func(quorum string) api.PolicyApplied {
				t.Helper()
				text := strings.Replace(withAsk(t), "from admin quorum 2", "from admin"+quorum, 1)
				var out api.PolicyApplied
				e.must(200, "PUT", org+"/policy", w.owner, map[string]any{"text": text}, &out)
				if out.Revision == 0 {
					t.Fatalf("no revision: %+v", out)
				}
				return out
			}
			if got := apply(" quorum 2"); len(got.Warnings) != 0 {
				t.Errorf("quorum 2 with two admins: %+v", got.Warnings)
			}
			got := apply(" quorum 3")
			if len(got.Warnings) != 1 || got.Warnings[0].Code != "quorum-unreachable" || got.Warnings[0].Severity != "warning" ||
				!strings.Contains(got.Warnings[0].Message, "at most 2") || got.Warnings[0].Pos.Line == 0 {
				t.Fatalf("quorum 3 with two admins: %+v", got.Warnings)
			}
			// The policy was applied all the same (a warning, not an error).
			if c := w.check(w.op, map[string]any{"q": 3}, ""); c.Approval == nil || c.Approval.Quorum != 3 {
				t.Errorf("after applying quorum 3: %+v", c)
			}
		})
	}
}
