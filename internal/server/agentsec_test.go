package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLiftingOwnApprovalRulesNeedsTheLevelAbove (threat-model row 88): an
// `ask before` rule binds its role's holders. An admin may add rules to
// its own role and lift those of roles below it, but not drop or weaken
// (a condition added, the condition's definition changed) the rules of
// its own role or of a peer role at its level, which it could bind itself
// to: that is for the level above. The owner may lift the admin's rules,
// and its own (nobody is above the top level).
func TestLiftingOwnApprovalRulesNeedsTheLevelAbove(t *testing.T) {
	t.Parallel()
	w := newApvWorld(t, "sqlite")
	e := w.e
	path := "/v1/orgs/" + w.org + "/policy"
	start := strings.Replace(withAsk(t), "role admin: builder level 80 {\n",
		"role admin: builder level 80 {\n    ask before delete chains\n    ask before update chains when in_prod\n", 1)
	start = strings.Replace(start, "role owner level 100 {\n", "role owner level 100 {\n    ask before delete secrets\n", 1)
	start += "\nrole lead level 80 {\n    permission chains { read, delete }\n    ask before delete chains\n}\n"
	e.must(200, "PUT", path, w.owner, map[string]any{"text": start}, nil)
	edit := func(old, new string) string {
		t.Helper()
		if !strings.Contains(start, old) {
			t.Fatalf("the policy has no %q", old)
		}
		return strings.Replace(start, old, new, 1)
	}
	tests := []struct {
		name, by, text string
		want           string // status and, for a 403, the escalation's reason
	}{
		{"admin drops its own role's rule", w.ann, edit("    ask before delete chains\n    ask before update", "    ask before update"), "403 approvals"},
		{"admin adds a condition to its own role's rule", w.ann, edit("    ask before delete chains\n    ask before update", "    ask before delete chains when in_prod\n    ask before update"), "403 approvals"},
		{"admin redefines the condition its role's rule names", w.ann, edit(`condition in_prod = "resource.namespace == 'prod'"`, `condition in_prod = "resource.namespace == 'nowhere'"`), "403 approvals"},
		{"admin drops a peer role's rule", w.ann, edit("role lead level 80 {\n    permission chains { read, delete }\n    ask before delete chains\n}", "role lead level 80 {\n    permission chains { read, delete }\n}"), "403 approvals"},
		{"admin adds a rule to its own role", w.ann, edit("    ask before delete chains\n    ask before update", "    ask before delete chains\n    ask before run chains\n    ask before update"), "200"},
		{"admin drops the operator role's rule", w.ann, edit("    ask before run chains when in_prod from admin quorum 2\n", ""), "200"},
		{"owner drops the admin role's rules", w.owner, edit("    ask before delete chains\n    ask before update chains when in_prod\n", ""), "200"},
		{"owner drops its own role's rule", w.owner, edit("    ask before delete secrets\n", ""), "200"},
	}
	got, want := map[string]string{}, map[string]string{}
	for _, tc := range tests {
		r := e.do("PUT", path, tc.by, map[string]any{"text": tc.text})
		got[tc.name], want[tc.name] = fmt.Sprint(r.Status), tc.want
		if r.Status == 403 {
			got[tc.name] += " " + r.problem(t).Reason
		}
		if r.Status == 200 { // back to the start for the next case
			e.must(200, "PUT", path, w.owner, map[string]any{"text": start}, nil)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policy changes (-want +got):\n%s", diff)
	}
}
