package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestNoCredentialForAnother is the credential property: no sequence of
// API calls by a principal P yields a credential whose principal is not P
// — or a service of an org P administers. Several actors, each starting
// as one user with a personal key, make random calls over HTTP: create
// orgs and services, invite any email (existing users' included) with
// any role, pass invitation tokens around, accept them anonymously
// (choosing any user id, deleted users' included) or with their own
// credentials, exchange keys for sessions, create keys for themselves,
// for other users and for services, revoke keys and delete their users.
// The model knows which users each actor controls (its first user, and
// those its anonymous acceptances created, which must be new) and where
// it is an owner or admin. After every step every credential any actor
// holds — dead ones too, until they are dropped from its bounded wallet,
// so that a credential cannot come back as a new account — is resolved
// by the auth service (the code /v1/me and every route use), and with
// GET /v1/me when it is obtained and every sweepEvery steps; its principal
// must be one the actor controls.
//
// Deterministic per seed (GATEHOUSE_PROP_SEED overrides it, and
// GATEHOUSE_PROP_OPS the number of operations: 10,000 by default, 2,000
// with -short).
func TestNoCredentialForAnother(t *testing.T) {
	t.Parallel()
	ops, seed := 10_000, uint64(11)
	if testing.Short() {
		ops = 2_000
	}
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_PROP_OPS")); err == nil && v > 0 {
		ops = v
	}
	if v, err := strconv.ParseUint(os.Getenv("GATEHOUSE_PROP_SEED"), 10, 64); err == nil {
		seed = v
	}
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{FailureBurst: 1e12, FailureRate: 1e12}})
	m := &credModel{t: t, e: e, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		users: map[string]string{}, admins: map[string]map[string]bool{}, services: map[string][]string{}}
	for _, name := range []string{"alice", "bob", "mallory", "root"} {
		a := &credActor{name: name, users: map[string]bool{name: true}, emails: []string{name + "@example.com"}, services: map[string]bool{}}
		tok := e.userWithEmail(name)
		m.users[name] = name
		m.ids = append(m.ids, name)
		m.emails = append(m.emails, name+"@example.com")
		m.actors = append(m.actors, a)
		m.hold(a, heldCred{token: tok, user: name, key: tokenKeyID(tok), via: "bootstrap", root: true})
	}
	sweepEvery := 100
	if raceEnabled { // the race detector slows /v1/me down ~10x
		sweepEvery = 1000
	}
	for step := 1; step <= ops; step++ {
		m.step = step
		m.changed = false
		m.act()
		// A refused call changes nothing a credential resolves to (and if
		// it did, the next check would see it): credentials are checked
		// after every call that succeeded.
		if sweep := step%sweepEvery == 0 || step == ops; sweep || m.changed {
			m.checkAll(sweep)
		}
		if t.Failed() {
			t.Fatalf("seed %d: the property failed at step %d; ops so far:\n%s", seed, step, strings.Join(m.log[max(0, len(m.log)-30):], "\n"))
		}
	}
	t.Logf("seed %d: %d operations, %d users created, %d orgs, outcomes %v", seed, ops, len(m.ids), len(m.orgs), m.outcomes)
}

// heldCred is a credential an actor holds.
type heldCred struct {
	token string
	// user is the user it was obtained for in the model ("" for a
	// service key); svc the "service:<name>" and org the org of an org key.
	user, svc, org string
	key            string // the API key id ("" for a session)
	via            string
	// root marks the actor's first key: never revoked or dropped, so
	// that every actor keeps acting.
	root bool
}

type credActor struct {
	name     string
	users    map[string]bool // user ids this actor controls
	emails   []string        // their emails
	services map[string]bool // "org/service:name" it may hold keys of
	wallet   []heldCred
	invites  []heldInvite
}

type heldInvite struct{ token, org, email, role string }

type credModel struct {
	t        *testing.T
	e        *env
	rng      *rand.Rand
	step     int
	actors   []*credActor
	users    map[string]string          // live user id → controlling actor
	ids      []string                   // every user id ever used
	emails   []string                   // every user email ever used
	admins   map[string]map[string]bool // org → users that are owner or admin
	orgs     []string
	services map[string][]string // org → service names
	n        int
	changed  bool // a call of this step succeeded
	log      []string
	outcomes map[string]int
}

const walletSize = 4

func tokenKeyID(tok string) string {
	if id, ok := auth.ParseToken(auth.APIKeyPrefix, tok); ok {
		return id
	}
	return ""
}

func (m *credModel) hold(a *credActor, c heldCred) {
	m.t.Helper()
	m.checkMe(a, c)
	a.wallet = append(a.wallet, c)
	if len(a.wallet) > walletSize {
		a.wallet = slices.Delete(a.wallet, 1, 2) // the oldest but the root key
	}
}

func (m *credModel) pick(n int) int { return m.rng.IntN(n) }

func (m *credModel) fresh(prefix string) string {
	m.n++
	return fmt.Sprintf("%s%d", prefix, m.n)
}

// userCred picks a credential of the actor for one of its users (not a
// service key); confined says whether org-confined ones qualify.
func (m *credModel) userCred(a *credActor, confined bool) (heldCred, bool) {
	var cs []heldCred
	for _, c := range a.wallet {
		if c.user != "" && (confined || c.org == "") {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return heldCred{}, false
	}
	return cs[m.pick(len(cs))], true
}

func (m *credModel) do(a *credActor, what, method, path, token string, body, out any) int {
	m.t.Helper()
	r := m.serve(method, path, token, body)
	m.changed = m.changed || r.Status < 300
	if r.Status >= 500 {
		m.t.Fatalf("step %d %s %s: %s %s: %d %s", m.step, a.name, what, method, path, r.Status, r.Body)
	}
	if out != nil && r.Status < 300 {
		r.json(m.t, out)
	}
	m.log = append(m.log, fmt.Sprintf("%d %s %s %s %s → %d", m.step, a.name, what, method, path, r.Status))
	if m.outcomes == nil {
		m.outcomes = map[string]int{}
	}
	m.outcomes[fmt.Sprintf("%s %d", what, r.Status)]++
	return r.Status
}

// serve calls the server's handler in process (no socket: the same
// routes, authentication and handlers as over TCP, at a fraction of the
// cost under -race).
func (m *credModel) serve(method, path, token string, body any) resp {
	m.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			m.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(ctxT(m.t), method, path, rd)
	req.RemoteAddr = "192.0.2.7:1234"
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	m.e.srv.ServeHTTP(rec, req)
	return resp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func (m *credModel) act() {
	a := m.actors[m.pick(len(m.actors))]
	switch k := m.pick(100); {
	case k < 6:
		m.createOrg(a)
	case k < 20:
		m.invite(a)
	case k < 36:
		m.acceptAnonymously(a)
	case k < 48:
		m.acceptAuthenticated(a)
	case k < 58:
		m.session(a)
	case k < 72:
		m.createKey(a)
	case k < 78:
		m.provision(a)
	case k < 84:
		m.createService(a)
	case k < 94:
		m.revokeKey(a)
	default:
		m.deleteUser(a)
	}
}

// maxOrgs bounds the world (and so the cost of each call: /v1/me lists
// every org of its caller).
const maxOrgs = 24

func (m *credModel) createOrg(a *credActor) {
	c, ok := m.userCred(a, false)
	if !ok {
		return
	}
	if len(m.orgs) >= maxOrgs {
		m.invite(a)
		return
	}
	org := m.fresh("o")
	if m.do(a, "create org", "POST", "/v1/orgs", c.token, map[string]any{"id": org, "name": org}, nil) == 201 {
		m.orgs = append(m.orgs, org)
		m.admins[org] = map[string]bool{c.user: true}
	}
}

// adminCred picks a credential of the actor and an org where its user is
// an owner or admin (any org, as often as not, to try the refusals).
func (m *credModel) adminCred(a *credActor) (heldCred, string, bool) {
	c, ok := m.userCred(a, true)
	if !ok || len(m.orgs) == 0 {
		return heldCred{}, "", false
	}
	if c.org != "" {
		return c, c.org, true
	}
	var mine []string
	for _, o := range m.orgs {
		if m.admins[o][c.user] {
			mine = append(mine, o)
		}
	}
	if len(mine) > 0 && m.pick(2) == 0 {
		return c, mine[m.pick(len(mine))], true
	}
	return c, m.orgs[m.pick(len(m.orgs))], true
}

func (m *credModel) invite(a *credActor) {
	c, org, ok := m.adminCred(a)
	if !ok {
		return
	}
	var email string
	switch m.pick(3) {
	case 0:
		email = m.fresh("new") + "@example.com"
	case 1: // one of the actor's own users (joining another org)
		email = a.emails[m.pick(len(a.emails))]
	default:
		email = m.emails[m.pick(len(m.emails))]
	}
	role := []string{"viewer", "admin"}[m.pick(2)]
	var ic server.InvitationCreated
	if m.do(a, "invite", "POST", "/v1/orgs/"+org+"/invitations", c.token, map[string]any{"email": email, "role": role}, &ic) == 201 {
		to := a
		if m.pick(3) == 0 { // invitation tokens leak
			to = m.actors[m.pick(len(m.actors))]
		}
		to.invites = append(to.invites, heldInvite{token: ic.Token, org: org, email: ic.Item.Email, role: role})
		if len(to.invites) > 8 {
			to.invites = to.invites[1:]
		}
	}
}

// provision creates a user through POST /v1/users, with an id and an
// email that may be anyone's: it must yield no credential and never reach
// an existing user. The user it creates belongs to no actor, so any
// credential for it held later is someone else's.
func (m *credModel) provision(a *credActor) {
	c, org, ok := m.adminCred(a)
	if !ok {
		return
	}
	id, email := m.fresh("p"), m.fresh("prov")+"@example.com"
	if m.pick(2) == 0 {
		id = m.ids[m.pick(len(m.ids))]
	}
	if m.pick(2) == 0 {
		email = m.emails[m.pick(len(m.emails))]
	}
	role := []string{"viewer", "admin"}[m.pick(2)]
	var out map[string]json.RawMessage
	if m.do(a, "provision", "POST", "/v1/users", c.token, map[string]any{"org": org, "id": id, "email": email, "role": role}, &out) != 201 {
		return
	}
	if owner, exists := m.users[id]; exists {
		m.t.Errorf("step %d: %s provisioned user %s, which already existed (%s's)", m.step, a.name, id, owner)
		return
	}
	if len(out) != 2 || out["item"] == nil || out["revision"] == nil {
		m.t.Errorf("step %d: provisioning answered more than the user: %v", m.step, out)
	}
	m.users[id] = "(provisioned)"
	if !slices.Contains(m.ids, id) {
		m.ids = append(m.ids, id)
	}
	if !slices.Contains(m.emails, email) {
		m.emails = append(m.emails, email)
	}
	if role == "admin" && m.admins[org] != nil {
		m.admins[org][id] = true
	}
}

func (m *credModel) invitation(a *credActor) (heldInvite, bool) {
	if len(a.invites) == 0 {
		return heldInvite{}, false
	}
	return a.invites[m.pick(len(a.invites))], true
}

func (m *credModel) acceptAnonymously(a *credActor) {
	inv, ok := m.invitation(a)
	if !ok {
		return
	}
	var uid string
	if m.pick(2) == 0 {
		uid = m.ids[m.pick(len(m.ids))] // an existing or deleted user's id
	} else {
		uid = m.fresh("u")
	}
	var acc acceptAnswer
	if m.do(a, "accept anonymously", "POST", "/v1/invitations/accept", "", map[string]any{"token": inv.token, "user_id": uid}, &acc) != 201 {
		return
	}
	u := acc.User.ID
	if owner, exists := m.users[u]; exists {
		m.t.Errorf("step %d: %s accepted an invitation for %s anonymously and got user %s, which already existed (%s's)", m.step, a.name, inv.email, u, owner)
		return
	}
	m.users[u] = a.name
	a.users[u] = true
	a.emails = append(a.emails, acc.User.Email)
	if !slices.Contains(m.ids, u) {
		m.ids = append(m.ids, u)
	}
	if !slices.Contains(m.emails, acc.User.Email) {
		m.emails = append(m.emails, acc.User.Email)
	}
	m.joined(inv, u)
	if acc.Session != nil {
		m.hold(a, heldCred{token: acc.Session.Token, user: u, via: "anonymous acceptance"})
	}
}

func (m *credModel) acceptAuthenticated(a *credActor) {
	inv, ok := m.invitation(a)
	c, ok2 := m.userCred(a, true)
	if !ok || !ok2 {
		return
	}
	var acc acceptAnswer
	if m.do(a, "accept authenticated", "POST", "/v1/invitations/accept", c.token, map[string]any{"token": inv.token}, &acc) != 201 {
		return
	}
	m.joined(inv, acc.User.ID)
	if acc.Session != nil {
		m.hold(a, heldCred{token: acc.Session.Token, user: acc.User.ID, via: "authenticated acceptance"})
	}
}

func (m *credModel) joined(inv heldInvite, user string) {
	if inv.role == "admin" && m.admins[inv.org] != nil {
		m.admins[inv.org][user] = true
	}
}

func (m *credModel) session(a *credActor) {
	var keys []heldCred
	for _, c := range a.wallet {
		if c.key != "" && c.user != "" {
			keys = append(keys, c)
		}
	}
	if len(keys) == 0 {
		return
	}
	c := keys[m.pick(len(keys))]
	var s server.SessionResponse
	if m.do(a, "session", "POST", "/v1/sessions", c.token, nil, &s) == 201 {
		m.hold(a, heldCred{token: s.Token, user: c.user, org: c.org, via: "session from " + c.via})
	}
}

func (m *credModel) createKey(a *credActor) {
	c, org, ok := m.adminCred(a)
	if !ok {
		return
	}
	spec := map[string]any{}
	want := heldCred{user: c.user, org: org, via: "own org key"}
	switch k := m.pick(4); {
	case k == 0 && c.org == "":
		org, want = "", heldCred{user: c.user, via: "personal key"}
	case k == 1:
		u := m.ids[m.pick(len(m.ids))]
		spec["principal"] = "user:" + u
		want = heldCred{user: u, org: org, via: "key for a user"}
	case k == 2 && len(m.services[org]) > 0:
		svc := "service:" + m.services[org][m.pick(len(m.services[org]))]
		spec["principal"] = svc
		want = heldCred{svc: svc, org: org, via: "service key"}
	}
	path := "/v1/apikeys"
	if org != "" {
		path = "/v1/orgs/" + org + "/apikeys"
	}
	var kc server.KeyCreated
	if m.do(a, "create key ("+want.via+")", "POST", path, c.token, spec, &kc) != 201 {
		return
	}
	if want.svc != "" && m.admins[org][c.user] {
		a.services[org+"/"+want.svc] = true
	}
	want.token, want.key = kc.Token, kc.Item.ID
	m.hold(a, want)
}

func (m *credModel) createService(a *credActor) {
	c, org, ok := m.adminCred(a)
	if !ok {
		return
	}
	name := m.fresh("s")
	if m.do(a, "create service", "POST", "/v1/orgs/"+org+"/services", c.token, map[string]any{"name": name}, nil) == 201 {
		m.services[org] = append(m.services[org], name)
	}
}

func (m *credModel) revokeKey(a *credActor) {
	var keys []heldCred
	for _, c := range a.wallet {
		if c.key != "" && !c.root {
			keys = append(keys, c)
		}
	}
	c, ok := m.userCred(a, true)
	if len(keys) == 0 || !ok {
		return
	}
	k := keys[m.pick(len(keys))]
	path := "/v1/apikeys/" + k.key
	if k.org != "" {
		path = "/v1/orgs/" + k.org + "/apikeys/" + k.key
	}
	m.do(a, "revoke key", "DELETE", path, c.token, nil, nil)
}

func (m *credModel) deleteUser(a *credActor) {
	c, ok := m.userCred(a, false)
	if !ok || c.user == a.name {
		return
	}
	if m.do(a, "delete user", "DELETE", "/v1/me", c.token, nil, nil) == 200 {
		delete(m.users, c.user)
		delete(a.users, c.user)
		for _, admins := range m.admins {
			delete(admins, c.user)
		}
	}
}

// allowed reports whether an identity may be held by actor a.
func (m *credModel) allowed(a *credActor, principal, org string) bool {
	if u, ok := strings.CutPrefix(principal, "user:"); ok {
		return a.users[u]
	}
	return a.services[org+"/"+principal]
}

func (m *credModel) checkAll(sweep bool) {
	m.t.Helper()
	ctx := context.Background()
	for _, a := range m.actors {
		for _, c := range a.wallet {
			id, err := m.e.auth.Authenticate(ctx, c.token, "192.0.2.99")
			if err == nil && !m.allowed(a, id.Principal, id.Org) {
				m.t.Errorf("step %d: %s holds a credential (%s) that authenticates as %s (org %q)", m.step, a.name, c.via, id.Principal, id.Org)
			}
			if sweep {
				m.checkMe(a, c)
			}
		}
	}
}

func (m *credModel) checkMe(a *credActor, c heldCred) {
	m.t.Helper()
	r := m.serve("GET", "/v1/me", c.token, nil)
	switch r.Status {
	case 200:
		var me server.Me
		r.json(m.t, &me)
		if !m.allowed(a, me.Principal, me.Org) {
			m.t.Errorf("step %d: %s holds a credential (%s) whose /v1/me is %s (org %q)", m.step, a.name, c.via, me.Principal, me.Org)
		}
	case 401:
	default:
		m.t.Fatalf("step %d: /v1/me: %d %s", m.step, r.Status, r.Body)
	}
}
