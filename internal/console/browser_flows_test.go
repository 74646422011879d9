package console_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestBrowserInviteFlow: the admin invites someone; the link, opened in a
// second browser context, creates the user and signs it in; the admin
// then sees the new member.
func TestBrowserInviteFlow(t *testing.T) {
	e := newEnv(t)
	admin := e.tab(t)
	admin.signIn("ada")
	admin.open("/console/orgs/acme/members")
	roles := evalT[[]string](admin, `Array.from(document.querySelectorAll('#invite-role option')).map(o => o.value)`)
	if len(roles) == 0 {
		t.Fatal("the invite form offers no role")
	}
	admin.do(chromedp.SendKeys(chromedp.CSS("#invite-email"), "nia@example.com"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "operator"),
		chromedp.Click(chromedp.CSS("#invite-submit")),
		chromedp.WaitVisible(chromedp.CSS("#invite-link")))
	admin.screenshot("members-invited")
	link := admin.text("#invite-link")
	if !strings.HasPrefix(link, e.URL+"/console/invitation?token=gti_") {
		t.Fatalf("invitation link %q", link)
	}
	link = strings.TrimPrefix(link, e.URL)

	guest := e.tab(t)
	guest.open(link)
	guest.screenshot("invitation")
	guest.axe("invitation")
	guest.do(chromedp.SendKeys(chromedp.CSS("#user_id"), "nia"),
		chromedp.SendKeys(chromedp.CSS("#display_name"), "Nia"),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.WaitVisible(chromedp.CSS("#me")))
	if got := guest.text("#me"); got != "user:nia" {
		t.Fatalf("after accepting, signed in as %q", got)
	}
	if got := guest.text("#my-roles"); !strings.Contains(got, "operator") {
		t.Errorf("the new member's roles: %q", got)
	}
	// The link is spent.
	again := e.tab(t)
	again.open(link)
	again.do(chromedp.SendKeys(chromedp.CSS("#user_id"), "nia2"), chromedp.Click(chromedp.CSS("#accept")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := again.text("#error"); !strings.Contains(got, "already used") {
		t.Errorf("second acceptance: %q", got)
	}

	admin.open("/console/orgs/acme/members")
	if !admin.has(`tr[data-user="nia"]`) {
		t.Errorf("the new member does not appear on the members page")
	}
}

// TestBrowserRefusedRoleChange: a team lead (level 60, may update
// members) tries to change the admin's role: the page says why, in a
// sentence, and nothing changes.
func TestBrowserRefusedRoleChange(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	if _, err := e.dir.CreateRole(ctx, e.owner, e.org, directory.RoleSpec{Name: "lead", Level: 60, Parents: []string{"builder"},
		Permissions: []string{"members:list", "members:update", "members:create", "bindings:list", "bindings:create", "bindings:delete"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.dir.ChangeMemberRole(ctx, e.owner, e.org, "bob", "lead"); err != nil {
		t.Fatal(err)
	}
	b := e.tab(t)
	b.signIn("bob")
	b.open("/console/orgs/acme/members")
	offered := evalT[[]string](b, `Array.from(document.querySelectorAll('#invite-role option')).map(o => o.value)`)
	for _, r := range offered {
		if r == "admin" {
			t.Errorf("the invite form offers admin (level 100) to a level-60 lead: %v", offered)
		}
	}
	b.do(chromedp.SetValue(chromedp.CSS("#role-ada"), "viewer"),
		chromedp.Click(chromedp.CSS(`tr[data-user="ada"] form[action$="/role"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	got := b.text("#error")
	if !strings.Contains(got, "You cannot grant or take away the role admin") || !strings.Contains(got, "above your own level (60)") {
		t.Errorf("refusal sentence %q", got)
	}
	b.screenshot("members-refused")
	b.axe("members/refused")
	if s := e.state(t); !strings.Contains(s.bindings, "user:ada admin@org") {
		t.Errorf("the refused change changed ada: %q", s.bindings)
	}
}

// TestBrowserPolicyLint: an error typed into the policy editor is shown
// at its line while typing (live lint), and a save is refused with the
// errors.
func TestBrowserPolicyLint(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/policy")
	lines := evalT[int](b, `document.getElementById('policy-text').value.split('\n').length`)
	// The text ends with a newline: the typed line is the last one.
	b.do(chromedp.Click(chromedp.CSS("#policy-text")),
		chromedp.Evaluate[chromedp.Void](`(() => { const t = document.getElementById('policy-text'); t.selectionStart = t.selectionEnd = t.value.length; })()`),
		chromedp.SendKeys(chromedp.CSS("#policy-text"), "role broken level { permission chains { run }\n"),
		chromedp.WaitVisible(chromedp.CSS("#diagnostics")))
	at := evalT[[]int](b, `Array.from(document.querySelectorAll('#diagnostics li')).map(li => +li.dataset.line)`)
	if len(at) == 0 || at[0] != lines {
		t.Errorf("diagnostics at lines %v, want the typed line %d first", at, lines)
	}
	if !strings.Contains(b.text("#lint-status"), "does not compile") {
		t.Errorf("lint status %q", b.text("#lint-status"))
	}
	b.screenshot("policy-lint")
	b.axe("policy/lint")
	b.do(chromedp.Click(chromedp.CSS("#policy-save")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := b.text("#error"); !strings.Contains(got, "not saved") {
		t.Errorf("saving a broken policy: %q", got)
	}
	if s := e.state(t); s.policyVer != 1 {
		t.Errorf("a broken policy was saved: version %d", s.policyVer)
	}
}

// TestBrowserSecretReveal: the admin reveals a secret's value; the value
// shows on that answer only, and the audit log records the reveal.
func TestBrowserSecretReveal(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/secrets")
	if strings.Contains(evalT[string](b, "document.documentElement.outerHTML"), secretValue) {
		t.Fatal("the secrets page shows a value before any reveal")
	}
	b.do(chromedp.Click(chromedp.CSS(`tr[data-secret="`+secretName+`"] button`)), chromedp.WaitVisible(chromedp.CSS("#secret-value")))
	if got := b.text("#secret-value"); got != secretValue {
		t.Errorf("revealed %q", got)
	}
	b.screenshot("secrets-revealed")
	b.open("/console/orgs/acme/audit?action=secrets.read")
	rows := evalT[[]string](b, `Array.from(document.querySelectorAll('#audit tbody tr')).map(tr => tr.innerText)`)
	if len(rows) == 0 || !strings.Contains(rows[0], "user:ada") || !strings.Contains(rows[0], "secrets.read") {
		t.Errorf("the reveal is not in the audit log: %q", rows)
	}
	// The entry names the console session it came from.
	es, _, err := e.dir.ListAudit(ctxT(t), e.owner, e.org, store.AuditFilter{Action: "secrets.read"}, store.Page{})
	if err != nil || len(es) != 1 || es[0].Actor.SessionID == "" {
		t.Errorf("audit entries of the reveal: %+v, %v; want one naming the session", es, err)
	}
}

// TestBrowserAuditVerifyTampered: an entry changed in the database behind
// Gatehouse's back is named by the audit page's verify.
func TestBrowserAuditVerifyTampered(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/audit")
	b.do(chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#verify-result")))
	if got := b.text("#verify-result"); !strings.Contains(got, "The chain verifies") {
		t.Fatalf("verify of an intact log: %q", got)
	}
	db, err := sql.Open("sqlite", e.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TRIGGER audit_entries_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_entries SET actor = 'user:mallory' WHERE org = 'acme' AND seq = 3`); err != nil {
		t.Fatal(err)
	}
	b.open("/console/orgs/acme/audit")
	b.do(chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#verify-result")))
	got := b.text("#verify-result")
	if !strings.Contains(got, "does not verify") || !strings.Contains(got, "#3") {
		t.Errorf("verify of a tampered log: %q, want entry #3 named", got)
	}
	b.screenshot("audit-tampered")
	b.axe("audit/tampered")
}

// TestBrowserResourceAndPlayground: a resource's page shows its versions,
// the diff between them and who can do what; a name there explains in
// the playground, in sentences.
func TestBrowserResourceAndPlayground(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/resources?namespace=prod")
	b.do(chromedp.Click(chromedp.CSS(`#resources a`)), chromedp.WaitVisible(chromedp.CSS("#who-can")))
	if got := b.text("#versions"); !strings.Contains(got, "2") {
		t.Errorf("versions %q", got)
	}
	if got := evalT[string](b, `document.querySelector('.diff-table') ? document.querySelector('.diff-table').innerText : ''`); !strings.Contains(got, "summarize") {
		t.Errorf("diff from version 1 to 2: %q", got)
	}
	if got := b.text("#who-can"); !strings.Contains(got, "user:val") {
		t.Errorf("who can read: %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`#who-actions a[href^="?who=run"]`)), chromedp.WaitVisible(chromedp.CSS(`#who-actions a[aria-current][href^="?who=run"]`)))
	run := evalT[string](b, `Array.from(document.querySelectorAll('#who-can tr')).map(tr => tr.innerText).join('\n')`)
	if !strings.Contains(run, "run") || !strings.Contains(run, "user:oli") || !strings.Contains(run, "user:ada") {
		t.Errorf("who can: %q", run)
	}
	b.screenshot("resource")
	b.axe("resource")
	b.keyboard("resource")
	if strings.Contains(run, "user:val") {
		t.Errorf("val (a viewer) is listed as able to run: %q", run)
	}
	b.open("/console/orgs/acme/resources/prod/chains/escalation-triage?who=read")
	b.do(chromedp.Click(chromedp.CSS(`#who-can a[href*="principal=user%3aval"]`)), chromedp.WaitVisible(chromedp.CSS("#summary")))
	if got := b.text("#decision"); !strings.HasPrefix(got, "Allowed") {
		t.Errorf("explain val: %q", got)
	}
	b.screenshot("playground")
	// What can val not do: run it.
	b.open("/console/orgs/acme/playground?mode=explain&principal=user:val&action=chains:run&namespace=prod&resource=chains/escalation-triage")
	if got := b.text("#decision"); !strings.HasPrefix(got, "Denied") {
		t.Errorf("explain val run: %q", got)
	}
	if b.text("#summary") == "" {
		t.Errorf("a deny without a human explanation")
	}
	b.axe("playground")
}

// TestBrowserSecretManage: the admin creates a secret and rotates it; the
// value is never shown back, and the version moves.
func TestBrowserSecretManage(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/secrets")
	b.do(chromedp.SendKeys(chromedp.CSS("#secret-name"), "SLACK_TOKEN"),
		chromedp.SendKeys(chromedp.CSS("#secret-value-in"), "xoxb-new-value"),
		chromedp.Click(chromedp.CSS("#create-secret")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-secret="SLACK_TOKEN"]`)))
	b.open("/console/orgs/acme/secrets") // without the creation's notice
	b.do(chromedp.SendKeys(chromedp.CSS("#rotate-SLACK_TOKEN"), "xoxb-rotated"),
		chromedp.Click(chromedp.CSS(`tr[data-secret="SLACK_TOKEN"] button[aria-label="Rotate SLACK_TOKEN"]`)),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	html := evalT[string](b, "document.documentElement.outerHTML")
	if strings.Contains(html, "xoxb-") {
		t.Errorf("a secret value is shown back")
	}
	if got := b.text(`tr[data-secret="SLACK_TOKEN"] td:nth-child(2)`); got != "2" {
		t.Errorf("version after a rotation: %q", got)
	}
	b.screenshot("secrets-admin")
	b.axe("secrets/admin")
}

// TestBrowserPolicyImpact: an edit checked in the editor shows its impact
// (who loses what) before anything is saved.
func TestBrowserPolicyImpact(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/policy")
	b.eval(`(() => { const t = document.getElementById('policy-text'); t.value = t.value.replace('permission chains { run }', 'permission chains { read }'); })()`)
	b.do(chromedp.Click(chromedp.CSS("#policy-check")), chromedp.WaitVisible(chromedp.CSS("#impact-entries")))
	if got := b.text("#impact-summary"); !strings.Contains(got, "2 lost") {
		t.Errorf("impact summary %q", got)
	}
	b.screenshot("policy-impact")
	b.axe("policy/impact")
}

// TestBrowserApprovals: an admin sees oli's pending request on the
// Approvals page (accessible, reachable with Tab), approves it with a
// comment, and it is granted.
func TestBrowserApprovals(t *testing.T) {
	e := newEnv(t)
	ap := e.askApproval(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/approvals")
	if !b.has("#approval-" + ap.ID) {
		t.Fatalf("the pending request %s is not listed", ap.ID)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#comment-"+ap.ID), "ticket 42 checked"))
	b.screenshot("approvals")
	b.axe("approvals")
	b.keyboard("approvals")
	b.do(chromedp.Click(chromedp.CSS("#approval-"+ap.ID+" button:not(.danger)")), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := e.approval(t, ap.ID); got.Status != store.ApprovalGranted {
		t.Errorf("after approving in the browser: %s", got.Status)
	}
}

// TestBrowserPastedCredentialRefused: a key pasted into a form field (a
// new team's name) is refused with a sentence naming the field, on a
// page that does not show the key (row 102); the refusal page is
// accessible.
func TestBrowserPastedCredentialRefused(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/teams")
	b.do(chromedp.SendKeys(chromedp.CSS("#team-slug"), "ops"),
		chromedp.SendKeys(chromedp.CSS("#team-name"), e.keys["bob"]),
		chromedp.Submit(chromedp.CSS("#new-team")),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := b.text("#error"); !strings.Contains(got, `The field "name" holds a value in the form of a Gatehouse credential`) {
		t.Errorf("refusal: %q", got)
	}
	if html := evalT[string](b, "document.documentElement.outerHTML"); strings.Contains(html, e.keys["bob"][21:41]) {
		t.Error("the refusal page shows the key")
	}
	b.screenshot("credential-refused")
	b.axe("credential-refused")
}

// TestBrowserAgentTokenRevoke: an admin sees the org's agent tokens on
// the agents page (never a token's text) and revokes one with its
// button; the token is refused at its next use and the row says who
// revoked it.
func TestBrowserAgentTokenRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	if _, _, err := e.dir.CreateAgent(ctx, e.owner, e.org, directory.AgentSpec{Name: "Helper", Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	const aud = "https://gw.example/mcp/acme/default/github"
	tok, _, err := e.auth.MintAgentToken(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:ada"}}, e.org, "Helper", auth.AgentTokenSpec{Audience: aud})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.AuthenticateAudience(ctx, tok.Token, aud, "192.0.2.30"); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/agents")
	row := `#agent-tokens tr[data-token="` + tok.ID + `"]`
	if got := b.text(row); !strings.Contains(got, "agent:Helper") || !strings.Contains(got, "user:ada") {
		t.Errorf("token row %q", got)
	}
	if strings.Contains(evalT[string](b, "document.documentElement.outerHTML"), strings.TrimPrefix(tok.Token, auth.AgentTokenPrefix)[:40]) {
		t.Error("the agents page shows a token's text")
	}
	// The post navigates; wait for the page it lands on (the row without
	// its button), not the one still showing, before opening another.
	b.do(chromedp.Click(chromedp.CSS(row+" button")), chromedp.WaitNotPresent(chromedp.CSS(row+" button")), chromedp.WaitVisible(chromedp.CSS("#agent-tokens")))
	b.open("/console/orgs/acme/agents")
	if got := b.text(row); !strings.Contains(got, "revoked by user:ada") {
		t.Errorf("after revoking, row %q", got)
	}
	b.screenshot("agent-token-revoked")
	if _, err := e.auth.AuthenticateAudience(ctx, tok.Token, aud, "192.0.2.30"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("the token revoked in the console at its next use: %v", err)
	}
}

// TestBrowserRefusedPolicyKeepsTheText: a key pasted into the policy
// editor (a comment of a long text) is refused, and the editor shows the
// text again — every line the user typed, the key cut out — marked
// invalid with an inline error and focused; the page never shows the key
// and is accessible; the policy is not saved. A key pasted into one field
// of the role form leaves the other fields as typed.
func TestBrowserRefusedPolicyKeepsTheText(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/policy")
	typed := "role reviewer level 20 {\n  permission chains { read }\n}\n"
	b.do(chromedp.Click(chromedp.CSS("#policy-text")),
		chromedp.Evaluate[chromedp.Void](`(() => { const t = document.getElementById('policy-text'); t.selectionStart = t.selectionEnd = t.value.length; })()`),
		chromedp.SendKeys(chromedp.CSS("#policy-text"), typed+"# the CI key: "+e.keys["bob"]+"\n"),
		chromedp.Click(chromedp.CSS("#policy-save")),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	text := evalT[string](b, `document.getElementById('policy-text').value`)
	if !strings.Contains(text, typed+"# the CI key: [credential redacted]\n") || !strings.Contains(text, "role viewer") {
		t.Errorf("the editor lost the text:\n%s", text)
	}
	if html := evalT[string](b, "document.documentElement.outerHTML"); strings.Contains(html, e.keys["bob"][21:41]) {
		t.Error("the page shows the key")
	}
	// Autofocus lands when the browser next renders: wait for it (at most
	// 5 s) before reading which element has it.
	if got := run(b, chromedp.Evaluate[string](`new Promise(done => { const t0 = Date.now(); (function read() {
		if (document.activeElement.id !== 'policy-text' && Date.now() - t0 < 5000) { setTimeout(read, 50); return; }
		done(document.getElementById('policy-text').getAttribute('aria-invalid') + ' ' + document.activeElement.id);
	})(); })`, chromedp.EvalAwaitPromise)); got != "true policy-text" {
		t.Errorf("the editor is not marked and focused: %q", got)
	}
	if got := b.text("#refill-error-text"); !strings.Contains(got, "credential was cut out") {
		t.Errorf("inline error %q", got)
	}
	b.screenshot("policy-credential-refused")
	b.axe("policy-credential-refused")
	if s := e.state(t); s.policyVer != 1 {
		t.Errorf("the policy was saved: version %d", s.policyVer)
	}

	// A key in another field of a form: the other fields keep their text.
	b.open("/console/orgs/acme/roles")
	b.do(chromedp.SendKeys(chromedp.CSS("#role-name"), "deployer"),
		chromedp.SendKeys(chromedp.CSS("#role-level"), "20"),
		chromedp.SendKeys(chromedp.CSS("#role-parents"), e.keys["bob"]),
		chromedp.SendKeys(chromedp.CSS("#role-perms"), "chains:run, chains:read"),
		chromedp.Click(chromedp.CSS("#role-save")),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	got := evalT[[]string](b, `['role-name', 'role-level', 'role-parents', 'role-perms'].map(id => document.getElementById(id).value).concat([document.activeElement.id])`)
	if diff := cmp.Diff([]string{"deployer", "20", "", "chains:run, chains:read", "role-parents"}, got); diff != "" {
		t.Errorf("the role form after the refusal (-want +got):\n%s", diff)
	}
	b.screenshot("role-credential-refused")
	b.axe("role-credential-refused")
}

// TestBrowserRefusedFormKeepsTheInput: what a user types into a form the
// server refuses is still in the form's inputs afterwards — a new team
// whose slug is not one keeps its slug and its name (markup shown as
// text, never run), with the refusal next to the form, focused; a secret
// refused for its name keeps its name and description but not its value,
// and says so. The refused pages are accessible.
func TestBrowserRefusedFormKeepsTheInput(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.signIn("ada")
	b.open("/console/orgs/acme/teams")
	name := `Operations "><script>document.title="pwned"</script>`
	b.do(chromedp.SendKeys(chromedp.CSS("#team-slug"), "Ops Team!"),
		chromedp.SendKeys(chromedp.CSS("#team-name"), name),
		chromedp.Click(chromedp.CSS("#create-team")),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	// Autofocus lands when the browser next renders: wait for it (at
	// most 5 s), then read the form.
	got := run(b, chromedp.Evaluate[[]string](`new Promise(done => { const t0 = Date.now(); (function read() {
		if (document.activeElement.id !== 'form-error' && Date.now() - t0 < 5000) { setTimeout(read, 50); return; }
		done(['team-slug', 'team-name'].map(id => document.getElementById(id).value).concat([document.activeElement.id, document.title]));
	})(); })`, chromedp.EvalAwaitPromise))
	if diff := cmp.Diff([]string{"Ops Team!", name, "form-error", "Teams · Acme · Gatehouse"}, got); diff != "" {
		t.Errorf("the team form after the refusal (-want +got):\n%s", diff)
	}
	if !b.has("#new-team #form-error") {
		t.Error("no sentence next to the team form")
	} else if got := b.text("#new-team #form-error"); !strings.Contains(got, `Invalid slug: "Ops Team!" must be a lower-case identifier`) {
		t.Errorf("the sentence next to the form: %q", got)
	}
	b.screenshot("teams-refused")
	b.axe("teams/refused")

	b.open("/console/orgs/acme/secrets")
	b.do(chromedp.SendKeys(chromedp.CSS("#secret-name"), "slack token"),
		chromedp.SendKeys(chromedp.CSS("#secret-value-in"), "xoxb-typed-value"),
		chromedp.SendKeys(chromedp.CSS("#secret-desc"), "the bot's token"),
		chromedp.Click(chromedp.CSS("#create-secret")),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	got = evalT[[]string](b, `['secret-name', 'secret-value-in', 'secret-desc'].map(id => document.getElementById(id).value)`)
	if diff := cmp.Diff([]string{"slack token", "", "the bot's token"}, got); diff != "" {
		t.Errorf("the secret form after the refusal (-want +got):\n%s", diff)
	}
	if !b.has("#new-secret #secret-note-value") {
		t.Error("no note that the value was not kept")
	}
	if strings.Contains(evalT[string](b, "document.documentElement.outerHTML"), "xoxb-typed-value") {
		t.Error("the refused page shows the secret's value")
	}
	b.screenshot("secrets-refused")
	b.axe("secrets/refused")
}
