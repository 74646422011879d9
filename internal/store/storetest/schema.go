package storetest

import (
	"io/fs"
	"strconv"
	"strings"
)

// Schema is every table the migrations create, with its columns in order,
// as both backends' schema tests expect it after migrating an empty
// database. A migration that adds a table or column adds it here, once.
var Schema = map[string][]string{
	"store_revision":    {"id", "revision"},
	"changelog":         {"revision", "seq", "org", "kind", "change_key", "payload", "created_at"},
	"orgs":              {"id", "name", "template", "created_at", "inactive_after", "attest_every", "approval_pending_ttl", "approval_use_window"}, // 00008, 00011
	"namespaces":        {"org", "name", "created_at"},
	"users":             {"id", "email", "display_name", "created_at"},
	"members":           {"org", "user_id", "attributes", "created_at"},
	"agents":            {"org", "name", "role", "sponsor", "expires_at", "attributes", "created_at", "sponsors", "suspended", "attested_at", "last_used_at"}, // 00008
	"services":          {"org", "name", "attributes", "created_at", "suspended", "sponsors", "require_sponsor", "lifecycle", "attested_at", "last_used_at"},  // 00012, 00015
	"teams":             {"org", "slug", "name", "created_at"},
	"team_members":      {"org", "team", "principal", "created_at"},
	"bindings":          {"org", "id", "principal", "role", "actions", "scope_namespace", "scope_type", "scope_id", "condition_name", "created_by", "created_at", "expires_at"}, // expires_at: 00008
	"resources":         {"org", "namespace", "type", "id", "labels", "attributes", "version", "updated_by", "created_at", "updated_at"},
	"resource_versions": {"org", "namespace", "type", "id", "version", "spec", "labels", "attributes", "author", "created_at"},
	"policies":          {"org", "version", "body", "author", "created_at"},
	"goose_db_version":  {"id", "version_id", "is_applied", "tstamp"},
	// 00002_auth.sql
	"api_keys":    {"id", "org", "principal", "name", "hash", "principal_created_at", "org_created_at", "created_by", "created_at", "expires_at", "revoked_at", "last_used_at"},
	"invitations": {"id", "org", "email", "role", "invited_by", "hash", "org_created_at", "created_at", "expires_at", "accepted_at", "accepted_by", "revoked_at"},
	// 00003_secrets.sql
	"secrets":         {"org", "namespace", "name", "description", "version", "expires_at", "referable_by", "created_by", "created_at", "updated_by", "updated_at", "rotated_at", "last_used_at"},
	"secret_versions": {"org", "namespace", "name", "version", "key_id", "wrapped_key", "ciphertext", "created_by", "created_at"},
	"run_tokens":      {"org", "id", "namespace", "type", "resource_id", "resource_version", "secrets", "issued_by", "runtime", "created_at", "expires_at", "used_at", "used_by", "approval_id", "on_behalf_of"}, // 00011, 00016
	"vault_keys":      {"id", "key_check", "created_at", "retired_at"},
	// 00004_audit.sql
	"audit_entries":        {"org", "seq", "at", "actor", "action", "target", "result", "body", "hash", "mac"}, // mac: 00006
	"audit_checkpoints":    {"org", "seq", "head", "at", "key_id", "signature"},
	"audit_prunes":         {"org", "through_seq", "at"},
	"audit_export_cursors": {"org", "name", "seq", "updated_at"},
	"audit_settings":       {"org", "settings", "updated_at"},
	// 00006_audit_macs.sql
	"audit_heads": {"org", "seq", "hash", "mac"},
	// 00007_approvals_runs.sql
	"approvals": {"org", "id", "key", "status", "principal", "on_behalf", "created_at", "body"},
	"runs":      {"org", "id", "namespace", "type", "resource_id", "status", "started_at", "body"},
	// 00014_engine_snapshots.sql
	"engine_snapshots": {"org", "revision", "created_at", "payload"},
	// 00018_agent_tokens.sql
	"agent_tokens": {"org", "id", "agent", "on_behalf_of", "audience", "created_by", "created_at", "expires_at", "revoked_at", "revoked_by"},
	// 00019_audit_runs.sql; ctx: 00020_audit_run_context.sql
	"audit_runs": {"org", "actor", "last_seq", "first_seq", "at", "ctx"},
}

// LatestMigration is the highest migration number in a dialect's
// migrations (files named NNNNN_name.sql), the goose version a freshly
// migrated database must report.
func LatestMigration(fsys fs.FS) int64 {
	names, _ := fs.Glob(fsys, "*.sql")
	var top int64
	for _, n := range names {
		if v, err := strconv.ParseInt(strings.SplitN(n, "_", 2)[0], 10, 64); err == nil {
			top = max(top, v)
		}
	}
	return top
}
