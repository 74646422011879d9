package vault

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDeleteReferencedSecret: deleting a secret a resource spec
// references is refused (ErrConflict naming the resources, so the run
// does not fail later); with Force it is deleted, and the audit entry says
// it was forced and what referenced it. Force needs exactly what delete
// needs: a builder (secrets:list, no secrets:delete) is refused either
// way, and learns nothing about the references from it.
func TestDeleteReferencedSecret(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := runFx(t, b)
		if _, err := f.chain(bob, "prod", "nightly", "DB_PASSWORD"); err != nil {
			t.Fatal(err)
		}
		f.secret("prod", "UNUSED", "u-"+canary, Meta{})

		err := second(f.v.Delete(f.ctx, alice, org, "prod", "DB_PASSWORD", DeleteOptions{}))
		wantErr(t, "delete a referenced secret", err, ErrConflict)
		if err != nil && (!strings.Contains(err.Error(), "prod/chains/escalation-triage") || !strings.Contains(err.Error(), "prod/chains/nightly")) {
			t.Errorf("the refusal does not name the referencing resources: %v", err)
		}
		if _, err := f.v.Get(f.ctx, alice, org, "prod", "DB_PASSWORD"); err != nil {
			t.Errorf("the refused delete deleted: %v", err)
		}

		for _, who := range []Actor{bob, olga} {
			err := second(f.v.Delete(f.ctx, who, org, "prod", "DB_PASSWORD", DeleteOptions{Force: true}))
			if err == nil || strings.Contains(err.Error(), "chains/") {
				t.Errorf("%s forces a delete: %v", who.Principal, err)
			}
		}
		wantErr(t, "a builder forces", second(f.v.Delete(f.ctx, bob, org, "prod", "DB_PASSWORD", DeleteOptions{Force: true})), ErrForbidden)

		// An unreferenced secret needs no force, and its entry says none.
		f.ok("delete an unused secret", second(f.v.Delete(f.ctx, alice, org, "prod", "UNUSED", DeleteOptions{})))
		if e, ok := f.lastAudit("secrets.delete"); !ok || strings.Contains(string(e.Body), "forced") {
			t.Errorf("unforced delete entry: %s", e.Body)
		}

		f.ok("force", second(f.v.Delete(f.ctx, alice, org, "prod", "DB_PASSWORD", DeleteOptions{Force: true})))
		wantErr(t, "the forced delete deleted", second(f.v.Get(f.ctx, alice, org, "prod", "DB_PASSWORD")), ErrNotFound)
		e, ok := f.lastAudit("secrets.delete")
		if !ok {
			t.Fatal("no audit entry for the forced delete")
		}
		var entry struct {
			Details struct {
				Forced       bool     `json:"forced"`
				ReferencedBy []string `json:"referenced_by"`
			} `json:"details"`
		}
		if err := json.Unmarshal(e.Body, &entry); err != nil {
			t.Fatal(err)
		}
		if e.Result != "success" || !entry.Details.Forced ||
			strings.Join(entry.Details.ReferencedBy, ",") != "prod/chains/escalation-triage,prod/chains/nightly" {
			t.Errorf("forced delete entry: %s", e.Body)
		}
	})
}
