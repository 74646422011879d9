package sqlcore

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// --- bindings

// idEncoding is base32 in the ASCII order of its digits ('2' to '7', then
// 'a' to 'z'), so that ids of one length sort as the numbers they encode.
var idEncoding = base32.NewEncoding("234567abcdefghijklmnopqrstuvwxyz").WithPadding(base32.NoPadding)

// bindingIDs hands out binding ids in increasing order (newBindingID).
var bindingIDs struct {
	sync.Mutex
	last [10]byte
}

// newBindingID returns "b" and 16 base32 characters (80 bits): the
// milliseconds since 1970 in the first 44 bits, then 36 bits that start
// at a random value in each new millisecond and count up within it, so a
// process's ids increase (ULID's monotonic form) and ids from processes
// writing in the same millisecond differ by their random start.
//
// Increasing ids append at the right edge of the bindings B-trees (the
// table's (org, id) key and the two indexes that end with it) instead of
// inserting at random leaves: a bulk write of 1,000 shares dirties a few
// pages per tree, not one page per share (issue 19 goal 4, branch
// writes13, docs/benchmarks.md). An id names a binding and grants
// nothing, so that it tells its creation time (already its created_at)
// does not matter; uniqueness is the property kept, and the primary key
// still refuses a taken id.
func newBindingID() string {
	var b [10]byte
	ms := uint64(time.Now().UnixMilli()) & (1<<44 - 1)
	bindingIDs.Lock()
	prev := bindingIDs.last
	prevMS := uint64(prev[0])<<36 | uint64(prev[1])<<28 | uint64(prev[2])<<20 | uint64(prev[3])<<12 | uint64(prev[4])<<4 | uint64(prev[5])>>4
	if ms > prevMS {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
		b[4] = 0
		b[5] &= 0x0f
		putMS(&b, ms)
		b[5] &= 0xf7 // the counter starts in the lower half of its range: 2^35 ids before it carries into the time
	} else {
		// The same millisecond (or the clock went back): one more than
		// the last id, the time carried forward if the counter overflows.
		b = prev
		for i := 9; i >= 0; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	bindingIDs.last = b
	bindingIDs.Unlock()
	return "b" + idEncoding.EncodeToString(b[:])
}

// putMS writes ms's 44 bits into the first 44 bits of b.
func putMS(b *[10]byte, ms uint64) {
	b[0], b[1], b[2], b[3], b[4] = byte(ms>>36), byte(ms>>28), byte(ms>>20), byte(ms>>12), byte(ms>>4)
	b[5] = byte(ms<<4) | b[5]&0x0f
}

// checkBinding validates b; a check's message arguments are boxed only when
// it fails (a bulk write runs it per change).
func checkBinding(op string, b *store.Binding) error {
	c := checks{op: op}
	c.org(b.Org)
	if !validKey(b.ID) {
		c.fail("binding id %q is malformed", b.ID)
	}
	_, _, ok := splitPrincipal(b.Principal)
	if role, isRole := strings.CutPrefix(b.Principal, authz.KindRole+":"); isRole {
		ok = validName(role) && b.Scope.IsResource() // a share made to a role
	}
	if !ok {
		c.fail("principal %q is not user:<id>, team:<slug>, agent:<name>, service:<name> or, on one resource, role:<name>", b.Principal)
	}
	s := b.Scope
	switch {
	case s.IsOrg():
	case s.Type == "" && s.ID == "":
		if !validSlug(s.Namespace) {
			c.fail("scope namespace %q is not a slug", s.Namespace)
		}
	case s.Type != "" && s.ID != "":
		c.ref(authz.ResourceRef(s))
	default:
		c.fail("scope %q names a type without an id or an id without a type", s.String())
	}
	c.need((b.Role == "") != (len(b.Actions) == 0), "a binding grants either a role or an action list, not both or neither")
	if !(b.Role == "" || validName(b.Role)) {
		c.fail("role %q is not a name", b.Role)
	}
	c.need(len(b.Actions) == 0 || s.IsResource(), "an action list is only allowed at resource scope")
	c.need(len(b.Actions) <= 64, "more than 64 actions")
	for _, a := range b.Actions {
		if !(a == "*" || validName(a)) {
			c.fail("action %q is not a name or *", a)
		}
	}
	if !(b.Condition == "" || validName(b.Condition)) {
		c.fail("condition %q is not a name", b.Condition)
	}
	c.need(validText(b.CreatedBy, 256), "created_by is not printable text of at most 256 bytes")
	return c.err
}

func (t *txn) CreateBinding(ctx context.Context, b store.Binding) (store.Binding, error) {
	const op = "create binding"
	if err := t.begin(op); err != nil {
		return store.Binding{}, err
	}
	generated := b.ID == ""
	if generated {
		b.ID = newBindingID() // unique (newBindingID): no check for a taken id (the primary key still refuses one)
	}
	b.Actions = slices.Clone(b.Actions)
	if err := checkBinding(op, &b); err != nil {
		return store.Binding{}, err
	}
	if !b.ExpiresAt.IsZero() {
		b.ExpiresAt = b.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !b.ExpiresAt.After(t.now) {
			return store.Binding{}, invalid(op, "expires_at %s is not in the future", b.ExpiresAt.Format(time.RFC3339))
		}
	}
	if err := t.requireOrg(ctx, op, b.Org); err != nil {
		return store.Binding{}, err
	}
	if !strings.HasPrefix(b.Principal, authz.KindRole+":") { // a role is checked against the policy by the directory
		if err := t.requirePrincipal(ctx, op, b.Org, b.Principal); err != nil {
			return store.Binding{}, err
		}
	}
	if b.Scope.Namespace != "" {
		if err := t.requireNamespace(ctx, op, b.Org, b.Scope.Namespace); err != nil {
			return store.Binding{}, err
		}
	}
	if b.Scope.IsResource() {
		ref := authz.ResourceRef{Namespace: b.Scope.Namespace, Type: b.Scope.Type, ID: b.Scope.ID}
		ok, err := t.existsStrings(ctx, op, func() string { return refDetail(b.Org, ref) }, resourceExistsSQL, b.Org, ref.Namespace, ref.Type, ref.ID)
		if err != nil {
			return store.Binding{}, err
		}
		if !ok {
			return store.Binding{}, notFound(op, refDetail(b.Org, ref))
		}
	}
	detail := "binding " + strconv.Quote(b.ID) + " in org " + strconv.Quote(b.Org) // fmt's %q, without fmt (one per share of a bulk write)
	if !generated {
		if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM bindings WHERE org = $1 AND id = $2`, b.Org, b.ID); err != nil {
			return store.Binding{}, err
		} else if ok {
			return store.Binding{}, conflict(op, detail+" already exists")
		}
	}
	var actions any
	if len(b.Actions) > 0 {
		actions = actionsJSON(b.Actions)
	}
	b.CreatedAt = t.now
	if err := t.execLater(ctx, op, detail, `INSERT INTO bindings (`+bindingCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		b.Org, b.ID, b.Principal, b.Role, actions, b.Scope.Namespace, b.Scope.Type, b.Scope.ID, b.Condition, b.CreatedBy,
		t.s.b.TimeArg(t.now), t.s.nullTime(b.ExpiresAt)); err != nil {
		return store.Binding{}, err
	}
	t.noteBinding(b)
	return b, t.record(ctx, op, store.KindBindingPut, b.Org, b.ID, b)
}

func (t *txn) DeleteBinding(ctx context.Context, org, id string) error {
	const op = "delete binding"
	if err := t.begin(op); err != nil {
		return err
	}
	b, err := t.GetBinding(ctx, org, id)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, op, fmt.Sprintf("binding %q in org %q", id, org),
		`DELETE FROM bindings WHERE org = $1 AND id = $2`, org, id); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindBindingDelete, org, id, b)
}

func (t *txn) DeleteExpiredBindings(ctx context.Context, org string, before time.Time, limit int) (int, error) {
	const op = "delete expired bindings"
	if err := t.begin(op); err != nil {
		return 0, err
	}
	if limit <= 0 || limit > 10000 {
		return 0, invalid(op, "limit %d is not between 1 and 10000", limit)
	}
	if before.IsZero() {
		return 0, invalid(op, "before is required")
	}
	detail := "expired bindings of org " + q(org)
	bs, err := all(ctx, t.reader, op, detail, scanBinding,
		`SELECT `+bindingCols+` FROM bindings WHERE org = $1 AND expires_at IS NOT NULL AND expires_at <= $2
		ORDER BY expires_at, id LIMIT `+strconv.Itoa(limit), org, t.s.b.TimeArg(before.UTC().Truncate(time.Microsecond)))
	if err != nil {
		return 0, err
	}
	for _, b := range bs {
		if _, err := t.exec(ctx, op, detail, `DELETE FROM bindings WHERE org = $1 AND id = $2`, org, b.ID); err != nil {
			return 0, err
		}
		if err := t.record(ctx, op, store.KindBindingDelete, org, b.ID, b); err != nil {
			return 0, err
		}
	}
	return len(bs), nil
}

// actionsJSON is json.Marshal(actions) as a string, without reflection
// (appendJSONString writes json.Marshal's bytes).
func actionsJSON(actions []string) string {
	n := 2
	for _, a := range actions {
		n += len(a) + 3
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '[')
	for i, a := range actions {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, a)
	}
	return string(append(buf, ']'))
}
