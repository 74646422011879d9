package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestGateMemoSameAnswers: the memo of each caller's org gate, right to
// ask and policy:read (directory.Options.NoGateMemo) changes no answer.
// Two servers built alike, one with the memo and one without, are asked
// the same table of questions by every kind of caller about two orgs,
// each question twice (the second finds the memo): statuses, headers
// (but the request id and date), bodies and the decision entries they
// recorded are the same.
func TestGateMemoSameAnswers(t *testing.T) {
	t.Parallel()
	type answer struct {
		Status int
		Header http.Header
		Body   string
	}
	type entry struct {
		Actor                  audit.Actor
		Action, Target, Result string
		Details                string
	}
	// norm is an answer without what differs from server to server: the
	// request id (random) and the date.
	norm := func(r resp) answer {
		h := r.Header.Clone()
		id := h.Get("X-Request-Id")
		h.Del("X-Request-Id")
		h.Del("Date")
		return answer{r.Status, h, strings.ReplaceAll(string(r.Body), id, "REQUEST-ID")}
	}
	run := func(noMemo bool) ([]answer, map[string][]entry) {
		t.Helper()
		e := newEnv(t, "sqlite", envOpts{dirOpts: directory.Options{NoGateMemo: noMemo}})
		a, b := buildWorld(t, e, ""), buildWorld(t, e, "b")
		for _, w := range []*world{a, b} {
			e.must(200, "PUT", "/v1/orgs/"+w.org+"/audit/settings", w.owner, audit.Settings{Decisions: audit.DecisionsAll}, nil)
		}
		callers := []string{a.owner, a.viewer, a.mkey, a.nobody, a.serviceKey, b.owner}
		questions := []map[string]any{
			{"action": "chains:run", "resource": "chains/triage", "namespace": "prod"},
			{"action": "chains:frobnicate", "resource": "chains/triage", "namespace": "prod"}, // unknown_action
			{"action": "chains:run", "resource": "chains/triage", "namespace": "prod", "principal": "user:member"},
			{"action": "chains:frobnicate", "resource": "chains/triage", "namespace": "prod", "principal": "user:member"},
			{"action": "chains:read", "principal": "user:viewer"},
			{"action": "chains:run", "namespace": "nowhere", "principal": "user:member"},
		}
		var out []answer
		for _, org := range []string{a.org, b.org} {
			for _, key := range callers {
				for _, q := range questions {
					for range 2 {
						r := e.do("POST", "/v1/orgs/"+org+"/check", key, q)
						out = append(out, norm(r))
					}
				}
				r := e.do("POST", "/v1/orgs/"+org+"/checks", key, map[string]any{"checks": questions})
				out = append(out, norm(r))
			}
		}
		entries := map[string][]entry{}
		for _, w := range []*world{a, b} {
			var l auditList
			e.must(200, "GET", "/v1/orgs/"+w.org+"/audit?action=decision&page_size=1000", w.owner, nil, &l)
			for _, it := range l.Items {
				it.Actor.KeyID, it.Actor.RequestID = "", "" // random per server
				entries[w.org] = append(entries[w.org], entry{it.Actor, it.Action, it.Target, string(it.Result), string(it.Details)})
			}
		}
		return out, entries
	}
	on, onLog := run(false)
	off, offLog := run(true)
	if diff := cmp.Diff(off, on); diff != "" {
		t.Errorf("answers without (-) and with (+) the memo differ:\n%s", diff)
	}
	if diff := cmp.Diff(offLog, onLog); diff != "" {
		t.Errorf("decision entries without (-) and with (+) the memo differ:\n%s", diff)
	}
	warned := 0
	for _, a := range on {
		if strings.Contains(a.Body, `"unknown_action"`) {
			warned++
		}
	}
	if warned == 0 {
		t.Errorf("no answer carries an unknown_action warning: the table does not reach policy:read")
	}
	if len(onLog["acme"]) < 20 {
		t.Errorf("only %d decision entries in acme: the table asks too little", len(onLog["acme"]))
	}
}
