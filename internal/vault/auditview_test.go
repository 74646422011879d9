package vault

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Secret names must not leak through the audit log (issue 6, seed 002:
// operators and viewers "don't know which API keys are being used"). A
// world per template and backend drives every kind of entry that names a
// secret — creates in dev and prod, a chain referencing them and its
// update, a large spec, a reference refused by a secret's restriction, a
// run token and its exchange, a rotate, an update, a reveal, a delete,
// refused probes of existing and missing names, a decision about a
// secret — and then reads the log as every role.

// canaryNames are the names planted; every one of them is recorded
// somewhere in the log. dev's start with canaryDev.
const (
	canaryPrefix = "CANARY_NAME_"
	canaryDev    = "CANARY_NAME_DEV_"
)

var (
	canaryA      = "CANARY_NAME_PROD_A"      // referenced by the chain, rotated, revealed
	canaryB      = "CANARY_NAME_PROD_B"      // referenced by the chain's first version, updated
	canaryGone   = "CANARY_NAME_PROD_GONE"   // deleted
	canaryLocked = "CANARY_NAME_PROD_LOCKED" // admin-only references; bob's reference refused
	canaryHint   = "CANARY_NAME_DESC_HINT"   // only in a description
	canaryGhost  = "CANARY_NAME_PROD_GHOST"  // never exists; probed by the operator
	canaryDecide = "CANARY_NAME_DECIDE"      // a decision's resource id
	canaryBig    = "CANARY_NAME_PROD_BIG"    // referenced by a spec too large to be kept verbatim
	canaryDevOne = "CANARY_NAME_DEV_ONE"     // dev's secret, referenced by dana's dev chain
)

// recordedNames are the names an org-wide secrets:list holder must see.
var recordedNames = []string{canaryA, canaryB, canaryGone, canaryLocked, canaryHint, canaryGhost, canaryDecide, canaryDevOne}

// redactWorld is a fixture whose org comes from a given template, with
// one member per role and a signing audit log.
type redactWorld struct {
	*fx
	// roles maps each role's member to the role; "dana" is a viewer
	// org-wide and a builder in dev only.
	members map[string]Actor
	// bigDigest is the SHA-256 the log keeps of the large spec.
	bigDigest string
}

func newRedactWorld(t *testing.T, b backend, template string) *redactWorld {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	st, raw, file := b.open(t)
	signer, err := audit.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	lg, err := audit.New(st, audit.Options{Signer: signer, CheckpointEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.Open(ctx, st, authz.New(), directory.Options{Audit: lg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	f := &fx{t: t, ctx: ctx, st: st, raw: raw, file: file, dir: dir, clock: &testClock{}}
	f.keys, f.keyBytes = testKeyring(t, 1)
	f.v, err = Open(ctx, Options{Store: st, Directory: dir, Keyring: f.keys, Audit: lg, Clock: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	w := &redactWorld{fx: f, members: map[string]Actor{}}

	for _, u := range []string{"alice", "adam", "bob", "olga", "vic", "dana"} {
		f.ok("create user "+u, third(dir.CreateUser(ctx, store.User{ID: u})))
	}
	f.ok("create org", third(dir.CreateOrg(ctx, alice, directory.OrgSpec{ID: org, Template: template})))
	roles := map[string]string{"bob": "builder", "olga": "operator", "vic": "viewer", "dana": "viewer"}
	if template == "agent-platform" {
		w.members["owner"] = alice
		roles["adam"] = "admin"
		w.members["admin"] = actor("user:adam")
	} else {
		w.members["admin"] = alice // mentiko's top role
	}
	for u, role := range roles {
		f.ok("add "+u, third(dir.AddMember(ctx, alice, org, u, role)))
	}
	w.members["builder"], w.members["operator"], w.members["viewer"] = bob, olga, vic
	w.members["builder in dev only"] = dana
	for _, ns := range []string{"dev", "prod"} {
		f.ok("create namespace "+ns, third(dir.CreateNamespace(ctx, alice, org, ns)))
	}
	f.ok("bind dana", third(dir.CreateBinding(ctx, alice, org, directory.BindingSpec{Principal: "user:dana", Role: "builder", Scope: authz.Scope{Namespace: "dev"}})))
	f.ok("create runner", third(dir.CreateService(ctx, alice, org, directory.ServiceSpec{Name: "runner", Role: "operator"})))
	// Record every decision (straight in the store: mentiko grants no
	// audit:update; no decision was read before, so nothing is cached).
	f.ok("decisions", second(st.Write(ctx, func(tx store.Tx) error {
		return audit.SaveSettings(ctx, tx, org, audit.Settings{Decisions: audit.DecisionsAll})
	})))

	// Secrets in dev and prod.
	f.secret("dev", canaryDevOne, "v-dev", Meta{})
	f.secret("prod", canaryA, "v-a", Meta{})
	f.secret("prod", canaryB, "v-b", Meta{Description: "the key for " + canaryHint})
	f.secret("prod", canaryGone, "v-gone", Meta{})
	f.secret("prod", canaryBig, "v-big", Meta{})
	f.secret("prod", canaryLocked, "v-locked", Meta{ReferableBy: []string{"role:admin"}})
	// A chain referencing them, and its update; dana's dev chain.
	f.ok("chain", second(f.chain(bob, "prod", "triage", canaryA, canaryB)))
	f.ok("update chain", third(dir.UpdateResource(ctx, bob, org, authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"},
		directory.ResourceChange{Spec: json.RawMessage(`{"steps":["triage","page"],"secrets":["` + canaryA + `"]}`)})))
	f.ok("dev chain", second(f.chain(dana, "dev", "experiment", canaryDevOne)))
	big := `{"padding":"` + strings.Repeat("x", 40<<10) + `","secrets":["` + canaryBig + `"]}`
	f.ok("big chain", third(dir.CreateResource(ctx, bob, org, directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "big", Spec: json.RawMessage(big)})))
	// A reference the secret's restriction refuses (a denied entry whose
	// message names the secret).
	_, err = f.chain(bob, "prod", "locked", canaryLocked)
	wantErr(t, "bob references the locked secret", err, directory.ErrForbidden)
	// A run token and its exchange.
	g, err := f.v.IssueRunToken(ctx, olga, org, authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"}, RunOptions{})
	f.ok("run token", err)
	f.ok("exchange", second(f.v.Exchange(ctx, runner, org, g.Token)))
	// Rotate, update, reveal, delete.
	f.ok("rotate", third(f.v.Rotate(ctx, alice, org, "prod", canaryA, []byte("v-a2"), 0)))
	desc := "still the key for " + canaryHint
	f.ok("update", third(f.v.Update(ctx, alice, org, "prod", canaryB, Update{Description: &desc})))
	f.ok("reveal", second(f.v.Reveal(ctx, alice, org, "prod", canaryA, 0)))
	f.ok("delete", second(f.v.Delete(ctx, alice, org, "prod", canaryGone, DeleteOptions{})))
	// Refusals: the operator probes an existing and a missing name, the
	// builder (who may list) tries to rotate.
	for _, name := range []string{canaryA, canaryGhost} {
		_, err := f.v.Reveal(ctx, olga, org, "prod", name, 0)
		wantErr(t, "olga reveals "+name, err, ErrNotFound)
	}
	_, _, err = f.v.Rotate(ctx, bob, org, "prod", canaryA, []byte("nope"), 0)
	wantErr(t, "bob rotates", err, ErrForbidden)
	// A decision about a secret, recorded by the org's settings.
	f.ok("decision", second(dir.Check(ctx, bob, authz.Request{Org: org, Principal: bob.Principal, Namespace: "prod",
		ResourceType: "secrets", ResourceID: canaryDecide, Action: "read"}, 0)))

	// The planted names are all in the stored log (else the scans below
	// would prove nothing).
	stored := w.storedJSON()
	for _, n := range recordedNames {
		if !strings.Contains(stored, n) {
			t.Fatalf("the stored log never names %s: the scan would prove nothing", n)
		}
	}
	if m := regexp.MustCompile(`"sha256":"([0-9a-f]{64})"`).FindStringSubmatch(stored); m != nil {
		w.bigDigest = m[1]
	} else {
		t.Fatal("the large spec is not kept as a digest")
	}
	return w
}

// storedJSON is the whole stored log, rendered as JSON entries as stored.
func (w *redactWorld) storedJSON() string {
	w.t.Helper()
	var b strings.Builder
	for _, r := range w.auditRows(org) {
		e, err := audit.FromRecord(r)
		if err != nil {
			w.t.Fatal(err)
		}
		j, _ := json.Marshal(e)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// listAll reads the whole log as a through ListAudit, page by page.
func (w *redactWorld) listAll(a Actor, f store.AuditFilter) ([]audit.Entry, error) {
	var out []audit.Entry
	p := store.Page{Size: 7}
	for {
		es, next, err := w.dir.ListAudit(w.ctx, a, org, f, p)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
		if next == "" {
			return out, nil
		}
		p.Cursor = next
	}
}

// sees is what each role must see of the planted names: every one
// (complete), dev's only, or none.
type sees int

const (
	seesAll sees = iota
	seesDevOnly
	seesNone
)

var roleSees = map[string]sees{
	"owner": seesAll, "admin": seesAll, "builder": seesAll,
	"operator": seesNone, "viewer": seesNone, "builder in dev only": seesDevOnly,
}

func TestAuditHidesSecretNames(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, template := range []string{"agent-platform", "mentiko"} {
			t.Run(template, func(t *testing.T) {
				w := newRedactWorld(t, b, template)
				stored := map[uint64]audit.Entry{}
				for _, r := range w.auditRows(org) {
					e, err := audit.FromRecord(r)
					if err != nil {
						t.Fatal(err)
					}
					stored[e.Seq] = e
				}
				for role, a := range w.members {
					t.Run(role, func(t *testing.T) {
						es, err := w.listAll(a, store.AuditFilter{})
						if err != nil {
							t.Fatal(err)
						}
						if len(es) != len(stored) {
							t.Fatalf("%d entries, want all %d", len(es), len(stored))
						}
						j, err := json.Marshal(es)
						if err != nil {
							t.Fatal(err)
						}
						checkNames(t, role, string(j), w.bigDigest)
						redacted := 0
						for _, e := range es {
							s := stored[e.Seq]
							// Seq, time, action, actor and result are kept.
							keep := func(e audit.Entry) []any { return []any{e.Seq, e.Time, e.Action, e.Actor, e.Result} }
							if diff := cmp.Diff(keep(s), keep(e)); diff != "" {
								t.Errorf("entry %d changed beyond redaction (-stored +seen):\n%s", e.Seq, diff)
							}
							if e.Redacted {
								redacted++
							}
							switch {
							case roleSees[role] == seesAll:
								if e.Redacted || e.Hash != s.Hash {
									t.Errorf("entry %d: redacted %v, hash %v; want as stored", e.Seq, e.Redacted, e.Hash)
								}
								if diff := cmp.Diff(marshal(t, s), marshal(t, e)); diff != "" {
									t.Errorf("entry %d not as stored (-stored +seen):\n%s", e.Seq, diff)
								}
							case e.Hash != (audit.Hash{}):
								t.Errorf("entry %d: a redacted view shows hash %v", e.Seq, e.Hash)
							case !e.Redacted:
								// Unredacted entries of a partial view are as stored but for the hash.
								s.WithholdHash()
								if diff := cmp.Diff(marshal(t, s), marshal(t, e)); diff != "" {
									t.Errorf("entry %d is not marked redacted but differs (-stored +seen):\n%s", e.Seq, diff)
								}
							}
						}
						if roleSees[role] != seesAll && (redacted < 10 || strings.Contains(string(j), `"hash"`)) {
							t.Errorf("%d entries marked redacted; hashes shown: %v", redacted, strings.Contains(string(j), `"hash"`))
						}
						// A secret's event keeps its namespace and action.
						if roleSees[role] == seesNone && !slices.ContainsFunc(es, func(e audit.Entry) bool {
							return e.Action == "secrets.rotate" && e.Target == "prod/secrets/"+Redacted && e.Redacted
						}) {
							t.Errorf("no redacted rotate entry for prod/secrets/%s", Redacted)
						}
					})
				}
			})
		}
	})
}

func marshal(t *testing.T, e audit.Entry) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkNames scans j, everything role was shown, for the planted names.
func checkNames(t *testing.T, role, j, bigDigest string) {
	t.Helper()
	switch roleSees[role] {
	case seesAll:
		for _, n := range recordedNames {
			if !strings.Contains(j, n) {
				t.Errorf("%s does not see %s", role, n)
			}
		}
	case seesDevOnly:
		if !strings.Contains(j, canaryDevOne) {
			t.Errorf("%s does not see dev's %s", role, canaryDevOne)
		}
		for _, m := range regexp.MustCompile(canaryPrefix+`[A-Z0-9_]*`).FindAllString(j, -1) {
			if !strings.HasPrefix(m, canaryDev) {
				t.Errorf("%s sees %s", role, m)
			}
		}
	case seesNone:
		for _, m := range regexp.MustCompile(canaryPrefix+`[A-Z0-9_]*`).FindAllString(j, -1) {
			t.Errorf("%s sees %s", role, m)
		}
	default:
		t.Fatalf("role %q has no expectation", role)
	}
	if roleSees[role] != seesAll && strings.Contains(j, bigDigest) {
		t.Errorf("%s sees the digest of a spec that names a secret", role)
	}
}

// No existence oracle: filtering by a secret the reader may not know
// about answers the same whether the secret exists, existed, was only
// probed, or was never mentioned; and a reader who may list the
// namespace gets the entries.
func TestAuditFiltersAreNoOracle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		w := newRedactWorld(t, b, "mentiko")
		targets := map[string]string{
			"existing":        "prod/secrets/" + canaryA,
			"deleted":         "prod/secrets/" + canaryGone,
			"probed, missing": "prod/secrets/" + canaryGhost,
			"never mentioned": "prod/secrets/NEVER_MENTIONED_ANYWHERE",
			"redacted form":   "prod/secrets/" + Redacted,
			"decision":        "resource/prod/secrets/" + canaryDecide,
			"no decision":     "resource/prod/secrets/NEVER_DECIDED",
		}
		others := []store.AuditFilter{{}, {Action: "secrets.*"}, {Result: "denied"}, {Actor: alice.Principal}, {Newest: true}}
		type answer struct {
			N   int
			Err string
		}
		ask := func(a Actor, f store.AuditFilter) answer {
			es, err := w.listAll(a, f)
			out := answer{N: len(es)}
			if err != nil {
				out.Err = err.Error()
			}
			return out
		}
		for _, a := range []Actor{olga, vic, dana} {
			for _, other := range others {
				var first *answer
				for what, target := range targets {
					f := other
					f.Target = target
					got := ask(a, f)
					if first == nil {
						first = &got
					}
					if diff := cmp.Diff(*first, got); diff != "" {
						t.Errorf("%s filtering %+v by the %s target answers differently (-first +this):\n%s", a.Principal, other, what, diff)
					}
				}
			}
		}
		// The filters do match for a reader who may list prod, and for dana
		// in dev.
		for _, tc := range []struct {
			a      Actor
			target string
		}{{alice, "prod/secrets/" + canaryA}, {bob, "prod/secrets/" + canaryGhost}, {alice, "resource/prod/secrets/" + canaryDecide}, {dana, "dev/secrets/" + canaryDevOne}} {
			if got := ask(tc.a, store.AuditFilter{Target: tc.target}); got.N == 0 || got.Err != "" {
				t.Errorf("%s filtering by %s: %+v, want entries", tc.a.Principal, tc.target, got)
			}
		}
	})
}

// ResourceHistory's audit entries are redacted like the log.
func TestResourceHistoryAuditRedacted(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		w := newRedactWorld(t, b, "agent-platform")
		ref := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"}
		for role, a := range w.members {
			if role == "builder in dev only" {
				continue // not allowed to read prod's chains history beyond what viewers see: checked as viewer
			}
			h, err := w.dir.ResourceHistory(w.ctx, a, org, ref)
			if err != nil {
				t.Fatalf("%s: %v", role, err)
			}
			if len(h) != 2 || h[0].Audit == nil || h[1].Audit == nil {
				t.Fatalf("%s: history %+v, want two versions with their entries", role, h)
			}
			j, _ := json.Marshal(h)
			if roleSees[role] == seesAll {
				for _, n := range []string{canaryA, canaryB} {
					if !strings.Contains(string(j), n) {
						t.Errorf("%s: history lacks %s", role, n)
					}
				}
				if h[0].Audit.Redacted || h[0].Audit.Hash == (audit.Hash{}) {
					t.Errorf("%s: version 1's entry redacted %v, hash %v", role, h[0].Audit.Redacted, h[0].Audit.Hash)
				}
				continue
			}
			if strings.Contains(string(j), canaryPrefix) {
				t.Errorf("%s: history names a secret: %s", role, j)
			}
			for _, v := range h {
				if !v.Audit.Redacted || v.Audit.Hash != (audit.Hash{}) || !strings.Contains(string(v.Audit.After), "triage") {
					t.Errorf("%s: version %d's entry: redacted %v, hash %v, after %s", role, v.Version, v.Audit.Redacted, v.Audit.Hash, v.Audit.After)
				}
			}
		}
	})
}

// Checkpoints and the verified chain head commit to every entry: a reader
// whose view is redacted gets neither; verification still answers it.
func TestAuditCommitmentsWithheldFromRedactedViews(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		w := newRedactWorld(t, b, "mentiko")
		cps, err := w.dir.AuditCheckpoints(w.ctx, alice, org, 0)
		if err != nil || len(cps) == 0 {
			t.Fatalf("admin's checkpoints: %d, %v", len(cps), err)
		}
		for _, a := range []Actor{olga, vic, dana} {
			_, err := w.dir.AuditCheckpoints(w.ctx, a, org, 0)
			var fe *directory.ForbiddenError
			if !errors.As(err, &fe) || fe.Permission != "secrets:list" || !errors.Is(err, directory.ErrForbidden) {
				t.Errorf("%s's checkpoints: %v, want forbidden naming secrets:list", a.Principal, err)
			}
			rep, err := w.dir.VerifyAudit(w.ctx, a, org, nil)
			if err != nil || rep.Head != (audit.Hash{}) || rep.Last == 0 {
				t.Errorf("%s verifies: %+v, %v; want a verified log without its head", a.Principal, rep, err)
			}
		}
		rep, err := w.dir.VerifyAudit(w.ctx, bob, org, cps)
		if err != nil || rep.Head == (audit.Hash{}) || rep.Checkpoints == 0 {
			t.Errorf("builder verifies: %+v, %v", rep, err)
		}
	})
}

// The vault's entries name the roles the actor held, as the directory's
// do.
func TestVaultEntriesRecordActorRoles(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		w := newRedactWorld(t, b, "mentiko")
		want := map[string][]string{ // action/result by principal → roles
			"secrets.create success user:alice":       {"admin"},
			"secrets.run_token success user:olga":     {"operator"},
			"secrets.exchange success service:runner": {"operator"},
			"secrets.read denied user:olga":           {"operator"},
			"secrets.rotate denied user:bob":          {"builder"},
		}
		got := map[string][]string{}
		for _, r := range w.auditRows(org) {
			e, err := audit.FromRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			key := e.Action + " " + string(e.Result) + " " + e.Actor.Principal
			if _, ok := want[key]; ok {
				got[key] = e.Actor.Roles
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("roles in vault entries (-want +got):\n%s", diff)
		}
	})
}

// Redaction on unit level: shapes the world above does not produce.
func TestRedactEntryShapes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		w := newRedactWorld(t, b, "mentiko")
		view := w.dir.AuditView(dana, org) // lists dev, not prod
		tests := []struct {
			name     string
			in, want audit.Entry
			changed  bool
		}{
			{"a message in a namespace dana may list is kept",
				audit.Entry{Action: "resource.create", Message: `secret "DEV_X" in namespace "dev" may be referenced only by role:admin`},
				audit.Entry{Action: "resource.create", Message: `secret "DEV_X" in namespace "dev" may be referenced only by role:admin`}, false},
			{"a message in prod loses the name",
				audit.Entry{Action: "resource.create", Message: `secret "PROD_X" in namespace "prod": PROD_X again`},
				audit.Entry{Action: "resource.create", Message: `secret "[redacted]" in namespace "prod": [redacted] again`}, true},
			{"a message naming no namespace, on an entry naming none, loses the name",
				audit.Entry{Action: "resource.create", Message: `secret "ANY_X" is locked`},
				audit.Entry{Action: "resource.create", Message: `secret "[redacted]" is locked`}, true},
			{"a name inside a longer word stays",
				audit.Entry{Action: "secrets.read", Target: "prod/secrets/AB", Details: json.RawMessage(`{"name":"AB","note":"ABC XAB AB"}`)},
				audit.Entry{Action: "secrets.read", Target: "prod/secrets/[redacted]", Details: json.RawMessage(`{"name":"[redacted]","note":"ABC XAB [redacted]"}`)}, true},
			{"a dev secret's entry is kept whole",
				audit.Entry{Action: "secrets.read", Target: "dev/secrets/AB", Details: json.RawMessage(`{"name":"AB"}`)},
				audit.Entry{Action: "secrets.read", Target: "dev/secrets/AB", Details: json.RawMessage(`{"name":"AB"}`)}, false},
			{"a refusal by scope",
				audit.Entry{Action: "x.update", Target: "scope/prod/secrets/KEY"},
				audit.Entry{Action: "x.update", Target: "scope/prod/secrets/[redacted]"}, true},
			{"a resource object of a namespace other than the target's",
				audit.Entry{Action: "namespace.delete", Target: "namespace/dev", Before: json.RawMessage(`{"namespace":"prod","spec":{"secrets":["K1"],"s":1}}`)},
				audit.Entry{Action: "namespace.delete", Target: "namespace/dev", Before: json.RawMessage(`{"namespace":"prod","spec":{"s":1}}`)}, true},
			{"an exchange's released secrets",
				audit.Entry{Action: "secrets.exchange", Target: "prod/chains/c", Details: json.RawMessage(`{"secrets":[{"name":"K1","version":2}],"token_id":"ab"}`)},
				audit.Entry{Action: "secrets.exchange", Target: "prod/chains/c", Details: json.RawMessage(`{"secrets":[{"name":"[redacted]","version":2}],"token_id":"ab"}`)}, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := tc.in
				if got := view.Redact(&e); got != tc.changed {
					t.Errorf("changed = %v, want %v", got, tc.changed)
				}
				if diff := cmp.Diff(marshal(t, tc.want), marshal(t, e)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	})
}
