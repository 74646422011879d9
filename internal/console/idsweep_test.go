package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDeletedUsersConsoleSessionEnds: a user deletes itself through the
// API while a browser is still signed in to the console as it. That
// browser's next form post is refused (401, nothing changed) and its next
// pages send it to sign in — the console authenticates its session's
// token again on every request, and the token died with the user.
func TestDeletedUsersConsoleSessionEnds(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("bob")
	if p := c.get("/console/orgs/acme/"); p.status != http.StatusOK {
		t.Fatalf("signed in: %d", p.status)
	}
	csrf := c.csrf
	req, err := http.NewRequest("DELETE", e.URL+"/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.keys["bob"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE /v1/me: %d", resp.StatusCode)
	}
	tests := []struct {
		name, method, path string
		form               url.Values
		want               int
	}{
		{"creating an API key", "POST", "/console/orgs/acme/keys", url.Values{"csrf": {csrf}, "name": {"after-delete"}}, http.StatusUnauthorized},
		{"the org's overview", "GET", "/console/orgs/acme/", nil, http.StatusSeeOther},
		{"the members page", "GET", "/console/orgs/acme/members", nil, http.StatusSeeOther},
	}
	var got, want []string
	for _, tc := range tests {
		var p page
		if tc.method == "GET" {
			p = c.get(tc.path)
		} else {
			p = c.post(tc.path, tc.form)
		}
		got = append(got, fmt.Sprintf("%s: %d to sign in %v", tc.name, p.status, strings.HasPrefix(p.loc, "/console/signin")))
		want = append(want, fmt.Sprintf("%s: %d to sign in %v", tc.name, tc.want, tc.want == http.StatusSeeOther))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("a deleted user's console session (-want +got):\n%s", d)
	}
}
