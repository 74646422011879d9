package server_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
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
