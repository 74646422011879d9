package server_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	gocmp "github.com/google/go-cmp/cmp"
)

// TestCredentialsReachNoSink: a credential is shown once, in the answer
// that mints it, and nowhere else — not in the server's log (at debug
// level), not in the org's audit log, not in any other answer's body
// (error texts included) and not in the metrics — even when its holder
// misuses it: presents it altered, revoked or replayed, or pastes it
// where an id belongs (`gatehouse apikey revoke <the token>`).
func TestCredentialsReachNoSink(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{FailureBurst: 1e12, FailureRate: 1e12}, cfg: func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.MetricsToken = testMetricsToken
	}})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	var bodies strings.Builder // every answer but the minting ones
	call := func(method, path, token string, body any) resp {
		t.Helper()
		r := e.do(method, path, token, body)
		bodies.Write(r.Body)
		bodies.WriteByte('\n')
		return r
	}
	creds := map[string]string{"personal key": w.owner, "service key": w.serviceKey}
	var ok api.KeyCreated
	e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"name": "org"}, &ok)
	creds["org key"] = ok.Token
	var ss api.SessionResponse
	e.must(201, "POST", "/v1/sessions", w.owner, nil, &ss)
	creds["session"] = ss.Token
	var inv api.InvitationCreated
	e.must(201, "POST", org+"/invitations", w.owner, map[string]any{"email": "sinkcheck@example.com", "role": "viewer"}, &inv)
	creds["invitation"] = inv.Token
	var at api.AgentToken
	e.must(201, "POST", org+"/agents/Agent/tokens", w.owner, map[string]any{"audience": "https://gw.example/mcp/acme/default/x"}, &at)
	creds["agent token"] = at.Token
	var rt api.RunGrant
	e.must(201, "POST", org+"/namespaces/"+w.params["namespace"]+"/resources/chains/"+w.params["id"]+"/runs", w.owner, map[string]any{"ttl_seconds": 60}, &rt)
	creds["run token"] = rt.Token
	var dead api.KeyCreated
	e.must(201, "POST", "/v1/apikeys", w.owner, map[string]any{"name": "dead"}, &dead)
	e.must(200, "DELETE", "/v1/apikeys/"+dead.Item.ID, w.owner, nil, nil)
	creds["revoked key"] = dead.Token

	// Accepted once (a credential is minted: not a sink), then replayed.
	e.must(201, "POST", "/v1/invitations/accept", "", map[string]any{"token": inv.Token}, nil)
	call("POST", "/v1/invitations/accept", "", map[string]any{"token": inv.Token})
	call("POST", org+"/runs/exchange", w.owner, map[string]any{"token": rt.Token})
	for _, tok := range creds {
		altered := tok[:len(tok)-4] + "AAAA"
		for _, bearer := range []string{tok, altered} {
			call("GET", "/v1/me", bearer, nil)
			call("GET", org+"/apikeys", bearer, nil)
		}
		// Pasted where an id belongs, by its holder and by the owner.
		for _, by := range []string{tok, w.owner} {
			call("DELETE", "/v1/apikeys/"+tok, by, nil)
			call("DELETE", org+"/apikeys/"+tok, by, nil)
			call("GET", org+"/apikeys/"+tok, by, nil)
			call("DELETE", org+"/invitations/"+tok, by, nil)
		}
	}
	// Pasted into every string field (and array element) of every JSON
	// body the routes take, one field at a time, by the owner: refusals
	// name the field, never the value, and nothing pasted is stored
	// (answered back, audited).
	pasted := 0
	for _, rt := range e.srv.Routes() {
		ex := example(w, rt)
		if _, isMap := ex.(map[string]any); !isMap {
			continue
		}
		path := fill(t, rt.Path, w.params)
		for _, body := range pastedInto(t, ex, ok.Token) {
			call(rt.Method, path+query(rt), w.owner, body)
			pasted++
		}
	}
	if pasted < 50 {
		t.Fatalf("pasted into %d fields only: the sweep found no bodies", pasted)
	}
	t.Logf("a key pasted into %d body fields", pasted)
	var sinks = map[string]string{"answers": bodies.String()}
	sinks["metrics"] = string(e.must(200, "GET", "/metrics", testMetricsToken, nil, nil).Body)
	var auditAll strings.Builder
	for cursor := ""; ; {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		e.must(200, "GET", org+"/audit?page_size=1000&cursor="+cursor, w.owner, nil, &page)
		for _, it := range page.Items {
			auditAll.Write(it)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	sinks["audit log"] = auditAll.String()
	if !strings.Contains(sinks["audit log"], "apikey") {
		t.Fatal("the audit log holds no key events: the sweep read the wrong thing")
	}
	sinks["server log"] = logs.String()
	if !strings.Contains(sinks["server log"], "/v1/me") {
		t.Fatal("the server log holds no requests: the logger is not the server's")
	}
	for _, sink := range []string{"answers", "server log"} {
		if !strings.Contains(sinks[sink], "[credential redacted]") {
			t.Errorf("the %s never say a credential was redacted: the pasted credentials were not seen", sink)
		}
	}
	var leaks []string
	for sink, text := range sinks {
		for name, tok := range creds {
			if secret := credentialSecret(tok); strings.Contains(text, secret) {
				i := strings.Index(text, secret)
				leaks = append(leaks, fmt.Sprintf("%s in the %s (%d times), first: …%s…", name, sink, strings.Count(text, secret), text[max(0, i-120):min(len(text), i+len(secret)+40)]))
			}
		}
	}
	sort.Strings(leaks)
	if d := gocmp.Diff([]string(nil), leaks); d != "" {
		t.Errorf("credentials found in sinks (-want +got):\n%s", d)
	}
}

// credentialSecret is the part of a token that must stay secret: after
// an API key's or invitation's id, a JWT's signature, a run token whole.
func credentialSecret(tok string) string {
	switch {
	case strings.HasPrefix(tok, auth.APIKeyPrefix), strings.HasPrefix(tok, auth.InvitationPrefix):
		return tok[strings.LastIndexByte(tok, '_')+1:]
	case strings.Count(tok, ".") == 2:
		return tok[strings.LastIndexByte(tok, '.')+1:]
	}
	return tok
}

// pastedInto is body once per string in it (a member's value or an array
// element, at any depth), that string replaced by tok.
func pastedInto(t *testing.T, body any, tok string) []any {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for i := 0; ; i++ {
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		n := i
		if !replaceNth(&doc, &n, tok) {
			return out
		}
		out = append(out, doc)
	}
}

// replaceNth replaces the n-th string of *v (counting down n) by tok.
func replaceNth(v *any, n *int, tok string) bool {
	switch x := (*v).(type) {
	case string:
		if *n == 0 {
			*v = tok
			return true
		}
		*n--
	case []any:
		for i := range x {
			if replaceNth(&x[i], n, tok) {
				return true
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := x[k]
			if replaceNth(&e, n, tok) {
				x[k] = e
				return true
			}
		}
	}
	return false
}
