package server_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestDecisionRoutesRejectMalformedInput: a malformed principal,
// on_behalf_of, namespace or resource id is a 400 naming the field on
// every decision route — never a silent deny ("bob" for "user:bob" used to
// answer allowed:false).
func TestDecisionRoutesRejectMalformedInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	tests := []struct {
		name, method, path string
		body               map[string]any
		field              string
	}{
		{"check: principal without kind", "POST", "/check", map[string]any{"principal": "bob", "action": "chains:read"}, "principal"},
		{"check: unknown kind", "POST", "/check", map[string]any{"principal": "robot:bob", "action": "chains:read"}, "principal"},
		{"check: principal name", "POST", "/check", map[string]any{"principal": "user:b ob", "action": "chains:read"}, "principal"},
		{"check: a team cannot act", "POST", "/check", map[string]any{"principal": "team:support", "action": "chains:read"}, "principal"},
		{"check: on_behalf_of without kind", "POST", "/check", map[string]any{"principal": "agent:Agent", "action": "chains:read", "on_behalf_of": "alice"}, "on_behalf_of"},
		{"check: on_behalf_of an agent", "POST", "/check", map[string]any{"principal": "agent:Agent", "action": "chains:read", "on_behalf_of": "agent:Agent"}, "on_behalf_of"},
		{"check: a user acting on behalf", "POST", "/check", map[string]any{"principal": "user:viewer", "action": "chains:read", "on_behalf_of": "user:owner"}, "on_behalf_of"},
		{"check: the caller, a user, acting on behalf", "POST", "/check", map[string]any{"action": "chains:read", "on_behalf_of": "user:viewer"}, "on_behalf_of"},
		{"check: namespace", "POST", "/check", map[string]any{"action": "chains:read", "namespace": "Prod env"}, "namespace"},
		{"check: resource id", "POST", "/check", map[string]any{"action": "chains:read", "resource": "chains/ x"}, "resource"},
		{"check: resource id control character", "POST", "/check", map[string]any{"action": "chains:read", "resource": "chains/a\x01"}, "resource"},
		{"checks: item principal", "POST", "/checks", map[string]any{"checks": []any{map[string]any{"principal": "bob", "action": "chains:read"}}}, "checks[0].principal"},
		{"explain: principal", "POST", "/explain", map[string]any{"principal": "bob", "action": "chains:read"}, "principal"},
		{"explain: namespace", "POST", "/explain", map[string]any{"action": "chains:read", "namespace": "-x"}, "namespace"},
		{"explain: on_behalf_of", "POST", "/explain", map[string]any{"principal": "service:ci", "action": "chains:read", "on_behalf_of": "viewer"}, "on_behalf_of"},
		{"lookup resources: principal", "POST", "/lookup/resources", map[string]any{"principal": "bob", "action": "chains:read"}, "principal"},
		{"lookup resources: on_behalf_of", "POST", "/lookup/resources", map[string]any{"principal": "agent:Agent", "action": "chains:read", "on_behalf_of": "bob"}, "on_behalf_of"},
		{"lookup resources: namespace", "POST", "/lookup/resources", map[string]any{"action": "chains:read", "namespace": "PROD"}, "namespace"},
		{"lookup subjects: namespace", "POST", "/lookup/subjects", map[string]any{"action": "chains:read", "namespace": "p/rod"}, "namespace"},
		{"lookup subjects: resource id", "POST", "/lookup/subjects", map[string]any{"action": "chains:read", "resource": "chains/x "}, "resource"},
		{"permissions: principal", "GET", "/principals/bob/permissions", nil, "principal"},
		{"permissions: a team", "GET", "/principals/team:support/permissions", nil, "principal"},
		{"permissions: namespace", "GET", "/principals/user:viewer/permissions?namespace=" + url.QueryEscape("No Such"), nil, "namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != nil {
				body = tt.body
			}
			r := e.do(tt.method, org+tt.path, w.owner, body)
			if tt.path == "/checks" {
				var got server.BatchCheckResponse
				r.json(t, &got)
				if r.Status != 200 || len(got.Results) != 1 || got.Results[0].Error == nil {
					t.Fatalf("%d %s, want an item error", r.Status, r.Body)
				}
				if diff := cmp.Diff(tt.field, got.Results[0].Error.Field); diff != "" {
					t.Errorf("field (-want +got):\n%s", diff)
				}
				return
			}
			if r.Status != 400 {
				t.Fatalf("%d %s, want 400", r.Status, r.Body)
			}
			p := r.problem(t)
			if diff := cmp.Diff(tt.field, p.Field); diff != "" {
				t.Errorf("field (-want +got):\n%s\n%s", diff, r.Body)
			}
			if p.Type != server.ProblemBase+server.ProblemInvalid || p.Detail == "" {
				t.Errorf("problem %+v", p)
			}
		})
	}
}

// TestDenyReasonOverHTTP: a deny carries its machine-readable reason on
// check, in batch items and on explain; an allow carries none.
func TestDenyReasonOverHTTP(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			org := "/v1/orgs/" + w.org
			tests := []struct {
				name string
				body map[string]any
				want string // "" for allowed
			}{
				{"allowed", map[string]any{"principal": "user:viewer", "action": "chains:read", "namespace": "prod"}, ""},
				{"well-formed but not a member", map[string]any{"principal": "user:bob", "action": "chains:read"}, "not_member"},
				{"unknown namespace", map[string]any{"principal": "user:viewer", "action": "chains:read", "namespace": "staging"}, "unknown_namespace"},
				{"no grant", map[string]any{"principal": "user:viewer", "action": "chains:delete", "namespace": "prod"}, "no_grant"},
				{"unknown action", map[string]any{"principal": "user:viewer", "action": "chains:frobnicate"}, "no_grant"},
				{"on behalf of a non-member", map[string]any{"principal": "agent:Agent", "action": "chains:read", "on_behalf_of": "user:bob"}, "not_member"},
			}
			var items []any
			for _, tt := range tests {
				items = append(items, tt.body)
				t.Run(tt.name, func(t *testing.T) {
					var got server.CheckResponse
					e.must(200, "POST", org+"/check", w.owner, tt.body, &got)
					if got.Allowed != (tt.want == "") || string(got.Reason) != tt.want {
						t.Errorf("check: allowed %v reason %q, want reason %q", got.Allowed, got.Reason, tt.want)
					}
					var ex server.ExplainResponse
					e.must(200, "POST", org+"/explain", w.owner, tt.body, &ex)
					if ex.Allowed != got.Allowed || string(ex.Reason) != tt.want {
						t.Errorf("explain: allowed %v reason %q, want reason %q", ex.Allowed, ex.Reason, tt.want)
					}
				})
			}
			var batch server.BatchCheckResponse
			e.must(200, "POST", org+"/checks", w.owner, map[string]any{"checks": items}, &batch)
			var got, want []string
			for i, r := range batch.Results {
				got = append(got, string(r.Reason))
				want = append(want, tests[i].want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("batch reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDenyReasonIsNoOracle: a reason is given only to a caller entitled to
// ask the question. A caller who may not ask about another principal gets
// the same refusal whether that principal or namespace exists or not, on
// check, explain and in a batch — exactly today's answer.
func TestDenyReasonIsNoOracle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	type view struct {
		Status                              int
		Type, Detail, Field, Missing, Scope string
	}
	answer := func(t *testing.T, token, path string, body map[string]any) view {
		t.Helper()
		r := e.do("POST", org+path, token, body)
		if r.Status == 200 {
			var b server.BatchCheckResponse
			r.json(t, &b)
			if len(b.Results) != 1 || b.Results[0].Error == nil {
				t.Fatalf("batch answered %s", r.Body)
			}
			p := b.Results[0].Error
			return view{Status: p.Status, Type: p.Type, Detail: p.Detail, Field: p.Field, Missing: p.MissingPermission, Scope: p.Scope}
		}
		p := r.problem(t)
		return view{Status: r.Status, Type: p.Type, Detail: p.Detail, Field: p.Field, Missing: p.MissingPermission, Scope: p.Scope}
	}
	echoless := func(v view, body map[string]any) view {
		ns, _ := body["namespace"].(string)
		if ns == "" {
			ns = "default"
		}
		v.Detail = strings.ReplaceAll(v.Detail, "ns/"+ns, "ns/NS")
		v.Scope = strings.ReplaceAll(v.Scope, "ns/"+ns, "ns/NS")
		return v
	}
	pairs := []struct {
		name     string
		existing map[string]any
		unknown  map[string]any
	}{
		{"member or not", map[string]any{"principal": "user:owner", "action": "chains:read", "namespace": "prod"},
			map[string]any{"principal": "user:bob", "action": "chains:read", "namespace": "prod"}},
		{"namespace or not", map[string]any{"principal": "user:owner", "action": "chains:read", "namespace": "prod"},
			map[string]any{"principal": "user:owner", "action": "chains:read", "namespace": "staging"}},
		{"agent or not", map[string]any{"principal": "agent:Agent", "action": "chains:read"},
			map[string]any{"principal": "agent:Ghost", "action": "chains:read"}},
	}
	for _, caller := range []struct{ name, token string }{{"viewer", w.viewer}, {"nobody", w.nobody}} {
		for _, path := range []string{"/check", "/explain", "/checks"} {
			for _, p := range pairs {
				t.Run(caller.name+path+" "+p.name, func(t *testing.T) {
					a, b := p.existing, p.unknown
					if path == "/checks" {
						a, b = map[string]any{"checks": []any{a}}, map[string]any{"checks": []any{b}}
					}
					// The refusal echoes the namespace asked about; past
					// that echo the two answers must be the same.
					va := echoless(answer(t, caller.token, path, a), p.existing)
					vb := echoless(answer(t, caller.token, path, b), p.unknown)
					if va.Status != 403 {
						t.Errorf("asking about another: %d, want 403", va.Status)
					}
					if diff := cmp.Diff(va, vb); diff != "" {
						t.Errorf("the answers differ (-existing +unknown):\n%s", diff)
					}
				})
			}
		}
	}
	// A caller outside the org learns nothing either: 404 for both.
	outsider := e.user("outsider")
	for _, p := range pairs {
		ra := e.do("POST", org+"/check", outsider, p.existing)
		rb := e.do("POST", org+"/check", outsider, p.unknown)
		if ra.Status != 404 || rb.Status != 404 || ra.problem(t).Detail != rb.problem(t).Detail {
			t.Errorf("%s: outsider answered %d %s and %d %s", p.name, ra.Status, ra.Body, rb.Status, rb.Body)
		}
	}
}

// TestOpenAPIDocumentsDenyReasons: the decision responses' reason is in
// the OpenAPI document with the closed set of values.
func TestOpenAPIDocumentsDenyReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Type string   `json:"type"`
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	e.must(200, "GET", "/v1/openapi.json", "", nil, &doc)
	var want []string
	for _, r := range authz.Reasons() {
		want = append(want, string(r))
	}
	for _, schema := range []string{"CheckResponse", "BatchResult", "ExplainResponse"} {
		p, ok := doc.Components.Schemas[schema].Properties["reason"]
		if !ok {
			t.Errorf("%s: no reason property", schema)
			continue
		}
		if diff := cmp.Diff(want, p.Enum); diff != "" || p.Type != "string" {
			t.Errorf("%s.reason: type %q, enum (-want +got):\n%s", schema, p.Type, diff)
		}
	}
}

// TestLookupsNameTheNonMember: asking what a principal that is not a
// member of the org may do is a 404 that says so — the principal and the
// org — on every route that lists a principal's permissions, now and in
// the past (it used to say only "lookup resources: not found").
func TestLookupsNameTheNonMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	var rev struct {
		Revision uint64 `json:"revision"`
	}
	e.must(200, "POST", org+"/check", w.owner, map[string]any{"action": "chains:read"}, &rev)
	want := `agent:Nobody is not a member of org ` + w.org
	tests := []struct {
		name, method, path string
		body               map[string]any
	}{
		{"lookup resources, every namespace", "POST", "/lookup/resources", map[string]any{"principal": "agent:Nobody", "action": "chains:read"}},
		{"lookup resources, one namespace", "POST", "/lookup/resources", map[string]any{"principal": "agent:Nobody", "action": "chains:read", "namespace": "default"}},
		{"lookup resources, in the past", "POST", "/lookup/resources", map[string]any{"principal": "agent:Nobody", "action": "chains:read", "at_revision": rev.Revision}},
		{"permissions", "GET", "/principals/agent:Nobody/permissions", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != nil {
				body = tt.body
			}
			r := e.do(tt.method, org+tt.path, w.owner, body)
			if r.Status != 404 {
				t.Fatalf("%d %s, want 404", r.Status, r.Body)
			}
			if p := r.problem(t); !strings.Contains(p.Detail, want) {
				t.Errorf("detail %q does not say %q", p.Detail, want)
			}
		})
	}
}
