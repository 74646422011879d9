package cli

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
)

// TestAdmExitFormat: every command renders an API error as "<status>
// <title>: <detail> [request <id>]" and keeps the exit code of its status.
func TestAdmExitFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      *client.Error
		wantMsg  string
		wantCode int
	}{
		{"forbidden names the permission", &client.Error{Method: "GET", Path: "/v1/x", Status: 403, Title: "Forbidden", Detail: "no", MissingPermission: "secrets:read", RequestID: "r1"},
			"403 Forbidden: no (missing secrets:read) [request r1]", ExitNotAllowed},
		{"permission already in the detail", &client.Error{Status: 403, Title: "Forbidden", Detail: "needs secrets:read", MissingPermission: "secrets:read"},
			"403 Forbidden: needs secrets:read", ExitNotAllowed},
		{"not found", &client.Error{Status: 404, Title: "Not Found", Detail: "secret X: not found", RequestID: "r2"},
			"404 Not Found: secret X: not found [request r2]", ExitNotAllowed},
		{"conflict", &client.Error{Status: 409, Title: "Conflict"}, "409 Conflict", ExitConflict},
		{"unauthenticated", &client.Error{Status: 401, Title: "Unauthorized"}, "401 Unauthorized", ExitUnauthenticated},
		{"gone", &client.Error{Status: 410, Title: "Gone"}, "410 Gone", ExitNotAllowed},
		{"invalid policy", &client.Error{Status: 422, Title: "Invalid policy"}, "422 Invalid policy", ExitBadInput},
		{"rate limited", &client.Error{Status: 429}, "429 Too Many Requests", ExitUnavailable},
		{"unavailable", &client.Error{Status: 503}, "503 Service Unavailable", ExitUnavailable},
		{"no title: the status text", &client.Error{Status: 502}, "502 Bad Gateway", ExitInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ee *exitError
			if !errors.As(admExit(tt.err), &ee) {
				t.Fatalf("admExit did not answer an *exitError")
			}
			if diff := cmp.Diff(tt.wantMsg, ee.err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if ee.code != tt.wantCode {
				t.Errorf("code = %d, want %d", ee.code, tt.wantCode)
			}
		})
	}
}
