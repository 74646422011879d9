package server_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
)

const runCanary = "sk-RUN-CANARY-7c1e55aa"

// TestRunsOverHTTP: an operator starts a run of a chain that references a
// secret, with a run token for the runtime; the runtime exchanges it,
// echoes the secret in its output and finishes the run. The stored run,
// its reads and every audit entry carry no trace of the value; the run
// says who ran which version, with digests, and how long it took. A prod
// run needs approval first (202); another org's caller gets 404.
func TestRunsOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "runner", "role": "operator"}, nil)
			var kc struct {
				Token string `json:"token"`
			}
			e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:runner"}, &kc)
			runner := kc.Token
			e.must(201, "POST", org+"/namespaces/default/secrets", w.owner, map[string]any{"name": "CANARY_KEY", "value": runCanary}, nil)
			e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "default", "type": "chains", "id": "job",
				"spec": map[string]any{"secrets": []string{"CANARY_KEY"}}}, nil)

			var st api.RunStartResponse
			e.must(201, "POST", org+"/runs", w.op, map[string]any{"resource": "chains/job", "input": map[string]any{"ticket": 9},
				"issue_token": true, "runtime": "service:runner"}, &st)
			if st.Result != "started" || st.Run == nil || st.RunToken == nil || st.RunToken.Token == "" {
				t.Fatalf("start: %+v", st)
			}
			run := st.Run
			if run.Principal != "user:apvop" || run.SpecVersion != 1 || run.Status != "running" || len(run.InputDigest) != 64 || !strings.Contains(run.InputSummary, "ticket") {
				t.Errorf("started run: %+v", run)
			}
			var rel api.Release
			e.must(200, "POST", org+"/runs/exchange", runner, map[string]any{"token": st.RunToken.Token}, &rel)
			if len(rel.Secrets) != 1 || rel.Secrets[0].Value != runCanary {
				t.Fatalf("exchange: %+v", rel.Secrets)
			}
			base := org + "/runs/" + run.ID
			if r := e.do("POST", base+"/finish", w.v, map[string]any{"status": "succeeded"}); r.Status != 403 {
				t.Errorf("a viewer finishing: %d %s", r.Status, r.Body)
			}
			out := strings.Repeat("x", 2000) + " the key is " + runCanary + " and again " + runCanary[:10] + "|" + runCanary
			var fin api.Run
			e.must(200, "POST", base+"/finish", runner, map[string]any{"status": "failed", "error": "bad key " + runCanary, "output": out}, &fin)
			if fin.Status != "failed" || fin.FinishedAt.IsZero() || fin.OutputSize != int64(len(out)) || !strings.Contains(fin.OutputSummary, "[REDACTED:CANARY_KEY]") ||
				!strings.Contains(fin.Error, "[REDACTED:CANARY_KEY]") || len(fin.OutputSummary) > 1024 {
				t.Errorf("finished run: %+v", fin)
			}
			if r := e.do("POST", base+"/finish", runner, map[string]any{"status": "succeeded"}); r.Status != 409 {
				t.Errorf("finishing twice: %d", r.Status)
			}
			if r := e.do("POST", base+"/finish", runner, map[string]any{"status": "done"}); r.Status != 400 {
				t.Errorf("status done: %d", r.Status)
			}
			// No trace of the value anywhere a caller can read.
			var got api.Run
			r := e.must(200, "GET", base, w.v, nil, &got)
			var list struct {
				Items []api.Run `json:"items"`
			}
			lr := e.must(200, "GET", org+"/runs?resource=chains/job", w.owner, nil, &list)
			if len(list.Items) != 1 || list.Items[0].ID != run.ID {
				t.Errorf("runs of chains/job: %+v", list.Items)
			}
			ar := e.must(200, "GET", org+"/audit?page_size=1000", w.owner, nil, nil)
			for what, body := range map[string][]byte{"get": r.Body, "list": lr.Body, "audit": ar.Body} {
				if strings.Contains(string(body), runCanary) {
					t.Errorf("the canary shows in %s", what)
				}
			}
			for _, action := range []string{`"run.start"`, `"run.finish"`} {
				if !strings.Contains(string(ar.Body), action) {
					t.Errorf("no %s entry", action)
				}
			}
			// A prod run needs approval; another org's caller sees nothing.
			var ap api.RunStartResponse
			e.must(202, "POST", org+"/runs", w.op, map[string]any{"resource": "chains/deploy", "namespace": "prod"}, &ap)
			if ap.Result != api.ResultApprovalRequired || ap.Approval == nil || ap.Run != nil {
				t.Errorf("prod run: %+v", ap)
			}
			// Approved, the run starts and the runtime — an operator, whose
			// own prod runs need approval too — carries it out: the
			// approval covers the run, not only its issuer. A run nobody
			// approved (the owner's, which needs none) is not the
			// runtime's to exchange while its own would need approval.
			e.must(200, "POST", org+"/approvals/"+ap.Approval.ID+"/approve", w.ann, nil, nil)
			e.must(200, "POST", org+"/approvals/"+ap.Approval.ID+"/approve", w.amy, nil, nil)
			var approved api.RunStartResponse
			e.must(201, "POST", org+"/runs", w.op, map[string]any{"resource": "chains/deploy", "namespace": "prod",
				"approval_id": ap.Approval.ID, "issue_token": true, "runtime": "service:runner"}, &approved)
			if approved.RunToken == nil {
				t.Fatalf("approved start: %+v", approved)
			}
			e.must(200, "POST", org+"/runs/exchange", runner, map[string]any{"token": approved.RunToken.Token}, nil)
			// Who else could exchange an approved run's token that names no
			// runtime: a service without chains:run (a viewer) cannot —
			// the approval waives ask rules, never a missing grant.
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "lowrunner", "role": "viewer"}, nil)
			var lk struct {
				Token string `json:"token"`
			}
			e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:lowrunner"}, &lk)
			var open api.RunStartResponse
			e.must(202, "POST", org+"/runs", w.op, map[string]any{"resource": "chains/deploy", "namespace": "prod", "input": map[string]any{"n": 2}}, &open)
			e.must(200, "POST", org+"/approvals/"+open.Approval.ID+"/approve", w.ann, nil, nil)
			e.must(200, "POST", org+"/approvals/"+open.Approval.ID+"/approve", w.amy, nil, nil)
			e.must(201, "POST", org+"/runs", w.op, map[string]any{"resource": "chains/deploy", "namespace": "prod", "input": map[string]any{"n": 2},
				"approval_id": open.Approval.ID, "issue_token": true}, &open)
			if r := e.do("POST", org+"/runs/exchange", lk.Token, map[string]any{"token": open.RunToken.Token}); r.Status != 403 {
				t.Errorf("a viewer service exchanging an approved run's token: %d %s", r.Status, r.Body)
			}
			e.must(200, "POST", org+"/runs/exchange", runner, map[string]any{"token": open.RunToken.Token}, nil)
			var owners api.RunStartResponse
			e.must(201, "POST", org+"/runs", w.owner, map[string]any{"resource": "chains/deploy", "namespace": "prod",
				"issue_token": true, "runtime": "service:runner"}, &owners)
			if r := e.do("POST", org+"/runs/exchange", runner, map[string]any{"token": owners.RunToken.Token}); r.Status != 403 {
				t.Errorf("the runtime exchanging an unapproved prod run its own run would need approval for: %d %s", r.Status, r.Body)
			}
			stranger := e.user("runstranger")
			if r := e.do("GET", base, stranger, nil); r.Status != 404 {
				t.Errorf("a stranger reading the run: %d", r.Status)
			}
			if r := e.do("POST", org+"/runs", stranger, map[string]any{"resource": "chains/job"}); r.Status != 404 {
				t.Errorf("a stranger starting a run: %d", r.Status)
			}
			if r := e.do("POST", org+"/runs", w.v, map[string]any{"resource": "chains/job"}); r.Status != 403 {
				t.Errorf("a viewer starting a run: %d", r.Status)
			}
		})
	}
}
