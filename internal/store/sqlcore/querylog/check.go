package querylog

import (
	"regexp"
	"strings"
	"testing"
)

// FixedTables do not grow with tenants: a full scan of one is cheap for
// ever. Every other table does (orgs, users, members, bindings, the
// changelog, the audit log, …).
var FixedTables = map[string]bool{
	"store_revision":   true, // one row
	"goose_db_version": true, // one row per migration
	"vault_keys":       true, // one row per master-key rotation
}

// AllowedScans are statements that read a growing table whole on purpose,
// keyed by a fragment of their SQL, with the reason. Keep it short: each
// entry is a statement whose cost grows with the deployment.
var AllowedScans = map[string]string{
	// The first page of a deployment-wide listing (orgs, users; operator
	// only): it walks the primary key in order and stops after LIMIT rows;
	// later pages search from the cursor.
	"WHERE 1 = 1 ORDER BY id LIMIT": "first page walks the key in order, LIMIT rows",
	// Vault key status for a master-key rotation (operator only, rare):
	// counts every secret version per key, on a covering index.
	"FROM secret_versions GROUP BY key_id": "rotation report counts every secret version",
	// The orgs that have an audit log, for the checkpointer and verify-all
	// (background, once per interval): one row per org, by definition.
	"UNION SELECT org FROM audit_heads": "lists every org with an audit log",
}

// CheckPlans asks the database how it would run each statement (explain
// returns the plan's lines) and fails the test for every statement whose
// plan scans (scanned reports the name, table or alias, a line scans) one
// of tables that is not in FixedTables, unless the statement is in
// AllowedScans. Scans of subqueries, CTEs and VALUES lists are not table
// scans. It also fails if
// there are no statements at all, so a broken recorder cannot pass.
func CheckPlans(t *testing.T, tables []string, stmts []Statement, explain func(Statement) ([]string, error), scanned func(line string) (table string, ok bool)) {
	t.Helper()
	if len(stmts) < 50 {
		t.Fatalf("only %d distinct statements recorded; the recorder is not seeing the store's queries", len(stmts))
	}
	for _, st := range stmts {
		lines, err := explain(st)
		if err != nil {
			t.Errorf("explain %s: %v", st.SQL, err)
			continue
		}
		for _, line := range lines {
			name, ok := scanned(line)
			if !ok {
				continue
			}
			table := resolve(st.SQL, name, tables)
			if table == "" || FixedTables[table] || allowed(st.SQL) {
				continue
			}
			t.Errorf("full scan of %s (%q) in:\n\t%s\nplan:\n\t%s", table, line, st.SQL, strings.Join(lines, "\n\t"))
		}
	}
}

func allowed(sql string) bool {
	for frag := range AllowedScans {
		if strings.Contains(sql, frag) {
			return true
		}
	}
	return false
}

// resolve returns the table that name (as a plan line spells it) is in
// sql: the table itself, or the table an alias stands for ("bindings b",
// "bindings AS b"); "" if name is neither (a subquery, CTE or VALUES).
func resolve(sql, name string, tables []string) string {
	name = strings.ToLower(name)
	for _, t := range tables {
		if t == name {
			return t
		}
	}
	re := regexp.MustCompile(`(?i)\b(\w+)\s+(?:AS\s+)?` + regexp.QuoteMeta(name) + `\b`)
	for _, m := range re.FindAllStringSubmatch(sql, -1) {
		for _, t := range tables {
			if strings.EqualFold(m[1], t) {
				return t
			}
		}
	}
	return ""
}

// IndexedList is a list statement (by a fragment of its SQL) that an
// index serves in the list's order.
type IndexedList struct {
	Fragment string
	// OrgWide: the statement may walk the org's rows (its filter matches
	// most of them); otherwise the index search must use more than the
	// org.
	OrgWide bool
	Why     string
}

// IndexedLists are the lists whose every filter combination an index
// serves, with and without a cursor: CheckIndexedLists fails on a plan
// that sorts or (unless OrgWide) searches the org's rows as a whole.
var IndexedLists = []IndexedList{
	{"FROM agent_tokens WHERE org = $1 AND agent = $", false, "an agent's tokens: agent_tokens_agent (org, agent, id)"},
	{"FROM agent_tokens WHERE org = $1 AND created_by = $", false, "the tokens a principal minted: agent_tokens_creator (org, created_by, id), migration 00021"},
	{"FROM agent_tokens WHERE org = $1 AND NOT (expires_at <= $", true, "the org's unexpired tokens, nearly all of its rows (each mint prunes the expired): the key in order"},
	{"FROM agent_tokens WHERE org = $1 ORDER BY", true, "the org's tokens: the key in order"},
	{"FROM api_keys WHERE org = $1 AND principal = $", false, "a principal's keys: api_keys_org (org, principal, id)"},
	{"FROM api_keys WHERE org = $1 AND created_by = $", false, "the keys a principal minted: api_keys_creator (org, created_by, id), migration 00021"},
}

// CheckIndexedLists checks the plan of every statement in IndexedLists:
// sorts reports a plan line that sorts, tenantWide one that searches an
// index on the org alone (or the org and a range).
func CheckIndexedLists(t *testing.T, stmts []Statement, explain func(Statement) ([]string, error), sorts, tenantWide func(line string) bool) {
	t.Helper()
	seen := make([]bool, len(IndexedLists))
	for _, st := range stmts {
		for i, l := range IndexedLists {
			if !strings.Contains(st.SQL, l.Fragment) || !strings.Contains(st.SQL, "ORDER BY") {
				continue
			}
			seen[i] = true
			lines, err := explain(st)
			if err != nil {
				t.Errorf("explain %s: %v", st.SQL, err)
				continue
			}
			for _, line := range lines {
				if sorts(line) {
					t.Errorf("sort (%q) of a list an index serves in order (%s) in:\n\t%s\nplan:\n\t%s", line, l.Why, st.SQL, strings.Join(lines, "\n\t"))
				}
				if !l.OrgWide && tenantWide(line) {
					t.Errorf("search of the org's rows as a whole (%q) where an index serves the filter (%s) in:\n\t%s\nplan:\n\t%s", line, l.Why, st.SQL, strings.Join(lines, "\n\t"))
				}
			}
		}
	}
	for i, ok := range seen {
		if !ok {
			t.Errorf("no statement with %q recorded: the conformance suite no longer lists it", IndexedLists[i].Fragment)
		}
	}
}
