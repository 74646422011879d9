package vault

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestInject: the MCP gateway's release of an upstream credential follows
// the run token's reference rules, is audited without the value, and is
// refused for a non-member, a secret the spec does not reference, a
// secret that no longer admits the spec's author, and an expired one.
func TestInject(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		const value = "inject-canary-5d2c9e"
		f.secret("prod", "UP_TOKEN", value, Meta{})
		f.secret("prod", "OTHER", "other-value-123", Meta{})
		f.secret("prod", "SHORTLIVED", "short-value-123", Meta{ExpiresAt: f.clock.now().Add(time.Hour)})
		spec := []byte(`{"url":"http://127.0.0.1:9/mcp","secrets":["UP_TOKEN","SHORTLIVED"],"credential":{"secret":"UP_TOKEN"}}`)
		f.ok("create server", third(f.dir.CreateResource(f.ctx, alice, org, directory.ResourceSpec{Namespace: "prod", Type: "mcp_servers", ID: "gh", Spec: spec})))
		ref := authz.ResourceRef{Namespace: "prod", Type: "mcp_servers", ID: "gh"}

		inj, err := f.v.Inject(f.ctx, olga, org, ref, "UP_TOKEN")
		if err != nil || inj.Value != value || inj.Name != "UP_TOKEN" || inj.Version != 1 {
			t.Fatalf("Inject = %v (value ok %v), %v", inj, inj.Value == value, err)
		}
		if strings.Contains(inj.String(), value) || strings.Contains(inj.GoString(), value) {
			t.Error("Injected prints its value")
		}
		e, ok := f.lastAudit("secrets.inject")
		if !ok || e.Actor != "user:olga" || e.Target != "prod/mcp_servers/gh" || !strings.Contains(string(e.Body), "UP_TOKEN") || strings.Contains(string(e.Body), value) {
			t.Errorf("audit entry: %+v", e)
		}
		if strings.Contains(string(f.tableDump()), value) {
			t.Error("the value is stored in clear somewhere")
		}

		wantErr(t, "not referenced", second(f.v.Inject(f.ctx, olga, org, ref, "OTHER")), ErrForbidden)
		wantErr(t, "another org's member", second(f.v.Inject(f.ctx, eve, org, ref, "UP_TOKEN")), ErrNotFound)
		wantErr(t, "no such server", second(f.v.Inject(f.ctx, olga, org, authz.ResourceRef{Namespace: "prod", Type: "mcp_servers", ID: "nope"}, "UP_TOKEN")), ErrNotFound)
		wantErr(t, "another namespace", second(f.v.Inject(f.ctx, olga, org, authz.ResourceRef{Namespace: "dev", Type: "mcp_servers", ID: "gh"}, "UP_TOKEN")), ErrNotFound)

		f.clock.advance(2 * time.Hour)
		wantErr(t, "expired", second(f.v.Inject(f.ctx, olga, org, ref, "SHORTLIVED")), ErrConflict)

		only := []string{"user:vic"}
		f.ok("restrict UP_TOKEN", third(f.v.Update(f.ctx, alice, org, "prod", "UP_TOKEN", Update{ReferableBy: &only})))
		wantErr(t, "no longer referable by the spec's author", second(f.v.Inject(f.ctx, olga, org, ref, "UP_TOKEN")), ErrConflict)
	})
}
