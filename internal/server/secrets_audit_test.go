package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Secret names do not leak through the audit API (issue 6; seed 002:
// operators and viewers "don't know which API keys are being used"): the
// log and a resource's history are read over HTTP by every role after
// every kind of entry that names a secret was written, and scanned.

const (
	auditCanaryDev   = "CANARY_NAME_DEV_ONE"
	auditCanaryA     = "CANARY_NAME_PROD_A"
	auditCanaryB     = "CANARY_NAME_PROD_B"
	auditCanaryGone  = "CANARY_NAME_PROD_GONE"
	auditCanaryHint  = "CANARY_NAME_DESC_HINT"
	auditCanaryGhost = "CANARY_NAME_PROD_GHOST"
)

var canaryName = regexp.MustCompile(`CANARY_NAME_[A-Z0-9_]*`)

// plantAuditCanaries writes the entries: secrets in dev and prod, a chain
// referencing them and its update, dana's dev chain, a run token and its
// exchange, a rotate, an update, a reveal, a delete, and refused probes.
func plantAuditCanaries(t *testing.T, w *secretWorld) {
	t.Helper()
	e := w.e
	o := "/v1/orgs/" + sworg
	devKey := o + "/namespaces/dev/secrets"
	e.must(201, "POST", devKey, w.admin, map[string]any{"name": auditCanaryDev, "value": "v"}, nil)
	e.must(201, "POST", prodKey, w.admin, map[string]any{"name": auditCanaryA, "value": "v"}, nil)
	e.must(201, "POST", prodKey, w.admin, map[string]any{"name": auditCanaryB, "value": "v", "description": "the key for " + auditCanaryHint}, nil)
	e.must(201, "POST", prodKey, w.admin, map[string]any{"name": auditCanaryGone, "value": "v"}, nil)
	e.must(201, "POST", o+"/resources", w.builder, map[string]any{"namespace": "prod", "type": "chains", "id": "triage",
		"spec": map[string]any{"steps": []string{"triage"}, "secrets": []string{auditCanaryA, auditCanaryB}}}, nil)
	res := o + "/namespaces/prod/resources/chains/triage"
	e.must(200, "PATCH", res, w.builder, map[string]any{"spec": map[string]any{"steps": []string{"triage", "page"}, "secrets": []string{auditCanaryA}}}, nil)
	e.must(201, "POST", o+"/resources", w.dana, map[string]any{"namespace": "dev", "type": "chains", "id": "experiment",
		"spec": map[string]any{"secrets": []string{auditCanaryDev}}}, nil)
	var g vault.RunGrant
	e.must(201, "POST", res+"/runs", w.operator, nil, &g)
	e.must(200, "POST", o+"/runs/exchange", w.runner, map[string]any{"token": g.Token}, nil)
	e.must(200, "POST", prodKey+"/"+auditCanaryA+"/rotate", w.admin, map[string]any{"value": "v2"}, nil)
	e.must(200, "PATCH", prodKey+"/"+auditCanaryB, w.admin, map[string]any{"description": "still the key for " + auditCanaryHint}, nil)
	e.must(200, "GET", prodKey+"/"+auditCanaryA+"/value", w.admin, nil, nil)
	e.must(200, "DELETE", prodKey+"/"+auditCanaryGone, w.admin, nil, nil)
	for _, name := range []string{auditCanaryA, auditCanaryGhost} {
		w.status(t, 404, "operator probes "+name, "GET", prodKey+"/"+name+"/value", w.operator, nil)
	}
	w.status(t, 403, "builder rotates", "POST", prodKey+"/"+auditCanaryA+"/rotate", w.builder, map[string]any{"value": "no"})
}

func TestAuditHidesSecretNamesOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newSecretWorld(t, backend)
			e := w.e
			plantAuditCanaries(t, w)
			o := "/v1/orgs/" + sworg
			all := []string{auditCanaryDev, auditCanaryA, auditCanaryB, auditCanaryGone, auditCanaryHint, auditCanaryGhost}
			type role struct {
				who, key string
				sees     []string // exactly these planted names
			}
			roles := []role{
				{"admin", w.admin, all},
				{"builder", w.builder, all},
				{"operator", w.operator, nil},
				{"viewer", w.viewer, nil},
				{"dana, builder in dev only", w.dana, []string{auditCanaryDev}},
			}
			var adminN int
			for _, r := range roles {
				var l auditList
				body := e.must(200, "GET", o+"/audit?page_size=1000", r.key, nil, &l).Body
				if l.NextCursor != "" {
					t.Fatalf("%s: the log does not fit one page", r.who)
				}
				if r.who == "admin" {
					adminN = len(l.Items)
				} else if len(l.Items) != adminN {
					t.Errorf("%s sees %d entries, admin %d: redaction must not drop entries", r.who, len(l.Items), adminN)
				}
				checkCanaries(t, r.who+"'s audit log", body, r.sees)
				complete := len(r.sees) == len(all)
				if got := bytes.Contains(body, []byte(`"hash"`)); got != complete {
					t.Errorf("%s: hashes shown %v, want %v", r.who, got, complete)
				}
				if got := bytes.Contains(body, []byte(`"redacted":true`)); got == complete {
					t.Errorf("%s: redacted entries %v, want %v", r.who, got, !complete)
				}

				// The chain's history, with its audit entries.
				hist := e.must(200, "GET", o+"/namespaces/prod/resources/chains/triage/history", r.key, nil, nil).Body
				want := []string{}
				if complete {
					want = []string{auditCanaryA, auditCanaryB}
				}
				checkCanaries(t, r.who+"'s chain history", hist, want)
				if !bytes.Contains(hist, []byte(`"audit"`)) {
					t.Errorf("%s: the history has no audit entries: %s", r.who, hist)
				}

				// Checkpoints commit to every entry: a redacted view gets none.
				cr := e.do("GET", o+"/audit/checkpoints", r.key, nil)
				switch {
				case complete && cr.Status != http.StatusOK:
					t.Errorf("%s: checkpoints %d, want 200", r.who, cr.Status)
				case !complete && (cr.Status != http.StatusForbidden || cr.problem(t).MissingPermission != "secrets:list"):
					t.Errorf("%s: checkpoints %d %s, want 403 missing secrets:list", r.who, cr.Status, cr.Body)
				}
				var v server.AuditVerifyResult
				e.must(200, "POST", o+"/audit/verify", r.key, nil, &v)
				if !v.OK || (v.Report.Head == audit.Hash{}.String()) == complete {
					t.Errorf("%s: verify = %+v", r.who, v)
				}
			}
		})
	}
}

// checkCanaries fails unless body names exactly the planted names want.
func checkCanaries(t *testing.T, where string, body []byte, want []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range canaryName.FindAll(body, -1) {
		seen[string(m)] = true
	}
	for _, n := range want {
		if !seen[n] {
			t.Errorf("%s lacks %s", where, n)
		}
		delete(seen, n)
	}
	for n := range seen {
		t.Errorf("%s shows %s", where, n)
	}
}

// Filter probing is no existence oracle: a reader without secrets:list in
// prod gets the same answer for a target naming an existing, a deleted, a
// probed-but-missing and a never-mentioned secret; a reader with it gets
// the entries.
func TestAuditFilterProbingOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newSecretWorld(t, backend)
			e := w.e
			plantAuditCanaries(t, w)
			base := "/v1/orgs/" + sworg + "/audit?page_size=1000&target="
			names := []string{auditCanaryA, auditCanaryGone, auditCanaryGhost, "NEVER_MENTIONED_ANYWHERE", vault.Redacted}
			for _, extra := range []string{"", "&action=secrets.*", "&result=denied", "&order=newest"} {
				for who, key := range map[string]string{"operator": w.operator, "viewer": w.viewer, "dana": w.dana} {
					var first []byte
					for _, n := range names {
						r := e.must(200, "GET", base+url.QueryEscape("prod/secrets/"+n)+extra, key, nil, nil)
						if first == nil {
							first = r.Body
						} else if !bytes.Equal(first, r.Body) {
							t.Errorf("%s%s: %s answers %s, %s answers %s", who, extra, names[0], first, n, r.Body)
						}
					}
				}
			}
			for _, n := range []string{auditCanaryA, auditCanaryGhost} {
				var l auditList
				e.must(200, "GET", base+url.QueryEscape("prod/secrets/"+n), w.builder, nil, &l)
				if len(l.Items) == 0 {
					t.Errorf("the builder filtering by %s gets no entries", n)
				}
			}
			var l auditList
			e.must(200, "GET", base+url.QueryEscape("dev/secrets/"+auditCanaryDev), w.dana, nil, &l)
			if len(l.Items) == 0 || !strings.Contains(l.Items[0].Target, auditCanaryDev) {
				t.Errorf("dana filtering by dev's secret: %+v", l.Items)
			}
		})
	}
}
