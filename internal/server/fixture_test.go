package server_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// world is one org built over HTTP with one thing of every kind, so that
// every route of the table has ids to be called with.
//
//	owner   user, owner (org)
//	member  user, viewer (org) + operator in the namespace (binding)
//	viewer  user, viewer (org)
//	nobody  user bound to a custom role granting only noop:noop: the
//	        under-privileged caller
//	team    {member}
//	agent   operator
//	service with an org API key
//	role    custom, level 10, audit:read
//	chains/<res> in the namespace, shared with the team (run, read)
//	an invitation
type world struct {
	org                  string
	owner, viewer, mkey  string // API keys of owner, viewer, member
	nobody               string // API key of a member holding nothing useful
	ownerID, viewerID    string
	params               map[string]string // route path param → value
	rev                  uint64            // revision after the last write
	markers              []string          // names unique to this world
	memberID, serviceKey string
}

// buildWorld creates a world whose every name starts with p.
func buildWorld(t *testing.T, e *env, p string) *world { return buildWorldTB(t, e, p) }

func buildWorldTB(t testing.TB, e *env, p string) *world {
	t.Helper()
	w := &world{org: p + "acme", ownerID: p + "owner", viewerID: p + "viewer", memberID: p + "member"}
	w.owner = e.user(w.ownerID)
	w.viewer = e.user(w.viewerID)
	w.mkey = e.user(w.memberID)
	w.nobody = e.user(p + "nobody")
	ns, team, agent, svc, role, res := p+"prod", p+"support", p+"Agent", p+"ci", p+"auditor", p+"triage"
	w.markers = []string{w.org, w.ownerID, w.viewerID, w.memberID, ns, team, agent, svc, role, res}
	type W = server.Written[json.RawMessage]
	var wr W
	post := func(path string, body any) {
		t.Helper()
		var out struct {
			Revision uint64 `json:"revision"`
		}
		e.must(201, "POST", "/v1/orgs/"+w.org+path, w.owner, body, &out)
		w.rev = max(w.rev, out.Revision)
	}
	e.must(201, "POST", "/v1/orgs", w.owner, map[string]any{"id": w.org, "name": "Org " + p}, &wr)
	post("/namespaces", map[string]any{"name": ns})
	post("/members", map[string]any{"user_id": w.viewerID, "role": "viewer"})
	post("/members", map[string]any{"user_id": w.memberID, "role": "viewer"})
	var b server.Written[store.Binding]
	e.must(201, "POST", "/v1/orgs/"+w.org+"/bindings", w.owner, map[string]any{
		"principal": "user:" + w.memberID, "role": "operator", "scope": map[string]any{"namespace": ns}}, &b)
	post("/teams", map[string]any{"slug": team, "members": []string{"user:" + w.memberID}})
	post("/agents", map[string]any{"name": agent, "role": "operator"})
	post("/services", map[string]any{"name": svc})
	post("/roles", map[string]any{"name": role, "level": 10, "permissions": []string{"audit:read"}})
	post("/roles", map[string]any{"name": p + "nothing", "level": 0, "permissions": []string{"noop:noop"}})
	post("/members", map[string]any{"user_id": p + "nobody", "role": p + "nothing"})
	post("/resources", map[string]any{"namespace": ns, "type": "chains", "id": res, "spec": map[string]any{"steps": []string{"a"}}})
	post("/namespaces/"+ns+"/resources/chains/"+res+"/shares", map[string]any{"principal": "team:" + team, "actions": []string{"run", "read"}})
	var kc server.KeyCreated
	e.must(201, "POST", "/v1/orgs/"+w.org+"/apikeys", w.owner, map[string]any{"principal": "service:" + svc, "name": "ci"}, &kc)
	w.serviceKey = kc.Token
	var ic server.InvitationCreated
	e.must(201, "POST", "/v1/orgs/"+w.org+"/invitations", w.owner, map[string]any{"email": p + "dave@example.com", "role": "viewer"}, &ic)
	w.rev = max(w.rev, b.Revision, kc.Revision, ic.Revision)
	w.params = map[string]string{
		"org": w.org, "namespace": ns, "user": w.memberID, "team": team, "principal": "user:" + w.memberID,
		"role": role, "binding": b.Item.ID, "agent": agent, "service": svc, "type": "chains", "id": res,
		"version": "1", "key": kc.Item.ID, "invitation": ic.Item.ID,
	}
	w.markers = append(w.markers, b.Item.ID, kc.Item.ID, ic.Item.ID)
	for _, h := range worldHooks {
		h(t, e, w)
	}
	return w
}

// Extension points for route groups defined in other files (secrets,
// audit): register from an init function in your own _test.go file, and
// every route-driven test (401, 404 across orgs, 403, bad bodies, OpenAPI)
// covers your routes with your fixtures.
var (
	// envHooks adjust every test server's configuration (e.g. a vault).
	envHooks []func(t testing.TB, cfg *server.Config)
	// worldHooks add things to a world after it is built, as its owner:
	// set w.params for your path parameters and append to w.markers the
	// names that must never show in another org.
	worldHooks []func(t testing.TB, e *env, w *world)
	// exampleHooks return a valid body for your routes (ok false: not
	// yours).
	exampleHooks []func(w *world, rt *server.Route) (body any, ok bool)
)

var paramRE = regexp.MustCompile(`\{([a-z]+)\}`)

// fill substitutes a route's path parameters from params.
func fill(t testing.TB, path string, params map[string]string) string {
	t.Helper()
	return paramRE.ReplaceAllStringFunc(path, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := params[name]
		if !ok {
			t.Fatalf("no fixture value for {%s} in %s", name, path)
		}
		return v
	})
}

// example is a valid request body for a route, about world w (a body the
// route would accept from a caller with every permission).
func example(w *world, rt *server.Route) any {
	for _, h := range exampleHooks {
		if body, ok := h(w, rt); ok {
			return body
		}
	}
	p := w.params
	switch rt.Pattern() {
	case "POST /v1/orgs":
		return map[string]any{"id": "neworg"}
	case "PATCH /v1/orgs/{org}", "PATCH /v1/orgs/{org}/teams/{team}":
		return map[string]any{"name": "Renamed"}
	case "POST /v1/orgs/{org}/namespaces":
		return map[string]any{"name": "staging"}
	case "POST /v1/orgs/{org}/members":
		return map[string]any{"user_id": w.ownerID, "role": "viewer"}
	case "PATCH /v1/orgs/{org}/members/{user}":
		return map[string]any{"role": "builder"}
	case "POST /v1/orgs/{org}/teams":
		return map[string]any{"slug": "newteam"}
	case "POST /v1/orgs/{org}/teams/{team}/members":
		return map[string]any{"principal": "user:" + w.viewerID}
	case "POST /v1/orgs/{org}/roles":
		return map[string]any{"name": "newrole", "level": 5, "permissions": []string{"audit:read"}}
	case "PUT /v1/orgs/{org}/roles/{role}":
		return map[string]any{"level": 10, "permissions": []string{"audit:read", "results:read"}}
	case "PUT /v1/orgs/{org}/policy":
		return map[string]any{"text": "role owner level 100 { permission * { * } }\n"}
	case "POST /v1/orgs/{org}/policy/validate":
		return map[string]any{"text": "role x level 1 { permission a { b } }\n"}
	case "POST /v1/orgs/{org}/bindings":
		return map[string]any{"principal": "user:" + w.viewerID, "role": "builder", "scope": map[string]any{"namespace": p["namespace"]}}
	case "POST /v1/orgs/{org}/agents":
		return map[string]any{"name": "NewAgent", "role": "viewer"}
	case "PATCH /v1/orgs/{org}/agents/{agent}":
		return map[string]any{"attributes": map[string]any{"team": "x"}}
	case "POST /v1/orgs/{org}/services":
		return map[string]any{"name": "newsvc"}
	case "PATCH /v1/orgs/{org}/services/{service}":
		return map[string]any{"attributes": map[string]any{"runner": "x"}}
	case "POST /v1/orgs/{org}/resources":
		return map[string]any{"namespace": p["namespace"], "type": "chains", "id": "newchain"}
	case "PATCH /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}":
		return map[string]any{"labels": map[string]string{"tier": "1"}}
	case "POST /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/shares":
		return map[string]any{"principal": "user:" + w.viewerID, "actions": []string{"read"}}
	case "POST /v1/orgs/{org}/apikeys":
		return map[string]any{"principal": "service:" + p["service"]}
	case "POST /v1/apikeys":
		return map[string]any{"name": "laptop"}
	case "POST /v1/orgs/{org}/invitations":
		return map[string]any{"email": "erin@example.com", "role": "viewer"}
	case "POST /v1/invitations/accept":
		return map[string]any{"token": "gti_0000000000000000_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
	case "POST /v1/orgs/{org}/check", "POST /v1/orgs/{org}/explain":
		return map[string]any{"principal": "user:" + w.memberID, "action": "chains:run", "resource": "chains/" + p["id"], "namespace": p["namespace"]}
	case "POST /v1/orgs/{org}/checks":
		return map[string]any{"checks": []any{map[string]any{"principal": "user:" + w.memberID, "action": "chains:run", "namespace": p["namespace"]}}}
	case "POST /v1/orgs/{org}/lookup/resources":
		return map[string]any{"principal": "user:" + w.memberID, "action": "chains:run", "namespace": p["namespace"]}
	case "POST /v1/orgs/{org}/lookup/subjects":
		return map[string]any{"action": "chains:run", "resource": "chains/" + p["id"], "namespace": p["namespace"]}
	case "POST /v1/sessions":
		return nil
	}
	if rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH" {
		return "{}"
	}
	return nil
}

// query adds the query a route needs to be meaningful.
func query(rt *server.Route) string {
	switch {
	case strings.HasSuffix(rt.Path, "/diff"):
		return "?from=1&to=1"
	}
	return ""
}

// dump reads everything an org has through every GET route of the table
// whose only parameter is {org}, as the owner sees it — except the audit
// log, which records refused attempts too (that is its job), and the
// change feed and snapshot, whose revision is the deployment's (it moves
// with any user's or other org's write) and whose content is the state the
// other routes show.
func dump(t *testing.T, e *env, w *world) string {
	t.Helper()
	var b strings.Builder
	for _, rt := range e.srv.Routes() {
		if rt.Method != "GET" || rt.Access != server.OrgMember || strings.Count(rt.Path, "{") != 1 || rt.Tag == "audit" || rt.Tag == "changes" {
			continue
		}
		r := e.must(200, "GET", fill(t, rt.Path, w.params), w.owner, nil, nil)
		b.WriteString(rt.Path + " " + string(r.Body) + "\n")
	}
	return b.String()
}
