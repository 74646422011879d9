package sqlcore

import (
	"context"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Reading a batch's facts up front (issue 19, third pass).
//
// A batch (directory.Write) of 1,000 changes used to check each change's
// facts with statements of its own: the user's id and email for a user it
// creates, the membership for a member it adds, the principal's bindings
// at the scope for a binding or share it creates (an identical one is a
// conflict), the resource a share names. Prefetch asks for all of them in
// a few statements per kind (a fixed statement text of a fixed number of
// keys, the last key repeated to fill it) and remembers the answers:
//
//   - present rows in found (exists), as before;
//   - absent rows in absent: an existence check the prefetch asked about
//     and found no row for answers false without a statement;
//   - the complete list of a principal's bindings at a scope in
//     bindingsAt (BindingsAt), kept up to date by CreateBinding.
//
// An answer "absent" becomes false only when a row is inserted. The
// transaction is the only writer (the store's write lock), and the only
// INSERTs of users, members and bindings are CreateUser, AddMember and
// CreateBinding, which record their row (noteFound, which exists consults
// before absent; forgetEmail; bindingsAt) as they insert it. Every other
// write statement that is not an INSERT (an UPDATE or DELETE could move an
// email, remove a membership or a binding) forgets all three, as it
// forgets found (before).

// prefetchPairs is how many bindings (principal and scope) one prefetch
// statement asks about: 4 parameters each, 1 for the org.
const prefetchPairs = 50

// prefetchRefs is how many resources one prefetch statement asks about.
const prefetchRefs = 100

// repeatSQL builds a statement of n OR-ed terms; term(i) is the i-th term
// given the number of its first parameter.
func repeatSQL(head string, n, first, per int, term func(p int) string) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(term(first + i*per))
	}
	b.WriteString(")")
	return b.String()
}

func ph(n int) string { return "$" + strconv.Itoa(n) }

var (
	prefetchUsersSQL = inList(`SELECT id FROM users WHERE id IN (`, 1)
	// An email is taken by a user with another id: the statement returns
	// every user holding one of the emails, and the caller compares ids.
	// The "email is not empty" term (see emailTakenSQL) lets both
	// backends search the partial unique index users_email.
	prefetchEmailsSQL = inList(`SELECT email, id FROM users WHERE email <> '' AND email IN (`, 1)
	// One search of bindings_principal_scope per term (SQLite: a
	// MULTI-INDEX OR); the parameters in order, so SQLite binds them
	// anonymously.
	prefetchBindingsSQL = repeatSQL(`SELECT `+bindingCols+` FROM bindings WHERE org = $1 AND (`, prefetchPairs, 2, 4, func(p int) string {
		return "(principal = " + ph(p) + " AND scope_namespace = " + ph(p+1) + " AND scope_type = " + ph(p+2) + " AND scope_id = " + ph(p+3) + ")"
	})
	// The keys as a VALUES list joined to the resources' primary key:
	// with OR-ed terms and no statistics for resources, SQLite walked the
	// org's range of the key instead. The org comes last so that the
	// parameters are in order.
	prefetchResourcesSQL = func() string {
		var b strings.Builder
		b.WriteString(`SELECT r.namespace, r.type, r.id FROM (VALUES `)
		for i := range prefetchRefs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + ph(3*i+1) + ", " + ph(3*i+2) + ", " + ph(3*i+3) + ")")
		}
		org := ph(3*prefetchRefs + 1)
		b.WriteString(`) AS v JOIN resources r ON r.org = ` + org + ` AND r.namespace = v.column1 AND r.type = v.column2 AND r.id = v.column3`)
		return b.String()
	}()
)

// inList is head followed by prefetchChunk parameters from first on.
func inList(head string, first int) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range prefetchChunk {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ph(first + i))
	}
	b.WriteString(")")
	return b.String()
}

// emailTakenSQL is emailTaken's existence check. The empty email is
// never checked (any number of users have none), and the statement says
// so: with its "email is not empty" term both planners search the partial
// unique index users_email, whose WHERE is that term (SQLite uses a
// partial index only for a query whose WHERE has the index's terms, and a
// PostgreSQL generic plan cannot prove it of $1). Migration 00017 dropped
// the plain index that served these lookups before.
const emailTakenSQL = `SELECT 1 FROM users WHERE email = $1 AND email <> '' AND id <> $2`

func (t *txn) markAbsent(key string) {
	if t.absent == nil {
		t.absent = map[string]struct{}{}
	}
	t.absent[key] = struct{}{}
}

// forgetEmail drops the absent answers of email's checks (a user with it
// was just inserted).
func (t *txn) forgetEmail(email string) {
	for _, key := range t.absentEmails[email] {
		delete(t.absent, key)
	}
	delete(t.absentEmails, email)
}

// forgetFacts forgets every remembered answer (a statement that may have
// removed or changed rows).
func (t *txn) forgetFacts() {
	clear(t.found)
	clear(t.absent)
	clear(t.absentEmails)
	clear(t.bindingsAt)
}

// bindingAtKey is the key of a principal's bindings at a scope.
func bindingAtKey(org, principal string, sc authz.Scope) string {
	return org + "\x00" + principal + "\x00" + sc.Namespace + "\x00" + sc.Type + "\x00" + sc.ID
}

// BindingsAt returns every binding of principal at exactly scope in org
// (ListBindings with Principal and Scope, all pages), if the transaction
// knows them (Prefetch asked, and nothing since could have removed one).
// Not part of store.Tx: the directory calls it through an optional
// interface.
func (t *txn) BindingsAt(org, principal string, sc authz.Scope) ([]store.Binding, bool) {
	bs, ok := t.bindingsAt[bindingAtKey(org, principal, sc)]
	if !ok {
		return nil, false
	}
	out := make([]store.Binding, len(bs))
	copy(out, bs)
	return out, true
}

// noteBinding adds a binding the transaction inserted to the known lists.
func (t *txn) noteBinding(b store.Binding) {
	key := bindingAtKey(b.Org, b.Principal, b.Scope)
	if bs, ok := t.bindingsAt[key]; ok {
		t.bindingsAt[key] = append(bs, b)
	}
}

// Prefetch reads, in a few statements per kind, the facts that a batch's
// changes in org will check (store.BatchFacts), and remembers them for the
// rest of the transaction (see above). It changes no answer, only how many
// statements the answers take. Not part of store.Tx: the directory calls
// it through an optional interface.
func (t *txn) Prefetch(ctx context.Context, org string, f store.BatchFacts) error {
	const op = "prefetch"
	if err := t.begin(op); err != nil {
		return err
	}
	if unstorable([]any{org}) {
		return nil
	}
	if err := t.prefetchUsers(ctx, f.UserIDs); err != nil {
		return err
	}
	if err := t.prefetchEmails(ctx, f.NewUsers); err != nil {
		return err
	}
	if err := t.prefetchMembers(ctx, org, f.Members, true); err != nil {
		return err
	}
	if err := t.prefetchBindings(ctx, org, f.Bindings); err != nil {
		return err
	}
	return t.prefetchResources(ctx, org, f.Resources)
}

// fresh returns the keys (deduplicated, storable, in order) whose check
// sql(key…) the transaction does not already answer, and each one's
// existsKey, which the caller remembers its answer under (not built twice).
func (t *txn) fresh(keys [][]any, sql string) ([][]any, []string) {
	var out [][]any
	var outKeys []string
	seen := make(map[string]bool, len(keys))
	for _, args := range keys {
		if unstorable(args) {
			continue
		}
		key, ok := existsKey(sql, args)
		if !ok || seen[key] {
			continue
		}
		seen[key] = true
		if _, found := t.found[key]; found {
			continue
		}
		if _, gone := t.absent[key]; gone {
			continue
		}
		out = append(out, args)
		outKeys = append(outKeys, key)
	}
	return out, outKeys
}

// chunkArgs splits keys into chunks of n keys, the last one padded with
// its last key, and returns each chunk's keys' arguments in order.
func chunkArgs(keys [][]any, n int) [][]any {
	var out [][]any
	for start := 0; start < len(keys); start += n {
		chunk := keys[start:min(start+n, len(keys))]
		var args []any
		for i := range n {
			args = append(args, chunk[min(i, len(chunk)-1)]...)
		}
		out = append(out, args)
	}
	return out
}

// allChunks runs sql once per chunk of n keys (chunkArgs; args turns a
// chunk's keys' arguments into the statement's) and returns every row,
// scanned. On a Conn that is a MultiQuerier (PostgreSQL) the statements go
// in one round trip; otherwise one after the other, as all would run them.
func allChunks[T any](ctx context.Context, t *txn, op, detail string, keys [][]any, n int, sql string, args func(chunk []any) []any, scan func(Rows) (T, error)) ([]T, error) {
	var stmts []Stmt
	for _, a := range chunkArgs(keys, n) {
		if a = args(a); !unstorable(a) {
			stmts = append(stmts, Stmt{SQL: sql, Args: a})
		}
	}
	var out []T
	if len(stmts) > 1 {
		if _, ok := t.c.(MultiQuerier); ok {
			err := t.queryMany(ctx, stmts, func(_ int, rows Rows) error {
				for rows.Next() {
					v, err := scan(rows)
					if err != nil {
						return err
					}
					out = append(out, v)
				}
				return rows.Err()
			})
			if err != nil {
				return nil, t.s.dbErr(ctx, op, detail, err)
			}
			return out, nil
		}
	}
	for _, st := range stmts {
		vs, err := all(ctx, t.reader, op, detail, scan, st.SQL, st.Args...)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func same(args []any) []any { return args }

func (t *txn) prefetchUsers(ctx context.Context, ids []string) error {
	keys := make([][]any, 0, len(ids))
	for _, id := range ids {
		if validKey(id) {
			keys = append(keys, []any{id})
		}
	}
	return t.prefetchExisting(ctx, "prefetch users", "", keys, userExistsSQL, prefetchUsersSQL, same, 0, true)
}

// prefetchExisting asks which of keys (existsSQL's, the single-row
// question a batch would otherwise ask per key) exist, listSQL answering
// with the ids found among a chunk's args; a key's id is its element idAt.
// It remembers the keys found and, with absent, the others as absent.
func (t *txn) prefetchExisting(ctx context.Context, op, detail string, keys [][]any, existsSQL, listSQL string, args func([]any) []any, idAt int, absent bool) error {
	keys, existsKeys := t.fresh(keys, existsSQL)
	found, err := allChunks(ctx, t, op, detail, keys, prefetchChunk, listSQL, args, scanString)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(found))
	for _, id := range found {
		present[id] = true
	}
	for i, k := range keys {
		key := existsKeys[i] // fresh's existsKey(existsSQL, k)
		if present[k[idAt].(string)] {
			t.markFound(key)
		} else if absent {
			t.markAbsent(key)
		}
	}
	return nil
}

// prefetchEmails answers emailTaken(email, id) for each new user.
func (t *txn) prefetchEmails(ctx context.Context, users []store.User) error {
	keys := make([][]any, 0, len(users))
	for _, u := range users {
		if err := checkUser("prefetch", &u); err != nil || u.Email == "" { // normalizes the email as CreateUser does; "" is never checked
			continue
		}
		keys = append(keys, []any{u.Email, u.ID})
	}
	keys, existsKeys := t.fresh(keys, emailTakenSQL)
	rows, err := allChunks(ctx, t, "prefetch emails", "", keys, prefetchChunk, prefetchEmailsSQL, func(args []any) []any {
		emails := make([]any, len(args)/2)
		for i := range emails {
			emails[i] = args[2*i]
		}
		return emails
	}, func(r Rows) ([2]string, error) {
		var x [2]string
		err := r.Scan(&x[0], &x[1])
		return x, err
	})
	if err != nil {
		return err
	}
	holders := map[string][]string{} // email → ids holding it
	for _, x := range rows {
		holders[x[0]] = append(holders[x[0]], x[1])
	}
	for i, k := range keys {
		email, id := k[0].(string), k[1].(string)
		key := existsKeys[i] // fresh's existsKey(emailTakenSQL, k)
		taken := false
		for _, h := range holders[email] {
			taken = taken || h != id
		}
		if taken {
			t.markFound(key)
			continue
		}
		t.markAbsent(key)
		if t.absentEmails == nil {
			t.absentEmails = map[string][]string{}
		}
		t.absentEmails[email] = append(t.absentEmails[email], key)
	}
	return nil
}

// prefetchMembers remembers which of userIDs are members of org and, with
// absent, which are not.
func (t *txn) prefetchMembers(ctx context.Context, org string, userIDs []string, absent bool) error {
	keys := make([][]any, 0, len(userIDs))
	for _, id := range userIDs {
		if validKey(id) {
			keys = append(keys, []any{org, id})
		}
	}
	return t.prefetchExisting(ctx, "prefetch members", "org "+q(org), keys, memberExistsSQL, prefetchMembersSQL, func(args []any) []any {
		ids := make([]any, 0, prefetchChunk+1)
		ids = append(ids, org)
		for i := 1; i < len(args); i += 2 {
			ids = append(ids, args[i])
		}
		return ids
	}, 1, absent)
}

func (t *txn) prefetchBindings(ctx context.Context, org string, at []store.BindingAt) error {
	var keys [][]any
	seen := map[string]bool{}
	for _, a := range at {
		k := bindingAtKey(org, a.Principal, a.Scope)
		args := []any{a.Principal, a.Scope.Namespace, a.Scope.Type, a.Scope.ID}
		if seen[k] || unstorable(args) {
			continue
		}
		seen[k] = true
		if _, known := t.bindingsAt[k]; !known {
			keys = append(keys, args)
		}
	}
	bs, err := allChunks(ctx, t, "prefetch bindings", "org "+q(org), keys, prefetchPairs, prefetchBindingsSQL, func(args []any) []any {
		return append([]any{org}, args...)
	}, scanBinding)
	if err != nil {
		return err
	}
	got := map[string][]store.Binding{}
	for _, b := range bs {
		k := bindingAtKey(b.Org, b.Principal, b.Scope)
		got[k] = append(got[k], b)
	}
	if t.bindingsAt == nil {
		t.bindingsAt = map[string][]store.Binding{}
	}
	for _, args := range keys {
		k := bindingAtKey(org, args[0].(string), authz.Scope{Namespace: args[1].(string), Type: args[2].(string), ID: args[3].(string)})
		t.bindingsAt[k] = got[k]
	}
	return nil
}

func (t *txn) prefetchResources(ctx context.Context, org string, refs []authz.ResourceRef) error {
	keys := make([][]any, 0, len(refs))
	for _, r := range refs {
		keys = append(keys, []any{org, r.Namespace, r.Type, r.ID})
	}
	keys, _ = t.fresh(keys, resourceExistsSQL)
	for i, k := range keys {
		keys[i] = k[1:]
	}
	found, err := allChunks(ctx, t, "prefetch resources", "org "+q(org), keys, prefetchRefs, prefetchResourcesSQL, func(args []any) []any {
		return append(args, org)
	}, func(r Rows) (authz.ResourceRef, error) {
		var x authz.ResourceRef
		err := r.Scan(&x.Namespace, &x.Type, &x.ID)
		return x, err
	})
	if err != nil {
		return err
	}
	for _, x := range found {
		t.noteFound(resourceExistsSQL, org, x.Namespace, x.Type, x.ID)
	}
	return nil
}
