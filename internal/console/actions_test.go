package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// state is what the refused actions could have changed.
type state struct {
	bindings  string // ada's and bob's
	members   int
	roles     int
	policyVer uint64
	secrets   string // names and versions in default
}

func (e *env) state(t *testing.T) state {
	t.Helper()
	ctx := ctxT(t)
	var s state
	for _, u := range []string{"user:ada", "user:bob"} {
		bs, _, err := e.dir.ListBindings(ctx, e.owner, e.org, directory.BindingFilter{Principal: u}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			s.bindings += u + " " + b.Role + "@" + b.Scope.String() + " "
		}
	}
	ms, _, err := e.dir.ListMembers(ctx, e.owner, e.org, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	s.members = len(ms)
	rs, err := e.dir.ListRoles(ctx, e.owner, e.org)
	if err != nil {
		t.Fatal(err)
	}
	s.roles = len(rs)
	pol, err := e.dir.GetPolicy(ctx, e.owner, e.org)
	if err != nil {
		t.Fatal(err)
	}
	s.policyVer = pol.Version
	ss, _, err := e.vault.List(ctx, e.owner, e.org, "default", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ss {
		s.secrets += x.Name + "@" + strconv.FormatUint(x.Version, 10) + " "
	}
	return s
}

// TestHiddenActionsRefused: every action the pages hide from builder,
// operator and viewer, posted directly with a valid session and CSRF
// token, is refused by the domain and changes nothing.
func TestHiddenActionsRefused(t *testing.T) {
	e := newEnv(t)
	pol, err := e.dir.GetPolicy(ctxT(t), e.owner, e.org)
	if err != nil {
		t.Fatal(err)
	}
	actions := []struct {
		name string
		path string
		form url.Values
	}{
		{"invite", "/members/invite", url.Values{"email": {"x@example.com"}, "role": {"viewer"}}},
		{"change a role", "/members/ada/role", url.Values{"role": {"viewer"}}},
		{"remove a member", "/members/ada/remove", nil},
		{"create a role", "/roles", url.Values{"name": {"sneaky"}, "level": {"5"}, "permissions": {"chains:read"}}},
		{"delete a role", "/roles/viewer/delete", nil},
		{"save the policy", "/policy", url.Values{"action": {"save"}, "version": {itoa(pol.Version)}, "text": {pol.Text + "\nrole sneaky level 1 { permission chains { read } }\n"}}},
	}
	before := e.state(t)
	for _, ru := range roleUsers[1:] {
		c := e.client()
		c.signIn(ru.user)
		for _, a := range actions {
			form := url.Values{"csrf": {c.csrf}}
			for k, v := range a.form {
				form[k] = v
			}
			p := c.post("/console/orgs/"+e.org+a.path, form)
			if p.status != http.StatusForbidden {
				t.Errorf("%s: %s: status %d, want 403", ru.role, a.name, p.status)
			}
			if !strings.Contains(p.body, `id="error"`) {
				t.Errorf("%s: %s: no sentence shown", ru.role, a.name)
			}
		}
	}
	// Secret management posted directly: refused (403, or 404 to those
	// who may not know the name), nothing changed.
	for _, ru := range roleUsers[1:] {
		c := e.client()
		c.signIn(ru.user)
		for _, a := range []struct{ path, name string }{{"/secrets", "NEW_ONE"}, {"/secrets/rotate", secretName}, {"/secrets/delete", secretName}} {
			p := c.post("/console/orgs/"+e.org+a.path, url.Values{"csrf": {c.csrf}, "namespace": {"default"}, "name": {a.name}, "value": {"x"}})
			if p.status != http.StatusForbidden && p.status != http.StatusNotFound {
				t.Errorf("%s: POST %s: %d, want 403 or 404", ru.role, a.path, p.status)
			}
		}
	}
	// A reveal posted directly: the builder (names only) is refused with a
	// sentence; operators and viewers, who may not know the name, get
	// "not found". No value either way.
	for _, ru := range roleUsers[1:] {
		c := e.client()
		c.signIn(ru.user)
		p := c.post("/console/orgs/"+e.org+"/secrets/reveal", url.Values{"csrf": {c.csrf}, "namespace": {"default"}, "name": {secretName}})
		want := http.StatusNotFound
		if ru.role == "builder" {
			want = http.StatusForbidden
		}
		if p.status != want || strings.Contains(p.body, secretValue) {
			t.Errorf("%s: reveal: status %d (want %d), value shown %v", ru.role, p.status, want, strings.Contains(p.body, secretValue))
		}
		if ru.role != "builder" && strings.Contains(p.body, secretName) {
			t.Errorf("%s: the refused reveal names the secret", ru.role)
		}
	}
	if after := e.state(t); after != before {
		t.Errorf("refused actions changed the org: before %+v, after %+v", before, after)
	}
}

// TestPolicySaveConflict: a save from an editor opened before someone
// else's save is refused with a clear sentence, and the other save stays.
func TestPolicySaveConflict(t *testing.T) {
	e := newEnv(t)
	pol, err := e.dir.GetPolicy(ctxT(t), e.owner, e.org)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.signIn("ada")
	first := pol.Text + "\nrole first level 1 { permission chains { read } }\n"
	if p := c.post("/console/orgs/acme/policy", url.Values{"csrf": {c.csrf}, "action": {"save"}, "version": {itoa(pol.Version)}, "text": {first}}); p.status != http.StatusSeeOther {
		t.Fatalf("first save: %d %s", p.status, p.body)
	}
	p := c.post("/console/orgs/acme/policy", url.Values{"csrf": {c.csrf}, "action": {"save"}, "version": {itoa(pol.Version)}, "text": {pol.Text + "\nrole second level 1 { permission chains { read } }\n"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "was changed by user:ada") {
		t.Fatalf("stale save: %d, want 409 with a sentence\n%s", p.status, p.body)
	}
	now, err := e.dir.GetPolicy(ctxT(t), e.owner, e.org)
	if err != nil {
		t.Fatal(err)
	}
	if now.Text != first {
		t.Errorf("the stale save replaced the policy")
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestKeys: a personal key made in the console is shown once; another
// user's key cannot be revoked from the console (it is not found), and
// still works.
func TestKeys(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("bob")
	p := c.post("/console/orgs/acme/keys", url.Values{"csrf": {c.csrf}, "name": {"laptop"}})
	m := regexp.MustCompile(`id="new-key">([^<]+)<`).FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create key: %d\n%s", p.status, p.body)
	}
	if _, err := e.auth.Authenticate(ctxT(t), m[1], ""); err != nil {
		t.Errorf("the new key does not authenticate: %v", err)
	}
	if again := c.get("/console/orgs/acme/agents"); strings.Contains(again.body, m[1]) {
		t.Errorf("the key's token is shown again")
	}
	id, err := e.auth.Authenticate(ctxT(t), e.keys["ada"], "")
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"", "org"} {
		p = c.post("/console/orgs/acme/keys/"+id.KeyID+"/revoke", url.Values{"csrf": {c.csrf}, "scope": {scope}})
		if p.status != http.StatusNotFound && p.status != http.StatusForbidden {
			t.Errorf("bob revoking ada's key (scope %q): %d", scope, p.status)
		}
	}
	if _, err := e.auth.Authenticate(ctxT(t), e.keys["ada"], ""); err != nil {
		t.Errorf("ada's key stopped working: %v", err)
	}
}

// TestRevokeInvitation: the admin revokes a pending invitation, which then
// no longer works; a viewer's direct post is refused and revokes nothing.
func TestRevokeInvitation(t *testing.T) {
	e := newEnv(t)
	inv, tok, _, err := e.auth.Invite(ctxT(t), auth.Caller{Identity: auth.Identity{Principal: "user:ada"}}, e.org, "zed@example.com", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	viewer := e.client()
	viewer.signIn("val")
	if p := viewer.post("/console/orgs/acme/invitations/"+inv.ID+"/revoke", url.Values{"csrf": {viewer.csrf}}); p.status != http.StatusForbidden {
		t.Errorf("viewer revoking: %d, want 403", p.status)
	}
	admin := e.client()
	admin.signIn("ada")
	if p := admin.get("/console/orgs/acme/members"); !strings.Contains(p.body, `data-invitation="zed@example.com"`) {
		t.Fatalf("the pending invitation is not listed")
	}
	if p := admin.post("/console/orgs/acme/invitations/"+inv.ID+"/revoke", url.Values{"csrf": {admin.csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("admin revoking: %d\n%s", p.status, p.body)
	}
	anon := e.client()
	anon.get("/console/invitation?token=" + tok)
	if p := anon.post("/console/invitation", url.Values{"csrf": {anon.csrf}, "token": {tok}}); p.status != http.StatusGone {
		t.Errorf("accepting a revoked invitation: %d, want 410", p.status)
	}
}

// TestInvitationForExistingUser: an invitation to an existing user's email
// is refused anonymously (with the sentence saying to sign in first) and
// accepted once that user is signed in, as itself.
func TestInvitationForExistingUser(t *testing.T) {
	e := newEnv(t)
	_, tok, _, err := e.auth.Invite(ctxT(t), auth.Caller{Identity: auth.Identity{Principal: "user:ada"}}, e.org, "eve@example.com", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	anon := e.client()
	anon.get("/console/invitation?token=" + tok)
	if p := anon.post("/console/invitation", url.Values{"csrf": {anon.csrf}, "token": {tok}, "user_id": {"eve2"}}); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "sign in with that user") {
		t.Fatalf("anonymous acceptance for an existing user: %d", p.status)
	}
	eve := e.client()
	eve.signIn("eve")
	p := eve.get("/console/invitation?token=" + tok)
	if !strings.Contains(p.body, "You are signed in as <strong>user:eve</strong>") {
		t.Fatalf("the invitation page does not say eve accepts as herself")
	}
	if p := eve.post("/console/invitation", url.Values{"csrf": {eve.csrf}, "token": {tok}}); p.status != http.StatusSeeOther || p.loc != "/console/orgs/acme/" {
		t.Fatalf("eve accepting: %d %s\n%s", p.status, p.loc, p.body)
	}
	if !e.dir.IsMember(e.org, "user:eve") {
		t.Errorf("eve is not a member after accepting")
	}
}

// TestTeams: the admin creates a team and adds and removes a member; a
// viewer's direct posts are refused and change nothing.
func TestTeams(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.signIn("ada")
	if p := admin.post("/console/orgs/acme/teams", url.Values{"csrf": {admin.csrf}, "slug": {"support"}, "name": {"Support"}}); p.status != http.StatusSeeOther {
		t.Fatalf("create team: %d\n%s", p.status, p.body)
	}
	if p := admin.post("/console/orgs/acme/teams/support/members", url.Values{"csrf": {admin.csrf}, "principal": {"user:oli"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add member: %d\n%s", p.status, p.body)
	}
	members := func() []string {
		tm, err := e.dir.GetTeam(ctxT(t), e.owner, e.org, "support")
		if err != nil {
			t.Fatal(err)
		}
		return tm.Members
	}
	if got := members(); len(got) != 1 || got[0] != "user:oli" {
		t.Fatalf("team members %v", got)
	}
	viewer := e.client()
	viewer.signIn("val")
	for _, a := range []struct{ path, principal string }{{"/teams/support/members", "user:val"}, {"/teams/support/members/remove", "user:oli"}, {"/teams", ""}} {
		if p := viewer.post("/console/orgs/acme"+a.path, url.Values{"csrf": {viewer.csrf}, "principal": {a.principal}, "slug": {"sneaky"}}); p.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", a.path, p.status)
		}
	}
	if got := members(); len(got) != 1 || got[0] != "user:oli" {
		t.Errorf("a refused post changed the team: %v", got)
	}
	if p := admin.post("/console/orgs/acme/teams/support/members/remove", url.Values{"csrf": {admin.csrf}, "principal": {"user:oli"}}); p.status != http.StatusSeeOther {
		t.Fatalf("remove member: %d\n%s", p.status, p.body)
	}
	if got := members(); len(got) != 0 {
		t.Errorf("after removing: %v", got)
	}
}

// TestPolicyImpact: Check shows, before saving, who would gain or lose
// what: taking run from the operator role loses oli (operator) and bob
// (builder, who inherits it) chains:run; nothing is saved.
func TestPolicyImpact(t *testing.T) {
	e := newEnv(t)
	pol, err := e.dir.GetPolicy(ctxT(t), e.owner, e.org)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(pol.Text, "permission chains { run }", "permission chains { read }", 1)
	if edited == pol.Text {
		t.Fatal("the template changed: no operator chains { run } line")
	}
	c := e.client()
	c.signIn("ada")
	p := c.post("/console/orgs/acme/policy", url.Values{"csrf": {c.csrf}, "action": {"check"}, "version": {itoa(pol.Version)}, "text": {edited}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="impact-summary"`) {
		t.Fatalf("check: %d, no impact\n%s", p.status, p.body)
	}
	for _, want := range []string{"<td>user:oli</td><td>lost</td><td><code>chains:run</code>", "<td>user:bob</td><td>lost</td><td><code>chains:run</code>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("impact lacks %q", want)
		}
	}
	if s := e.state(t); s.policyVer != pol.Version {
		t.Errorf("check saved the policy")
	}
}
