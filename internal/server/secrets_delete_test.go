package server_test

import (
	"strings"
	"testing"
)

// TestDeleteReferencedSecretOverHTTP: DELETE of a secret a resource spec
// references answers 409 naming the resources (namespace/type/id);
// ?force=true deletes it anyway, needs secrets:delete like any delete,
// and the audit entry says it was forced.
func TestDeleteReferencedSecretOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newSecretWorld(t, backend)
			e := w.e
			o := "/v1/orgs/" + sworg
			e.must(201, "POST", prodKey, w.admin, map[string]any{"name": "DB_PASSWORD", "value": "db-" + canary}, nil)
			chain := map[string]any{"namespace": "prod", "type": "chains", "id": "escalation-triage",
				"spec": map[string]any{"steps": []string{"triage"}, "secrets": []string{"DB_PASSWORD"}}}
			e.must(201, "POST", o+"/resources", w.builder, chain, nil)
			item := prodKey + "/DB_PASSWORD"

			r := w.status(t, 409, "admin", "DELETE", item, w.admin, nil)
			if p := r.problem(t); !strings.Contains(p.Detail, "prod/chains/escalation-triage") || !strings.Contains(p.Detail, "force") {
				t.Errorf("409 problem: %+v", p)
			}
			w.status(t, 200, "admin", "GET", item, w.admin, nil) // still there
			// Force needs secrets:delete: the builder (secrets:list only)
			// is refused, the operator does not see the secret.
			if r := w.status(t, 403, "builder", "DELETE", item+"?force=true", w.builder, nil); strings.Contains(string(r.Body), "chains/") {
				t.Errorf("the builder's refusal names the references: %s", r.Body)
			}
			w.status(t, 404, "operator", "DELETE", item+"?force=true", w.operator, nil)
			w.status(t, 400, "admin", "DELETE", item+"?force=maybe", w.admin, nil)
			w.status(t, 409, "admin", "DELETE", item+"?force=false", w.admin, nil)

			w.status(t, 200, "admin", "DELETE", item+"?force=true", w.admin, nil)
			w.status(t, 404, "admin", "GET", item, w.admin, nil)
			var audit struct {
				Items []struct {
					Action  string         `json:"action"`
					Result  string         `json:"result"`
					Details map[string]any `json:"details"`
				} `json:"items"`
			}
			e.must(200, "GET", o+"/audit?action=secrets.delete&page_size=100", w.admin, nil, &audit)
			forced := false
			for _, it := range audit.Items {
				if it.Result == "success" && it.Details["forced"] == true {
					forced = strings.Contains(strings.Join(toStrings(it.Details["referenced_by"]), ","), "prod/chains/escalation-triage")
				}
			}
			if !forced {
				t.Errorf("no forced secrets.delete entry naming the chain: %+v", audit.Items)
			}
		})
	}
}

func toStrings(v any) []string {
	xs, _ := v.([]any)
	var out []string
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
