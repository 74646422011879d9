package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// End-to-end tests of the secrets vault over HTTP (issue 6), on SQLite and
// on PostgreSQL when GATEHOUSE_TEST_POSTGRES is set. The org is built from
// the mentiko template, whose four roles are seed 002's:
//
//	admin     manages secrets, reads values
//	builder   lists names, references them in chains, never reads values
//	operator  runs chains; sees neither names nor values
//	viewer    sees neither
//	dana      a builder in dev only (viewer org-wide)
//	runner    service, operator org-wide: the runtime that exchanges tokens
//	ci        service without a role

const (
	canary  = "sk-CANARY-e2e-9d41c7aa"
	sworg   = "mentiko"
	prodKey = "/v1/orgs/" + sworg + "/namespaces/prod/secrets"
)

// sharedKeys is the master keyring of every test server (one per process,
// so that a test that opens a second vault on an env's store, as
// newSecretWorld does, uses the key the env's vault recorded).
var sharedKeys, sharedKeyBytes = func() (*vault.Keyring, map[uint32][]byte) {
	k, err := vault.GenerateKey()
	if err != nil {
		panic(err)
	}
	kr, err := vault.NewKeyring(map[uint32][]byte{1: k})
	if err != nil {
		panic(err)
	}
	return kr, map[uint32][]byte{1: k}
}()

// The secret routes join the route-driven tests (401, 404 across orgs,
// 403, bad bodies, OpenAPI) through the fixture's extension points: every
// env gets a vault, every world a secret, every secret route a body.
func init() {
	envHooks = append(envHooks, func(t testing.TB, cfg *server.Config) {
		if cfg.Vault == nil {
			cfg.Vault = openVaultWith(t, cfg.Store, cfg.Directory, sharedKeys, nil)
		}
	})
	worldHooks = append(worldHooks, func(t testing.TB, e *env, w *world) {
		name := "S_" + strings.ToUpper(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, w.org)) + "_TOKEN"
		e.must(201, "POST", "/v1/orgs/"+w.org+"/namespaces/"+w.params["namespace"]+"/secrets", w.owner,
			map[string]any{"name": name, "value": "world-value-" + name}, nil)
		w.params["secret"] = name
		w.markers = append(w.markers, name)
	})
	exampleHooks = append(exampleHooks, func(w *world, rt *server.Route) (any, bool) {
		switch rt.Pattern() {
		case "POST " + secretsPattern:
			return map[string]any{"name": "NEW_SECRET", "value": "example-value"}, true
		case "PATCH " + secretsPattern + "/{secret}":
			return map[string]any{"description": "changed"}, true
		case "POST " + secretsPattern + "/{secret}/rotate":
			return map[string]any{"value": "rotated-value"}, true
		case "POST /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/runs":
			return map[string]any{"ttl_seconds": 60}, true
		case "POST /v1/orgs/{org}/runs/exchange":
			return map[string]any{"token": vault.RunTokenPrefix + strings.Repeat("A", 43)}, true
		}
		return nil, false
	})
}

const secretsPattern = "/v1/orgs/{org}/namespaces/{namespace}/secrets"

// testClock is a vault clock tests move forward.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// testKeyring is a keyring of fresh random keys.
func testKeyring(t testing.TB, ids ...uint32) (*vault.Keyring, map[uint32][]byte) {
	t.Helper()
	keys := map[uint32][]byte{}
	for _, id := range ids {
		k, err := vault.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[id] = k
	}
	kr, err := vault.NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr, keys
}

// openVaultWith opens a vault over an env's store and directory.
func openVaultWith(t testing.TB, st store.Store, dir *directory.Directory, kr *vault.Keyring, clock func() time.Time) *vault.Vault {
	t.Helper()
	v, err := vault.Open(ctxT(t), vault.Options{Store: st, Directory: dir, Keyring: kr, Clock: clock})
	if err != nil {
		t.Fatalf("vault.Open: %v", err)
	}
	return v
}

// lockedBuffer collects the server's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type secretWorld struct {
	e                                    *env
	clock                                *testClock
	logs                                 *lockedBuffer
	keys                                 *vault.Keyring
	keyBytes                             map[uint32][]byte
	admin, builder, operator, viewer     string
	dana, runner, ci, outsider, outOwner string
}

func newSecretWorld(t testing.TB, backend string) *secretWorld {
	t.Helper()
	w := &secretWorld{clock: &testClock{}, logs: &lockedBuffer{}, keys: sharedKeys, keyBytes: sharedKeyBytes}
	w.e = newEnv(t, backend, envOpts{cfg: func(c *server.Config) {
		c.Vault = openVaultWith(t, c.Store, c.Directory, w.keys, w.clock.now)
		c.Logger = slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	e := w.e
	w.admin, w.builder, w.operator, w.viewer = e.user("sw-admin"), e.user("sw-builder"), e.user("sw-operator"), e.user("sw-viewer")
	w.dana, w.outOwner = e.user("sw-dana"), e.user("sw-outsider")
	e.must(201, "POST", "/v1/orgs", w.admin, map[string]any{"id": sworg, "template": "mentiko"}, nil)
	e.must(201, "POST", "/v1/orgs", w.outOwner, map[string]any{"id": "elsewhere", "template": "mentiko"}, nil)
	w.outsider = w.outOwner
	o := "/v1/orgs/" + sworg
	for user, role := range map[string]string{"sw-builder": "builder", "sw-operator": "operator", "sw-viewer": "viewer", "sw-dana": "viewer"} {
		e.must(201, "POST", o+"/members", w.admin, map[string]any{"user_id": user, "role": role}, nil)
	}
	for _, ns := range []string{"dev", "prod"} {
		e.must(201, "POST", o+"/namespaces", w.admin, map[string]any{"name": ns}, nil)
	}
	e.must(201, "POST", o+"/bindings", w.admin, map[string]any{"principal": "user:sw-dana", "role": "builder", "scope": map[string]any{"namespace": "dev"}}, nil)
	e.must(201, "POST", o+"/services", w.admin, map[string]any{"name": "runner", "role": "operator"}, nil)
	e.must(201, "POST", o+"/services", w.admin, map[string]any{"name": "ci"}, nil)
	var kc server.KeyCreated
	e.must(201, "POST", o+"/apikeys", w.admin, map[string]any{"principal": "service:runner", "name": "runner"}, &kc)
	w.runner = kc.Token
	e.must(201, "POST", o+"/apikeys", w.admin, map[string]any{"principal": "service:ci", "name": "ci"}, &kc)
	w.ci = kc.Token
	return w
}

// status sends a request and fails unless the status is want.
func (w *secretWorld) status(t *testing.T, want int, who, method, path, key string, body any) resp {
	t.Helper()
	r := w.e.do(method, path, key, body)
	if r.Status != want {
		t.Errorf("%s: %s %s: status %d, want %d; body %s", who, method, path, r.Status, want, r.Body)
	}
	return r
}

func TestSecretsOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newSecretWorld(t, backend)
			e := w.e
			r := e.must(201, "POST", prodKey, w.admin, map[string]any{"name": "OPENAI_API_KEY", "value": canary, "description": "model provider"}, nil)
			if strings.Contains(string(r.Body), canary) {
				t.Errorf("the create answer echoes the value: %s", r.Body)
			}
			e.must(201, "POST", "/v1/orgs/"+sworg+"/namespaces/dev/secrets", w.admin, map[string]any{"name": "DEV_ONLY", "value": "dev-" + canary}, nil)
			item := prodKey + "/OPENAI_API_KEY"

			// Seed 002's matrix, route by route.
			type row struct {
				who, key                         string
				list, meta, value, versions      int
				create, patch, rotate, del, devl int
			}
			rows := []row{
				{"admin", w.admin, 200, 200, 200, 200, 201, 200, 200, 0, 200},
				{"builder: names only", w.builder, 200, 200, 403, 200, 403, 403, 403, 403, 200},
				{"operator: nothing", w.operator, 403, 404, 404, 404, 403, 404, 404, 404, 403},
				{"viewer: nothing", w.viewer, 403, 404, 404, 404, 403, 404, 404, 404, 403},
				{"dana, builder in dev only", w.dana, 403, 404, 404, 404, 403, 404, 404, 404, 200},
				{"service without a role", w.ci, 403, 404, 404, 404, 403, 404, 404, 404, 403},
				{"another org's owner", w.outsider, 404, 404, 404, 404, 404, 404, 404, 404, 404},
			}
			for i, rw := range rows {
				lr := w.status(t, rw.list, rw.who, "GET", prodKey, rw.key, nil)
				if rw.list == 200 && !strings.Contains(string(lr.Body), "OPENAI_API_KEY") {
					t.Errorf("%s: list lacks the name: %s", rw.who, lr.Body)
				}
				w.status(t, rw.meta, rw.who, "GET", item, rw.key, nil)
				vr := w.status(t, rw.value, rw.who, "GET", item+"/value", rw.key, nil)
				if rw.value == 200 && !strings.Contains(string(vr.Body), canary) {
					t.Errorf("%s: the value is missing from the reveal: %s", rw.who, vr.Body)
				}
				if rw.value == 403 {
					if p := vr.problem(t); p.MissingPermission != "secrets:read" {
						t.Errorf("%s: reveal refused without naming secrets:read: %+v", rw.who, p)
					}
				}
				w.status(t, rw.versions, rw.who, "GET", item+"/versions", rw.key, nil)
				w.status(t, rw.create, rw.who, "POST", prodKey, rw.key, map[string]any{"name": fmt.Sprintf("NEW_%d", i), "value": "v"})
				w.status(t, rw.patch, rw.who, "PATCH", item, rw.key, map[string]any{"description": "by " + rw.who})
				w.status(t, rw.rotate, rw.who, "POST", item+"/rotate", rw.key, map[string]any{"value": canary})
				if rw.del != 0 {
					w.status(t, rw.del, rw.who, "DELETE", item, rw.key, nil)
				}
				dl := w.status(t, rw.devl, rw.who, "GET", "/v1/orgs/"+sworg+"/namespaces/dev/secrets", rw.key, nil)
				if rw.devl == 200 && strings.Contains(string(dl.Body), "OPENAI_API_KEY") {
					t.Errorf("%s: dev's list shows prod's secret", rw.who)
				}
			}
			// Dev's secret is invisible from prod.
			w.status(t, 404, "admin", "GET", prodKey+"/DEV_ONLY", w.admin, nil)
			var all server.List[store.Secret]
			e.must(200, "GET", "/v1/orgs/"+sworg+"/secrets", w.dana, nil, &all)
			if len(all.Items) != 1 || all.Items[0].Name != "DEV_ONLY" {
				t.Errorf("dana's list across namespaces = %+v (dev only)", all.Items)
			}

			// History, delete.
			var hist server.List[store.SecretVersion]
			e.must(200, "GET", item+"/versions", w.builder, nil, &hist)
			if len(hist.Items) != 2 || hist.Items[0].Version != 2 {
				t.Errorf("history = %+v", hist.Items)
			}
			var v1 server.SecretValue
			e.must(200, "GET", item+"/value?version=1", w.admin, nil, &v1)
			if v1.Value != canary || v1.Version != 1 {
				t.Errorf("version 1 = %+v", v1)
			}
			e.must(200, "DELETE", item, w.admin, nil, nil)
			w.status(t, 404, "admin", "GET", item, w.admin, nil)

			// Bad input is a clear 400 naming the field.
			for _, tc := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"name": "lower", "value": "v"}, "name"},
				{map[string]any{"name": "A-B", "value": "v"}, "name"},
				{map[string]any{"name": "NOVALUE"}, "value"},
				{map[string]any{"name": "NUL", "value": "a\x00b"}, "value"},
				{map[string]any{"name": "OLD", "value": "v", "expires_at": time.Now().Add(-time.Hour)}, "expires_at"},
				{map[string]any{"name": "REF", "value": "v", "referable_by": []string{"bob"}}, ""},
			} {
				r := w.status(t, 400, "admin", "POST", prodKey, w.admin, tc.body)
				if r.Status == 400 && tc.field != "" && r.problem(t).Field != tc.field {
					t.Errorf("%v: field %q, want %q", tc.body, r.problem(t).Field, tc.field)
				}
			}
			w.status(t, 409, "admin", "POST", prodKey, w.admin, map[string]any{"name": "NEW_0", "value": "v"})
			w.status(t, 404, "admin", "POST", "/v1/orgs/"+sworg+"/namespaces/staging/secrets", w.admin, map[string]any{"name": "X", "value": "v"})
		})
	}
}

// An operator runs a chain that uses secrets it can never read: the
// runtime gets the values, the operator gets a token and nothing else.
func TestRunOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newSecretWorld(t, backend)
			e := w.e
			o := "/v1/orgs/" + sworg
			e.must(201, "POST", prodKey, w.admin, map[string]any{"name": "OPENAI_API_KEY", "value": canary}, nil)
			e.must(201, "POST", prodKey, w.admin, map[string]any{"name": "DB_PASSWORD", "value": "db-" + canary}, nil)
			chain := map[string]any{"namespace": "prod", "type": "chains", "id": "escalation-triage",
				"spec": map[string]any{"steps": []string{"triage"}, "secrets": []string{"OPENAI_API_KEY", "DB_PASSWORD"}}}
			e.must(201, "POST", o+"/resources", w.builder, chain, nil)
			res := o + "/namespaces/prod/resources/chains/escalation-triage"

			// The builder sees the references; the operator does not.
			var r store.Resource
			e.must(200, "GET", res, w.builder, nil, &r)
			if !strings.Contains(string(r.Spec), "OPENAI_API_KEY") {
				t.Errorf("builder's spec = %s", r.Spec)
			}
			e.must(200, "GET", res, w.operator, nil, &r)
			if strings.Contains(string(r.Spec), "OPENAI") || strings.Contains(string(r.Spec), "DB_PASSWORD") || !strings.Contains(string(r.Spec), "triage") {
				t.Errorf("operator's spec = %s", r.Spec)
			}

			var g vault.RunGrant
			rr := e.must(201, "POST", res+"/runs", w.operator, nil, &g)
			if g.SecretCount != 2 || len(g.Secrets) != 0 || strings.Contains(string(rr.Body), "OPENAI") || g.ResourceVersion != 1 {
				t.Errorf("the operator's grant = %s", rr.Body)
			}
			w.status(t, 403, "operator exchanging", "POST", o+"/runs/exchange", w.operator, map[string]any{"token": g.Token})
			w.status(t, 404, "operator reveals", "GET", prodKey+"/OPENAI_API_KEY/value", w.operator, nil)
			w.status(t, 403, "viewer runs", "POST", res+"/runs", w.viewer, nil)

			var rel vault.Release
			e.must(200, "POST", o+"/runs/exchange", w.runner, map[string]any{"token": g.Token}, &rel)
			got := map[string]string{}
			for _, s := range rel.Secrets {
				got[s.Name] = s.Value
			}
			if got["OPENAI_API_KEY"] != canary || got["DB_PASSWORD"] != "db-"+canary || len(got) != 2 {
				t.Errorf("released %v", got)
			}
			// A replayed token is refused.
			rp := w.status(t, 403, "replay", "POST", o+"/runs/exchange", w.runner, map[string]any{"token": g.Token})
			if strings.Contains(string(rp.Body), g.Token) {
				t.Error("the refusal quotes the token")
			}
			// An expired token is refused.
			e.must(201, "POST", res+"/runs", w.operator, map[string]any{"ttl_seconds": 30}, &g)
			w.clock.advance(time.Minute)
			w.status(t, 403, "expired", "POST", o+"/runs/exchange", w.runner, map[string]any{"token": g.Token})
			// A token bound to a runtime is refused to another.
			e.must(201, "POST", res+"/runs", w.operator, map[string]any{"runtime": "service:runner"}, &g)
			w.status(t, 403, "another runtime", "POST", o+"/runs/exchange", w.ci, map[string]any{"token": g.Token})
			e.must(200, "POST", o+"/runs/exchange", w.runner, map[string]any{"token": g.Token}, nil)
			// A builder's grant names the secrets.
			e.must(201, "POST", res+"/runs", w.builder, nil, &g)
			if strings.Join(g.Secrets, ",") != "DB_PASSWORD,OPENAI_API_KEY" {
				t.Errorf("builder's grant = %+v", g)
			}
			// A dev chain cannot reference prod's secrets.
			chain["namespace"], chain["id"] = "dev", "sneaky"
			w.status(t, 400, "dev chain with a prod secret", "POST", o+"/resources", w.dana, chain)
			// An operator cannot write references (no chains:create, and no
			// secrets:list).
			chain["namespace"], chain["id"] = "prod", "op-chain"
			w.status(t, 403, "operator writes a chain", "POST", o+"/resources", w.operator, chain)
		})
	}
}

// Canary values are planted and every secret route is driven — successes
// and failures, by every kind of caller; the value must appear in no log
// line, no audit entry, no answer to a caller without secrets:read, no
// stored row and nowhere in the database file.
func TestSecretValuesNeverLeak(t *testing.T) {
	w := newSecretWorld(t, "sqlite")
	e := w.e
	o := "/v1/orgs/" + sworg
	canaries := []string{canary, "sk-CANARY-rotated-51ab", "sk-CANARY-patched-0c3d"}
	e.must(201, "POST", prodKey, w.admin, map[string]any{"name": "PLANTED", "value": canaries[0]}, nil)
	e.must(201, "POST", o+"/resources", w.builder, map[string]any{"namespace": "prod", "type": "chains", "id": "c1",
		"spec": map[string]any{"secrets": []string{"PLANTED"}}}, nil)

	type answer struct {
		who, req string
		body     []byte
		mayHold  bool // an answer that is allowed to carry a value
	}
	var answers []answer
	callers := map[string]string{"admin": w.admin, "builder": w.builder, "operator": w.operator, "viewer": w.viewer,
		"dana": w.dana, "runner": w.runner, "ci": w.ci, "outsider": w.outsider, "anonymous": "", "garbage": "gth_nope"}
	params := map[string]string{"org": sworg, "namespace": "prod", "secret": "PLANTED", "type": "chains", "id": "c1"}
	bodies := func(rt *server.Route) []any {
		switch rt.Method + " " + rt.Path {
		case "POST " + "/v1/orgs/{org}/namespaces/{namespace}/secrets":
			return []any{map[string]any{"name": "PLANTED", "value": canaries[1]}, map[string]any{"name": "bad name", "value": canaries[1]},
				`{"name":"X","value":"` + canaries[1] + `",` /* truncated JSON */}
		case "PATCH " + "/v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}":
			return []any{map[string]any{"value": canaries[2], "if_version": 99}, map[string]any{"value": canaries[2] + "\x00"}}
		case "POST " + "/v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}/rotate":
			return []any{map[string]any{"value": canaries[1], "if_version": 99}, map[string]any{"value": 5}}
		case "POST /v1/orgs/{org}/runs/exchange":
			return []any{map[string]any{"token": "ghrun_" + strings.Repeat("A", 43)}, map[string]any{"token": canaries[0]}}
		case "POST /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/runs":
			return []any{nil, map[string]any{"ttl_seconds": -1}}
		}
		return []any{nil}
	}
	n := 0
	for _, rt := range e.srv.Routes() {
		if rt.Tag != "secrets" {
			continue
		}
		for who, key := range callers {
			if rt.Method == "DELETE" && who == "admin" {
				continue // the planted secret stays for the reveal and the run below
			}
			for _, body := range bodies(rt) {
				path := fill(t, rt.Path, params)
				r := e.do(rt.Method, path, key, body)
				n++
				holds := (rt.Path == "/v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}/value" && who == "admin") ||
					(rt.Path == "/v1/orgs/{org}/runs/exchange" && who == "runner")
				answers = append(answers, answer{who, rt.Method + " " + path, r.Body, holds && r.Status == 200})
			}
		}
		e.auth.ResetLimits() // the anonymous and garbage callers fail authentication on purpose
	}
	if n < 11*len(callers) {
		t.Fatalf("only %d calls: the secrets routes are not all driven", n)
	}
	// The legitimate paths, last: a reveal and an exchange.
	var g vault.RunGrant
	e.must(201, "POST", o+"/namespaces/prod/resources/chains/c1/runs", w.operator, nil, &g)
	r := e.must(200, "POST", o+"/runs/exchange", w.runner, map[string]any{"token": g.Token}, nil)
	answers = append(answers, answer{"runner", "exchange", r.Body, true})
	r = e.must(200, "GET", prodKey+"/PLANTED/value", w.admin, nil, nil)
	answers = append(answers, answer{"admin", "reveal", r.Body, true})
	if !bytes.Contains(r.Body, []byte("sk-CANARY")) {
		t.Fatal("the reveal does not carry the value: the scan would see nothing")
	}

	scan := func(where string, b []byte) {
		t.Helper()
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds the value %s", where, c)
			}
		}
		if bytes.Contains(b, []byte(g.Token)) {
			t.Errorf("%s holds the run token", where)
		}
	}
	for _, a := range answers {
		if !a.mayHold {
			scan(fmt.Sprintf("the answer to %s for %s", a.req, a.who), a.body)
		}
	}
	logs := w.logs.String()
	if !strings.Contains(logs, "secrets") {
		t.Fatal("no request was logged: the log scan would see nothing")
	}
	scan("the server log", []byte(logs))
	var auditAll []byte
	for _, org := range []string{sworg, "_system"} {
		rows, _, err := e.st.ListAudit(ctxT(t), org, store.AuditFilter{}, store.Page{Size: store.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			auditAll = append(auditAll, row.Action+" "+row.Target+" "...)
			auditAll = append(auditAll, row.Body...)
			auditAll = append(auditAll, '\n')
		}
	}
	if !bytes.Contains(auditAll, []byte("secrets.exchange")) || !bytes.Contains(auditAll, []byte("secrets.read")) {
		t.Fatalf("the audit log lacks the reveal or the exchange:\n%s", auditAll)
	}
	scan("the audit log", auditAll)
	ar := e.must(200, "GET", o+"/audit?page_size=1000", w.admin, nil, nil)
	scan("the audit API", ar.Body)
	scan("the OpenAPI document", e.must(200, "GET", "/v1/openapi.json", "", nil, nil).Body)
	scan("the metrics", httpGet(t, e.srv.MetricsHandler(""), "/metrics"))
	cs, err := e.st.ChangesSince(ctxT(t), 0, store.MaxChangesLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		scan("changelog "+string(c.Kind), c.Payload)
	}
	// The env's SQLite file is in one of this test's temporary directories.
	var files []string
	_ = filepath.WalkDir(filepath.Dir(t.TempDir()), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "gatehouse.db") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("the database file was not found: the file scan would see nothing")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scan("the database file "+filepath.Base(f), b)
	}
}

// Without a master key the vault routes answer 503 and nothing else.
func TestVaultNotConfigured(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	alice := e.user("alice")
	e.must(201, "POST", "/v1/orgs", alice, map[string]any{"id": "acme"}, nil)
	srv, err := server.New(server.Config{Directory: e.dir, Store: e.st, Auth: e.auth})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for _, rt := range srv.Routes() {
		if rt.Tag != "secrets" {
			continue
		}
		req, _ := http.NewRequest(rt.Method, hs.URL+fill(t, rt.Path, map[string]string{"org": "acme", "namespace": "default", "secret": "X", "type": "chains", "id": "x"}),
			strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+alice)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 503 {
			t.Errorf("%s without a vault: %d, want 503", rt.Pattern(), res.StatusCode)
		}
	}
}

// Master-key rotation keeps every secret readable over HTTP, by a server
// that holds only the new key.
func TestMasterKeyRotationOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newSecretWorld(t, backend)
			e := w.e
			want := map[string]string{}
			for i := range 5 {
				name := fmt.Sprintf("KEY_%d", i)
				e.must(201, "POST", prodKey, w.admin, map[string]any{"name": name, "value": fmt.Sprintf("v%d-%s", i, canary)}, nil)
				want[name] = fmt.Sprintf("v%d-%s", i, canary)
			}
			e.must(200, "POST", prodKey+"/KEY_0/rotate", w.admin, map[string]any{"value": "rotated-" + canary}, nil)
			want["KEY_0"] = "rotated-" + canary

			_, k2 := testKeyring(t, 2)
			both, err := vault.NewKeyring(map[uint32][]byte{1: w.keyBytes[1], 2: k2[2]})
			if err != nil {
				t.Fatal(err)
			}
			v := openVaultWith(t, e.st, e.dir, both, nil)
			rep, err := v.RotateMaster(ctxT(t), "user:ops")
			if err != nil || rep.Rewrapped[1] != 6 {
				t.Fatalf("rotate-master = %+v, %v", rep, err)
			}
			if err := v.RetireKey(ctxT(t), "user:ops", 1); err != nil {
				t.Fatal(err)
			}
			only2, _ := vault.NewKeyring(map[uint32][]byte{2: k2[2]})
			v2 := openVaultWith(t, e.st, e.dir, only2, nil)
			srv, err := server.New(server.Config{Directory: e.dir, Store: e.st, Auth: e.auth, Vault: v2})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			hs := httptest.NewServer(srv)
			defer hs.Close()
			names := make([]string, 0, len(want))
			for n := range want {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				req, _ := http.NewRequestWithContext(context.Background(), "GET", hs.URL+prodKey+"/"+n+"/value", nil)
				req.Header.Set("Authorization", "Bearer "+w.admin)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var sv server.SecretValue
				_ = json.NewDecoder(res.Body).Decode(&sv)
				res.Body.Close()
				if res.StatusCode != 200 || sv.Value != want[n] {
					t.Errorf("%s after rotation: %d %q", n, res.StatusCode, sv.Value)
				}
			}
			// The old keyring alone no longer opens the vault.
			if _, err := vault.Open(ctxT(t), vault.Options{Store: e.st, Directory: e.dir, Keyring: w.keys}); err == nil {
				t.Error("the retired key alone still opens the vault")
			}
		})
	}
}

// BenchmarkRunTokenExchange10 is the end-to-end exchange of a run token
// that releases 10 secrets: one HTTP request on loopback, authentication,
// the single-use check, 10 unwraps and decryptions, the audit entry and
// the commit. Issuing the token is not timed. It reports the p50 and p99
// latency of the exchange.
func BenchmarkRunTokenExchange10(b *testing.B) {
	w := newSecretWorld(b, "sqlite")
	e := w.e
	o := "/v1/orgs/" + sworg
	names := make([]string, 10)
	for i := range names {
		names[i] = fmt.Sprintf("SECRET_%02d", i)
		e.must(201, "POST", prodKey, w.admin, map[string]any{"name": names[i], "value": strings.Repeat("v", 40)}, nil)
	}
	e.must(201, "POST", o+"/resources", w.builder, map[string]any{"namespace": "prod", "type": "chains", "id": "bench",
		"spec": map[string]any{"secrets": names}}, nil)
	runs := o + "/namespaces/prod/resources/chains/bench/runs"
	body := func(tok string) []byte { return []byte(`{"token":"` + tok + `"}`) }
	exchange := func(tok string) {
		req, _ := http.NewRequest("POST", e.URL+o+"/runs/exchange", bytes.NewReader(body(tok)))
		req.Header.Set("Authorization", "Bearer "+w.runner)
		req.Header.Set("Content-Type", "application/json")
		res, err := e.hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("exchange: %d", res.StatusCode)
		}
	}
	var g vault.RunGrant
	e.must(201, "POST", runs, w.operator, nil, &g)
	exchange(g.Token) // warm the connection and caches
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.must(201, "POST", runs, w.operator, nil, &g)
		b.StartTimer()
		start := time.Now()
		exchange(g.Token)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// httpGet answers a GET of path by h.
func httpGet(t *testing.T, h http.Handler, path string) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}
