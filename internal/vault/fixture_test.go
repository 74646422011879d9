package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// The fixture: org "acme" from the mentiko template (seed 002's four
// roles), with
//
//	user:alice  admin (org)           user:bob   builder (org)
//	user:olga   operator (org)        user:vic   viewer (org)
//	user:dana   builder in dev only   user:eve   a member of org "other" only
//	service:runner  operator (org): the runtime, may run chains
//	service:ci      no role
//
// and namespaces default, dev and prod. Every test runs on SQLite, and on
// PostgreSQL when GATEHOUSE_TEST_POSTGRES is set.

const org = "acme"

func actor(p string) Actor { return Actor{Principal: p, RequestID: "test"} }

var (
	alice  = actor("user:alice")
	bob    = actor("user:bob")
	olga   = actor("user:olga")
	vic    = actor("user:vic")
	dana   = actor("user:dana")
	eve    = actor("user:eve")
	runner = actor("service:runner")
	ci     = actor("service:ci")
)

type backend struct {
	name string
	open func(t testing.TB) (st store.Store, raw *sql.DB, file string)
}

func backends(t *testing.T) []backend {
	bs := []backend{{"sqlite", openSQLiteBackend}}
	if dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES"); dsn != "" {
		bs = append(bs, backend{"postgres", func(t testing.TB) (store.Store, *sql.DB, string) { return openPostgresBackend(t, dsn) }})
	} else if os.Getenv("GATEHOUSE_REQUIRE_POSTGRES") != "" {
		t.Fatal("GATEHOUSE_REQUIRE_POSTGRES is set but GATEHOUSE_TEST_POSTGRES is not")
	}
	return bs
}

// eachBackend runs fn as a subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func openSQLiteBackend(t testing.TB) (store.Store, *sql.DB, string) {
	return openSQLiteSync(t, "NORMAL")
}

func openSQLiteSync(t testing.TB, sync string) (store.Store, *sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{PollInterval: 20 * time.Millisecond, Synchronous: sync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return st, raw, path
}

// openPostgresBackend migrates a fresh schema, dropped when the test ends.
func openPostgresBackend(t testing.TB, base string) (store.Store, *sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "gh_vault_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES must be a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	st, err := postgres.Open(ctx, dsn, postgres.Options{PollInterval: 20 * time.Millisecond, Channel: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return st, raw, ""
}

// testClock is the vault's clock; tests move it forward.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type fx struct {
	t    testing.TB
	ctx  context.Context
	st   store.Store
	raw  *sql.DB
	file string
	dir  *directory.Directory
	keys *Keyring
	// keyBytes are keys' raw keys, for building keyrings that extend it.
	keyBytes map[uint32][]byte
	v        *Vault
	clock    *testClock
}

func newFx(t testing.TB, b backend) *fx {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	st, raw, file := b.open(t)
	dir, err := directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	f := &fx{t: t, ctx: ctx, st: st, raw: raw, file: file, dir: dir, clock: &testClock{}}
	f.keys, f.keyBytes = testKeyring(t, 1)
	f.v = f.open(f.keys)

	for _, u := range []string{"alice", "bob", "olga", "vic", "dana", "eve"} {
		f.ok("create user "+u, third(dir.CreateUser(ctx, store.User{ID: u})))
	}
	f.ok("create org", third(dir.CreateOrg(ctx, alice, directory.OrgSpec{ID: org, Template: "mentiko"})))
	f.ok("create other org", third(dir.CreateOrg(ctx, eve, directory.OrgSpec{ID: "other", Template: "mentiko"})))
	for u, role := range map[string]string{"bob": "builder", "olga": "operator", "vic": "viewer"} {
		f.ok("add "+u, third(dir.AddMember(ctx, alice, org, u, role)))
	}
	for _, ns := range []string{"dev", "prod"} {
		f.ok("create namespace "+ns, third(dir.CreateNamespace(ctx, alice, org, ns)))
	}
	// dana: builder in dev, nothing in prod.
	f.ok("add dana", third(dir.AddMember(ctx, alice, org, "dana", "viewer")))
	f.ok("bind dana", third(dir.CreateBinding(ctx, alice, org, directory.BindingSpec{Principal: "user:dana", Role: "builder", Scope: authz.Scope{Namespace: "dev"}})))
	f.ok("create runner", third(dir.CreateService(ctx, alice, org, directory.ServiceSpec{Name: "runner", Role: "operator"})))
	f.ok("create ci", third(dir.CreateService(ctx, alice, org, directory.ServiceSpec{Name: "ci"})))
	return f
}

// open opens a vault over the fixture's store with keys.
func (f *fx) open(keys *Keyring) *Vault {
	f.t.Helper()
	v, err := f.tryOpen(keys)
	if err != nil {
		f.t.Fatalf("vault.Open: %v", err)
	}
	return v
}

func (f *fx) tryOpen(keys *Keyring) (*Vault, error) {
	return Open(f.ctx, Options{Store: f.st, Directory: f.dir, Keyring: keys, Clock: f.clock.now})
}

func (f *fx) ok(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

func second[A any](_ A, err error) error        { return err }
func third[A, B any](_ A, _ B, err error) error { return err }

// secret creates a secret as alice.
func (f *fx) secret(ns, name, value string, m Meta) store.Secret {
	f.t.Helper()
	s, _, err := f.v.Create(f.ctx, alice, org, ns, name, []byte(value), m)
	if err != nil {
		f.t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	return s
}

// chain creates chains/<id> in ns with a spec referencing secrets, as bob
// (a builder) unless by says otherwise.
func (f *fx) chain(by Actor, ns, id string, secrets ...string) (store.Resource, error) {
	spec := `{"steps":["triage"]}`
	if secrets != nil {
		spec = `{"steps":["triage"],"secrets":["` + strings.Join(secrets, `","`) + `"]}`
	}
	r, _, err := f.dir.CreateResource(f.ctx, by, org, directory.ResourceSpec{Namespace: ns, Type: "chains", ID: id, Spec: []byte(spec)})
	return r, err
}

// auditRows returns every audit entry of org as raw text, oldest first.
func (f *fx) auditRows(o string) []store.AuditRecord {
	f.t.Helper()
	var out []store.AuditRecord
	p := store.Page{Size: store.MaxPageSize}
	for {
		rs, next, err := f.st.ListAudit(f.ctx, o, store.AuditFilter{}, p)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, rs...)
		if next == "" {
			return out
		}
		p.Cursor = next
	}
}

// lastAudit is the newest audit entry of org with action.
func (f *fx) lastAudit(action string) (store.AuditRecord, bool) {
	rows := f.auditRows(org)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Action == action {
			return rows[i], true
		}
	}
	return store.AuditRecord{}, false
}

// wantErr fails unless err wraps want (nil: no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error = %v, want %v", what, err, want)
	}
}

// tableDump renders every row of every table as text, for leak scans.
func (f *fx) tableDump() []byte {
	f.t.Helper()
	var tables []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if f.file == "" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := f.raw.QueryContext(f.ctx, q)
	if err != nil {
		f.t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var out bytes.Buffer
	for _, table := range tables {
		rows, err := f.raw.QueryContext(f.ctx, `SELECT * FROM `+table)
		if err != nil {
			f.t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				f.t.Fatal(err)
			}
			for _, v := range vals {
				switch x := v.(type) {
				case []byte:
					out.Write(x)
				case string:
					out.WriteString(x)
				}
				out.WriteByte('\n')
			}
		}
		rows.Close()
	}
	return out.Bytes()
}
