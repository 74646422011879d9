package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// refusal is what a test reads of a refused sign-in's audit entry.
type refusal struct {
	Reason     string `json:"reason"`
	KeyDigest  string `json:"key_id_sha256"`
	Unrecorded int64  `json:"unrecorded_refusals"`
	principal  string
	addr       string
	body       string
}

// signinRefusals reads the deployment's auth.failure entries of the
// console's sign-in.
func (e *env) signinRefusals(t *testing.T) []refusal {
	t.Helper()
	recs, _, err := e.st.ListAudit(ctxT(t), audit.SystemOrg, store.AuditFilter{Action: "auth.failure"}, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var out []refusal
	for _, rec := range recs {
		ent, err := audit.FromRecord(rec)
		if err != nil {
			t.Fatalf("entry %d: %v", rec.Seq, err)
		}
		if ent.Target != "route/POST /console/signin" {
			continue
		}
		var r refusal
		if err := json.Unmarshal(ent.Details, &r); err != nil {
			t.Fatalf("entry %d details %s: %v", rec.Seq, ent.Details, err)
		}
		if ent.Result != audit.Denied || ent.Message == "" {
			t.Errorf("entry %d: result %q message %q", rec.Seq, ent.Result, ent.Message)
		}
		r.principal, r.addr, r.body = ent.Actor.Principal, ent.Actor.ClientAddr, string(rec.Body)
		out = append(out, r)
	}
	return out
}

func idDigest(key string) string {
	d := sha256.Sum256([]byte(key[len("gth_") : len("gth_")+16]))
	return hex.EncodeToString(d[:])
}

// TestSigninRefusalsAreAudited (docs/threat-model.md row 100): every
// refused console sign-in leaves an auth.failure entry — why, the client
// address, the digest of an API key's id and nothing of the key or of
// text that is not one — and replaying one adds none (flood control).
func TestSigninRefusalsAreAudited(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	if _, _, err := e.dir.CreateService(ctx, e.owner, e.org, directory.ServiceSpec{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	_, svcKey, _, err := e.auth.CreateKey(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:ada"}}, e.org, auth.KeySpec{Principal: "service:ci", Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	unknown := "gth_0123456789abcdef_" + strings.Repeat("a", 52)
	password := "correct-horse-battery-staple"
	for _, tc := range []struct {
		name       string
		key        string
		csrf       bool
		origin     string
		wantStatus int
		want       refusal
	}{
		{"unknown key", unknown, true, "", http.StatusUnauthorized, refusal{Reason: "unauthenticated", KeyDigest: idDigest(unknown)}},
		{"a password", password, true, "", http.StatusUnauthorized, refusal{Reason: "unauthenticated"}},
		{"service key", svcKey, true, "", http.StatusForbidden, refusal{Reason: "not_a_user_key", KeyDigest: idDigest(svcKey), principal: "service:ci"}},
		{"stale form", e.keys["bob"], false, "", http.StatusForbidden, refusal{Reason: "csrf", KeyDigest: idDigest(e.keys["bob"])}},
		{"another site", e.keys["bob"], true, "https://evil.example", http.StatusForbidden, refusal{Reason: "cross_origin"}},
	} {
		before := len(e.signinRefusals(t))
		for range 3 { // the second and third are not recorded
			c := e.client()
			c.get("/console/signin")
			csrf := c.csrf
			if !tc.csrf {
				csrf = "stale"
			}
			req, _ := http.NewRequest("POST", e.URL+"/console/signin", strings.NewReader(url.Values{"csrf": {csrf}, "api_key": {tc.key}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			p := c.read(resp)
			if p.status != tc.wantStatus {
				t.Errorf("%s: status %d, want %d", tc.name, p.status, tc.wantStatus)
			}
		}
		got := e.signinRefusals(t)[before:]
		if len(got) != 1 {
			t.Errorf("%s: %d entries for 3 refusals, want 1", tc.name, len(got))
			continue
		}
		r := got[0]
		if r.Reason != tc.want.Reason || r.KeyDigest != tc.want.KeyDigest || r.principal != tc.want.principal || r.addr != "127.0.0.1" {
			t.Errorf("%s: entry %+v, want reason %q digest %q principal %q from 127.0.0.1", tc.name, r, tc.want.Reason, tc.want.KeyDigest, tc.want.principal)
		}
		leaks := []string{tc.key}
		if strings.HasPrefix(tc.key, "gth_") {
			leaks = append(leaks, tc.key[21:41]) // the secret
			if tc.want.principal == "" {
				leaks = append(leaks, tc.key[4:20]) // the id of a key that did not authenticate
			}
		}
		for _, leak := range leaks {
			if strings.Contains(r.body, leak) {
				t.Errorf("%s: the entry quotes what was typed (%.12s…): %s", tc.name, leak, r.body)
			}
		}
	}
	e.auth.ResetLimits()
}

// TestSigninBackoff: after the address's burst of failures the next
// sign-in is refused 429 with Retry-After and audited once; the
// victim's own key works once the wait is over (no lockout an attacker
// can cause), and the count of refusals left out shows on the next entry.
func TestSigninBackoff(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := newEnvAt(t, clk.Now)
	bogus := func(i int) string {
		return "gth_" + strconv.FormatInt(int64(0x1000000000000000+i), 16) + "_" + strings.Repeat("b", 52)
	}
	c := e.client()
	c.get("/console/signin")
	for i := range 10 { // the default burst
		if p := c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {bogus(i)}}); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, p.status)
		}
	}
	for i := 10; i < 15; i++ {
		p := c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {bogus(i)}})
		if p.status != http.StatusTooManyRequests {
			t.Fatalf("guess %d: status %d, want 429", i, p.status)
		}
		if s, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || s < 1 || s > 10 {
			t.Errorf("guess %d: Retry-After %q, want 1–10 s", i, p.header.Get("Retry-After"))
		}
	}
	var limited []refusal
	for _, r := range e.signinRefusals(t) {
		if r.Reason == "rate_limited" {
			limited = append(limited, r)
			if r.KeyDigest != "" {
				t.Errorf("a rate-limited refusal names a key: %+v", r)
			}
		}
	}
	if len(limited) != 1 {
		t.Errorf("%d rate_limited entries for 5 refusals, want 1", len(limited))
	}
	// The victim signs in after the wait (one token back at 0.5/s).
	clk.advance(3 * time.Second)
	c.get("/console/signin")
	if p := c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {e.keys["bob"]}, "next": {"/console/"}}); p.status != http.StatusSeeOther {
		t.Fatalf("the victim's own key after the wait: status %d, want 303\n%.500s", p.status, p.body)
	}
	// A minute on, the guesser's next refusal counts the 4 left out.
	c = e.client()
	c.get("/console/signin")
	for i := 15; i < 40; i++ {
		c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {bogus(i)}})
	}
	clk.advance(time.Minute)
	for i := 40; i < 60; i++ {
		c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {bogus(i)}})
	}
	var counted int64
	for _, r := range e.signinRefusals(t) {
		if r.Reason == "rate_limited" {
			counted += r.Unrecorded
		}
	}
	if counted < 4 {
		t.Errorf("rate-limited refusals left out and counted: %d, want at least 4", counted)
	}
}
