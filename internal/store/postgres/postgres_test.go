package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/migrations"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// baseDSN is the server the tests use. Without it the PostgreSQL tests
// skip, saying so, unless GATEHOUSE_REQUIRE_POSTGRES is set (CI sets
// both), in which case they fail: in CI they must run, not skip.
func baseDSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSN(t)
}

// freshSchema creates a schema with a random name, dropped when the test
// ends, and returns a DSN whose search_path is that schema.
func freshSchema(t testing.TB) string {
	t.Helper()
	return pgtest.FreshSchema(t, "gh_test")
}

func openOpts(t *testing.T, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), freshSchema(t), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func open(t *testing.T) store.Store {
	return openOpts(t, postgres.Options{PollInterval: 50 * time.Millisecond, MaxConns: 8})
}

func TestConformance(t *testing.T) { storetest.RunConformance(t, open) }

// TestSchema migrates an empty schema and checks tables, key columns, the
// "C" collation of keys and goose's recorded version.
func TestSchema(t *testing.T) {
	dsn := freshSchema(t)
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	want := storetest.Schema
	rows, err := conn.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		got[table] = append(got[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("schema mismatch (-want +got):\n%s", d)
	}

	// Keys compare bytes, as on SQLite, so both backends page alike.
	for _, c := range [][2]string{{"bindings", "id"}, {"resources", "id"}, {"orgs", "id"}, {"team_members", "principal"}} {
		var coll *string
		if err := conn.QueryRow(ctx, `SELECT collation_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, c[0], c[1]).Scan(&coll); err != nil {
			t.Fatal(err)
		}
		if coll == nil || *coll != "C" {
			t.Errorf("collation of %s.%s = %v, want C", c[0], c[1], coll)
		}
	}
	// Every org-scoped table's primary key starts with org.
	rows, err = conn.Query(ctx, `SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc
		JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
		WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY' AND kcu.ordinal_position = 1`)
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		first[table] = col
	}
	for table := range want {
		switch table {
		case "store_revision", "changelog", "orgs", "users", "goose_db_version", "vault_keys",
			"api_keys", "invitations": // deployment-wide, found by id alone
			continue
		}
		if first[table] != "org" {
			t.Errorf("primary key of %s starts with %q, want org", table, first[table])
		}
	}

	var version int64
	if err := conn.QueryRow(ctx, `SELECT MAX(version_id) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil || version != storetest.LatestMigration(migrations.Postgres()) {
		t.Errorf("goose version = %d (err %v), want %d", version, err, storetest.LatestMigration(migrations.Postgres()))
	}

	// Re-opening applies nothing and keeps the data.
	s, err = postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	defer s.Close()
	if rev, err := s.CurrentRevision(ctx); err != nil || rev != 0 {
		t.Errorf("revision after re-open = %d, %v", rev, err)
	}
}

// recv waits (bounded by a hang guard) for a revision ≥ rev on ch.
func recv(t *testing.T, ch <-chan uint64, rev uint64) {
	t.Helper()
	guard := time.After(60 * time.Second)
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed before revision %d", rev)
			}
			if got >= rev {
				return
			}
		case <-guard:
			t.Fatalf("no wake-up for revision %d", rev)
		}
	}
}

// TestNotifyWakesOtherProcess: with polling effectively off, only
// LISTEN/NOTIFY can wake the second handle.
func TestNotifyWakesOtherProcess(t *testing.T) {
	ctx := context.Background()
	a := openOpts(t, postgres.Options{PollInterval: time.Hour})
	b2, err := a.Reopen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	b := b2.(*postgres.Store)
	waitListening(t, b)
	ch := b.Watch(ctx)
	for i := range 3 {
		rev, err := a.Write(ctx, func(tx store.Tx) error {
			_, err := tx.CreateOrg(ctx, store.Org{ID: "o" + string(rune('a'+i))})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		recv(t, ch, rev)
	}
}

func waitListening(t *testing.T, s *postgres.Store) uint32 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if pid := s.ListenerPID(); pid != 0 {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("listener never connected")
	return 0
}

// TestListenerReconnects: the listening connection is killed; the handle
// reconnects on its own and is woken again by the other's writes.
func TestListenerReconnects(t *testing.T) {
	ctx := context.Background()
	a := openOpts(t, postgres.Options{PollInterval: time.Hour})
	b2, err := a.Reopen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	b := b2.(*postgres.Store)
	old := waitListening(t, b)

	conn, err := pgx.Connect(ctx, baseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(old)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", old, killed, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if pid := b.ListenerPID(); pid != 0 && pid != old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listener did not reconnect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ch := b.Watch(ctx)
	rev, err := a.Write(ctx, func(tx store.Tx) error {
		_, err := tx.CreateOrg(ctx, store.Org{ID: "after"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	recv(t, ch, rev)
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := postgres.Open(ctx, "postgres://%zz", postgres.Options{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("malformed DSN: %v, want ErrInvalid", err)
	}
	if _, err := postgres.Open(ctx, freshSchema(t), postgres.Options{MaxConns: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("negative MaxConns: %v, want ErrInvalid", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := postgres.Open(tctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", postgres.Options{}); !errors.Is(err, store.ErrBackend) {
		t.Errorf("unreachable server: %v, want ErrBackend", err)
	}
}

// TestTxReadsNeedNoPooledConnection: with a pool of one connection, held by
// the write transaction itself, the transaction can still read the
// changelog and org snapshots (over its own connection) and the committed
// state (over the write-lock holder's reserved connection). A read that
// needed a second pooled connection would wait until the guard deadline:
// the writers queued on the write lock may hold every pooled connection.
func TestTxReadsNeedNoPooledConnection(t *testing.T) {
	s := openOpts(t, postgres.Options{MaxConns: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Write(ctx, func(tx store.Tx) error {
		_, err := tx.CreateOrg(ctx, store.Org{ID: "a", Name: "A"})
		return err
	}); err != nil {
		t.Fatalf("create org: %v", err)
	}
	if _, err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.ChangesSince(ctx, 0, 0); err != nil {
			t.Errorf("tx.ChangesSince: %v", err)
		}
		if _, err := tx.LoadOrg(ctx, "a"); err != nil {
			t.Errorf("tx.LoadOrg: %v", err)
		}
		if _, err := tx.UpdateOrg(ctx, store.Org{ID: "a", Name: "A2"}); err != nil {
			return err
		}
		o, err := tx.Committed().GetOrg(ctx, "a")
		if err != nil {
			t.Errorf("tx.Committed().GetOrg: %v", err)
		} else if o.Name != "A" {
			t.Errorf("tx.Committed().GetOrg name = %q, want the committed %q", o.Name, "A")
		}
		return nil
	}); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func openOrgWrites(t *testing.T) *postgres.Store {
	t.Helper()
	return openOpts(t, postgres.Options{PollInterval: 50 * time.Millisecond, MaxConns: 8, OrgWrites: true})
}

// TestOrgWritesConcurrent runs the conformance suite's concurrent org
// writes with postgres.Options.OrgWrites on: writes of different orgs then
// really overlap (TestOrgWriteLocks), and must keep every invariant they
// keep one at a time.
func TestOrgWritesConcurrent(t *testing.T) {
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) { storetest.OrgWrites(t, openOrgWrites(t)) })
	}
}

// TestOrgWritesDenseRuns: with OrgWrites, the org writes' runs are sent
// under a placeholder revision and renumbered at commit; every reader
// still returns exactly the changes recorded.
func TestOrgWritesDenseRuns(t *testing.T) { storetest.ChangelogDenseRuns(t, openOrgWrites(t)) }

// TestOrgWriteLocks: with OrgWrites, while a write of org a is in its
// callback (holding its locks), a write of org b runs and commits; another
// write of a and a global write (a user) wait for it. The write of a is
// numbered when it commits, after b's: its callback saw the revision
// before b's as its base.
func TestOrgWriteLocks(t *testing.T) {
	s := openOrgWrites(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createOrgs(ctx, t, s, "a", "b")
	base, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nsWrite := func(st *postgres.Store, org, name string) func() (uint64, error) {
		return func() (uint64, error) {
			return st.WriteOrg(ctx, org, func(tx store.Tx) error {
				_, err := tx.CreateNamespace(ctx, org, name)
				return err
			})
		}
	}
	type result struct {
		rev uint64
		err error
	}
	start := func(fn func() (uint64, error)) chan result {
		ch := make(chan result, 1)
		go func() {
			rev, err := fn()
			ch <- result{rev, err}
		}()
		return ch
	}
	inside, release := make(chan uint64, 1), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // a failing test must not leave the write of a open
	first := start(func() (uint64, error) {
		return s.WriteOrg(ctx, "a", func(tx store.Tx) error {
			if _, err := tx.CreateNamespace(ctx, "a", "first"); err != nil {
				return err
			}
			inside <- tx.Revision()
			<-release
			return nil
		})
	})
	if got := <-inside; got != base+1 {
		t.Errorf("Tx.Revision in the callback = %d, want base+1 = %d", got, base+1)
	}
	s2, err := s.Reopen(ctx) // another process
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	other := s2.(*postgres.Store)

	// b is not held up by a.
	select {
	case r := <-start(nsWrite(other, "b", "beside")):
		if r.err != nil || r.rev != base+1 {
			t.Errorf("write of b while a's is open: revision %d, error %v; want %d, nil", r.rev, r.err, base+1)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write of org b waited for an open write of org a")
	}
	// Another write of a, and a global write, wait.
	sameOrg := start(nsWrite(other, "a", "second"))
	global := start(func() (uint64, error) {
		return other.Write(ctx, func(tx store.Tx) error {
			_, err := tx.CreateUser(ctx, store.User{ID: "zed", Email: "zed@example.com"})
			return err
		})
	})
	select {
	case r := <-sameOrg:
		t.Errorf("a second write of org a did not wait for the open one: %+v", r)
		sameOrg <- r
	case r := <-global:
		t.Errorf("a global write did not wait for the open write of a: %+v", r)
		global <- r
	case <-time.After(300 * time.Millisecond):
	}
	unblock()
	got := []result{<-first, <-sameOrg, <-global}
	if got[0].err != nil || got[0].rev != base+2 {
		t.Errorf("the held write of a: revision %d, error %v; want %d (numbered at its commit, after b's)", got[0].rev, got[0].err, base+2)
	}
	revs := []uint64{got[1].rev, got[2].rev}
	slices.Sort(revs)
	if got[1].err != nil || got[2].err != nil || !slices.Equal(revs, []uint64{base + 3, base + 4}) {
		t.Errorf("the waiting writes: %+v, want revisions %d and %d", got[1:], base+3, base+4)
	}
}

// TestOrgWriteNewUsers: with OrgWrites, org writes that create users run
// beside each other (a write of b creating a user commits while one of a,
// which created another, is open); one creating the user an open write
// created waits for it and, once that commits, fails as a conflict; two
// creating each other's users in opposite orders end with one made and
// the other a conflict (PostgreSQL's deadlock detection), never both.
func TestOrgWriteNewUsers(t *testing.T) {
	s := openOrgWrites(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createOrgs(ctx, t, s, "a", "b")
	// createUsers makes users ids in org, calling between(i) after the
	// i-th.
	createUsers := func(org string, between func(i int), ids ...string) func() error {
		return func() error {
			_, err := s.WriteOrg(ctx, org, func(tx store.Tx) error {
				for i, id := range ids {
					if _, err := tx.CreateUser(ctx, store.User{ID: id, Email: id + "@example.com"}); err != nil {
						return err
					}
					if _, err := tx.AddMember(ctx, store.Member{Org: org, UserID: id}); err != nil {
						return err
					}
					if between != nil {
						between(i)
					}
				}
				return nil
			})
			return err
		}
	}
	start := func(fn func() error) chan error {
		ch := make(chan error, 1)
		go func() { ch <- fn() }()
		return ch
	}
	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	first := start(createUsers("a", func(int) { close(inside); <-release }, "ua"))
	select {
	case <-inside:
	case err := <-first:
		t.Fatalf("a's write creating ua: %v", err)
	}
	select {
	case err := <-start(createUsers("b", nil, "ub")):
		if err != nil {
			t.Errorf("b creating ub while a's write (ua) is open: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write of org b creating a user waited for an open write of org a")
	}
	dup := start(createUsers("b", nil, "ua"))
	select {
	case err := <-dup:
		t.Errorf("b creating ua did not wait for a's open write that created it: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	unblock()
	if err := <-first; err != nil {
		t.Fatalf("a's write: %v", err)
	}
	if err := <-dup; !errors.Is(err, store.ErrConflict) {
		t.Errorf("b creating ua after a made it: %v, want ErrConflict", err)
	}

	// Each creates x1/x2 then waits for the other to have created its
	// first, then creates the other's: a cycle of unique-index waits.
	aFirst, bFirst := make(chan struct{}), make(chan struct{})
	wait := func(mine, theirs chan struct{}) func(int) {
		return func(i int) {
			if i == 0 {
				close(mine)
				<-theirs
			}
		}
	}
	ra := start(createUsers("a", wait(aFirst, bFirst), "x1", "x2"))
	rb := start(createUsers("b", wait(bFirst, aFirst), "x2", "x1"))
	errs := []error{<-ra, <-rb}
	conflicts := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, store.ErrConflict):
			conflicts++
		case err != nil:
			t.Errorf("crossed user creations: %v, want nil or ErrConflict", err)
		}
	}
	if conflicts != 1 {
		t.Errorf("crossed user creations: %v, want one made and one ErrConflict", errs)
	}
	for _, id := range []string{"x1", "x2"} {
		if _, err := s.GetUser(ctx, id); err != nil {
			t.Errorf("user %s: %v", id, err)
		}
	}
}

// createOrgs makes the orgs ids on s, one write each.
func createOrgs(ctx context.Context, t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	for _, org := range ids {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			_, err := tx.CreateOrg(ctx, store.Org{ID: org, Name: org, Template: "agent-platform"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditRunLookup runs storetest.RunAuditRunLookup: an entry whose run
// is missing never borrows a later run's context.
func TestAuditRunLookup(t *testing.T) {
	dsn := freshSchema(t)
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	storetest.RunAuditRunLookup(t, s, func(ctx context.Context, sql string, args ...any) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	})
}
