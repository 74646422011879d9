package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/bench"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// The loader writes the orgs1m dataset (bench.Orgs) into a fresh SQLite
// store through internal/store — the same validated write path every
// backend's conformance suite covers — one store transaction per org, so
// the result is an ordinary Gatehouse data directory that `gatehouse serve
// --data DIR` serves. It adds one user, "loadgen", member of every org with
// the admin role at org scope (so that it may ask about other principals:
// bindings:read), creates its personal API key, and writes the request
// mixes the runner sends, labelled by the naive reference evaluator
// (bench.Oracle), never by the engine under test.
//
// Files in DIR: gatehouse.db (the store), session-keys.json (so serve
// starts without --dev), loadgen.token, checks.json (single-check mix),
// batches.json (batch mix).

// LoadUser is the load generator's own principal.
const LoadUser = "loadgen"

// Mix is one labelled check.
type Mix struct {
	Org       string `json:"org"`
	Principal string `json:"principal"`
	Namespace string `json:"namespace"`
	Action    string `json:"action"`   // "chains:run"
	Resource  string `json:"resource"` // "chains/c3"
	Want      bool   `json:"want"`
}

// Batch is one labelled batch of checks in one org.
type Batch struct {
	Org    string `json:"org"`
	Checks []Mix  `json:"checks"`
}

func cmdLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	data := fs.String("data", "", "data directory to create (must not hold a store yet)")
	nOrgs := fs.Int("orgs", 1000, "orgs to generate (1,000 = orgs1m: 1,000,000 bindings)")
	seed := fs.Uint64("seed", 1, "dataset seed")
	nChecks := fs.Int("checks", 4096, "single checks in the mix (half allowed)")
	nBatches := fs.Int("batches", 64, "batches in the batch mix")
	batchSize := fs.Int("batch-size", 1000, "checks per batch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("load: -data is required")
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	dbPath := filepath.Join(*data, "gatehouse.db")
	if _, err := os.Stat(dbPath); err == nil {
		return fmt.Errorf("load: %s exists; use a fresh directory", dbPath)
	}
	ctx := context.Background()
	start := time.Now()
	d, err := bench.Orgs("orgs", *nOrgs, *seed)
	if err != nil {
		return err
	}
	// The Casbin form is not needed here; let it go.
	d.CasbinP, d.CasbinG = nil, nil
	logf("generated %d orgs, %d bindings, %d resources in %v", len(d.Orgs), d.Bindings(), d.Resources(), time.Since(start).Round(time.Millisecond))

	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		return err
	}
	defer st.Close()
	t0 := time.Now()
	if _, err := st.Write(ctx, func(tx store.Tx) error {
		_, err := tx.CreateUser(ctx, store.User{ID: LoadUser, DisplayName: "load generator"})
		return err
	}); err != nil {
		return fmt.Errorf("load: user %s: %w", LoadUser, err)
	}
	for i := range d.Orgs {
		if err := writeOrg(ctx, st, d.PolicySrc, &d.Orgs[i]); err != nil {
			return err
		}
		if (i+1)%50 == 0 || i+1 == len(d.Orgs) {
			el := time.Since(t0)
			logf("wrote %d/%d orgs in %v (%.0f bindings/s)", i+1, len(d.Orgs), el.Round(time.Second), float64((i+1)*bench.OrgsBindingsPerOrg)/el.Seconds())
		}
	}
	st.Close()

	// Reopen with the server's settings, load the engine the way serve
	// does, and create the load generator's key through internal/auth.
	st2, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st2.Close()
	t1 := time.Now()
	// The audit key serve reads from the data directory, created first
	// as gatehouse init does: the bootstrap's entry below then carries a
	// MAC, and serve's checkpointer can authenticate (and sign) it.
	signer, err := audit.WriteNewKey(filepath.Join(*data, "audit-key.pem"))
	if err != nil {
		return err
	}
	alog, err := audit.New(st2, audit.Options{Signer: signer})
	if err != nil {
		return err
	}
	eng := authz.New() // the engine the server will decide with (dir feeds it)
	dir, err := directory.Open(ctx, st2, eng, directory.Options{Audit: alog})
	if err != nil {
		return fmt.Errorf("load: directory: %w", err)
	}
	defer dir.Close()
	logf("directory loaded in %v (revision %d)", time.Since(t1).Round(time.Millisecond), dir.Revision())
	keys := auth.NewKeySet()
	if err := keys.WriteKeyFile(filepath.Join(*data, "session-keys.json")); err != nil {
		return err
	}
	as := auth.New(st2, dir, keys, auth.Options{})
	defer as.Close()
	// Bootstrap: the operator's way to give an existing user a personal
	// key without the API's apikeys:create rule.
	_, tok, err := as.Bootstrap(ctx, store.User{ID: LoadUser}, "loadgen")
	if err != nil {
		return fmt.Errorf("load: api key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(*data, "loadgen.token"), []byte(tok+"\n"), 0o600); err != nil {
		return err
	}

	// Request mixes, labelled by the reference evaluator; the engine the
	// server will use is asked too, and any disagreement stops the load.
	o := bench.NewOracle(d)
	rng := rand.New(rand.NewPCG(*seed, 99))
	checks, err := drawMix(rng, o, eng, len(d.Orgs), -1, *nChecks)
	if err != nil {
		return err
	}
	var batches []Batch
	for range *nBatches {
		org := rng.IntN(len(d.Orgs))
		ms, err := drawMix(rng, o, eng, len(d.Orgs), org, *batchSize)
		if err != nil {
			return err
		}
		batches = append(batches, Batch{Org: bench.OrgName(org), Checks: ms})
	}
	if err := writeJSONFile(filepath.Join(*data, "checks.json"), checks); err != nil {
		return err
	}
	if err := writeJSONFile(filepath.Join(*data, "batches.json"), batches); err != nil {
		return err
	}
	logf("done in %v: %s", time.Since(start).Round(time.Second), *data)
	return nil
}

// writeOrg writes one org in one transaction.
func writeOrg(ctx context.Context, st store.Store, policyText string, od *authz.OrgData) error {
	_, err := st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: od.Org, Name: od.Org}); err != nil {
			return err
		}
		if _, err := tx.SetPolicy(ctx, od.Org, policyText, "user:"+LoadUser); err != nil {
			return err
		}
		for _, ns := range od.Namespaces {
			if _, err := tx.CreateNamespace(ctx, od.Org, ns); err != nil {
				return err
			}
		}
		if _, err := tx.AddMember(ctx, store.Member{Org: od.Org, UserID: LoadUser}); err != nil {
			return err
		}
		if _, err := tx.CreateBinding(ctx, store.Binding{Org: od.Org, CreatedBy: "user:" + LoadUser,
			Binding: authz.Binding{ID: "loadgen-admin", Principal: "user:" + LoadUser, Role: "admin"}}); err != nil {
			return err
		}
		for _, p := range od.Principals {
			id := p.ID[len("user:"):]
			if _, err := tx.CreateUser(ctx, store.User{ID: id}); err != nil {
				return err
			}
			if _, err := tx.AddMember(ctx, store.Member{Org: od.Org, UserID: id}); err != nil {
				return err
			}
		}
		for _, r := range od.Resources {
			if _, err := tx.CreateResource(ctx, store.Resource{Resource: r, Org: od.Org}, "user:"+LoadUser); err != nil {
				return err
			}
		}
		for _, b := range od.Bindings {
			if _, err := tx.CreateBinding(ctx, store.Binding{Binding: b, Org: od.Org, CreatedBy: "user:" + LoadUser}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load: org %s: %w", od.Org, err)
	}
	return nil
}

var mixActions = []string{"read", "run", "create", "update", "delete", "approve"}

// drawMix draws n labelled checks, half allowed and half denied
// (alternating), in org (or a random org per check when org < 0). One in
// ten asks about a member of another org. The engine must agree with the
// reference on every one.
func drawMix(rng *rand.Rand, o *bench.Oracle, eng *authz.Engine, nOrgs, org, n int) ([]Mix, error) {
	var allowed, denied []Mix
	for try := 0; try < 1000*n && (len(allowed) < n/2 || len(denied) < n-n/2); try++ {
		oi := org
		if oi < 0 {
			oi = rng.IntN(nOrgs)
		}
		principal := bench.OrgUser(oi, rng.IntN(420))
		if nOrgs > 1 && rng.IntN(10) == 0 {
			principal = bench.OrgUser((oi+1+rng.IntN(nOrgs-1))%nOrgs, rng.IntN(400))
		}
		ns := bench.OrgsNamespaces[rng.IntN(len(bench.OrgsNamespaces))]
		typ, id := "chains", "c"+strconv.Itoa(rng.IntN(20))
		if rng.IntN(4) == 0 {
			typ, id = "tools", "t"+strconv.Itoa(rng.IntN(10))
		}
		act := mixActions[rng.IntN(len(mixActions))]
		req := authz.Request{Org: bench.OrgName(oi), Principal: principal, Namespace: ns, ResourceType: typ, ResourceID: id, Action: act}
		want := o.Allowed(&req)
		if got := eng.Check(&req).Allowed; got != want {
			return nil, fmt.Errorf("load: the engine says %v, the reference %v, for %+v", got, want, req)
		}
		m := Mix{Org: req.Org, Principal: principal, Namespace: ns, Action: typ + ":" + act, Resource: typ + "/" + id, Want: want}
		if want && len(allowed) < n/2 {
			allowed = append(allowed, m)
		} else if !want && len(denied) < n-n/2 {
			denied = append(denied, m)
		}
	}
	if len(allowed) < n/2 || len(denied) < n-n/2 {
		return nil, fmt.Errorf("load: could not draw %d checks (%d allowed, %d denied)", n, len(allowed), len(denied))
	}
	out := make([]Mix, 0, n)
	for i := range n {
		if i%2 == 0 && i/2 < len(allowed) {
			out = append(out, allowed[i/2])
		} else {
			out = append(out, denied[i/2])
		}
	}
	return out, nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
}

// cmdMix draws another labelled single-check mix for a loaded directory
// (same dataset and seed as `load`), e.g. a wide one whose distinct
// questions outnumber the server's caches:
//
//	loadgen mix -data DIR -checks 200000 -name wide   # writes checks-wide.json
//	loadgen run -data DIR -mix wide
func cmdMix(args []string) error {
	fs := flag.NewFlagSet("mix", flag.ContinueOnError)
	data := fs.String("data", "", "data directory written by `loadgen load`")
	nOrgs := fs.Int("orgs", 1000, "orgs the directory was loaded with")
	seed := fs.Uint64("seed", 1, "dataset seed the directory was loaded with")
	mixSeed := fs.Uint64("mix-seed", 2, "seed of the new mix")
	n := fs.Int("checks", 200000, "checks in the mix (half allowed)")
	name := fs.String("name", "wide", "the mix is written to checks-<name>.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *name == "" || strings.ContainsAny(*name, "/\\.") {
		return errors.New("mix: -data and a plain -name are required")
	}
	ctx := context.Background()
	d, err := bench.Orgs("orgs", *nOrgs, *seed)
	if err != nil {
		return err
	}
	d.CasbinP, d.CasbinG = nil, nil
	st, err := sqlite.Open(ctx, filepath.Join(*data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	eng := authz.New()
	dir, err := directory.Open(ctx, st, eng, directory.Options{})
	if err != nil {
		return err
	}
	defer dir.Close()
	rng := rand.New(rand.NewPCG(*mixSeed, 99))
	checks, err := drawMix(rng, bench.NewOracle(d), eng, len(d.Orgs), -1, *n)
	if err != nil {
		return err
	}
	out := filepath.Join(*data, "checks-"+*name+".json")
	if err := writeJSONFile(out, checks); err != nil {
		return err
	}
	distinct := map[[3]string]bool{}
	for _, c := range checks {
		distinct[[3]string{c.Org, c.Principal, c.Namespace}] = true
	}
	logf("wrote %s: %d checks, %d distinct (org, principal, namespace) questions", out, len(checks), len(distinct))
	return nil
}
