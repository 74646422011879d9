package directory_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"

	_ "modernc.org/sqlite"
)

// fullBatch is MaxBatch changes by an admin of acme: a namespace, n
// resources in it, n users provisioned as viewers, a builder binding on
// the namespace for each, and the rest shares of the resources with them.
func fullBatch(n int) []directory.WriteChange {
	cs := []directory.WriteChange{{Op: directory.OpNamespaceCreate, Namespace: "bulk"}}
	for i := range n {
		cs = append(cs, directory.WriteChange{Op: directory.OpResourceCreate,
			Resource: directory.ResourceSpec{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", i)}})
	}
	for i := range n {
		cs = append(cs, directory.WriteChange{Op: directory.OpUserCreate,
			User: directory.UserSpec{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), Role: "viewer"}})
	}
	for i := range n {
		cs = append(cs, directory.WriteChange{Op: directory.OpBindingCreate,
			Binding: directory.BindingSpec{Principal: fmt.Sprintf("user:u%d", i), Role: "builder", Scope: authz.Scope{Namespace: "bulk"}}})
	}
	for k := 1; len(cs) < directory.MaxBatch; k++ {
		for i := 0; i < n && len(cs) < directory.MaxBatch; i++ {
			cs = append(cs, directory.WriteChange{Op: directory.OpShareCreate, Principal: fmt.Sprintf("user:u%d", i), Actions: []string{"run"},
				Ref: authz.ResourceRef{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", (i+k)%n)}})
		}
	}
	return cs
}

// TestWriteBatchOnBothBackends: a batch of MaxBatch changes makes exactly
// its rows, one revision and one audit entry per change, and the org's log
// verifies afterwards (MACs, chain, signed checkpoints: one is due inside
// the batch, which reads the batch's own entries back, and one at its
// end, SealRun's, which reads nothing). A batch whose last
// change escalates leaves nothing: no row, no revision, no entry of its
// changes (only the refusal's).
func TestWriteBatchOnBothBackends(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			st, _ := be.open(t)
			signer, err := audit.GenerateSigner()
			ok(t, "GenerateSigner", err)
			l, err := audit.New(st, audit.Options{Signer: signer, CheckpointEvery: 300})
			ok(t, "audit.New", err)
			d := openDir(t, st, directory.Options{Audit: l, CatchUpTimeout: guard})
			mustUsers(t, d, "alice", "bob")
			ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
			ok(t, "add bob", third(d.AddMember(ctx, alice, "acme", "bob", "admin")))

			countBindings := func() int {
				t.Helper()
				var n int
				for p := (store.Page{Size: 1000}); ; {
					bs, next, err := st.ListBindings(ctx, "acme", store.BindingFilter{}, p)
					ok(t, "ListBindings", err)
					n += len(bs)
					if next == "" {
						return n
					}
					p.Cursor = next
				}
			}
			auditCounts := func(after uint64) (map[string]int, uint64) {
				t.Helper()
				counts := map[string]int{}
				last := after
				for {
					es, err := st.ReadAudit(ctx, "acme", last, store.MaxAuditBatch)
					ok(t, "ReadAudit", err)
					if len(es) == 0 {
						return counts, last
					}
					for _, e := range es {
						counts[e.Action+" "+e.Result]++
						last = e.Seq
					}
				}
			}
			_, seq0 := auditCounts(0)
			bindings0, rev0 := countBindings(), d.Revision()

			const n = 200
			batch := fullBatch(n)
			keys, rev, err := d.Write(ctx, bob, "acme", batch)
			ok(t, "Write", err)
			if rev != rev0+1 {
				t.Errorf("revision %d after the batch, want %d (one for the batch)", rev, rev0+1)
			}
			if len(keys) != len(batch) {
				t.Errorf("%d keys for %d changes", len(keys), len(batch))
			}
			shares := directory.MaxBatch - 1 - 3*n
			if got, want := countBindings(), bindings0+n+n+shares; got != want { // role bindings, builders, shares
				t.Errorf("%d bindings after the batch, want %d", got, want)
			}
			counts, seq1 := auditCounts(seq0)
			want := map[string]int{
				"namespace.create success": 1, "resource.create success": n, "user.provision success": n,
				"binding.create success": n, "share success": shares,
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("audit entries of the batch (-want +got):\n%s", diff)
			}
			if seq1 != seq0+directory.MaxBatch {
				t.Errorf("audit log at %d after the batch, want %d", seq1, seq0+directory.MaxBatch)
			}
			rep, err := d.VerifyAudit(ctx, alice, "acme", nil)
			if err != nil || !rep.MACsChecked || rep.Last != seq1 || rep.RecordedHead != seq1 || rep.Checkpoints == 0 {
				t.Fatalf("verify after the batch = %+v, %v; want MACs checked, the log and its recorded head at %d, checkpoints", rep, err, seq1)
			}
			if rep.Anchored != seq1 {
				t.Errorf("the batch's entries are anchored through %d, want %d (the batch checkpoints its own run: SealRun)", rep.Anchored, seq1)
			}
			dec, err := d.Check(ctx, user("u7"), authz.Request{Org: "acme", Principal: "user:u7", Namespace: "bulk", ResourceType: "chains", ResourceID: "c0", Action: "run"}, rev)
			ok(t, "Check", err)
			if !dec.Allowed {
				t.Errorf("u7 (builder on bulk since the batch) may not run bulk/chains/c0")
			}

			// The same shape again with new names, the last change an
			// escalation (bob, an admin, granting owner): refused whole.
			refused := fullBatch(n)
			for i := range refused {
				c := &refused[i]
				switch c.Op {
				case directory.OpNamespaceCreate:
					c.Namespace = "bulk2"
				case directory.OpResourceCreate:
					c.Resource.Namespace = "bulk2"
				case directory.OpBindingCreate:
					c.Binding.Scope.Namespace = "bulk2"
				case directory.OpShareCreate:
					c.Ref.Namespace = "bulk2"
				}
				if c.User.ID != "" {
					c.User.ID, c.User.Email = "v"+c.User.ID[1:], "v"+c.User.Email[1:]
				}
				if c.Binding.Principal != "" {
					c.Binding.Principal = "user:v" + c.Binding.Principal[len("user:u"):]
				}
				if c.Principal != "" {
					c.Principal = "user:v" + c.Principal[len("user:u"):]
				}
			}
			refused[len(refused)-1] = directory.WriteChange{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:v1", Role: "owner"}}
			_, _, err = d.Write(ctx, bob, "acme", refused)
			wantErr(t, "Write of an escalating batch", err, directory.ErrEscalation)
			if d.Revision() != rev {
				t.Errorf("revision moved from %d to %d: part of a refused batch was kept", rev, d.Revision())
			}
			if got, want := countBindings(), bindings0+n+n+shares; got != want {
				t.Errorf("%d bindings after a refused batch, want %d", got, want)
			}
			if _, err := st.GetUser(ctx, "v0"); err == nil {
				t.Errorf("user v0 of the refused batch exists")
			}
			counts, _ = auditCounts(seq1)
			if diff := cmp.Diff(map[string]int{"batch.write denied": 1}, counts); diff != "" {
				t.Errorf("audit entries after a refused batch (-want +got): only its refusal\n%s", diff)
			}
			if _, err := d.VerifyAudit(ctx, alice, "acme", nil); err != nil {
				t.Errorf("verify after the refused batch: %v", err)
			}
		})
	}
}

// TestWriteBatchQueuedInsertFails: in a batch, the INSERTs are queued
// (pipelined on PostgreSQL, merged into multi-row INSERTs on both), so an
// INSERT's own failure is seen with a later statement. The batch still
// fails whole and names the INSERT's operation: no row, no revision, no
// entry of its changes. (The failure is forced by a trigger: every INSERT
// the directory makes is checked beforehand.)
func TestWriteBatchQueuedInsertFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) store.Store // a store whose members refuse user "boom"
	}{
		{"sqlite", func(t *testing.T) store.Store {
			path := filepath.Join(t.TempDir(), "gatehouse.db")
			st := openSQLiteAt(t, path)
			db, err := sql.Open("sqlite", path)
			ok(t, "open", err)
			defer db.Close()
			_, err = db.ExecContext(ctxT(t), `CREATE TRIGGER no_boom BEFORE INSERT ON members WHEN NEW.user_id = 'boom'
				BEGIN SELECT RAISE(ABORT, 'boom refused'); END`)
			ok(t, "create trigger", err)
			return st
		}},
		{"postgres", func(t *testing.T) store.Store {
			ctx := ctxT(t)
			dsn := pgSchemaDSN(t)
			st := openPostgresAt(t, dsn)
			conn, err := pgx.Connect(ctx, dsn)
			ok(t, "connect", err)
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, `CREATE FUNCTION no_boom() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.user_id = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$;
				CREATE TRIGGER no_boom BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION no_boom();`)
			ok(t, "create trigger", err)
			return st
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			st := tc.open(t)
			d := openDir(t, st, directory.Options{CatchUpTimeout: guard})
			mustUsers(t, d, "alice", "boom", "erin", "fay", "gus")
			ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
			_, seq0 := auditSeqOf(t, st, "acme")
			rev0 := d.Revision()
			_, _, err := d.Write(ctx, alice, "acme", []directory.WriteChange{
				{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "erin", Role: "viewer"}},
				{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "fay", Role: "viewer"}},
				{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "boom", Role: "viewer"}},
				{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "gus", Role: "viewer"}},
				{Op: directory.OpNamespaceCreate, Namespace: "later"},
				{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:erin", Role: "builder", Scope: authz.Scope{Namespace: "later"}}},
			})
			if err == nil {
				t.Fatal("a batch whose INSERT failed was committed")
			}
			if !strings.Contains(err.Error(), "add member") {
				t.Errorf("error %q does not name the failed INSERT's operation (add member)", err)
			}
			if d.Revision() != rev0 {
				t.Errorf("revision moved from %d to %d", rev0, d.Revision())
			}
			for _, u := range []string{"erin", "fay", "gus"} {
				if _, err := st.GetMember(ctx, "acme", u); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s's membership from the failed batch: %v", u, err)
				}
			}
			if n, seq := auditSeqOf(t, st, "acme"); seq != seq0 {
				t.Errorf("audit log moved from %d to %d (%d entries) after a failed batch", seq0, seq, n)
			}
		})
	}
}

// auditSeqOf returns how many entries org's log has and its last seq.
func auditSeqOf(t *testing.T, st store.Store, org string) (int, uint64) {
	t.Helper()
	var n int
	var last uint64
	for {
		es, err := st.ReadAudit(ctxT(t), org, last, store.MaxAuditBatch)
		ok(t, "ReadAudit", err)
		if len(es) == 0 {
			return n, last
		}
		n += len(es)
		last = es[len(es)-1].Seq
	}
}
