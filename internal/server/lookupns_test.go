package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOtherLookupsInAnUnknownNamespace: row 80 for the other lookups. Who
// may do what on a resource (lookup/subjects), what a principal holds
// (permissions) and what the caller may do across its orgs
// (/v1/me/lookup/resources) answer no items and reason unknown_namespace
// for a namespace the org does not have — another org's included — as a
// check does, and only to a caller allowed to ask: a non-member of the org
// gets the org gate's 404 and a member who may not ask the same 403
// whether the namespace exists or not.
func TestOtherLookupsInAnUnknownNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	other := buildWorld(t, e, "b") // org bacme, namespace bprod
	member := "user:" + w.memberID
	type answer struct {
		Status  int
		Items   int
		Reason  string
		Problem string
		Detail  string
	}
	read := func(r resp, ns string) answer {
		t.Helper()
		a := answer{Status: r.Status}
		if r.Status != http.StatusOK {
			p := r.problem(t)
			a.Problem, a.Detail = p.Type, strings.ReplaceAll(p.Detail, ns, "{ns}")
			return a
		}
		var out struct {
			Items  []any  `json:"items"`
			Reason string `json:"reason"`
		}
		r.json(t, &out)
		a.Items, a.Reason = len(out.Items), out.Reason
		return a
	}
	routes := map[string]func(key, ns string) answer{
		"lookup/subjects": func(key, ns string) answer {
			return read(e.do("POST", "/v1/orgs/"+w.org+"/lookup/subjects", key, map[string]any{
				"action": "chains:run", "resource": "chains/" + w.params["id"], "namespace": ns}), ns)
		},
		"permissions": func(key, ns string) answer {
			return read(e.do("GET", "/v1/orgs/"+w.org+"/principals/"+member+"/permissions?namespace="+url.QueryEscape(ns), key, nil), ns)
		},
		"me/lookup/resources": func(key, ns string) answer {
			return read(e.do("GET", "/v1/me/lookup/resources?action=chains:run&namespace="+url.QueryEscape(ns), key, nil), ns)
		},
	}
	unknown := answer{Status: 200, Reason: "unknown_namespace"}
	tests := []struct {
		route  string
		name   string
		key    string
		ns     string
		want   answer
		sameAs string // or: the same answer as in this namespace, a refusal
	}{
		{"lookup/subjects", "the owner, an existing namespace", w.owner, "prod", answer{Status: 200, Items: 3}, ""},
		{"lookup/subjects", "the owner, no such namespace", w.owner, "staging", unknown, ""},
		{"lookup/subjects", "the owner, another org's namespace", w.owner, "bprod", unknown, ""},
		{"lookup/subjects", "a member who may not ask, no such namespace", w.nobody, "staging", answer{}, "prod"},
		{"lookup/subjects", "a non-member of the org, no such namespace", other.owner, "staging", answer{}, "prod"},
		{"lookup/subjects", "a non-member of the org, its own org's namespace", other.owner, "bprod", answer{}, "prod"},

		{"permissions", "the owner, an existing namespace", w.owner, "prod", answer{Status: 200, Items: 6}, ""},
		{"permissions", "the owner, no such namespace", w.owner, "staging", unknown, ""},
		{"permissions", "the owner, another org's namespace", w.owner, "bprod", unknown, ""},
		{"permissions", "the member about itself, no such namespace", w.mkey, "staging", unknown, ""},
		{"permissions", "a member who may not ask about another, no such namespace", w.nobody, "staging", answer{}, "prod"},
		{"permissions", "a non-member of the org, no such namespace", other.owner, "staging", answer{}, "prod"},
		{"permissions", "a non-member of the org, its own org's namespace", other.owner, "bprod", answer{}, "prod"},

		{"me/lookup/resources", "a member, an existing namespace", w.mkey, "prod", answer{Status: 200, Items: 1}, ""},
		{"me/lookup/resources", "a member, no such namespace in any of its orgs", w.mkey, "staging", unknown, ""},
		{"me/lookup/resources", "a member, a namespace of an org it is not in", w.mkey, "bprod", unknown, ""},
		{"me/lookup/resources", "the owner of another org, its own namespace", other.owner, "bprod", answer{Status: 200, Items: 1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.route+", "+tt.name, func(t *testing.T) {
			ask := routes[tt.route]
			got := ask(tt.key, tt.ns)
			want := tt.want
			if tt.sameAs != "" {
				want = ask(tt.key, tt.sameAs)
				if want.Status == 200 {
					t.Fatalf("the comparison in %s is not a refusal: %+v", tt.sameAs, want)
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s in namespace %q (-want +got):\n%s", tt.route, tt.ns, d)
			}
		})
	}
}
