package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
)

// fieldValue is the value a page's form control with id shows: an
// input's value attribute, a textarea's text, a select's selected option
// (unescaped, as the browser reads them); ok is false when there is no
// such control on the page.
func fieldValue(t *testing.T, body, id string) (string, bool) {
	t.Helper()
	q := regexp.QuoteMeta(id)
	if m := regexp.MustCompile(`(?s)<textarea[^>]*\sid="` + q + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1]), true
	}
	if m := regexp.MustCompile(`(?s)<select[^>]*\sid="` + q + `"[^>]*>(.*?)</select>`).FindStringSubmatch(body); m != nil {
		if o := regexp.MustCompile(`<option value="([^"]*)"[^>]*\sselected`).FindStringSubmatch(m[1]); o != nil {
			return html.UnescapeString(o[1]), true
		}
		return "", true
	}
	tag := regexp.MustCompile(`<input[^>]*\sid="` + q + `"[^>]*>`).FindString(body)
	if tag == "" {
		return "", false
	}
	if v := regexp.MustCompile(`\svalue="([^"]*)"`).FindStringSubmatch(tag); v != nil {
		return html.UnescapeString(v[1]), true
	}
	return "", true
}

// formError is the refusal sentence shown inside the refused form, or "".
func formError(body string) string {
	m := regexp.MustCompile(`<p class="error form-error" id="form-error"[^>]*>([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestRefusedFormsKeepTheInput: every console form that takes input,
// refused by the server (invalid, forbidden, a conflict, a policy that
// does not compile, a key not accepted), answers the refusal's status and
// shows its form again: each field the user typed with its value (the
// page's own controls, escaped by html/template), the refusal's sentence
// on top and next to the form, and a field that takes a secret (a
// secret's value, an API key) empty, with a note that it is not shown
// again. Nothing ran.
func TestRefusedFormsKeepTheInput(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	if _, _, err := e.dir.CreateTeam(ctx, e.owner, e.org, "oncall", "On call", nil); err != nil {
		t.Fatal(err)
	}
	ap := e.askApproval(t)
	org := "/console/orgs/" + e.org + "/"
	markup := `"><script>alert(1)</script>`
	long := strings.Repeat("k", 201)
	comment := strings.Repeat("c", 2001)
	type tc struct {
		name    string
		user    string // signed in as ("": not signed in)
		path    string
		form    url.Values
		status  int
		errText string            // in the sentence on top, and next to the form
		kept    map[string]string // control id → the value it shows again
		secret  []string          // control ids that must be empty
		note    string            // the id of the note that a secret was not kept
		noForm  bool              // a form before sign-in: the sentence on top only
	}
	for _, c := range []tc{
		{name: "new team, a slug that is not one", user: "ada", path: org + "teams",
			form: url.Values{"slug": {"Ops Team!"}, "name": {"Operations " + markup}}, status: http.StatusBadRequest, errText: `Invalid slug: "Ops Team!" must be a lower-case identifier`,
			kept: map[string]string{"team-slug": "Ops Team!", "team-name": "Operations " + markup}},
		{name: "new team, markup as the slug (quoted by the sentence)", user: "ada", path: org + "teams",
			form: url.Values{"slug": {markup}, "name": {"x"}}, status: http.StatusBadRequest, errText: `Invalid slug: "\"><script>alert(1)</script>"`,
			kept: map[string]string{"team-slug": markup, "team-name": "x"}},
		{name: "new team, one that exists", user: "ada", path: org + "teams",
			form: url.Values{"slug": {"oncall"}, "name": {"On call, again"}}, status: http.StatusConflict, errText: `team "oncall" in org "acme" already exists`,
			kept: map[string]string{"team-slug": "oncall", "team-name": "On call, again"}},
		{name: "a team member who is no principal", user: "ada", path: org + "teams/oncall/members",
			form: url.Values{"principal": {"bob the builder"}}, status: http.StatusBadRequest, errText: `Invalid principal: "bob the builder" is not user:<id>`,
			kept: map[string]string{"add-oncall": "bob the builder"}},
		{name: "new role, a level that is no number", user: "ada", path: org + "roles",
			form:   url.Values{"name": {"deployer"}, "level": {"twenty"}, "parents": {"operator"}, "permissions": {"chains:run, chains:read"}},
			status: http.StatusBadRequest, errText: "The level must be a whole number.",
			kept: map[string]string{"role-name": "deployer", "role-level": "twenty", "role-parents": "operator", "role-perms": "chains:run, chains:read"}},
		{name: "new role, a permission ada does not hold", user: "ada", path: org + "roles",
			form:   url.Values{"name": {"auditor"}, "level": {"10"}, "parents": {""}, "permissions": {"nosuch:thing"}},
			status: http.StatusForbidden, errText: "which you do not hold yourself",
			kept: map[string]string{"role-name": "auditor", "role-level": "10", "role-parents": "", "role-perms": "nosuch:thing"}},
		{name: "policy save, a text that does not compile", user: "ada", path: org + "policy",
			form:   url.Values{"text": {"role r1 level 5 {\n  permission chains { run \n"}, "version": {"2"}, "action": {"save"}},
			status: http.StatusUnprocessableEntity, errText: "The policy was not saved",
			kept: map[string]string{"policy-text": "role r1 level 5 {\n  permission chains { run \n"}},
		{name: "policy save, a stale version", user: "ada", path: org + "policy",
			form:   url.Values{"text": {"# mine\n"}, "version": {"7"}, "action": {"save"}},
			status: http.StatusConflict, errText: "after you opened version 7",
			kept: map[string]string{"policy-text": "# mine\n"}},
		{name: "invite, an address that is not one", user: "ada", path: org + "members/invite",
			form: url.Values{"email": {"nia at example"}, "role": {"operator"}}, status: http.StatusBadRequest, errText: `Invalid email: "nia at example" is not an email address.`,
			kept: map[string]string{"invite-email": "nia at example", "invite-role": "operator"}},
		{name: "change a role, the last admin", user: "ada", path: org + "members/ada/role",
			form: url.Values{"role": {"viewer"}}, status: http.StatusConflict, errText: "the org would be left without an owner",
			kept: map[string]string{"role-ada": "viewer"}},
		{name: "remove a member, the last admin", user: "ada", path: org + "members/ada/remove",
			form: url.Values{}, status: http.StatusConflict, errText: "the org would be left without an owner"},
		{name: "new API key, a name too long", user: "ada", path: org + "keys",
			form: url.Values{"name": {long}}, status: http.StatusBadRequest, errText: "Invalid name: name is longer than 200 bytes.",
			kept: map[string]string{"key-name": long}},
		{name: "approve, a comment too long", user: "ada", path: org + "approvals/" + ap.ID + "/approve",
			form: url.Values{"comment": {comment}}, status: http.StatusBadRequest, errText: "Invalid comment: a comment is at most 2000 bytes.",
			kept: map[string]string{"comment-" + ap.ID: comment}},
		{name: "deny, a comment too long", user: "ada", path: org + "approvals/" + ap.ID + "/deny",
			form: url.Values{"comment": {comment + "d"}}, status: http.StatusBadRequest, errText: "Invalid comment: a comment is at most 2000 bytes.",
			kept: map[string]string{"comment-" + ap.ID: comment + "d"}},
		{name: "new secret, a name that is not one", user: "ada", path: org + "secrets",
			form:   url.Values{"namespace": {"prod"}, "name": {"ci token"}, "value": {"the-typed-secret-value"}, "description": {"for CI " + markup}},
			status: http.StatusBadRequest, errText: `secret name "ci token" is not an environment variable name`,
			kept:   map[string]string{"secret-name": "ci token", "secret-desc": "for CI " + markup},
			secret: []string{"secret-value-in"}, note: "secret-note-value"},
		{name: "new secret, one that exists", user: "ada", path: org + "secrets",
			form:   url.Values{"namespace": {"default"}, "name": {secretName}, "value": {"the-typed-secret-value"}, "description": {"again"}},
			status: http.StatusConflict, errText: `secret "OPENAI_API_KEY" in namespace "default" of org "acme" already exists`,
			kept:   map[string]string{"secret-name": secretName, "secret-desc": "again"},
			secret: []string{"secret-value-in"}, note: "secret-note-value"},
		{name: "rotate a secret, a value too large", user: "ada", path: org + "secrets/rotate",
			form:   url.Values{"namespace": {"default"}, "name": {secretName}, "value": {"the-typed-secret-value" + strings.Repeat("v", 64<<10)}},
			status: http.StatusBadRequest, errText: "Check value: the value is larger than 65536 bytes.",
			secret: []string{"rotate-" + secretName}, note: "secret-note-value"},
		{name: "sign in, a key not accepted", path: "/console/signin",
			form:   url.Values{"api_key": {"gth_not-a-real-key"}, "next": {"/console/"}},
			status: http.StatusUnauthorized, errText: "That API key was not accepted (unknown, revoked or expired).",
			secret: []string{"api_key"}, note: "secret-note-api_key", noForm: true},
		{name: "accept an invitation, a user id taken", path: "/console/invitation",
			form: url.Values{"user_id": {"bob"}, "display_name": {"Nia " + markup}}, status: http.StatusBadRequest, errText: `user id "bob" is taken`,
			kept: map[string]string{"user_id": "bob", "display_name": "Nia " + markup}, noForm: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := e.client()
			if c.user != "" {
				cl.signIn(c.user)
			} else if c.path == "/console/invitation" {
				_, tok, _, err := e.auth.Invite(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:ada"}}, e.org, "nia@example.com", "viewer")
				if err != nil {
					t.Fatal(err)
				}
				c.form.Set("token", tok)
				cl.get("/console/invitation?token=" + url.QueryEscape(tok))
			} else {
				cl.get(c.path)
			}
			c.form.Set("csrf", cl.csrf)
			p := cl.post(c.path, c.form)
			if c.status != 0 && p.status != c.status || p.status < 400 {
				t.Fatalf("status %d, want %d: %s", p.status, c.status, regexp.MustCompile(`id="error">[^<]*`).FindString(p.body))
			}
			top := regexp.MustCompile(`<p class="error" role="alert" id="error">([^<]*)</p>`).FindStringSubmatch(p.body)
			if top == nil || !strings.Contains(html.UnescapeString(top[1]), c.errText) {
				t.Errorf("the sentence on top: %q, want it to say %q", top, c.errText)
			}
			if !c.noForm {
				if got := formError(p.body); got == "" || top == nil || got != html.UnescapeString(top[1]) {
					t.Errorf("the sentence next to the form: %q, want the one on top %q", got, top)
				}
			}
			got := map[string]string{}
			for id := range c.kept {
				v, ok := fieldValue(t, p.body, id)
				if !ok {
					t.Errorf("no control #%s on the refused page", id)
				}
				got[id] = v
			}
			if diff := cmp.Diff(c.kept, got, cmp.Comparer(func(a, b string) bool { return a == b })); len(c.kept) > 0 && diff != "" {
				t.Errorf("the controls after the refusal (-typed +shown):\n%s", diff)
			}
			for _, id := range c.secret {
				if v, ok := fieldValue(t, p.body, id); !ok || v != "" {
					t.Errorf("secret control #%s: present %v, value %q; want present and empty", id, ok, v)
				}
			}
			for _, leak := range []string{"the-typed-secret-value", "gth_not-a-real-key", "<script>"} {
				if strings.Contains(p.body, leak) {
					t.Errorf("the page shows %q", leak)
				}
			}
			for _, vs := range c.form {
				if strings.Contains(vs[0], markup) && !strings.Contains(p.body, `&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;`) {
					t.Errorf("the typed markup is not on the page escaped")
				}
			}
			if c.note != "" && !strings.Contains(p.body, `id="`+c.note+`"`) {
				t.Errorf("no note #%s that the secret was not kept", c.note)
			}
			for _, id := range c.secret {
				if tag := regexp.MustCompile(`<input[^>]*\sid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(p.body); !strings.Contains(tag, `aria-describedby="`+c.note+`"`) {
					t.Errorf("secret control #%s is not described by its note: %s", id, tag)
				}
			}
		})
	}
	// Nothing ran.
	s := e.state(t)
	if s.policyVer != 2 { // askApproval's
		t.Errorf("the policy was saved: version %d", s.policyVer)
	}
	if !strings.Contains(s.bindings, "user:ada admin@org") {
		t.Errorf("ada's role changed: %q", s.bindings)
	}
	if got := e.approval(t, ap.ID); len(got.Votes) != 0 {
		t.Errorf("a refused decision was recorded: %+v", got.Votes)
	}
	ada := e.client()
	ada.signIn("ada")
	for _, path := range []string{"teams", "roles", "secrets?namespace=prod", "agents"} {
		p := ada.get(org + path)
		for _, made := range []string{">deployer<", ">auditor<", "ci token", "Ops Team!", long} {
			if strings.Contains(p.body, made) {
				t.Errorf("%s: %q was created", path, made)
			}
		}
	}
	if _, err := e.dir.GetTeam(ctx, e.owner, e.org, "oncall"); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedFormOnlyItsOwnRow: a refused form of a list (one row's
// comment, one member's role) is shown again in its own row only: the
// other rows' forms keep their own values and carry no sentence.
func TestRefusedFormOnlyItsOwnRow(t *testing.T) {
	e := newEnv(t)
	cl := e.client()
	cl.signIn("ada")
	org := "/console/orgs/" + e.org + "/"
	p := cl.post(org+"members/ada/role", url.Values{"csrf": {cl.csrf}, "role": {"viewer"}})
	if p.status != http.StatusConflict {
		t.Fatalf("status %d, want 409\n%.1500s", p.status, p.body)
	}
	got := map[string]string{}
	for _, u := range []string{"ada", "bob", "oli", "val"} {
		got[u], _ = fieldValue(t, p.body, "role-"+u)
	}
	want := map[string]string{"ada": "viewer", "bob": "builder", "oli": "operator", "val": "viewer"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the role selects (-want +got):\n%s", diff)
	}
	if n := strings.Count(p.body, `id="form-error"`); n != 1 {
		t.Errorf("%d sentences next to forms, want 1", n)
	}
	row := regexp.MustCompile(`(?s)<tr data-user="ada">.*?</tr>`).FindString(p.body)
	if !strings.Contains(row, `id="form-error"`) {
		t.Errorf("the sentence is not in ada's row:\n%s", row)
	}
}

// TestRefusedFormNotKeptWithoutItsToken (docs/threat-model.md row 108,
// for every refusal): a post without the session's CSRF token is
// refused 403 with the bare refusal page, and a post that succeeds shows
// nothing it posted again — only a checked post the server refused is
// shown again.
func TestRefusedFormNotKeptWithoutItsToken(t *testing.T) {
	e := newEnv(t)
	cl := e.client()
	cl.signIn("ada")
	org := "/console/orgs/" + e.org + "/"
	for _, csrf := range []string{"", "forged-token"} {
		p := cl.post(org+"roles", url.Values{"csrf": {csrf}, "name": {"planted"}, "level": {"high"}, "permissions": {"policy:update"}})
		if p.status != http.StatusForbidden || strings.Contains(p.body, "planted") || strings.Contains(p.body, "policy:update") || strings.Contains(p.body, `id="role-form"`) {
			t.Errorf("csrf %q: status %d, the planted form is shown again:\n%.800s", csrf, p.status, p.body)
		}
	}
	p := cl.post(org+"keys", url.Values{"csrf": {cl.csrf}, "name": {"laptop"}})
	if p.status != http.StatusCreated {
		t.Fatalf("create a key: status %d", p.status)
	}
	if v, _ := fieldValue(t, p.body, "key-name"); v != "" || formError(p.body) != "" {
		t.Errorf("after a key was created, the form shows %q and error %q", v, formError(p.body))
	}
}
