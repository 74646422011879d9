package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestCredentialsInFormsAreRefused (docs/threat-model.md row 102): a
// Gatehouse credential pasted into a console form field, a GET form's
// query or the page address is refused 400 naming the field and never
// the value — not stored, not quoted by the page, not in the audit log —
// as the JSON API refuses one in a body (row 91). The fields that take a
// credential (the sign-in's key, a secret's value) still do.
func TestCredentialsInFormsAreRefused(t *testing.T) {
	e := newEnv(t)
	pasted := e.keys["bob"] // a real key, the worst case
	c := e.client()
	c.signIn("ada")
	org := "/console/orgs/" + e.org + "/"
	for _, tc := range []struct {
		name, method, path string
		form               url.Values
		field              string
	}{
		{"a team's name", "POST", org + "teams", url.Values{"slug": {"ops"}, "name": {"Ops " + pasted}}, `&#34;name&#34;`},
		{"a team member", "POST", org + "teams/ops/members", url.Values{"principal": {pasted}}, `&#34;principal&#34;`},
		{"a secret's description", "POST", org + "secrets", url.Values{"namespace": {"default"}, "name": {"CI_TOKEN"}, "value": {"v"}, "description": {pasted}}, `&#34;description&#34;`},
		{"a policy's text", "POST", org + "policy/lint", url.Values{"text": {"role r {} # " + pasted}}, `&#34;text&#34;`},
		{"an agent key's name", "POST", org + "keys", url.Values{"name": {pasted}}, `&#34;name&#34;`},
		{"a playground query", "GET", org + "playground?principal=" + url.QueryEscape(pasted), nil, `&#34;principal&#34;`},
		{"an audit filter", "GET", org + "audit?actor=" + url.QueryEscape(pasted), nil, `&#34;actor&#34;`},
		{"the page address", "GET", "/console/orgs/" + pasted + "/", nil, "page address"},
	} {
		var p page
		if tc.method == "POST" {
			tc.form.Set("csrf", c.csrf)
			p = c.post(tc.path, tc.form)
		} else {
			p = c.get(tc.path)
		}
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.field) {
			t.Errorf("%s: status %d, want 400 naming %s\n%.600s", tc.name, p.status, tc.field, p.body)
		}
		for _, leak := range []string{pasted, pasted[4:20], pasted[21:41]} {
			if strings.Contains(p.body, leak) {
				t.Errorf("%s: the page quotes the credential (%.8s…)", tc.name, leak)
			}
		}
	}
	// Nothing was stored or recorded.
	if p := c.get(org + "teams"); strings.Contains(p.body, pasted[21:41]) || strings.Contains(p.body, ">ops<") {
		t.Errorf("the team was created")
	}
	recs, _, err := e.st.ListAudit(ctxT(t), e.org, store.AuditFilter{}, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if strings.Contains(string(rec.Body), pasted[21:41]) {
			t.Errorf("audit entry %d quotes the credential: %.300s", rec.Seq, rec.Body)
		}
	}
	// A secret's value takes one.
	if p := c.post(org+"secrets", url.Values{"csrf": {c.csrf}, "namespace": {"default"}, "name": {"BOB_KEY"}, "value": {pasted}, "description": {"bob's key, for a test"}}); p.status != http.StatusSeeOther {
		t.Errorf("a secret whose value is a key: status %d, want 303\n%.600s", p.status, p.body)
	}
}

// TestRefusedFormKeepsTheRest: a form refused because a field holds a
// credential is shown again (400) on its page with every other field as
// the user typed it, the offending field emptied — a policy text keeps
// its lines with the credential cut out — and marked (aria-invalid, an
// inline error, autofocus); the credential is never on the page, a
// secret's value is never shown back, and nothing ran.
func TestRefusedFormKeepsTheRest(t *testing.T) {
	e := newEnv(t)
	pasted := e.keys["bob"]
	if _, _, err := e.dir.CreateTeam(ctxT(t), e.owner, e.org, "oncall", "On call", nil); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.signIn("ada")
	org := "/console/orgs/" + e.org + "/"
	policy := "# The acme policy, long and carefully typed.\nrole r1 level 5 {}\n# bob's key: " + pasted + "\nrole r2 level 6 {}\n"
	for _, tc := range []struct {
		name, path string
		form       url.Values
		kept       []string // on the page, as attribute or text content
		invalid    string   // the marked field's id
		absent     []string
	}{
		{"a team's name", org + "teams", url.Values{"slug": {"ops-team"}, "name": {"Ops " + pasted}},
			[]string{`id="team-slug" name="slug" value="ops-team"`, `id="team-name" name="name" value=""`}, "team-name", nil},
		{"a team member", org + "teams/oncall/members", url.Values{"principal": {pasted}},
			[]string{`id="add-oncall" name="principal" value=""`}, "add-oncall", nil},
		{"a secret's description", org + "secrets", url.Values{"namespace": {"prod"}, "name": {"CI_TOKEN"}, "value": {"the-typed-secret-value"}, "description": {"for CI: " + pasted}},
			[]string{`New secret in prod`, `id="secret-name" name="name" value="CI_TOKEN"`, `id="secret-desc" name="description" value=""`}, "secret-desc", []string{"the-typed-secret-value"}},
		{"a role's parents", org + "roles", url.Values{"name": {"deployer"}, "level": {"20"}, "parents": {pasted}, "permissions": {"chains:run, chains:read"}},
			[]string{`value="deployer"`, `value="20"`, `id="role-parents" name="parents" value=""`, `value="chains:run, chains:read"`}, "role-parents", nil},
		{"an agent key's name", org + "keys", url.Values{"name": {pasted}}, []string{`id="key-name" name="name" value=""`}, "key-name", nil},
		{"an invitation's email", org + "members/invite", url.Values{"email": {pasted + "@x.example"}, "role": {"viewer"}},
			[]string{`id="invite-email" name="email" type="email" value=""`, `<option value="viewer" selected>`}, "invite-email", nil},
		{"a policy's text", org + "policy", url.Values{"text": {policy}, "version": {"1"}, "action": {"save"}},
			[]string{"# The acme policy, long and carefully typed.\nrole r1 level 5 {}\n# bob&#39;s key: [credential redacted]\nrole r2 level 6 {}\n</textarea>"}, "policy-text", nil},
	} {
		tc.form.Set("csrf", c.csrf)
		p := c.post(tc.path, tc.form)
		if p.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400\n%.600s", tc.name, p.status, p.body)
			continue
		}
		for _, k := range tc.kept {
			if !strings.Contains(p.body, k) {
				t.Errorf("%s: the page lacks %q", tc.name, k)
			}
		}
		marked := regexp.MustCompile(`id="` + tc.invalid + `"[^>]* aria-invalid="true" aria-describedby="refill-error-[a-z]+" autofocus`)
		if !marked.MatchString(p.body) || !strings.Contains(p.body, `class="error field-error" id="refill-error-`) {
			t.Errorf("%s: #%s is not marked invalid with an inline error", tc.name, tc.invalid)
		}
		if !strings.Contains(p.body, `id="error">`) || !strings.Contains(p.body, "holds a value in the form of a Gatehouse credential") {
			t.Errorf("%s: no refusal sentence on top", tc.name)
		}
		for _, leak := range append([]string{pasted, pasted[4:20], pasted[21:41]}, tc.absent...) {
			if strings.Contains(p.body, leak) {
				t.Errorf("%s: the page shows %.12q…", tc.name, leak)
			}
		}
	}
	s := e.state(t)
	if s.policyVer != 1 {
		t.Errorf("the policy was saved: version %d", s.policyVer)
	}
	for _, path := range []string{"teams", "roles", "secrets?namespace=prod"} {
		if p := c.get(org + path); strings.Contains(p.body, ">ops-team<") || strings.Contains(p.body, ">deployer<") || strings.Contains(p.body, ">CI_TOKEN<") {
			t.Errorf("%s: something was created", path)
		}
	}
}

// TestRefusedFormIsNotReshownWithoutItsToken (docs/threat-model.md row
// 108): a form holding a credential but not the session's CSRF token — a
// form another site made the browser post — is refused with the bare
// refusal page, never shown again pre-filled on the console's page, where
// the user's own token would let one click submit what the other site
// typed (a policy, a role).
func TestRefusedFormIsNotReshownWithoutItsToken(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	org := "/console/orgs/" + e.org + "/"
	for _, csrf := range []string{"", "forged-token"} {
		p := c.post(org+"roles", url.Values{"csrf": {csrf}, "name": {"planted"}, "level": {"90"}, "permissions": {"policy:update"}, "parents": {e.keys["bob"]}})
		if p.status != http.StatusBadRequest || strings.Contains(p.body, "planted") || strings.Contains(p.body, "policy:update") || strings.Contains(p.body, `id="role-form"`) {
			t.Errorf("csrf %q: status %d, the planted form is shown again:\n%.800s", csrf, p.status, p.body)
		}
	}
}
