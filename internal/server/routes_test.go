package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// The tests in this file are driven by the route table, so a route added
// later is covered without touching them.

// TestEveryRouteNeedsCredentials: every non-public route answers 401, with
// WWW-Authenticate: Bearer and a problem document, to no credential, a
// malformed one, an unknown key, a key with a wrong secret and a revoked
// key — and changes nothing.
func TestEveryRouteNeedsCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	// A key that existed and was revoked.
	var kc server.KeyCreated
	e.must(201, "POST", "/v1/apikeys", w.owner, map[string]any{"name": "old"}, &kc)
	e.must(200, "DELETE", "/v1/apikeys/"+kc.Item.ID, w.owner, nil, nil)
	wrongSecret := w.owner[:len(w.owner)-4] + "aaaa"
	before := dump(t, e, w)
	creds := map[string]string{
		"none":         "",
		"malformed":    "not-a-token",
		"unknown key":  "gth_0123456789abcdef_" + strings.Repeat("a", 52),
		"wrong secret": wrongSecret,
		"revoked key":  kc.Token,
		"forged jwt":   "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyOm93bmVyIn0.",
	}
	n := 0
	for _, rt := range e.srv.Routes() {
		if rt.Access == server.Public {
			continue
		}
		path := fill(t, rt.Path, w.params)
		for name, cred := range creds {
			r := e.do(rt.Method, path, cred, example(w, rt))
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s with %s credentials: status %d, want 401; body %s", rt.Pattern(), name, r.Status, r.Body)
				continue
			}
			if p := r.problem(t); p.Type != server.ProblemBase+server.ProblemUnauthenticated || p.RequestID == "" {
				t.Errorf("%s: problem %+v", rt.Pattern(), p)
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate = %q", rt.Pattern(), r.Header.Get("WWW-Authenticate"))
			}
			n++
		}
		// Each address may fail only so often; the test's own address is
		// reset by using a fresh limiter budget per route (see below).
		e.auth.ResetLimits()
	}
	if n < 60*len(creds) {
		t.Errorf("only %d unauthenticated calls checked; the route table looks too small", n)
	}
	if after := dump(t, e, w); after != before {
		t.Errorf("unauthenticated calls changed the org:\n%s", diffLines(before, after))
	}
}

// TestEveryOrgRouteIsolatesOrgs: from org A's owner (and from A's
// org-confined service key), every route about org B — with B's ids — and
// every route of org A given B's ids answers 404, exactly as for things
// that do not exist; lists in A never show B's names.
func TestEveryOrgRouteIsolatesOrgs(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			a := buildWorld(t, e, "")
			b := buildWorld(t, e, "b")
			before := dump(t, e, b)
			mixed := map[string]string{}
			for k, v := range b.params {
				mixed[k] = v
			}
			mixed["org"] = a.org
			for _, rt := range e.srv.Routes() {
				if rt.Access != server.OrgMember {
					continue
				}
				for who, key := range map[string]string{"A's owner": a.owner, "A's service key": a.serviceKey} {
					r := e.do(rt.Method, fill(t, rt.Path, b.params)+query(rt), key, example(b, rt))
					if r.Status != http.StatusNotFound || r.problem(t).Type != server.ProblemBase+server.ProblemNotFound {
						t.Errorf("%s on org B from %s: status %d, want 404; body %s", rt.Pattern(), who, r.Status, r.Body)
					}
				}
				if strings.Count(rt.Path, "{") > 1 {
					r := e.do(rt.Method, fill(t, rt.Path, mixed)+query(rt), a.owner, example(a, rt))
					if r.Status != http.StatusNotFound {
						t.Errorf("%s in org A with B's ids: status %d, want 404; body %s", rt.Pattern(), r.Status, r.Body)
					}
				}
				if rt.Method == "GET" && strings.Count(rt.Path, "{") == 1 {
					r := e.must(200, "GET", fill(t, rt.Path, a.params), a.owner, nil, nil)
					for _, m := range b.markers {
						// A whole name, not part of a random id that
						// happens to contain it ("bci" in "bci6nib...").
						if regexp.MustCompile(`(^|[^A-Za-z0-9_-])` + regexp.QuoteMeta(m) + `($|[^A-Za-z0-9_-])`).Match(r.Body) {
							t.Errorf("%s in org A shows %q of org B: %s", rt.Pattern(), m, r.Body)
						}
					}
				}
			}
			if after := dump(t, e, b); after != before {
				t.Errorf("calls from org A changed org B:\n%s", diffLines(before, after))
			}
		})
	}
}

// TestEveryAdminRouteForbidsTheUnderprivileged: a member whose only role
// grants nothing Gatehouse knows gets 403 naming the route's permission on
// every route that declares one, with a valid body — and nothing changes.
func TestEveryAdminRouteForbidsTheUnderprivileged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	before := dump(t, e, w)
	n := 0
	for _, rt := range e.srv.Routes() {
		if rt.Perm == "" {
			continue
		}
		n++
		r := e.do(rt.Method, fill(t, rt.Path, w.params)+query(rt), w.nobody, example(w, rt))
		if r.Status != http.StatusForbidden {
			t.Errorf("%s as a member without permissions: status %d, want 403; body %s", rt.Pattern(), r.Status, r.Body)
			continue
		}
		p := r.problem(t)
		if p.Type != server.ProblemBase+server.ProblemForbidden || p.MissingPermission != rt.Perm {
			t.Errorf("%s as a member without permissions: problem %s missing %q, want forbidden missing %q", rt.Pattern(), p.Type, p.MissingPermission, rt.Perm)
		}
	}
	if n < 30 {
		t.Errorf("only %d routes declare a permission", n)
	}
	if after := dump(t, e, w); after != before {
		t.Errorf("forbidden calls changed the org:\n%s", diffLines(before, after))
	}
}

// TestBadBodies: every route that takes a body refuses malformed JSON,
// unknown fields, wrong types, trailing data, an empty body, a non-object
// (null included),
// an oversized body and a wrong content type with the right 4xx problem,
// and nothing changes.
func TestBadBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	before := dump(t, e, w)
	rev := must(e.st.CurrentRevision(ctxT(t)))(t)
	for _, rt := range e.srv.Routes() {
		if !rt.HasBody() {
			continue
		}
		path := fill(t, rt.Path, w.params)
		limit := rt.MaxBody
		if limit <= 0 {
			limit = server.DefaultMaxBody
		}
		huge := `{"x":"` + strings.Repeat("a", int(limit)) + `"}`
		cases := []struct {
			name, ct string
			body     string
			status   int
			field    string
		}{
			{"malformed", "application/json", `{"a":`, 400, ""},
			{"syntax", "application/json", `{"a" 1}`, 400, ""},
			{"unknown field", "application/json", `{"zz_unknown":1}`, 400, "zz_unknown"},
			{"trailing data", "application/json", `{} {}`, 400, ""},
			{"empty", "application/json", ``, 400, ""},
			{"array", "application/json", `[]`, 400, ""},
			{"null", "application/json", `null`, 400, ""},
			{"oversized", "application/json", huge, 413, ""},
			{"wrong content type", "text/plain", `{}`, 415, ""},
			{"no content type", "", `{}`, 415, ""},
		}
		if ex, ok := example(w, rt).(map[string]any); ok {
			for k, v := range ex {
				var bad any = 12345
				if _, isNum := v.(int); isNum {
					bad = "twelve"
				}
				b := map[string]any{}
				for k2, v2 := range ex {
					b[k2] = v2
				}
				b[k] = bad
				raw, _ := json.Marshal(b)
				cases = append(cases, struct {
					name, ct string
					body     string
					status   int
					field    string
				}{"wrong type of " + k, "application/json", string(raw), 400, k})
				break
			}
		}
		for _, tc := range cases {
			key := w.owner
			if rt.Access == server.Public {
				key = ""
			}
			r := e.doCT(rt.Method, path, key, tc.ct, tc.body)
			if r.Status != tc.status {
				t.Errorf("%s %s: status %d, want %d; body %.300s", rt.Pattern(), tc.name, r.Status, tc.status, r.Body)
				continue
			}
			p := r.problem(t)
			if tc.field != "" && p.Field != tc.field {
				t.Errorf("%s %s: field %q, want %q (%s)", rt.Pattern(), tc.name, p.Field, tc.field, p.Detail)
			}
		}
	}
	if got := must(e.st.CurrentRevision(ctxT(t)))(t); got != rev {
		t.Errorf("bad bodies moved the revision %d → %d", rev, got)
	}
	if after := dump(t, e, w); after != before {
		t.Errorf("bad bodies changed the org:\n%s", diffLines(before, after))
	}
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out.WriteString("- " + x + "\n+ " + y + "\n")
		}
	}
	return out.String()
}
