package server_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	alice := e.user("alice")
	e.must(200, "GET", "/healthz", "", nil, nil)
	e.must(200, "GET", "/v1/openapi.json", "", nil, nil)
	var w server.Written[map[string]any]
	e.must(201, "POST", "/v1/orgs", alice, map[string]any{"id": "acme"}, &w)
	var ck server.CheckResponse
	e.must(200, "POST", "/v1/orgs/acme/check", alice, map[string]any{"action": "chains:run", "resource": "chains/x", "consistency": map[string]any{"at_least": w.Revision}}, &ck)
	if !ck.Allowed {
		t.Fatalf("owner cannot run: %+v", ck)
	}
	r := e.do("GET", "/v1/orgs/acme", "", nil)
	if r.Status != 401 {
		t.Fatalf("no credentials: %d %s", r.Status, r.Body)
	}
	t.Logf("%s", e.must(200, "GET", "/v1/me", alice, nil, nil).Body)
}
