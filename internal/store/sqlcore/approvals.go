package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Approvals and runs (store/approvals.go): bookkeeping rows written
// without a revision (t.unlogged), each a few filter columns plus the
// whole record as JSON in body.

const (
	approvalCols = `org, id, key, status, principal, on_behalf, created_at, body`
	runCols      = `org, id, namespace, type, resource_id, status, started_at, body`
)

// validRecordID: 32 lower-case hex digits.
func validRecordID(s string) bool {
	return len(s) == 32 && validHex(s)
}

func validHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func scanBody[T any](r Rows) (T, error) {
	var v T
	var org, id, a, b, c, d string
	var at time.Time
	var body string
	if err := r.Scan(&org, &id, &a, &b, &c, &d, scanTime(&at), &body); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return v, fmt.Errorf("record %s/%s: %w", org, id, err)
	}
	return v, nil
}

func encodeRecord(c *checks, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		c.fail("record is not JSON: %v", err)
		return ""
	}
	c.need(len(b) <= store.MaxRecordBytes, "record is larger than %d bytes", store.MaxRecordBytes)
	return string(b)
}

var approvalStatuses = []string{store.ApprovalPending, store.ApprovalGranted, store.ApprovalDenied, store.ApprovalExpired, store.ApprovalConsumed}

func (c *checks) approval(a store.Approval) {
	c.org(a.Org)
	c.need(validRecordID(a.ID), "approval id %q is not 32 lower-case hex digits", a.ID)
	c.need(len(a.Key) == 64 && validHex(a.Key), "approval key is not a hex SHA-256")
	c.need(len(a.ArgsDigest) == 64 && validHex(a.ArgsDigest), "arguments digest is not a hex SHA-256")
	_, _, ok := splitPrincipal(a.Principal)
	c.need(ok, "principal %q is not a principal id", a.Principal)
	if a.OnBehalfOf != "" {
		_, _, ok := splitPrincipal(a.OnBehalfOf)
		c.need(ok, "on_behalf_of %q is not a principal id", a.OnBehalfOf)
	}
	c.need(validSlug(a.Namespace), "namespace %q is not a slug", a.Namespace)
	c.need(validName(a.ResourceType), "resource type %q is not a name", a.ResourceType)
	c.need(a.ResourceID == "" || ident.IsResourceID(a.ResourceID), "resource id %q is malformed", a.ResourceID)
	c.need(validName(a.Action), "action %q is not a name", a.Action)
	c.need(slices.Contains(approvalStatuses, a.Status), "status %q is not one of %v", a.Status, approvalStatuses)
	c.need(a.Quorum >= 1 && a.Quorum <= 100, "quorum %d is not 1 to 100", a.Quorum)
	c.principalText("requested_by", a.RequestedBy)
	if a.RequestedVia != "" {
		c.principalText("requested_via", a.RequestedVia)
	}
	c.need(!a.ExpiresAt.IsZero(), "expires_at is required")
}

func (r reader) GetApproval(ctx context.Context, org, id string) (store.Approval, error) {
	return get(ctx, r, "get approval", fmt.Sprintf("approval %q in org %q", id, org), scanBody[store.Approval],
		`SELECT `+approvalCols+` FROM approvals WHERE org = $1 AND id = $2`, org, id)
}

func (r reader) ListApprovals(ctx context.Context, org string, f store.ApprovalFilter, p store.Page) ([]store.Approval, string, error) {
	sql := `SELECT ` + approvalCols + ` FROM approvals WHERE org = $1`
	args := []any{org}
	if f.Status != "" {
		args = append(args, f.Status)
		sql += fmt.Sprintf(` AND status = $%d`, len(args))
	}
	if f.Principal != "" {
		args = append(args, f.Principal)
		sql += fmt.Sprintf(` AND (principal = $%d OR on_behalf = $%d)`, len(args), len(args))
	}
	return list(ctx, r, listSpec[store.Approval]{
		op: "list approvals", list: "approvals", scope: org + "/" + f.Status + "/" + f.Principal,
		sql: sql, args: args, keyCols: []string{"id"}, desc: true,
		keys: func(a store.Approval) []string { return []string{a.ID} }, scan: scanBody[store.Approval],
	}, p)
}

func (r reader) FindApprovals(ctx context.Context, org, key string) ([]store.Approval, error) {
	return all(ctx, r, "find approvals", fmt.Sprintf("approvals in org %q", org), scanBody[store.Approval],
		`SELECT `+approvalCols+` FROM approvals WHERE org = $1 AND key = $2 AND status IN ('pending', 'granted') ORDER BY id DESC`, org, key)
}

func (t *txn) CreateApproval(ctx context.Context, a store.Approval) (store.Approval, error) {
	const op = "create approval"
	if err := t.begin(op); err != nil {
		return store.Approval{}, err
	}
	a.CreatedAt = t.now
	a.ExpiresAt = truncTime(a.ExpiresAt)
	c := checks{op: op}
	c.approval(a)
	body := encodeRecord(&c, a)
	if c.err != nil {
		return store.Approval{}, c.err
	}
	if err := t.requireOrg(ctx, op, a.Org); err != nil {
		return store.Approval{}, err
	}
	detail := fmt.Sprintf("approval %q in org %q", a.ID, a.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM approvals WHERE org = $1 AND id = $2`, a.Org, a.ID); err != nil {
		return store.Approval{}, err
	} else if ok {
		return store.Approval{}, conflict(op, detail+" already exists")
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO approvals (`+approvalCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.Org, a.ID, a.Key, a.Status, a.Principal, a.OnBehalfOf, t.s.b.TimeArg(t.now), body); err != nil {
		return store.Approval{}, err
	}
	t.unlogged = true
	return a, nil
}

func (t *txn) UpdateApproval(ctx context.Context, a store.Approval, from string) (store.Approval, error) {
	const op = "update approval"
	if err := t.begin(op); err != nil {
		return store.Approval{}, err
	}
	cur, err := t.GetApproval(ctx, a.Org, a.ID)
	if err != nil {
		return store.Approval{}, err
	}
	detail := fmt.Sprintf("approval %q in org %q", a.ID, a.Org)
	if cur.Status != from {
		return store.Approval{}, conflict(op, fmt.Sprintf("%s is %s, not %s", detail, cur.Status, from))
	}
	// What identifies the question never changes.
	a.Key, a.Principal, a.OnBehalfOf, a.Namespace, a.ResourceType, a.ResourceID = cur.Key, cur.Principal, cur.OnBehalfOf, cur.Namespace, cur.ResourceType, cur.ResourceID
	a.Action, a.SpecVersion, a.ArgsDigest, a.RequestedBy, a.CreatedAt, a.ExpiresAt = cur.Action, cur.SpecVersion, cur.ArgsDigest, cur.RequestedBy, cur.CreatedAt, cur.ExpiresAt
	a.RequestedVia = cur.RequestedVia
	c := checks{op: op}
	c.approval(a)
	body := encodeRecord(&c, a)
	if c.err != nil {
		return store.Approval{}, c.err
	}
	n, err := t.exec(ctx, op, detail, `UPDATE approvals SET status = $3, body = $4 WHERE org = $1 AND id = $2 AND status = $5`,
		a.Org, a.ID, a.Status, body, from)
	if err != nil {
		return store.Approval{}, err
	}
	if n != 1 { // cannot happen under the write lock
		return store.Approval{}, t.fail(ctx, op, detail, fmt.Errorf("updated %d rows", n))
	}
	t.unlogged = true
	return a, nil
}

// --- runs

var runStatuses = []string{store.RunRunning, store.RunSucceeded, store.RunFailed}

func (c *checks) run(r store.Run) {
	c.org(r.Org)
	c.need(validRecordID(r.ID), "run id %q is not 32 lower-case hex digits", r.ID)
	c.ref(authz.ResourceRef{Namespace: r.Namespace, Type: r.ResourceType, ID: r.ResourceID})
	_, _, ok := splitPrincipal(r.Principal)
	c.need(ok, "principal %q is not a principal id", r.Principal)
	c.principalText("triggered_by", r.TriggeredBy)
	c.need(slices.Contains(runStatuses, r.Status), "status %q is not one of %v", r.Status, runStatuses)
	c.need(len(r.InputDigest) == 64 && validHex(r.InputDigest), "input digest is not a hex SHA-256")
	c.need(r.OutputDigest == "" || len(r.OutputDigest) == 64 && validHex(r.OutputDigest), "output digest is not a hex SHA-256")
	c.need(r.InputSize >= 0 && r.OutputSize >= 0 && r.DurationMS >= 0, "sizes and duration must not be negative")
}

func (r reader) GetRun(ctx context.Context, org, id string) (store.Run, error) {
	return get(ctx, r, "get run", fmt.Sprintf("run %q in org %q", id, org), scanBody[store.Run],
		`SELECT `+runCols+` FROM runs WHERE org = $1 AND id = $2`, org, id)
}

func (r reader) ListRuns(ctx context.Context, org string, f store.RunFilter, p store.Page) ([]store.Run, string, error) {
	sql := `SELECT ` + runCols + ` FROM runs WHERE org = $1`
	args := []any{org}
	for _, kv := range []struct{ col, v string }{{"status", f.Status}, {"namespace", f.Namespace}, {"type", f.Type}, {"resource_id", f.ID}} {
		if kv.v != "" {
			args = append(args, kv.v)
			sql += fmt.Sprintf(` AND %s = $%d`, kv.col, len(args))
		}
	}
	return list(ctx, r, listSpec[store.Run]{
		op: "list runs", list: "runs", scope: fmt.Sprintf("%s/%s/%s/%s/%s", org, f.Status, f.Namespace, f.Type, f.ID),
		sql: sql, args: args, keyCols: []string{"id"}, desc: true,
		keys: func(r store.Run) []string { return []string{r.ID} }, scan: scanBody[store.Run],
	}, p)
}

func (t *txn) CreateRun(ctx context.Context, r store.Run) (store.Run, error) {
	const op = "create run"
	if err := t.begin(op); err != nil {
		return store.Run{}, err
	}
	r.StartedAt = t.now
	c := checks{op: op}
	c.run(r)
	body := encodeRecord(&c, r)
	if c.err != nil {
		return store.Run{}, c.err
	}
	if err := t.requireOrg(ctx, op, r.Org); err != nil {
		return store.Run{}, err
	}
	detail := fmt.Sprintf("run %q in org %q", r.ID, r.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM runs WHERE org = $1 AND id = $2`, r.Org, r.ID); err != nil {
		return store.Run{}, err
	} else if ok {
		return store.Run{}, conflict(op, detail+" already exists")
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO runs (`+runCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.Org, r.ID, r.Namespace, r.ResourceType, r.ResourceID, r.Status, t.s.b.TimeArg(t.now), body); err != nil {
		return store.Run{}, err
	}
	t.unlogged = true
	return r, nil
}

func (t *txn) UpdateRun(ctx context.Context, r store.Run, from string) (store.Run, error) {
	const op = "update run"
	if err := t.begin(op); err != nil {
		return store.Run{}, err
	}
	cur, err := t.GetRun(ctx, r.Org, r.ID)
	if err != nil {
		return store.Run{}, err
	}
	detail := fmt.Sprintf("run %q in org %q", r.ID, r.Org)
	if cur.Status != from {
		return store.Run{}, conflict(op, fmt.Sprintf("%s is %s, not %s", detail, cur.Status, from))
	}
	// Who ran what, and when it started, never change.
	r.Namespace, r.ResourceType, r.ResourceID, r.SpecVersion = cur.Namespace, cur.ResourceType, cur.ResourceID, cur.SpecVersion
	r.Principal, r.OnBehalfOf, r.TriggeredBy, r.ApprovalID, r.Runtime = cur.Principal, cur.OnBehalfOf, cur.TriggeredBy, cur.ApprovalID, cur.Runtime
	r.Secrets, r.InputDigest, r.InputSize, r.InputSummary, r.StartedAt = cur.Secrets, cur.InputDigest, cur.InputSize, cur.InputSummary, cur.StartedAt
	c := checks{op: op}
	c.run(r)
	body := encodeRecord(&c, r)
	if c.err != nil {
		return store.Run{}, c.err
	}
	n, err := t.exec(ctx, op, detail, `UPDATE runs SET status = $3, body = $4 WHERE org = $1 AND id = $2 AND status = $5`,
		r.Org, r.ID, r.Status, body, from)
	if err != nil {
		return store.Run{}, err
	}
	if n != 1 {
		return store.Run{}, t.fail(ctx, op, detail, fmt.Errorf("updated %d rows", n))
	}
	t.unlogged = true
	return r, nil
}
