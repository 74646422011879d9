package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// navByRole is what each role of the mentiko template sees in the org's
// navigation — seed 002's matrix, read as pages:
//
//	page      admin builder operator viewer
//	Overview    ✓      ✓       ✓       ✓
//	Members     ✓      -       -       -
//	Teams       ✓      -       -       -
//	Roles       ✓      -       -       -
//	Policy      ✓      -       -       -
//	Resources   ✓      ✓       ✓       ✓     (what each may read)
//	Playground  ✓      ✓       ✓       ✓
//	Agents/keys ✓      ✓       ✓       ✓     (agents and org keys: admin)
//	Approvals   ✓      ✓       ✓       -     (decisions:approve, or own requests)
//	Secrets     ✓      ✓       -       -     (builder: names only)
//	Audit       ✓      ✓       ✓       ✓
var navByRole = map[string][]string{
	"admin":    {"Overview", "Members", "Teams", "Roles", "Policy", "Resources", "Playground", "Agents and keys", "Approvals", "Secrets", "Audit"},
	"builder":  {"Overview", "Resources", "Playground", "Agents and keys", "Approvals", "Secrets", "Audit"},
	"operator": {"Overview", "Resources", "Playground", "Agents and keys", "Approvals", "Audit"},
	"viewer":   {"Overview", "Resources", "Playground", "Agents and keys", "Audit"},
}

// pageChecks are, page by page, the controls and the roles that see them
// (a role that does not see the page at all is refused it).
var pageChecks = []struct {
	page, sel string
	roles     string
}{
	{"Members", "#members", "admin"},
	{"Members", "#invite", "admin"},
	{"Members", "form[action$='/role']", "admin"},
	{"Members", "form[action$='/remove']", "admin"},
	{"Teams", "#teams", "admin"},
	{"Teams", "#new-team", "admin"},
	{"Roles", "#matrix", "admin"},
	{"Roles", "#role-form", "admin"},
	{"Policy", "#policy-text", "admin"},
	{"Policy", "#policy-save", "admin"},
	{"Policy", "#impact", "admin"},
	{"Resources", "#resources", "admin builder operator viewer"},
	{"Playground", "#playground", "admin builder operator viewer"},
	{"Agents and keys", "#agents", "admin"},
	{"Agents and keys", "#my-keys", "admin builder operator viewer"},
	{"Agents and keys", "#new-key-form", "admin builder operator viewer"},
	{"Agents and keys", "#org-keys", "admin"},
	{"Agents and keys", "#agent-tokens", "admin"},
	{"Approvals", "#pending-approvals", "admin builder operator"},
	{"Approvals", "#my-approvals", "admin builder operator"},
	{"Secrets", "#secrets", "admin builder"},
	{"Secrets", "tr[data-secret='" + secretName + "']", "admin builder"},
	{"Secrets", "form[action$='/reveal']", "admin"},
	{"Secrets", "form[action$='/rotate']", "admin"},
	{"Secrets", "#new-secret", "admin"},
	{"Audit", "#audit", "admin builder operator viewer"},
	{"Audit", "#verify", "admin builder operator viewer"},
	{"Audit", "#export", "admin builder operator viewer"},
}

var pages = []struct{ name, path string }{
	{"Members", "members"}, {"Teams", "teams"}, {"Roles", "roles"}, {"Policy", "policy"}, {"Resources", "resources"},
	{"Playground", "playground"}, {"Agents and keys", "agents"}, {"Approvals", "approvals"}, {"Secrets", "secrets"}, {"Audit", "audit"},
}

// TestBrowserRoles signs in as each role of the mentiko template in a
// real browser and checks, page by page, what is shown and what is not;
// every page passes axe-core (no serious or critical violation) and has
// every control reachable with Tab. Pages a role does not see in its
// navigation are refused when opened directly, and operators and viewers
// see no secret name anywhere.
func TestBrowserRoles(t *testing.T) {
	e := newEnv(t)
	for _, ru := range roleUsers {
		t.Run(ru.role, func(t *testing.T) {
			b := e.tab(t)
			b.signIn(ru.user)
			if got := b.text("#me"); got != "user:"+ru.user {
				t.Errorf("signed in as %q, want user:%s", got, ru.user)
			}
			nav := evalT[[]string](b, `Array.from(document.querySelectorAll('nav a')).map(a => a.textContent)`)
			if diff := cmp.Diff(navByRole[ru.role], nav); diff != "" {
				t.Errorf("%s: nav (-want +got):\n%s", ru.role, diff)
			}
			perms := b.text("#my-permissions")
			for _, p := range []string{"chains:read", "results:read"} {
				if !strings.Contains(perms, p) {
					t.Errorf("%s: overview lacks %s in my permissions: %q", ru.role, p, perms)
				}
			}
			if strings.Contains(perms, "secrets:") != (ru.role == "admin" || ru.role == "builder") {
				t.Errorf("%s: overview permissions %q", ru.role, perms)
			}
			seesSecrets := ru.role == "admin" || ru.role == "builder"
			b.screenshot("overview-" + ru.role)
			b.axe("overview/" + ru.role)
			b.keyboard("overview/" + ru.role)
			shown := map[string]bool{}
			for _, n := range nav {
				shown[n] = true
			}
			for _, pg := range pages {
				name := pg.name
				b.open("/console/orgs/acme/" + pg.path)
				html := evalT[string](b, "document.documentElement.outerHTML")
				if !seesSecrets && strings.Contains(html, secretName) {
					t.Errorf("%s: %s shows the secret name %s", ru.role, name, secretName)
				}
				if strings.Contains(html, secretValue) {
					t.Errorf("%s: %s shows a secret value", ru.role, name)
				}
				if !shown[name] {
					if !b.has("#error") {
						t.Errorf("%s: %s opened directly was not refused", ru.role, name)
					}
					continue
				}
				for _, pc := range pageChecks {
					if pc.page != name {
						continue
					}
					want := strings.Contains(" "+pc.roles+" ", " "+ru.role+" ")
					if got := b.has(pc.sel); got != want {
						t.Errorf("%s: %s: %s shown %v, want %v", ru.role, name, pc.sel, got, want)
					}
				}
				b.screenshot(pg.path + "-" + ru.role)
				b.axe(name + "/" + ru.role)
				b.keyboard(name + "/" + ru.role)
			}
		})
	}
}

// TestBrowserSignInAndOut: the sign-in page is accessible; a bad key is
// refused with a sentence; sign-out ends the session.
func TestBrowserSignInAndOut(t *testing.T) {
	e := newEnv(t)
	b := e.tab(t)
	b.open("/console/")
	b.screenshot("signin")
	b.axe("signin")
	b.keyboard("signin")
	b.do(chromedp.SendKeys(chromedp.CSS("#api_key"), "ghk_wrong"), chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := b.text("#error"); !strings.Contains(got, "not accepted") {
		t.Errorf("bad key: %q", got)
	}
	b.signIn("ada")
	b.do(chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#api_key")))
	b.open("/console/orgs/acme/")
	if !b.has("#api_key") {
		t.Errorf("after sign-out, an org page did not ask to sign in")
	}
}

// TestBrowserNarrow: on a phone-sized screen (390 CSS pixels) no page is
// wider than the screen — the header wraps, and a wide table scrolls in
// its own box instead of dragging the whole page sideways.
func TestBrowserNarrow(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.dir.CreateTeam(ctxT(t), e.owner, e.org, "support", "Customer support", []string{"user:bob"}); err != nil {
		t.Fatal(err)
	}
	b := e.tab(t)
	b.signIn("ada")
	b.do(chromedp.EmulateViewport(390, 800))
	paths := []string{""}
	for _, pg := range pages {
		paths = append(paths, pg.path)
	}
	paths = append(paths, "resources/prod/chains/escalation-triage")
	for _, path := range paths {
		b.open("/console/orgs/acme/" + path)
		// The widest element that sticks out, for the message.
		over := evalT[string](b, `(() => {
			const w = document.documentElement.clientWidth;
			if (document.documentElement.scrollWidth <= w) return "";
			let worst = null, right = w;
			for (const el of document.querySelectorAll("body *")) {
				const r = el.getBoundingClientRect().right;
				if (r >= right && !el.closest(".scroll")) { right = r; worst = el; }
			}
			const id = worst ? worst.tagName.toLowerCase() + (worst.id ? "#" + worst.id : "") + (worst.className ? "." + worst.className : "") : "?";
			return id + " reaches " + Math.round(right) + "px of " + w + "px";
		})()`)
		if over != "" {
			t.Errorf("/console/orgs/acme/%s is wider than a 390px screen: %s", path, over)
		}
		b.screenshot("narrow-" + strings.ReplaceAll(strings.TrimSuffix(path, "/"), "/", "-"))
		b.axe("narrow/" + path)
	}
}
