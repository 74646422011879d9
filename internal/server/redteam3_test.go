package server_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
)

// TestAnApprovalIsJudgedWhenItIsUsed (threat-model row 49): an approval
// counts only the votes of people who may approve it now, under the rules
// that apply now. An approver who lost its role, or a policy that asks
// for more (a larger quorum, another `from` role) since the votes were
// cast, leaves the request approval_required: a stale grant is no allow.
func TestAnApprovalIsJudgedWhenItIsUsed(t *testing.T) {
	stricter := func(t testing.TB) string {
		return strings.Replace(withAsk(t), "from admin quorum 2", "from admin quorum 3", 1)
	}
	ownerOnly := func(t testing.TB) string {
		return strings.Replace(withAsk(t), "from admin quorum 2", "from owner quorum 2", 1)
	}
	for _, row := range []struct {
		name string
		// between runs after ann's vote and before amy's; after, before
		// the operator presents the granted approval.
		between, after func(w *apvWorld)
		granted        bool // amy's vote grants it
		allowed        bool // presenting it is allowed
	}{
		{name: "nothing changes: allowed once", granted: true, allowed: true},
		{name: "the first approver is demoted before the second votes: not granted",
			between: func(w *apvWorld) { w.demote("apvann") }, granted: false, allowed: false},
		{name: "the first approver leaves the org before the second votes: not granted",
			between: func(w *apvWorld) { w.e.must(200, "DELETE", "/v1/orgs/"+w.org+"/members/apvann", w.ann, nil, nil) }, granted: false, allowed: false},
		{name: "an approver is demoted after the grant: not allowed",
			after: func(w *apvWorld) { w.demote("apvamy") }, granted: true, allowed: false},
		{name: "the policy raises the quorum after the grant: not allowed",
			after: func(w *apvWorld) { w.setPolicy(stricter(w.e.t)) }, granted: true, allowed: false},
		{name: "the policy asks another role after the grant: not allowed",
			after: func(w *apvWorld) { w.setPolicy(ownerOnly(w.e.t)) }, granted: true, allowed: false},
	} {
		t.Run(row.name, func(t *testing.T) {
			w := newApvWorld(t, "sqlite")
			e := w.e
			first := w.check(w.op, nil, "")
			if first.Approval == nil {
				t.Fatalf("no approval: %+v", first)
			}
			base := "/v1/orgs/" + w.org + "/approvals/" + first.Approval.ID
			e.must(200, "POST", base+"/approve", w.ann, nil, nil)
			if row.between != nil {
				row.between(w)
			}
			var got api.Approval
			e.must(200, "POST", base+"/approve", w.amy, nil, &got)
			if granted := got.Status == "granted"; granted != row.granted {
				t.Fatalf("after the second vote: %s, want granted=%v", got.Status, row.granted)
			}
			if row.after != nil {
				row.after(w)
			}
			c := w.check(w.op, nil, first.Approval.ID)
			if c.Allowed != row.allowed {
				t.Fatalf("presenting the approval: allowed=%v, want %v (%+v)", c.Allowed, row.allowed, c)
			}
			if !row.allowed && c.Result != api.ResultApprovalRequired {
				t.Errorf("presenting the approval: result %q, want approval_required", c.Result)
			}
		})
	}
}

func (w *apvWorld) demote(user string) {
	w.e.t.Helper()
	w.e.must(200, "PATCH", "/v1/orgs/"+w.org+"/members/"+user, w.owner, map[string]any{"role": "viewer"}, nil)
}

func (w *apvWorld) setPolicy(text string) {
	w.e.t.Helper()
	w.e.must(200, "PUT", "/v1/orgs/"+w.org+"/policy", w.owner, map[string]any{"text": text}, nil)
}
