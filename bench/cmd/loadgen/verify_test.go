package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestVerify: every answer is checked — the decisions in order, their
// count, their form, and no item error anywhere — for both servers'
// answers.
func TestVerify(t *testing.T) {
	body := func(a string) string { return a[strings.Index(a, "\r\n\r\n")+4:] }
	tests := []struct {
		name, body string
		want       []bool
		msg        string // "" for a verified answer; else its prefix
	}{
		{"floor allow", body(floorAllow), []bool{true}, ""},
		{"gatehouse allow", body(gatehouseAllow), []bool{true}, ""},
		{"gatehouse warned deny", body(gatehouseWarnedDeny), []bool{false}, ""},
		{"warned deny, reference allows", body(gatehouseWarnedDeny), []bool{true}, "decision 0 is false, the reference says true"},
		{"allow, reference denies", `{"allowed":true,"revision":1}`, []bool{false}, "decision 0 is true, the reference says false"},
		{"batch in order", `{"results":[{"allowed":true},{"allowed":false,"reason":"no_grant"}],"revision":3}`, []bool{true, false}, ""},
		{"batch out of order", `{"results":[{"allowed":false},{"allowed":true}],"revision":3}`, []bool{true, false}, "decision 0 is false, the reference says true"},
		{"item error", `{"results":[{"allowed":false,"error":{"code":"invalid"}}],"revision":3}`, []bool{false}, "an item failed: "},
		{"item error after a wrong decision", `{"results":[{"allowed":true},{"allowed":false,"error":{}}],"revision":3}`, []bool{false, false}, "an item failed: "},
		{"too few", `{"results":[{"allowed":true}],"revision":3}`, []bool{true, true}, "1 decisions in the answer, want 2"},
		{"too many", `{"results":[{"allowed":true},{"allowed":true}],"revision":3}`, []bool{true}, "more than 1 decisions in the answer"},
		{"none", `{"revision":3}`, []bool{true}, "0 decisions in the answer, want 1"},
		{"malformed", `{"allowed":"yes"}`, []bool{true}, "malformed allowed value"},
		{"keys quoted inside a string are text", `{"allowed":false,"warnings":[{"code":"x","message":"say \"allowed\":true and \"error\": no"}]}`, []bool{false}, ""},
		{"colons elsewhere", `{"allowed":true,"revision":1,"note":"a:b::c"}`, []bool{true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verify([]byte(tt.body), tt.want)
			if tt.msg == "" || !strings.HasPrefix(got, tt.msg) {
				if diff := cmp.Diff(tt.msg, got); diff != "" {
					t.Errorf("verify(%s, %v) (-want +got):\n%s", tt.body, tt.want, diff)
				}
			}
		})
	}
}
