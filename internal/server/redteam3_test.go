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

// TestNoApprovingOnesOwnRequestThroughADeputy (threat-model row 50): the
// admin role asks before deleting chains. An admin cannot approve its own
// request; acting through a service it holds a key for, `on_behalf_of`
// itself, it is the user acted for — who may approve an agent's request
// in general, but not one its own roles ask approval for: that would lift
// the rule the engine applies to it precisely so that a deputy cannot
// launder it. Another admin still approves, and an on-behalf user whose
// own roles ask nothing still approves its deputy's request.
func TestNoApprovingOnesOwnRequestThroughADeputy(t *testing.T) {
	w := newApvWorld(t, "sqlite")
	e := w.e
	org := "/v1/orgs/" + w.org
	text := strings.Replace(withAsk(t), "role admin: builder level 80 {\n",
		"role admin: builder level 80 {\n    ask before delete chains\n", 1)
	// The builder-level bot asks before running chains: its rule, not its user's.
	text = strings.Replace(text, "role builder: operator level 50 {\n",
		"role builder: operator level 50 {\n    ask before update chains\n", 1)
	w.setPolicy(text)
	e.must(201, "POST", org+"/services", w.ann, map[string]any{"name": "annbot", "role": "admin"}, nil)
	e.must(201, "POST", org+"/services", w.ann, map[string]any{"name": "buildbot", "role": "builder"}, nil)
	var k1, k2 struct {
		Token string `json:"token"`
	}
	e.must(201, "POST", org+"/apikeys", w.ann, map[string]any{"principal": "service:annbot"}, &k1)
	// The owner holds buildbot's key: ann, who stands behind annbot
	// (she minted its key), stands behind nothing of buildbot's (row 55).
	e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:buildbot"}, &k2)
	n := 0
	ask := func(token, action, behalf string) *api.Approval {
		t.Helper()
		n++ // each row its own question
		body := map[string]any{"action": action, "resource": "chains/deploy", "namespace": "prod", "arguments": map[string]any{"n": n}}
		if behalf != "" {
			body["on_behalf_of"] = behalf
		}
		var out api.CheckResponse
		e.must(200, "POST", org+"/check", token, body, &out)
		if out.Result != api.ResultApprovalRequired || out.Approval == nil {
			t.Fatalf("%s on behalf of %q: %+v, want approval_required", action, behalf, out)
		}
		return out.Approval
	}
	for _, row := range []struct {
		name, approver string
		ap             *api.Approval
		want           int
	}{
		{"ann approves her own delete", w.ann, ask(w.ann, "chains:delete", ""), 403},
		{"ann approves her own delete through annbot on her behalf", w.ann, ask(k1.Token, "chains:delete", "user:apvann"), 403},
		{"ann approves her own delete through buildbot on her behalf", w.ann, ask(k2.Token, "chains:update", "user:apvann"), 200},
		{"amy approves ann's delete through annbot", w.amy, ask(k1.Token, "chains:delete", "user:apvann"), 200},
	} {
		t.Run(row.name, func(t *testing.T) {
			if r := e.do("POST", org+"/approvals/"+row.ap.ID+"/approve", row.approver, map[string]any{}); r.Status != row.want {
				t.Errorf("approve: %d, want %d (%s)", r.Status, row.want, r.Body)
			}
		})
	}
}

// TestAnAskRuleWhoseConditionBreaksApplies (threat-model row 51): an `ask
// before` rule whose condition fails to evaluate — a key the caller left
// out of the context, a value of another type, or the CEL cost limit
// reached with a long context list — applies: the caller does not get
// past an approval by breaking its condition.
func TestAnAskRuleWhoseConditionBreaksApplies(t *testing.T) {
	w := newApvWorld(t, "sqlite")
	text := strings.Replace(withAsk(t), "ask before run chains when in_prod from admin quorum 2", "ask before run chains when risky", 1)
	text += "\ncondition risky = \"context.amount > 1000 || context.tags.exists(a, context.tags.exists(b, a + b == 'xy'))\"\n"
	w.setPolicy(text)
	long := make([]string, 1000)
	for i := range long {
		long[i] = "t"
	}
	for _, row := range []struct {
		name    string
		context map[string]any
		want    string // allowed or approval_required
	}{
		{"a small amount and a short list: no approval", map[string]any{"amount": 5, "tags": []string{"a"}}, "allowed"},
		{"a large amount: approval", map[string]any{"amount": 5000, "tags": []string{}}, "approval_required"},
		{"the amount left out: approval", map[string]any{"tags": []string{"a"}}, "approval_required"},
		{"the amount as a string: approval", map[string]any{"amount": "5000", "tags": []string{"a"}}, "approval_required"},
		{"a list long enough to reach the cost limit: approval", map[string]any{"amount": 5, "tags": long}, "approval_required"},
	} {
		t.Run(row.name, func(t *testing.T) {
			var out api.CheckResponse
			w.e.must(200, "POST", "/v1/orgs/"+w.org+"/check", w.op, map[string]any{
				"action": "chains:run", "resource": "chains/deploy", "namespace": "prod", "context": row.context}, &out)
			got := outcome(out)
			if got != row.want {
				t.Errorf("%s, want %s (%+v)", got, row.want, out)
			}
		})
	}
}

// TestCheckedResourceIDsAreThoseAResourceCanHave (threat-model row 52): a
// resource id in a check is what the store would accept for a resource —
// printable Unicode — so a check cannot carry C1 controls (U+009B is a
// terminal's CSI), bidirectional overrides (U+202E shows "yolpedrp" as
// "prdeploy"), zero-width or line-separator characters into the answers,
// the decision log and the audit exports (CEF, syslog) where a reader sees
// them. Ids that a resource can have, non-ASCII letters included, are
// still checked.
func TestCheckedResourceIDsAreThoseAResourceCanHave(t *testing.T) {
	w := newApvWorld(t, "sqlite")
	for _, row := range []struct {
		id   string
		want int
	}{
		{"deploy", 200},
		{"déploy-ü-日本", 200},
		{"a b", 200},
		{"x\u009b31mred", 400},    // C1 CSI
		{"x\u0085y", 400},         // C1 NEL, a line break to some readers
		{"prod\u202eyolped", 400}, // right-to-left override
		{"dep\u200bloy", 400},     // zero-width space: looks like "deploy"
		{"line\u2028break", 400},  // line separator
		{"para\u2029break", 400},  // paragraph separator
		{"tag\U000E0041", 400},    // a tag character (format)
		{"x\x1b[2Jy", 400},        // C0 ESC, refused before too
		{"nul\x00byte", 400},      // NUL
		{"no\u00a0break", 400},    // a no-break space: the store refuses it too
	} {
		r := w.e.do("POST", "/v1/orgs/"+w.org+"/check", w.op, map[string]any{
			"action": "chains:read", "resource": "chains/" + row.id, "namespace": "prod"})
		if r.Status != row.want {
			t.Errorf("check of chains/%q: %d, want %d (%s)", row.id, r.Status, row.want, r.Body)
		}
	}
}

// TestARunTokenDiesWithTheUserItsRunActedFor (threat-model row 54): a
// platform service starts a run of chains/job on behalf of the operator
// and has a run token issued for the runtime. If the operator loses the
// right to run the job (demoted, removed) before the runtime exchanges
// the token, no secret is released: the exchange checks the issuer on the
// user's behalf, as the run was authorized, not the issuer alone.
func TestARunTokenDiesWithTheUserItsRunActedFor(t *testing.T) {
	for _, row := range []struct {
		name    string
		between func(w *tokWorld)
		want    int
	}{
		{"nothing changes: released", nil, 200},
		{"the user is demoted to viewer", func(w *tokWorld) { w.demote("apvop") }, 403},
		{"the user is removed from the org", func(w *tokWorld) {
			w.e.must(200, "DELETE", "/v1/orgs/"+w.org+"/members/apvop", w.owner, nil, nil)
		}, 403},
	} {
		t.Run(row.name, func(t *testing.T) {
			w := newTokWorld(t, "sqlite")
			w.jobWithSecret()
			runner := w.serviceKey("runner", "operator")
			org := "/v1/orgs/" + w.org
			var st api.RunStartResponse
			w.e.must(201, "POST", org+"/runs", w.platform, map[string]any{"resource": "chains/job", "issue_token": true,
				"runtime": "service:runner", "on_behalf_of": "user:apvop"}, &st)
			if row.between != nil {
				row.between(w)
			}
			r := w.e.do("POST", org+"/runs/exchange", runner, map[string]any{"token": st.RunToken.Token})
			if r.Status != row.want {
				t.Fatalf("exchange: %d, want %d (%s)", r.Status, row.want, r.Body)
			}
			if row.want != 200 && (strings.Contains(string(r.Body), "v-canary") || !strings.Contains(string(r.Body), "no longer valid")) {
				t.Fatalf("the refusal: %s", r.Body)
			}
		})
	}
}

// outcome names a check's answer for an allow/deny table: "allowed", or
// its result ("approval_required"; "" for a plain deny).
func outcome(out api.CheckResponse) string {
	if out.Allowed {
		return "allowed"
	}
	return out.Result
}
