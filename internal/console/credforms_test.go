package console_test

import (
	"net/http"
	"net/url"
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
