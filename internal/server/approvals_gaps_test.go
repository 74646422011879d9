package server_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

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
