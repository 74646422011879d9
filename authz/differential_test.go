package authz_test

// The differential test: random policies (as text, compiled with
// policy.Load), random orgs and random requests, and random incremental
// changes; the engine must answer exactly as the reference model
// (reference_test.go) over the same data.
//
// Replay and scale:
//
//	GATEHOUSE_DIFF_SEED=N     (or -diff.seed=N) replays a run
//	GATEHOUSE_DIFF_WORLD=i    (or -diff.world=i) runs only world i of that seed
//	GATEHOUSE_DIFF_CHECKS=N   total number of compared checks (default 100,000; -short: 20,000)
//
// Each world has its own generator, seeded (seed, world index), so one world
// replays alone. Worlds run in parallel, one per CPU.

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
)

var (
	flagDiffSeed  = flag.Uint64("diff.seed", 0, "differential test: master seed (0 = random; or GATEHOUSE_DIFF_SEED)")
	flagDiffWorld = flag.Int("diff.world", -1, "differential test: run only this world of the seed (or GATEHOUSE_DIFF_WORLD)")
)

const (
	defaultDiffChecks = 100_000
	checksPerWorld    = 2_000
)

// diffConfig says what to run.
type diffConfig struct {
	seed   uint64
	worlds []int
	checks int // compared checks per world
	// breakPolicy, when set, edits every generated policy model right after
	// it is loaded (TestDifferentialDetectsBrokenPolicy).
	breakPolicy func(*policy.Model)
}

func diffConfigFromEnv(t *testing.T) diffConfig {
	t.Helper()
	total := defaultDiffChecks
	if s := os.Getenv("GATEHOUSE_DIFF_CHECKS"); s != "" {
		n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if err != nil || n <= 0 {
			t.Fatalf("GATEHOUSE_DIFF_CHECKS=%q: want a positive integer", s)
		}
		total = n
	}
	seed := *flagDiffSeed
	if s := os.Getenv("GATEHOUSE_DIFF_SEED"); s != "" && seed == 0 {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GATEHOUSE_DIFF_SEED=%q: %v", s, err)
		}
		seed = n
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	if testing.Short() && os.Getenv("GATEHOUSE_DIFF_CHECKS") == "" {
		total /= 5
	}
	cfg := diffConfig{seed: seed, checks: min(total, checksPerWorld)}
	one := *flagDiffWorld
	if s := os.Getenv("GATEHOUSE_DIFF_WORLD"); s != "" && one < 0 {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("GATEHOUSE_DIFF_WORLD=%q: want a world index", s)
		}
		one = n
	}
	if one >= 0 {
		cfg.worlds = []int{one}
		return cfg
	}
	for i := range (total + cfg.checks - 1) / cfg.checks {
		cfg.worlds = append(cfg.worlds, i)
	}
	return cfg
}

// TestDifferential compares the engine with the reference model.
func TestDifferential(t *testing.T) {
	cfg := diffConfigFromEnv(t)
	t.Logf("seed %d: %d world(s) × %d checks; replay with GATEHOUSE_DIFF_SEED=%d (one world: GATEHOUSE_DIFF_WORLD=i)",
		cfg.seed, len(cfg.worlds), cfg.checks, cfg.seed)
	start := time.Now()
	res := runWorlds(cfg, func() decider { return authz.New() }, reference{})
	t.Logf("%s in %v", res.stats, time.Since(start).Round(time.Millisecond))
	for _, e := range res.setup {
		t.Error(e)
	}
	for i, m := range res.mismatches {
		if i == 3 {
			t.Errorf("... and %d more world(s) with mismatches", len(res.mismatches)-3)
			break
		}
		t.Error(m)
	}
	if len(res.mismatches) > 0 {
		t.Errorf("%d of %d world(s) disagree with the reference (seed %d)", len(res.mismatches), len(cfg.worlds), cfg.seed)
	}
	// The generator must reach every interesting corner, or a passing run
	// proves little. (Only meaningful with enough checks.)
	if res.stats.checks >= 20_000 && len(cfg.worlds) > 1 {
		if missing := res.stats.uncovered(); len(missing) > 0 {
			t.Errorf("the generator never produced: %s", strings.Join(missing, ", "))
		}
	}
}

// TestDifferentialDetects proves the differential can fail: against a
// reference with one deliberate mistake, it must find mismatches; against
// the correct reference standing in for the engine, it must find none.
func TestDifferentialDetects(t *testing.T) {
	const seed = 20240601
	cfg := diffConfig{seed: seed, worlds: []int{0, 1, 2, 3, 4, 5, 6, 7}, checks: 2_000}
	if testing.Short() {
		cfg.worlds = cfg.worlds[:3]
	}
	t.Run("harness-agrees-with-itself", func(t *testing.T) {
		res := runWorlds(cfg, func() decider { return newRefDecider(refOK) }, reference{})
		for _, e := range res.setup {
			t.Error(e)
		}
		for _, m := range res.mismatches {
			t.Errorf("reference vs reference disagree:\n%s", m)
		}
	})
	for _, m := range slices.Sorted(maps.Keys(mutationNames)) {
		if m == refOK {
			continue
		}
		for _, sut := range []struct {
			name string
			new  func() decider
		}{
			{"reference", func() decider { return newRefDecider(refOK) }},
			{"engine", func() decider { return authz.New() }},
		} {
			t.Run(m.String()+"/vs-"+sut.name, func(t *testing.T) {
				res := runWorlds(cfg, sut.new, reference{mut: m})
				if len(res.mismatches) == 0 {
					t.Fatalf("a reference with mutation %q went unnoticed over %d checks", m, res.stats.checks)
				}
				t.Logf("%d of %d worlds caught it; first report:\n%s", len(res.mismatches), len(cfg.worlds), firstLines(res.mismatches[0], 12))
			})
		}
	}
}

// TestDifferentialDetectsBrokenPolicy stands in for bugs in production
// code the reference must not share: every generated policy model is
// broken right after policy.Load, as a buggy compiler would, in the data it
// derives (flattened Role.Permissions, inherited levels,
// Agent.Conditional), and the engine and the reference both get the broken
// model. A reference that trusted the derived data (as it once did, through
// Role.Grants and Role.Permissions) would agree with the engine; the naive
// reference derives everything from the roles' own patterns, parents and the
// agents' rules, so it must notice each breakage. Breaking nothing must
// change nothing.
func TestDifferentialDetectsBrokenPolicy(t *testing.T) {
	const seed = 20240601
	// Grandparent roles are rare in generated policies: more worlds than
	// TestDifferentialDetects, short mode or not (it takes about a second).
	cfg := diffConfig{seed: seed, checks: 1_500}
	for i := range 16 {
		cfg.worlds = append(cfg.worlds, i)
	}
	tests := []struct {
		name   string
		break_ func(m *policy.Model) // edits a freshly loaded model in place
		caught bool
	}{
		{"nothing-broken", func(*policy.Model) {}, false},
		{"wildcard-action-matches-any-resource", func(m *policy.Model) {
			for _, r := range m.Roles {
				for i, p := range r.Permissions {
					if p.Action == policy.Wildcard {
						r.Permissions[i].Resource = policy.Wildcard
					}
				}
			}
		}, true},
		{"inheritance-one-level-short", func(m *policy.Model) {
			own := map[string][]policy.Permission{}
			for _, r := range m.Roles {
				own[r.Name] = r.Own
			}
			for _, r := range m.Roles {
				r.Permissions = slices.Clone(r.Own)
				for _, name := range r.Parents {
					r.Permissions = append(r.Permissions, own[name]...)
				}
			}
		}, true},
		{"no-inheritance", func(m *policy.Model) {
			for _, r := range m.Roles {
				r.Permissions = slices.Clone(r.Own)
			}
		}, true},
		{"level-not-inherited", func(m *policy.Model) {
			for _, r := range m.Roles {
				if !r.HasLevel {
					r.Level = 0
				}
			}
		}, true},
		{"agent-conditions-forgotten", func(m *policy.Model) {
			for _, a := range m.Agents {
				a.Conditional = nil
			}
		}, true},
		{"ask-rules-forgotten", func(m *policy.Model) {
			for _, r := range m.Roles {
				r.Asks = nil
			}
		}, true},
		{"ask-rules-inherited", func(m *policy.Model) {
			for _, r := range m.Roles {
				for _, pn := range r.Parents {
					if p, ok := m.Role(pn); ok {
						r.Asks = append(slices.Clone(r.Asks), p.OwnAsks...)
					}
				}
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfg
			cfg.breakPolicy = tt.break_
			res := runWorlds(cfg, func() decider { return authz.New() }, reference{})
			for _, e := range res.setup {
				t.Error(e)
			}
			switch {
			case tt.caught && len(res.mismatches) == 0:
				t.Fatalf("an engine on policies broken by %q went unnoticed over %d checks", tt.name, res.stats.checks)
			case !tt.caught && len(res.mismatches) > 0:
				t.Fatalf("with nothing broken the engine disagrees with the reference:\n%s", res.mismatches[0])
			case tt.caught:
				t.Logf("%d of %d worlds caught it; first report:\n%s", len(res.mismatches), len(cfg.worlds), firstLines(res.mismatches[0], 12))
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------------------
// Running worlds.

type runResult struct {
	stats      stats
	mismatches []string // one report per failing world, in world order
	setup      []string // generator or compiler failures
}

func runWorlds(cfg diffConfig, newSUT func() decider, ref reference) runResult {
	type out struct {
		stats    stats
		mismatch string
		setup    string
	}
	outs := make([]out, len(cfg.worlds))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(cfg.worlds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cfg.worlds) {
					return
				}
				h := newHarness(cfg.seed, cfg.worlds[i], newSUT, ref)
				h.breakPolicy = cfg.breakPolicy
				h.run(cfg.checks)
				outs[i] = out{stats: h.stats, setup: h.setupErr}
				if h.mismatch != nil {
					outs[i].mismatch = h.report(h.mismatch)
				}
			}
		}()
	}
	wg.Wait()
	var res runResult
	for _, o := range outs {
		res.stats.add(&o.stats)
		if o.mismatch != "" {
			res.mismatches = append(res.mismatches, o.mismatch)
		}
		if o.setup != "" {
			res.setup = append(res.setup, o.setup)
		}
	}
	return res
}

// stats counts what a run exercised.
type stats struct {
	checks, allowed, explains, lookupsR, lookupsS, perms, levels, missings int
	viaTeam, viaShare, viaCondition, agentAllowed, obligations, onBehalf   int
	viaRoleShare, viaExpiring, approvals, approvalsOnBehalf                int
	wildcardUnknown, typeLevel, changes, rejected, mayAccepted, stale      int
}

func (s *stats) add(o *stats) {
	s.checks += o.checks
	s.allowed += o.allowed
	s.explains += o.explains
	s.lookupsR += o.lookupsR
	s.lookupsS += o.lookupsS
	s.perms += o.perms
	s.levels += o.levels
	s.missings += o.missings
	s.viaTeam += o.viaTeam
	s.viaShare += o.viaShare
	s.viaRoleShare += o.viaRoleShare
	s.viaExpiring += o.viaExpiring
	s.approvals += o.approvals
	s.approvalsOnBehalf += o.approvalsOnBehalf
	s.viaCondition += o.viaCondition
	s.agentAllowed += o.agentAllowed
	s.obligations += o.obligations
	s.onBehalf += o.onBehalf
	s.wildcardUnknown += o.wildcardUnknown
	s.typeLevel += o.typeLevel
	s.changes += o.changes
	s.rejected += o.rejected
	s.mayAccepted += o.mayAccepted
	s.stale += o.stale
}

func (s stats) String() string {
	return fmt.Sprintf("%d checks (%d allowed: %d via team, %d via share, %d via a share to a role, %d conditional, %d agents, %d with obligations, "+
		"%d on behalf, %d unknown type/action via wildcard, %d type-level; %d approval required, %d of them on behalf), %d explains, %d resource lookups, "+
		"%d subject lookups, %d permissions, %d levels, %d missing; %d changes applied (%d odd ones accepted), "+
		"%d batches rejected, %d stale revisions refused",
		s.checks, s.allowed, s.viaTeam, s.viaShare, s.viaRoleShare, s.viaCondition, s.agentAllowed, s.obligations,
		s.onBehalf, s.wildcardUnknown, s.typeLevel, s.approvals, s.approvalsOnBehalf, s.explains, s.lookupsR, s.lookupsS, s.perms, s.levels,
		s.missings, s.changes, s.mayAccepted, s.rejected, s.stale)
}

func (s stats) uncovered() []string {
	var missing []string
	for name, n := range map[string]int{
		"allow via team": s.viaTeam, "allow via share": s.viaShare, "allow via condition": s.viaCondition,
		"allow via a share made to a role":     s.viaRoleShare,
		"allow via a grant that expires later": s.viaExpiring,
		"agent allow":                          s.agentAllowed, "obligations": s.obligations, "on-behalf-of allow": s.onBehalf,
		"wildcard allow of an unknown type or action": s.wildcardUnknown, "type-level allow": s.typeLevel,
		"rejected batch": s.rejected, "stale revision": s.stale,
		"approval required": s.approvals, "approval required on behalf": s.approvalsOnBehalf,
	} {
		if n == 0 {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	return missing
}

// ---------------------------------------------------------------------------
// The harness: one world, one engine, one reference.

type harness struct {
	r        *rand.Rand
	seed     uint64
	idx      int
	sut      decider
	newSUT   func() decider
	ref      reference
	w        world
	rev      uint64
	src      map[*policy.Model]string // policy source text, for reports
	history  []string                 // recent changes, for reports
	stats    stats
	mismatch *mismatch
	setupErr string
	// breakPolicy edits each generated model (nil: none); see diffConfig.
	breakPolicy func(*policy.Model)
}

// mismatch is the first disagreement in a world.
type mismatch struct {
	what   string // which operation
	detail string // what differs
	req    *authz.Request
	w      world // the reference's world at the time
	probe  probe // re-runs the comparison (nil for Apply and revision checks)
}

// probe compares one operation of an engine holding world w with the
// reference over w. It returns "" when they agree, else what differs. The
// same probe runs on the live engine and, to shrink a mismatch, on fresh
// engines loaded with smaller worlds.
type probe func(w world, sut decider) string

// t0 is the fixed "now" of most requests; expiries sit around it, or far
// from the real clock so that requests with a zero Now are unambiguous.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func newHarness(seed uint64, idx int, newSUT func() decider, ref reference) *harness {
	return &harness{
		r:    rand.New(rand.NewPCG(seed, uint64(idx))),
		seed: seed, idx: idx, newSUT: newSUT, sut: newSUT(), ref: ref,
		w: world{}, src: map[*policy.Model]string{},
	}
}

func (h *harness) fail(what string, req *authz.Request, format string, args ...any) {
	if h.mismatch == nil {
		h.mismatch = &mismatch{what: what, detail: fmt.Sprintf(format, args...), req: req, w: h.w}
	}
}

// try runs p on the live engine and records a mismatch if it disagrees.
func (h *harness) try(what string, req *authz.Request, p probe) bool {
	d := p(h.w, h.sut)
	if d != "" && h.mismatch == nil {
		h.mismatch = &mismatch{what: what, detail: d, req: req, w: h.w, probe: p}
	}
	return d == ""
}

func (h *harness) run(checks int) {
	n := 2 + h.r.IntN(2)
	orgs := slices.Clone(orgPool)
	h.r.Shuffle(len(orgs), func(i, j int) { orgs[i], orgs[j] = orgs[j], orgs[i] })
	for _, org := range orgs[:n] {
		d, ok := h.genOrg(org)
		if !ok {
			return
		}
		h.applyBatch([]authz.Change{{Org: org, Op: authz.OpPutOrg, Data: d}})
	}
	changeEvery := 15 + h.r.IntN(30)
	for step := 0; h.stats.checks < checks && h.mismatch == nil && h.setupErr == ""; step++ {
		if step > 0 && step%changeEvery == 0 {
			h.mutate()
			continue
		}
		req := h.genRequest()
		h.compareCheck(req)
		switch {
		case step%3 == 0:
			h.compareExplain(req)
		case step%16 == 1:
			h.compareLookupResources(req)
		case step%16 == 5:
			h.compareLookupSubjects(req)
		case step%24 == 7:
			h.compareAdmin(req)
		}
	}
}

// ---------------------------------------------------------------------------
// Vocabulary. Ids are shared across orgs on purpose, to catch leaks.

var (
	orgPool      = []string{"acme", "globex", "initech"}
	polTypes     = []string{"chains", "tools", "kb", "secrets"}
	singularOf   = map[string]string{"chains": "chain", "tools": "tool", "kb": "kb", "secrets": "secret"}
	polActions   = []string{"read", "run", "create", "delete", "update"}
	ghostTypes   = []string{"ghosts", "Chains", "x-1"} // in no policy
	ghostActions = []string{"zap", "Read"}             // in no policy
	badParts     = []string{"*", "", "chains:run", "bad type"}
	roleNames    = []string{"viewer", "operator", "builder", "admin", "owner", "auditor", "guest"}
	agentNames   = []string{"Bot1", "Bot2", "Triage"}
	condDefs     = []struct{ name, expr string }{
		{"cx1", `context.x == 1`},
		{"cprod", `resource.namespace == 'prod'`},
		{"clabel", `resource.labels.env == 'prod'`}, // an error, so false, without the label
		{"cuser", `principal.kind == 'user'`},
		{"cgold", `principal.attributes.tier == 'gold'`},
		{"cowner", `resource.attributes.owner == principal.id`},
		{"cr1", `resource.id == 'r1' && resource.type == 'chains'`},
		{"calice", `principal.name == 'alice'`},
		{"cy", `context.y > 2`},
	}
	flagConds    = []string{"f1", "f2", "critical"} // never defined: context booleans
	nsPool       = []string{"dev", "prod", "staging", "ops", "data-pipelines"}
	userPool     = []string{"user:alice", "user:bob", "user:carol", "user:dave", "user:erin"}
	agentPool    = []string{"agent:Bot1", "agent:Bot2", "agent:Triage", "agent:Ghost", "agent:Stray"}
	servicePool  = []string{"service:ci", "service:deploy"}
	teamSlugs    = []string{"support", "eng", "ops-team"}
	idPool       = []string{"r1", "r2", "r3", "escalation-triage", "x9"}
	oddPrincipal = []string{"team:eng", "user:", "alice", "bot:alice", "user:al ice", "", "user:alice:x", ":alice"}
)

func allPrincipals() []string {
	return slices.Concat(userPool, agentPool, servicePool)
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func (h *harness) chance(p float64) bool { return h.r.Float64() < p }

func allConds() []string {
	var names []string
	for _, c := range condDefs {
		names = append(names, c.name)
	}
	return append(names, flagConds...)
}

// ---------------------------------------------------------------------------
// Generating policies as text.

func (h *harness) genPolicy() (*policy.Model, bool) {
	r := h.r
	var b strings.Builder
	fmt.Fprintf(&b, "# generated by the differential test, seed %d world %d\n", h.seed, h.idx)
	for _, c := range condDefs {
		if h.chance(0.7) { // the others are used as context flags
			fmt.Fprintf(&b, "condition %s = %q\n", c.name, c.expr)
		}
	}
	roles := slices.Clone(roleNames)
	r.Shuffle(len(roles), func(i, j int) { roles[i], roles[j] = roles[j], roles[i] })
	roles = roles[:2+r.IntN(4)]
	for i, name := range roles {
		fmt.Fprintf(&b, "\nrole %s", name)
		if i > 0 && h.chance(0.4) { // parents come earlier: a DAG
			ps := slices.Clone(roles[:i])
			r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			fmt.Fprintf(&b, ": %s", strings.Join(ps[:1+r.IntN(min(2, len(ps)))], ", "))
		}
		if h.chance(0.7) {
			fmt.Fprintf(&b, " level %d", r.IntN(101))
		}
		b.WriteString(" {\n")
		for range r.IntN(5) {
			res := pick(r, polTypes)
			if h.chance(0.15) {
				res = "*"
			}
			var acts []string
			for range 1 + r.IntN(4) {
				acts = append(acts, pick(r, polActions))
			}
			if h.chance(0.2) {
				acts = []string{"*"}
			}
			fmt.Fprintf(&b, "    permission %s { %s }\n", res, strings.Join(acts, ", "))
		}
		for range r.IntN(3) {
			if h.chance(0.5) {
				b.WriteString(h.genAsk(roles))
			}
		}
		b.WriteString("}\n")
	}
	agents := slices.Clone(agentNames)
	r.Shuffle(len(agents), func(i, j int) { agents[i], agents[j] = agents[j], agents[i] })
	for _, name := range agents[:1+r.IntN(len(agents))] {
		fmt.Fprintf(&b, "\nagent %s: %s {\n", name, pick(r, roles))
		for range r.IntN(6) {
			cond := ""
			if h.chance(0.45) {
				cond = fmt.Sprintf(" %s %s", pick(r, []string{"when", "if"}), pick(r, allConds()))
			}
			switch k := r.IntN(10); {
			case k < 6:
				act := pick(r, polActions)
				if h.chance(0.1) {
					act = pick(r, ghostActions)
				}
				typ := pick(r, polTypes)
				word := typ
				switch {
				case h.chance(0.3):
					word = singularOf[typ]
				case h.chance(0.05):
					word = "widgets"
				}
				fmt.Fprintf(&b, "    can %s %s%s\n", act, word, cond)
			case k < 7 && h.chance(0.5):
				b.WriteString(h.genAsk(roles))
			case k < 8:
				fmt.Fprintf(&b, "    must %s%s\n", pick(r, []string{"escalate ticket", "log run", "notify humans"}), cond)
			default:
				fmt.Fprintf(&b, "    should %s%s\n", pick(r, []string{"report issues", "ask first"}), cond)
			}
		}
		b.WriteString("}\n")
	}
	src := b.String()
	m, diags := policy.Load("generated.policy", []byte(src), policy.LintOptions{})
	if m == nil || diags.HasErrors() {
		h.setupErr = fmt.Sprintf("seed %d world %d: the compiler rejected a generated policy:\n%v\n--- policy ---\n%s",
			h.seed, h.idx, diags.Errors(), src)
		return nil, false
	}
	if h.breakPolicy != nil {
		h.breakPolicy(m)
	}
	h.src[m] = src
	return m, true
}

// genAsk writes one `ask before` rule line (DESIGN §1.1 item 8): a
// concrete action and resource (sometimes singular), maybe a condition,
// approvers' roles among roles, and a quorum.
func (h *harness) genAsk(roles []string) string {
	r := h.r
	typ := pick(r, polTypes)
	word := typ
	if h.chance(0.3) {
		word = singularOf[typ]
	}
	line := fmt.Sprintf("    ask before %s %s", pick(r, polActions), word)
	if h.chance(0.5) {
		line += fmt.Sprintf(" %s %s", pick(r, []string{"when", "if"}), pick(r, allConds()))
	}
	if h.chance(0.3) {
		line += " from " + pick(r, roles)
	}
	if h.chance(0.3) {
		line += fmt.Sprintf(" quorum %d", 1+r.IntN(3))
	}
	return line + "\n"
}

// ---------------------------------------------------------------------------
// Generating org data.

func (h *harness) genOrg(org string) (*authz.OrgData, bool) {
	pol, ok := h.genPolicy()
	if !ok {
		return nil, false
	}
	r := h.r
	d := &authz.OrgData{Org: org, Policy: pol}
	if h.chance(0.3) {
		d.Lifecycle = h.genLifecycleSettings()
	}
	for _, ns := range nsPool[:4] {
		if h.chance(0.5) {
			d.Namespaces = append(d.Namespaces, ns)
		}
	}
	for _, id := range allPrincipals() {
		if h.chance(0.65) {
			d.Principals = append(d.Principals, h.genPrincipal(id, pol))
		}
	}
	for _, slug := range teamSlugs {
		if h.chance(0.6) {
			d.Teams = append(d.Teams, h.genTeam(slug, d))
		}
	}
	nsAll := append([]string{authz.DefaultNamespace}, d.Namespaces...)
	for range 4 + r.IntN(7) {
		res := h.genResource(pick(r, nsAll))
		if findResource(d, res.Namespace, res.Type, res.ID) == nil {
			d.Resources = append(d.Resources, res)
		}
	}
	for i := range 8 + r.IntN(20) {
		d.Bindings = append(d.Bindings, h.genBinding(d, fmt.Sprintf("b%d", i+1)))
	}
	return d, true
}

func (h *harness) genPrincipal(id string, pol *policy.Model) authz.Principal {
	r := h.r
	p := authz.Principal{ID: id}
	switch r.IntN(4) {
	case 0:
		p.Attributes = map[string]any{"tier": "gold"}
	case 1:
		p.Attributes = map[string]any{"tier": "silver", "n": 1}
	}
	if strings.HasPrefix(id, "agent:") && id != "agent:Stray" {
		switch k := r.IntN(10); {
		case k < 7 && len(pol.Roles) > 0:
			p.Role = pick(r, pol.Roles).Name
		case k < 9:
			p.Role = pick(r, roleNames) // maybe not in the policy
		default:
			p.Role = "nosuchrole"
		}
	}
	if h.chance(0.2) {
		p.ExpiresAt = h.genExpiry()
	}
	if (strings.HasPrefix(id, "agent:") || strings.HasPrefix(id, "service:")) && h.chance(0.4) {
		p.Lifecycle = h.genLifecycle(strings.HasPrefix(id, "agent:"))
	}
	return p
}

// genLifecycle makes a principal's lifecycle: sponsors that may or may not
// be present, times around t0 (for the org settings of
// genLifecycleSettings), sometimes suspended by hand; a service half the
// time outside the org's rules (it did not opt in).
func (h *harness) genLifecycle(agent bool) *authz.Lifecycle {
	r := h.r
	l := &authz.Lifecycle{RequireSponsor: agent || h.chance(0.3), Suspended: h.chance(0.1), NoOrgRules: !agent && h.chance(0.5)}
	for range r.IntN(3) {
		if h.chance(0.6) {
			l.Sponsors = append(l.Sponsors, pick(r, userPool))
		} else {
			l.Sponsors = append(l.Sponsors, "team:"+pick(r, teamSlugs))
		}
	}
	times := []time.Time{t0.Add(-100 * 24 * time.Hour), t0.Add(-20 * 24 * time.Hour), t0.Add(-time.Hour), {}}
	l.AttestedAt, l.LastUsedAt = pick(r, times), pick(r, times)
	return l
}

func (h *harness) genLifecycleSettings() authz.LifecycleSettings {
	return pick(h.r, []authz.LifecycleSettings{{}, {InactiveAfter: 30 * 24 * time.Hour}, {AttestEvery: 90 * 24 * time.Hour},
		{InactiveAfter: 7 * 24 * time.Hour, AttestEvery: 30 * 24 * time.Hour}})
}

// genExpiry is an expiry around t0, or far from the real clock on either
// side.
func (h *harness) genExpiry() time.Time {
	return pick(h.r, []time.Time{
		t0.Add(-time.Hour), t0, t0.Add(time.Hour),
		time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), // expired whatever the clock says
		time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	})
}

// genTeam makes a team of mostly members of d (some not: a team may list
// principals the org does not have).
func (h *harness) genTeam(slug string, d *authz.OrgData) authz.Team {
	t := authz.Team{Slug: slug}
	for _, id := range allPrincipals() {
		p := 0.1
		if d != nil && slices.ContainsFunc(d.Principals, func(p authz.Principal) bool { return p.ID == id }) {
			p = 0.4
		}
		if h.chance(p) {
			t.Members = append(t.Members, id)
		}
	}
	return t
}

func (h *harness) genResource(ns string) authz.Resource {
	r := h.r
	typ := pick(r, polTypes)
	if h.chance(0.15) {
		typ = "ghosts"
	}
	res := authz.Resource{Namespace: ns, Type: typ, ID: pick(r, idPool)}
	if h.chance(0.6) {
		res.Labels = map[string]string{"env": pick(r, []string{"prod", "dev"})}
	}
	if h.chance(0.5) {
		res.Attributes = map[string]any{"owner": pick(r, allPrincipals())}
	}
	return res
}

func (h *harness) genBinding(d *authz.OrgData, id string) authz.Binding {
	r := h.r
	b := authz.Binding{ID: id}
	switch k := r.IntN(20); {
	case k < 9 && len(d.Principals) > 0:
		b.Principal = pick(r, d.Principals).ID
	case k < 10:
		b.Principal = pick(r, allPrincipals())
	case k < 17:
		b.Principal = "team:" + pick(r, teamSlugs)
	case k < 18:
		b.Principal = "team:nobody"
	default:
		b.Principal = "user:zed" // never a member
	}
	switch k := r.IntN(20); {
	case k < 7:
		// org scope
	case k < 13:
		ns := authz.DefaultNamespace
		switch {
		case h.chance(0.7) && len(d.Namespaces) > 0:
			ns = pick(r, d.Namespaces)
		case h.chance(0.5):
			ns = pick(r, nsPool) // maybe another org's namespace
		}
		b.Scope = authz.Scope{Namespace: ns}
	default:
		if len(d.Resources) > 0 && h.chance(0.8) {
			res := pick(r, d.Resources)
			b.Scope = authz.Scope{Namespace: res.Namespace, Type: res.Type, ID: res.ID}
		} else {
			b.Scope = authz.Scope{Namespace: pick(r, append(nsPool, "default")), Type: pick(r, polTypes), ID: pick(r, idPool)}
		}
	}
	if b.Scope.ID != "" && h.chance(0.3) { // a share made to a role
		b.Principal = authz.KindRole + ":" + pick(r, roleNames)
		if len(d.Policy.Roles) > 0 && h.chance(0.85) {
			b.Principal = authz.KindRole + ":" + pick(r, d.Policy.Roles).Name
		}
	}
	if b.Scope.ID != "" && h.chance(0.45) {
		for range 1 + r.IntN(2) {
			a := pick(r, polActions)
			switch {
			case h.chance(0.12):
				a = "*"
			case h.chance(0.08):
				a = pick(r, ghostActions)
			}
			b.Actions = append(b.Actions, a)
		}
	} else {
		b.Role = pick(r, roleNames)
		if len(d.Policy.Roles) > 0 && h.chance(0.8) {
			b.Role = pick(r, d.Policy.Roles).Name
		}
		if h.chance(0.03) {
			b.Role = "nosuchrole"
		}
	}
	if h.chance(0.25) {
		b.Condition = pick(r, allConds())
	}
	if h.chance(0.2) {
		b.ExpiresAt = h.genExpiry()
	}
	return b
}

// ---------------------------------------------------------------------------
// Generating requests.

func (h *harness) randomOrg() string {
	switch k := h.r.IntN(50); {
	case k == 0:
		return ""
	case k == 1:
		return "umbrella"
	case k < 4:
		return pick(h.r, orgPool) // maybe deleted or never created
	}
	if len(h.w) == 0 {
		return pick(h.r, orgPool)
	}
	return pick(h.r, sortedKeys(h.w))
}

func (h *harness) randomPrincipal(d *authz.OrgData) string {
	r := h.r
	switch k := r.IntN(20); {
	case k < 15 && d != nil && len(d.Principals) > 0:
		return pick(r, d.Principals).ID
	case k < 18:
		return pick(r, allPrincipals())
	}
	return pick(r, oddPrincipal)
}

func (h *harness) randomContext() map[string]any {
	r := h.r
	if h.chance(0.2) {
		return nil
	}
	ctx := map[string]any{}
	for _, k := range allConds() {
		switch r.IntN(6) {
		case 0:
			ctx[k] = true
		case 1:
			ctx[k] = "true" // not a boolean: does not hold
		case 2:
			ctx[k] = false
		}
	}
	switch r.IntN(4) {
	case 0:
		ctx["x"] = 1
	case 1:
		ctx["x"] = 2
	case 2:
		ctx["x"] = "1"
	}
	switch r.IntN(3) {
	case 0:
		ctx["y"] = 3
	case 1:
		ctx["y"] = 1
	}
	return ctx
}

func (h *harness) genRequest() *authz.Request {
	r := h.r
	req := &authz.Request{Org: h.randomOrg(), Now: t0, Context: h.randomContext()}
	d := h.w[req.Org]
	req.Principal = h.randomPrincipal(d)
	if d != nil && len(d.Bindings) > 0 && h.chance(0.7) {
		h.aimRequest(req, d, h.usefulBinding(d))
	} else if d != nil && len(d.Resources) > 0 && h.chance(0.5) {
		res := pick(r, d.Resources)
		req.Namespace, req.ResourceType, req.ResourceID = res.Namespace, res.Type, res.ID
		if req.Namespace == authz.DefaultNamespace && h.chance(0.5) {
			req.Namespace = ""
		}
		if h.chance(0.15) {
			req.ResourceID = ""
		}
	} else {
		switch k := r.IntN(20); {
		case k < 14:
			req.ResourceType = pick(r, polTypes)
		case k < 18:
			req.ResourceType = pick(r, ghostTypes)
		default:
			req.ResourceType = pick(r, badParts)
		}
		switch k := r.IntN(10); {
		case k < 3:
			req.Namespace = ""
		case k < 4:
			req.Namespace = authz.DefaultNamespace
		case k < 9:
			req.Namespace = pick(r, nsPool)
		default:
			req.Namespace = pick(r, []string{"nope", "Prod", "*"})
		}
		if h.chance(0.6) {
			req.ResourceID = pick(r, idPool)
		}
	}
	if req.Action == "" {
		switch k := r.IntN(40); {
		case k < 33:
			req.Action = pick(r, polActions)
		case k < 37:
			req.Action = pick(r, ghostActions)
		default:
			req.Action = pick(r, badParts)
		}
	}
	if req.OnBehalfOf == "" && h.chance(0.12) {
		if h.chance(0.8) {
			req.OnBehalfOf = pick(r, userPool)
		} else {
			req.OnBehalfOf = pick(r, []string{"team:eng", "agent:Bot1", "service:ci", "user:", "user:zed"})
		}
		if h.chance(0.6) && d != nil { // make on-behalf-of requests come from agents and services
			var actors []string
			for _, p := range d.Principals {
				if !strings.HasPrefix(p.ID, "user:") {
					actors = append(actors, p.ID)
				}
			}
			if len(actors) > 0 {
				req.Principal = pick(r, actors)
			}
		}
	}
	if h.chance(0.1) {
		req.Now = time.Time{} // the engine's clock
	}
	return req
}

// usefulBinding picks a binding, preferring one that reaches a member.
func (h *harness) usefulBinding(d *authz.OrgData) authz.Binding {
	var b authz.Binding
	for range 4 {
		b = pick(h.r, d.Bindings)
		if _, _, _, ok := member(d, b.Principal); ok {
			return b
		}
		if slug, ok := strings.CutPrefix(b.Principal, "team:"); ok {
			for _, t := range d.Teams {
				if t.Slug == slug && slices.ContainsFunc(t.Members, func(id string) bool { _, _, _, ok := member(d, id); return ok }) {
					return b
				}
			}
		}
	}
	return b
}

// aimRequest points a request at what binding b could grant: its principal
// (or a member of its team), a resource in its scope, and a permission of its
// role or action list, so that a good share of requests is allowed and the
// rest are near misses.
func (h *harness) aimRequest(req *authz.Request, d *authz.OrgData, b authz.Binding) {
	r := h.r
	req.Principal = b.Principal
	if role, ok := strings.CutPrefix(b.Principal, authz.KindRole+":"); ok {
		// someone bound to the role or to a role inheriting it, or anyone
		req.Principal = pick(r, allPrincipals())
		var holders []string
		for _, b2 := range d.Bindings {
			if r2, ok := d.Policy.Role(b2.Role); ok && b2.Scope.ID == "" && roleInherits(d.Policy, r2, role) {
				holders = append(holders, b2.Principal)
			}
		}
		if len(holders) > 0 && h.chance(0.85) {
			req.Principal = pick(r, holders)
		}
	}
	if slug, ok := strings.CutPrefix(req.Principal, "team:"); ok {
		for _, t := range d.Teams {
			if t.Slug == slug && len(t.Members) > 0 {
				req.Principal = pick(r, t.Members)
				for range 3 { // prefer a member of the org
					if _, _, _, ok := member(d, req.Principal); ok {
						break
					}
					req.Principal = pick(r, t.Members)
				}
			}
		}
	}
	if req.OnBehalfOf == "" && strings.HasPrefix(req.Principal, "user:") && h.chance(0.3) {
		// act for this user through an agent or service of the org
		var actors []string
		for _, p := range d.Principals {
			if !strings.HasPrefix(p.ID, "user:") {
				actors = append(actors, p.ID)
			}
		}
		if len(actors) > 0 {
			req.Principal, req.OnBehalfOf = pick(r, actors), req.Principal
		}
	}
	var inScope []authz.Resource
	for _, res := range d.Resources {
		if scopeWithin(b.Scope, authz.Scope{Namespace: res.Namespace, Type: res.Type, ID: res.ID}) {
			inScope = append(inScope, res)
		}
	}
	switch {
	case b.Scope.ID != "":
		req.Namespace, req.ResourceType, req.ResourceID = b.Scope.Namespace, b.Scope.Type, b.Scope.ID
	case len(inScope) > 0 && h.chance(0.7):
		res := pick(r, inScope)
		req.Namespace, req.ResourceType, req.ResourceID = res.Namespace, res.Type, res.ID
	default:
		req.Namespace, req.ResourceType, req.ResourceID = b.Scope.Namespace, pick(r, polTypes), ""
		if req.Namespace == "" {
			req.Namespace = pick(r, append([]string{""}, d.Namespaces...))
		}
		if h.chance(0.5) {
			req.ResourceID = pick(r, idPool)
		}
	}
	var pats []policy.Permission
	if role, ok := d.Policy.Role(b.Role); ok {
		pats = role.Permissions
	}
	for _, a := range b.Actions {
		pats = append(pats, policy.Permission{Resource: b.Scope.Type, Action: a})
	}
	if len(pats) > 0 && h.chance(0.8) {
		p := pick(r, pats)
		if p.Resource != policy.Wildcard && b.Scope.ID == "" && h.chance(0.7) {
			req.ResourceType = p.Resource
		}
		if p.Action == policy.Wildcard {
			req.Action = pick(r, polActions)
			if h.chance(0.1) {
				req.Action = pick(r, ghostActions)
			}
		} else {
			req.Action = p.Action
		}
		if p.Resource == policy.Wildcard && h.chance(0.1) {
			req.ResourceType = pick(r, ghostTypes)
		}
	}
	if b.Condition != "" && h.chance(0.5) && req.Context != nil { // help the condition hold
		req.Context[b.Condition] = true
		req.Context["x"], req.Context["y"] = 1, 3
	}
}

// roleInherits reports whether r is role name or inherits it.
func roleInherits(pol *policy.Model, r *policy.Role, name string) bool {
	seen := map[string]bool{}
	todo := []*policy.Role{r}
	for len(todo) > 0 {
		x := todo[0]
		todo = todo[1:]
		if x.Name == name {
			return true
		}
		for _, p := range x.Parents {
			if pr, ok := pol.Role(p); ok && !seen[p] {
				seen[p] = true
				todo = append(todo, pr)
			}
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Generating and applying changes.

func (h *harness) mutate() {
	if h.chance(0.04) && h.rev > 0 { // a stale revision is refused and changes nothing
		c := authz.Change{Org: pick(h.r, orgPool), Op: authz.OpDeleteBinding, ID: "b1"}
		if err := h.sut.Apply(h.rev, c); !errors.Is(err, authz.ErrStaleRevision) {
			h.fail("Apply", nil, "Apply at the current revision %d: got error %v, want ErrStaleRevision", h.rev, err)
		}
		if got := h.sut.Revision(); got != h.rev {
			h.fail("Apply", nil, "after a refused stale Apply the revision is %d, want %d", got, h.rev)
		}
		h.stats.stale++
		return
	}
	n := 1 + h.r.IntN(3)
	w := h.w
	var batch []authz.Change
	for range n {
		c := h.genChange(w)
		if next, err := applyChange(w, c); err == nil {
			w = next // later changes of the batch see the earlier ones
		}
		batch = append(batch, c)
	}
	h.applyBatch(batch)
}

// applyBatch applies changes to the engine and, if it accepts them, to the
// reference's world; it checks the engine's verdict against classify.
func (h *harness) applyBatch(batch []authz.Change) {
	w := h.w
	worst, odd := mustAccept, 0
	var problem error
	for _, c := range batch {
		class := classify(w, c)
		worst = max(worst, class)
		if class == mayReject {
			odd++
		}
		next, err := applyChange(w, c)
		if err != nil && problem == nil {
			problem = err
		}
		if err == nil {
			w = next
		}
	}
	rev := h.rev + 1
	err := h.sut.Apply(rev, batch...)
	desc := describeBatch(batch)
	h.history = append(h.history, fmt.Sprintf("rev %d: %s → %v", rev, desc, errString(err)))
	if len(h.history) > 12 {
		h.history = h.history[1:]
	}
	switch {
	case err != nil && worst == mustAccept:
		h.fail("Apply", nil, "Apply rejected well-formed changes:\n  %s\nerror: %v", desc, err)
		return
	case err != nil && !errors.Is(err, authz.ErrInvalid):
		h.fail("Apply", nil, "Apply rejected changes with an error that does not wrap ErrInvalid:\n  %s\nerror: %v", desc, err)
		return
	case err != nil:
		h.stats.rejected++
		if got := h.sut.Revision(); got != h.rev {
			h.fail("Apply", nil, "after a rejected Apply the revision is %d, want %d", got, h.rev)
		}
		return
	case worst == mustReject:
		h.fail("Apply", nil, "Apply accepted a change the contract calls invalid:\n  %s", desc)
		return
	case problem != nil:
		h.fail("Apply", nil, "Apply accepted a change the reference cannot apply (%v):\n  %s", problem, desc)
		return
	}
	h.w, h.rev = w, rev
	h.stats.changes += len(batch)
	h.stats.mayAccepted += odd
	if got := h.sut.Revision(); got != rev {
		h.fail("Apply", nil, "after Apply(%d) the revision is %d", rev, got)
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func (h *harness) genChange(w world) authz.Change {
	r := h.r
	orgs := sortedKeys(w)
	if len(orgs) == 0 {
		org := pick(r, orgPool)
		d, ok := h.genOrg(org)
		if !ok {
			return authz.Change{Org: org, Op: authz.OpDeleteOrg}
		}
		return authz.Change{Org: org, Op: authz.OpPutOrg, Data: d}
	}
	org := pick(r, orgs)
	d := w[org]
	c := authz.Change{Org: org}
	switch k := r.IntN(100); {
	case k < 22:
		c.Op = authz.OpPutBinding
		id := fmt.Sprintf("b%d", 1+r.IntN(len(d.Bindings)+4))
		c.Binding = h.genBinding(d, id)
	case k < 32:
		c.Op, c.ID = authz.OpDeleteBinding, fmt.Sprintf("b%d", 1+r.IntN(len(d.Bindings)+2))
	case k < 40:
		c.Op, c.Principal = authz.OpPutPrincipal, h.genPrincipal(pick(r, allPrincipals()), d.Policy)
	case k < 45:
		c.Op, c.ID = authz.OpDeletePrincipal, pick(r, allPrincipals())
	case k < 51:
		c.Op, c.Team = authz.OpPutTeam, h.genTeam(pick(r, teamSlugs), d)
	case k < 54:
		c.Op, c.ID = authz.OpDeleteTeam, pick(r, teamSlugs)
	case k < 62:
		c.Op, c.Resource = authz.OpPutResource, h.genResource(pick(r, append([]string{authz.DefaultNamespace}, d.Namespaces...)))
	case k < 68:
		c.Op = authz.OpDeleteResource
		if len(d.Resources) > 0 && h.chance(0.8) {
			c.Resource = pick(r, d.Resources)
		} else {
			c.Resource = h.genResource(pick(r, nsPool))
		}
	case k < 72:
		c.Op, c.ID = authz.OpPutNamespace, pick(r, nsPool)
	case k < 74:
		c.Op, c.ID = authz.OpDeleteNamespace, pick(r, nsPool)
	case k < 78:
		pol, ok := h.genPolicy()
		if !ok {
			pol = d.Policy
		}
		c.Op, c.Policy = authz.OpSetPolicy, pol
	case k < 79 && h.chance(0.5):
		s := h.genLifecycleSettings()
		c.Op, c.Lifecycle = authz.OpSetLifecycle, &s
	case k < 80:
		if nd, ok := h.genOrg(org); ok {
			c.Op, c.Data = authz.OpPutOrg, nd
		} else {
			c.Op, c.ID = authz.OpDeleteTeam, "eng"
		}
	case k < 81 && len(orgs) > 1:
		c.Op = authz.OpDeleteOrg
	case k < 83:
		absent := slices.DeleteFunc(slices.Clone(orgPool), func(o string) bool { return w[o] != nil })
		if len(absent) == 0 {
			c.Op, c.ID = authz.OpDeleteTeam, "support"
			break
		}
		c.Org = pick(r, absent)
		if nd, ok := h.genOrg(c.Org); ok {
			c.Op, c.Data = authz.OpPutOrg, nd
		} else {
			c.Op = authz.OpDeleteOrg
		}
	case k < 96:
		return h.genOddChange(c, d)
	default:
		return h.genInvalidChange(c, d)
	}
	return c
}

// genOddChange makes a change that an engine may accept or reject.
func (h *harness) genOddChange(c authz.Change, d *authz.OrgData) authz.Change {
	r := h.r
	b := h.genBinding(d, fmt.Sprintf("b%d", 1+r.IntN(len(d.Bindings)+3)))
	switch r.IntN(9) {
	case 0: // both a role and actions
		c.Op, b.Role, b.Actions = authz.OpPutBinding, pick(r, roleNames), []string{"read"}
		c.Binding = b
	case 1: // actions at org or namespace scope
		c.Op, b.Role, b.Actions = authz.OpPutBinding, "", []string{pick(r, polActions)}
		b.Scope = pick(r, []authz.Scope{{}, {Namespace: authz.DefaultNamespace}})
		c.Binding = b
	case 2:
		c.Op, b.ID = authz.OpPutBinding, ""
		c.Binding = b
	case 3:
		c.Op, b.Principal = authz.OpPutBinding, pick(r, oddPrincipal[1:])
		c.Binding = b
	case 4:
		c.Op, c.Principal = authz.OpPutPrincipal, authz.Principal{ID: pick(r, oddPrincipal)}
	case 5:
		c.Op, c.Team = authz.OpPutTeam, authz.Team{Slug: pick(r, []string{"", "bad slug"}), Members: []string{pick(r, userPool)}}
	case 6: // a resource in a namespace the org does not have
		ns := "data-pipelines"
		if hasNamespace(d, ns) {
			ns = "nowhere"
		}
		c.Op, c.Resource = authz.OpPutResource, h.genResource(ns)
	case 7:
		c.Op, c.ID = authz.OpPutNamespace, pick(r, []string{"default", "Bad ns", ""})
	default:
		c.Op, b.Actions, b.Role = authz.OpPutBinding, []string{"ru*"}, ""
		b.Scope = authz.Scope{Namespace: authz.DefaultNamespace, Type: "chains", ID: "r1"}
		c.Binding = b
	}
	return c
}

// genInvalidChange makes a change api.go calls invalid.
func (h *harness) genInvalidChange(c authz.Change, d *authz.OrgData) authz.Change {
	r := h.r
	switch r.IntN(3) {
	case 0:
		c.Org, c.Op, c.ID = "", authz.OpDeleteBinding, "b1"
	case 1:
		c.Op = authz.ChangeOp(99)
	default:
		b := h.genBinding(d, "b1")
		b.Role, b.Actions = "", nil
		c.Op, c.Binding = authz.OpPutBinding, b
	}
	return c
}

// ---------------------------------------------------------------------------
// Comparisons.

// decisionView is what Check answers, in comparable form.
type decisionView struct {
	Allowed          bool
	Obligations      []string
	Advice           []string
	ApprovalRequired bool
	Asks             []string // askKey, sorted
}

func viewOf(d authz.Decision) decisionView {
	v := decisionView{Allowed: d.Allowed, ApprovalRequired: d.ApprovalRequired}
	for _, a := range d.Asks {
		v.Asks = append(v.Asks, askKey(a))
	}
	slices.Sort(v.Asks)
	for _, r := range d.Obligations {
		v.Obligations = append(v.Obligations, ruleKey(r))
	}
	for _, r := range d.Advice {
		v.Advice = append(v.Advice, ruleKey(r))
	}
	return v
}

func refView(d refDecision) decisionView {
	return decisionView{Allowed: d.Allowed, Obligations: d.Obligations, Advice: d.Advice,
		ApprovalRequired: d.ApprovalRequired, Asks: d.Asks}
}

func (h *harness) compareCheck(req *authz.Request) {
	h.stats.checks++
	want := h.ref.Check(h.w, req)
	got := h.sut.Check(req)
	if !cmp.Equal(refView(want), viewOf(got)) || got.Revision != h.rev {
		h.try("Check", req, h.checkProbe(req))
		return
	}
	if want.Allowed {
		h.countAllow(req, want)
	}
	if want.ApprovalRequired {
		h.stats.approvals++
		if req.OnBehalfOf != "" {
			h.stats.approvalsOnBehalf++
		}
	}
}

func (h *harness) checkProbe(req *authz.Request) probe {
	return func(w world, sut decider) string {
		got := sut.Check(req)
		if diff := cmp.Diff(refView(h.ref.Check(w, req)), viewOf(got)); diff != "" {
			return "Check differs from the reference (-reference +engine):\n" + diff
		}
		if got.Revision != sut.Revision() {
			return fmt.Sprintf("Decision.Revision = %d, want %d", got.Revision, sut.Revision())
		}
		return ""
	}
}

// countAllow records which corners of the semantics an allow exercised.
func (h *harness) countAllow(req *authz.Request, d refDecision) {
	s := &h.stats
	s.allowed++
	if req.ResourceID == "" {
		s.typeLevel++
	}
	if req.OnBehalfOf != "" {
		s.onBehalf++
	}
	if strings.HasPrefix(req.Principal, "agent:") {
		s.agentAllowed++
	}
	if len(d.Obligations) > 0 {
		s.obligations++
	}
	if slices.Contains(ghostTypes, req.ResourceType) || slices.Contains(ghostActions, req.Action) {
		s.wildcardUnknown++
	}
	for _, b := range d.Grants {
		if strings.HasPrefix(b.Principal, "team:") {
			s.viaTeam++
		}
		if len(b.Actions) > 0 {
			s.viaShare++
		}
		if strings.HasPrefix(b.Principal, authz.KindRole+":") {
			s.viaRoleShare++
		}
		if b.Condition != "" {
			s.viaCondition++
		}
		if !b.ExpiresAt.IsZero() {
			s.viaExpiring++
		}
	}
}

func (h *harness) compareExplain(req *authz.Request) {
	h.stats.explains++
	h.try("Explain", req, h.explainProbe(req))
}

// explainProbe: Explain decides as Check does, says something, and
// explains an allow (only an allow) by real bindings of the org that reach
// the acting principal or the user it acts for.
func (h *harness) explainProbe(req *authz.Request) probe {
	return func(w world, sut decider) string {
		want := h.ref.Check(w, req)
		x := sut.Explain(req)
		switch {
		case x.Decision.Allowed != want.Allowed || x.Decision.ApprovalRequired != want.ApprovalRequired:
			return fmt.Sprintf("Explain says allowed=%v approval=%v, the reference %v %v (summary: %q)",
				x.Decision.Allowed, x.Decision.ApprovalRequired, want.Allowed, want.ApprovalRequired, x.Summary)
		case x.Decision.Revision != sut.Revision():
			return fmt.Sprintf("Explain's Decision.Revision = %d, want %d", x.Decision.Revision, sut.Revision())
		case x.Summary == "":
			return "Explain has an empty Summary"
		case (want.Allowed || want.ApprovalRequired) && len(x.Grants) == 0:
			return fmt.Sprintf("an allow is explained by no grant (summary: %q)", x.Summary)
		case !want.Allowed && !want.ApprovalRequired && len(x.Grants) > 0:
			return fmt.Sprintf("a deny is explained by %d grant(s): %+v", len(x.Grants), x.Grants)
		}
		d := w[req.Org]
		for _, g := range x.Grants {
			i := slices.IndexFunc(d.Bindings, func(b authz.Binding) bool { return b.ID == g.Binding.ID })
			if i < 0 {
				return fmt.Sprintf("explained by binding %q, which the org does not have", g.Binding.ID)
			}
			if diff := cmp.Diff(d.Bindings[i], g.Binding); diff != "" {
				return fmt.Sprintf("explained by binding %q but not as the org has it (-org +explain):\n%s", g.Binding.ID, diff)
			}
			reaches := slices.Contains(h.ref.reachedBy(d, req, req.Principal), g.Binding.Principal) ||
				req.OnBehalfOf != "" && slices.Contains(h.ref.reachedBy(d, req, req.OnBehalfOf), g.Binding.Principal)
			if !reaches {
				return fmt.Sprintf("explained by binding %q of %s, which does not reach %s", g.Binding.ID, g.Binding.Principal, req.Principal)
			}
		}
		return ""
	}
}

// lookupIsClear reports whether a lookup has no excuse for an error: the
// org, principal (unexpired) and namespace exist and the type and action are
// identifiers. principal "-" stands for a subject lookup, which names none.
func lookupIsClear(w world, org, principal, ns, typ, action string, now time.Time) bool {
	d := w[org]
	if d == nil || !isIdent(typ) || !isIdent(action) || ns != "" && !hasNamespace(d, ns) {
		return false
	}
	if principal == "-" {
		return true
	}
	p, _, _, ok := member(d, principal)
	if now.IsZero() {
		now = time.Now()
	}
	return ok && (p.ExpiresAt.IsZero() || p.ExpiresAt.After(now))
}

func (h *harness) compareLookupResources(req *authz.Request) {
	h.stats.lookupsR++
	r := h.r
	q := authz.LookupResourcesRequest{
		Org: req.Org, Principal: req.Principal, Type: req.ResourceType, Action: req.Action,
		Namespace: req.Namespace, Context: req.Context, OnBehalfOf: req.OnBehalfOf, Now: req.Now,
		PageSize: r.IntN(5),
	}
	if h.chance(0.4) {
		q.Namespace = "" // every namespace
	}
	if h.chance(0.05) {
		bad := q
		bad.PageToken = "\x00not a page token\xff"
		if _, err := h.sut.LookupResources(bad); !errors.Is(err, authz.ErrInvalid) && !errors.Is(err, authz.ErrNotFound) {
			h.fail("LookupResources", req, "a garbage page token gave error %v, want ErrInvalid", err)
			return
		}
	}
	h.try("LookupResources", req, h.lookupResourcesProbe(q))
	if h.chance(0.5) {
		q.IncludeConditional, q.PageToken = true, ""
		h.try("LookupResources(conditional)", req, h.conditionalResourcesProbe(q))
	}
}

// lookupResourcesProbe pages through a resource lookup and compares it with
// the reference and with the engine's own Check of every candidate.
func (h *harness) lookupResourcesProbe(q authz.LookupResourcesRequest) probe {
	return func(w world, sut decider) string {
		want := h.ref.LookupResources(w, q)
		d := w[q.Org]
		var got, marked []authz.ResourceRef
		maxPages := 3
		if d != nil {
			maxPages += len(d.Resources)
		}
		size := q.PageSize
		if size == 0 {
			size = 100
		}
		pq := q
		for page := 0; ; page++ {
			if page == maxPages {
				return fmt.Sprintf("paging did not end after %d pages (query %+v)", page, q)
			}
			p, err := sut.LookupResources(pq)
			if err != nil {
				switch {
				case !errors.Is(err, authz.ErrNotFound) && !errors.Is(err, authz.ErrInvalid):
					return fmt.Sprintf("LookupResources error %v wraps neither ErrNotFound nor ErrInvalid", err)
				case len(want) > 0 || lookupIsClear(w, q.Org, q.Principal, q.Namespace, q.Type, q.Action, q.Now) && q.OnBehalfOf == "":
					return fmt.Sprintf("LookupResources error %v for query %+v; the reference finds %v", err, q, want)
				}
				return ""
			}
			if len(p.Resources) > size {
				return fmt.Sprintf("a page of %d resources for page size %d", len(p.Resources), size)
			}
			if p.Revision != sut.Revision() {
				return fmt.Sprintf("lookup page at revision %d, want %d", p.Revision, sut.Revision())
			}
			got = append(got, p.Resources...)
			marked = append(marked, p.ApprovalRequired...)
			if p.NextPageToken == "" {
				break
			}
			pq.PageToken = p.NextPageToken
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Sprintf("LookupResources(%+v) differs from the reference (-reference +engine):\n%s", q, diff)
		}
		if d == nil {
			return ""
		}
		for _, res := range d.Resources { // and the lookup agrees with the engine's own Check
			if res.Type != q.Type || q.Namespace != "" && res.Namespace != q.Namespace {
				continue
			}
			creq := &authz.Request{Org: q.Org, Principal: q.Principal, Namespace: res.Namespace, ResourceType: res.Type,
				ResourceID: res.ID, Action: q.Action, Context: q.Context, OnBehalfOf: q.OnBehalfOf, Now: q.Now}
			in := slices.Contains(got, authz.ResourceRef{Namespace: res.Namespace, Type: res.Type, ID: res.ID})
			c := sut.Check(creq)
			if (c.Allowed || c.ApprovalRequired) != in {
				allowed := c.Allowed || c.ApprovalRequired
				return fmt.Sprintf("the engine's Check says %v for %s/%s/%s, which its lookup %s", allowed,
					res.Namespace, res.Type, res.ID, map[bool]string{true: "returns", false: "omits"}[in])
			}
			if isMarked := slices.Contains(marked, authz.ResourceRef{Namespace: res.Namespace, Type: res.Type, ID: res.ID}); isMarked != c.ApprovalRequired {
				return fmt.Sprintf("the engine's Check says approval required %v for %s/%s/%s, its lookup marks it %v",
					c.ApprovalRequired, res.Namespace, res.Type, res.ID, isMarked)
			}
		}
		return ""
	}
}

func (h *harness) compareLookupSubjects(req *authz.Request) {
	h.stats.lookupsS++
	q := authz.LookupSubjectsRequest{Org: req.Org, Namespace: req.Namespace, Type: req.ResourceType, ID: req.ResourceID,
		Action: req.Action, Context: req.Context, Now: req.Now}
	h.try("LookupSubjects", req, h.lookupSubjectsProbe(q))
	if h.chance(0.5) {
		q.IncludeConditional = true
		h.try("LookupSubjects(conditional)", req, h.conditionalSubjectsProbe(q))
	}
}

// lookupSubjectsProbe compares a subject lookup with the reference and with
// the engine's own Check, and checks each Via team holds the subject.
func (h *harness) lookupSubjectsProbe(q authz.LookupSubjectsRequest) probe {
	return func(w world, sut decider) string {
		want := h.ref.LookupSubjects(w, q)
		subs, rev, err := sut.LookupSubjects(q)
		d := w[q.Org]
		if err != nil {
			ns := q.Namespace
			if ns == "" {
				ns = authz.DefaultNamespace
			}
			unknownResource := d != nil && q.ID != "" && findResource(d, ns, q.Type, q.ID) == nil
			switch {
			case !errors.Is(err, authz.ErrNotFound) && !errors.Is(err, authz.ErrInvalid):
				return fmt.Sprintf("LookupSubjects error %v wraps neither ErrNotFound nor ErrInvalid", err)
			case unknownResource:
			case len(want) > 0 || lookupIsClear(w, q.Org, "-", ns, q.Type, q.Action, q.Now):
				return fmt.Sprintf("LookupSubjects error %v for query %+v; the reference finds %v", err, q, want)
			}
			return ""
		}
		if rev != sut.Revision() {
			return fmt.Sprintf("LookupSubjects answered at revision %d, want %d", rev, sut.Revision())
		}
		var got []string
		for _, s := range subs {
			if s.ApprovalRequired {
				got = append(got, s.Principal+"?")
			} else {
				got = append(got, s.Principal)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Sprintf("LookupSubjects(%+v) differs from the reference (-reference +engine):\n%s", q, diff)
		}
		for _, s := range subs {
			creq := &authz.Request{Org: q.Org, Principal: s.Principal, Namespace: q.Namespace, ResourceType: q.Type,
				ResourceID: q.ID, Action: q.Action, Context: q.Context, Now: q.Now}
			if c := sut.Check(creq); c.Allowed == s.ApprovalRequired || c.ApprovalRequired != s.ApprovalRequired {
				return fmt.Sprintf("subject %s is listed (approval required: %v) but the engine's Check says allowed=%v approval=%v",
					s.Principal, s.ApprovalRequired, c.Allowed, c.ApprovalRequired)
			}
			teams := subjectsOf(d, s.Principal)[1:]
			for _, v := range s.Via {
				if strings.HasPrefix(v, authz.KindRole+":") {
					// a share made to a role: the reference must grant through it
					if !slices.ContainsFunc(h.ref.Check(w, creq).Grants, func(b authz.Binding) bool { return b.Principal == v }) {
						return fmt.Sprintf("subject %s is listed via %q, which grants it nothing in the reference", s.Principal, v)
					}
					continue
				}
				if !slices.Contains(teams, v) && !slices.Contains(teams, "team:"+v) {
					return fmt.Sprintf("subject %s is listed via %q, a team it is not in (%v)", s.Principal, v, teams)
				}
			}
		}
		return ""
	}
}

// compareAdmin compares Permissions, HighestLevel and Missing for the
// request's principal (DESIGN §1.2 inputs).
func (h *harness) compareAdmin(req *authz.Request) {
	r := h.r
	org, principal := req.Org, req.Principal
	d := h.w[org]
	h.stats.perms++
	if !h.try("Permissions", req, h.permissionsProbe(org, principal, req.Namespace)) {
		return
	}

	scopes := []authz.Scope{{}}
	if d != nil {
		for _, ns := range append([]string{authz.DefaultNamespace, "nope"}, d.Namespaces...) {
			scopes = append(scopes, authz.Scope{Namespace: ns})
		}
		for _, res := range d.Resources {
			scopes = append(scopes, authz.Scope{Namespace: res.Namespace, Type: res.Type, ID: res.ID})
		}
		for _, b := range d.Bindings { // including resources that no longer exist
			if b.Scope.ID != "" {
				scopes = append(scopes, b.Scope)
			}
		}
	}
	s := pick(r, scopes)
	subject := principal
	if d != nil && len(d.Teams) > 0 && h.chance(0.15) {
		subject = "team:" + pick(r, d.Teams).Slug // the target of a team binding
	}
	// An instant before, at and after each kind of instant the harness
	// makes (genExpiry, genLifecycle and its settings).
	after := pick(r, []time.Time{{}, t0.Add(-200 * 24 * time.Hour), t0.Add(-80 * 24 * time.Hour), t0.Add(-time.Hour),
		t0, t0.Add(-time.Nanosecond), t0.Add(time.Hour), t0.Add(40 * 24 * time.Hour)})
	h.stats.levels++
	if !h.try("HighestLevel", req, func(w world, sut decider) string {
		if want, got := h.ref.HighestLevel(w, org, subject, s), sut.HighestLevel(org, subject, s); got != want {
			return fmt.Sprintf("HighestLevel(%q, %q, %s) = %d, the reference says %d", org, subject, s, got, want)
		}
		if want, got := h.ref.HighestLevelHeld(w, org, subject, s), sut.HighestLevelHeld(org, subject, s); got != want {
			return fmt.Sprintf("HighestLevelHeld(%q, %q, %s) = %d, the reference says %d", org, subject, s, got, want)
		}
		if want, got := h.ref.ResourceScopesHeld(w, org, subject), sut.ResourceScopesHeld(org, subject); !slices.Equal(got, want) {
			return fmt.Sprintf("ResourceScopesHeld(%q, %q) = %v, the reference says %v", org, subject, got, want)
		}
		if want, got := h.ref.NextClockChange(w, org, subject, after), sut.NextClockChange(org, subject, after); !got.Equal(want) {
			return fmt.Sprintf("NextClockChange(%q, %q, %s) = %s, the reference says %s", org, subject, after, got, want)
		}
		return ""
	}) {
		return
	}

	h.stats.missings++
	var wantPerms []policy.Permission
	for range 1 + r.IntN(4) {
		p := policy.Permission{Resource: pick(r, polTypes), Action: pick(r, polActions)}
		switch r.IntN(8) {
		case 0:
			p.Resource = "*"
		case 1:
			p.Action = "*"
		case 2:
			p.Resource = pick(r, ghostTypes)
		}
		wantPerms = append(wantPerms, p)
	}
	h.try("Missing", req, func(w world, sut decider) string {
		want := h.ref.Missing(w, org, subject, s, wantPerms)
		got := sut.Missing(org, subject, s, wantPerms)
		if len(want) == 0 {
			want = nil
		}
		if len(got) == 0 {
			got = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Sprintf("Missing(%q, %q, %s, %v) differs from the reference (-reference +engine):\n%s", org, subject, s, wantPerms, diff)
		}
		return ""
	})
}

func (h *harness) permissionsProbe(org, principal, ns string) probe {
	return func(w world, sut decider) string {
		want, isMember := h.ref.Permissions(w, org, principal, ns)
		grants, rev, err := sut.Permissions(org, principal, ns)
		switch {
		case err != nil && (isMember || !errors.Is(err, authz.ErrNotFound) && !errors.Is(err, authz.ErrInvalid)):
			return fmt.Sprintf("Permissions(%q, %q, %q): error %v", org, principal, ns, err)
		case err != nil:
			return ""
		case rev != sut.Revision():
			return fmt.Sprintf("Permissions answered at revision %d, want %d", rev, sut.Revision())
		case !slices.IsSortedFunc(grants, func(a, b authz.Grant) int { return comparePerms(a.Permission, b.Permission) }):
			return fmt.Sprintf("Permissions(%q, %q, %q) is not sorted: %v", org, principal, ns, grants)
		}
		got := normalizeGrants(grants)
		if !isMember {
			want = map[policy.Permission]refGrant{}
		}
		if agentHasConditional(w[org], principal) {
			// The conditions listed for an agent's conditional permission
			// combine binding and rule conditions: compare patterns only.
			got, want = patternsOnly(got), patternsOnly(want)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Sprintf("Permissions(%q, %q, %q) differs from the reference (-reference +engine):\n%s", org, principal, ns, diff)
		}
		return ""
	}
}

func agentHasConditional(d *authz.OrgData, principal string) bool {
	name, ok := strings.CutPrefix(principal, "agent:")
	if d == nil || !ok {
		return false
	}
	a, ok := d.Policy.Agent(name)
	return ok && len(reference{}.conditionalOf(d.Policy, a)) > 0
}

func patternsOnly(m map[policy.Permission]refGrant) map[policy.Permission]refGrant {
	out := map[policy.Permission]refGrant{}
	for p := range m {
		out[p] = refGrant{}
	}
	return out
}

// ---------------------------------------------------------------------------
// Reports.

func (h *harness) report(m *mismatch) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MISMATCH in %s — seed %d world %d (replay: GATEHOUSE_DIFF_SEED=%d GATEHOUSE_DIFF_WORLD=%d go test ./authz -run 'TestDifferential$')\n",
		m.what, h.seed, h.idx, h.seed, h.idx)
	if h.ref.mut != refOK {
		fmt.Fprintf(&b, "(against a reference with the deliberate mistake %q)\n", h.ref.mut)
	}
	if m.req != nil {
		fmt.Fprintf(&b, "request: %s\n", describeRequest(m.req))
	}
	b.WriteString(m.detail)
	b.WriteString("\n")
	w := m.w
	if m.probe != nil {
		if small, detail, ok := h.shrink(m.w, m.probe); ok {
			w = small
			fmt.Fprintf(&b, "shrunk to the minimal world below, which still disagrees on a fresh engine:\n%s\n", detail)
		} else {
			b.WriteString("does NOT reproduce on a fresh engine loaded with this data: suspect incremental Apply (recent changes below)\n")
		}
	}
	if m.req != nil && m.req.Principal != "" {
		want := h.ref.Check(w, m.req)
		fmt.Fprintf(&b, "reference Check: allowed=%v obligations=%v advice=%v via bindings %v\n", want.Allowed, want.Obligations, want.Advice, bindingIDs(want.Grants))
		if sut, err := h.load(w); err == nil {
			fmt.Fprintf(&b, "engine Check:    %+v\n", viewOf(sut.Check(m.req)))
			fmt.Fprintf(&b, "engine explains: %s\n", sut.Explain(m.req).Summary)
		}
	}
	if len(h.history) > 0 {
		fmt.Fprintf(&b, "recent changes:\n  %s\n", strings.Join(h.history, "\n  "))
	}
	b.WriteString(h.describeWorld(w, m.req))
	return b.String()
}

func bindingIDs(bs []authz.Binding) []string {
	var ids []string
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	return ids
}

// load builds a fresh decider holding exactly w.
func (h *harness) load(w world) (decider, error) {
	sut := h.newSUT()
	var rev uint64
	for _, org := range sortedKeys(w) {
		rev++
		if err := sut.Apply(rev, authz.Change{Org: org, Op: authz.OpPutOrg, Data: w[org]}); err != nil {
			return nil, err
		}
	}
	return sut, nil
}

// disagreement re-runs p on a fresh engine holding w ("" if they agree or
// the engine will not load w).
func (h *harness) disagreement(w world, p probe) string {
	sut, err := h.load(w)
	if err != nil {
		return ""
	}
	return p(w, sut)
}

// shrink removes orgs, bindings, teams, members, principals, resources and
// namespaces one at a time while the disagreement persists on a fresh
// engine; ok is false if it does not reproduce on a fresh engine at all.
func (h *harness) shrink(w world, p probe) (small world, detail string, ok bool) {
	detail = h.disagreement(w, p)
	if detail == "" {
		return w, "", false
	}
	for progress := true; progress; {
		progress = false
		for _, cand := range shrinkCandidates(w) {
			if d := h.disagreement(cand, p); d != "" {
				w, detail, progress = cand, d, true
				break
			}
		}
	}
	return w, detail, true
}

func shrinkCandidates(w world) []world {
	var out []world
	with := func(org string, d authz.OrgData) {
		nw := maps.Clone(w)
		nw[org] = &d
		out = append(out, nw)
	}
	for _, org := range sortedKeys(w) {
		nw := maps.Clone(w)
		delete(nw, org)
		out = append(out, nw)
	}
	for _, org := range sortedKeys(w) {
		d := *w[org]
		for i := range d.Bindings {
			c := d
			c.Bindings = slices.Delete(slices.Clone(d.Bindings), i, i+1)
			with(org, c)
		}
		for i, t := range d.Teams {
			c := d
			c.Teams = slices.Delete(slices.Clone(d.Teams), i, i+1)
			with(org, c)
			for j := range t.Members {
				c := d
				c.Teams = slices.Clone(d.Teams)
				c.Teams[i].Members = slices.Delete(slices.Clone(t.Members), j, j+1)
				with(org, c)
			}
		}
		for i := range d.Principals {
			c := d
			c.Principals = slices.Delete(slices.Clone(d.Principals), i, i+1)
			with(org, c)
		}
		for i := range d.Resources {
			c := d
			c.Resources = slices.Delete(slices.Clone(d.Resources), i, i+1)
			with(org, c)
		}
		for i := range d.Namespaces {
			c := d
			c.Namespaces = slices.Delete(slices.Clone(d.Namespaces), i, i+1)
			with(org, c)
		}
	}
	return out
}

func describeRequest(r *authz.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "org=%q principal=%q %s:%s on ns=%q id=%q", r.Org, r.Principal, r.ResourceType, r.Action, r.Namespace, r.ResourceID)
	if r.OnBehalfOf != "" {
		fmt.Fprintf(&b, " on-behalf-of=%q", r.OnBehalfOf)
	}
	if r.Now.IsZero() {
		b.WriteString(" now=<clock>")
	} else {
		fmt.Fprintf(&b, " now=%s", r.Now.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, " context=%v", r.Context)
	return b.String()
}

func describeBinding(b authz.Binding) string {
	s := b.ID + " " + b.Principal
	if b.Role != "" {
		s += " role=" + b.Role
	}
	if len(b.Actions) > 0 {
		s += " actions=" + strings.Join(b.Actions, ",")
	}
	s += " @" + b.Scope.String()
	if b.Condition != "" {
		s += " when " + b.Condition
	}
	if !b.ExpiresAt.IsZero() {
		s += " until " + b.ExpiresAt.Format(time.RFC3339)
	}
	return s
}

func describeBatch(batch []authz.Change) string {
	var parts []string
	for _, c := range batch {
		var s string
		switch c.Op {
		case authz.OpPutBinding:
			s = "put binding " + describeBinding(c.Binding)
		case authz.OpDeleteBinding:
			s = "delete binding " + c.ID
		case authz.OpPutPrincipal:
			s = fmt.Sprintf("put principal %q role=%q expires=%v attrs=%v", c.Principal.ID, c.Principal.Role, c.Principal.ExpiresAt, c.Principal.Attributes)
		case authz.OpDeletePrincipal:
			s = "delete principal " + c.ID
		case authz.OpPutTeam:
			s = fmt.Sprintf("put team %q %v", c.Team.Slug, c.Team.Members)
		case authz.OpDeleteTeam:
			s = "delete team " + c.ID
		case authz.OpPutResource:
			s = fmt.Sprintf("put resource %s/%s/%s labels=%v attrs=%v", c.Resource.Namespace, c.Resource.Type, c.Resource.ID, c.Resource.Labels, c.Resource.Attributes)
		case authz.OpDeleteResource:
			s = fmt.Sprintf("delete resource %s/%s/%s", c.Resource.Namespace, c.Resource.Type, c.Resource.ID)
		case authz.OpPutNamespace:
			s = fmt.Sprintf("put namespace %q", c.ID)
		case authz.OpDeleteNamespace:
			s = fmt.Sprintf("delete namespace %q", c.ID)
		case authz.OpSetPolicy:
			s = "set policy"
		case authz.OpPutOrg:
			s = "put org"
		case authz.OpDeleteOrg:
			s = "delete org"
		default:
			s = fmt.Sprintf("op %d", c.Op)
		}
		parts = append(parts, fmt.Sprintf("[%q] %s", c.Org, s))
	}
	return strings.Join(parts, "; ")
}

func (h *harness) describeWorld(w world, req *authz.Request) string {
	var b strings.Builder
	for _, org := range sortedKeys(w) {
		d := w[org]
		fmt.Fprintf(&b, "org %q: namespaces default %s\n", org, strings.Join(d.Namespaces, " "))
		for _, p := range d.Principals {
			fmt.Fprintf(&b, "  principal %s", p.ID)
			if p.Role != "" {
				fmt.Fprintf(&b, " role=%s", p.Role)
			}
			if !p.ExpiresAt.IsZero() {
				fmt.Fprintf(&b, " expires=%s", p.ExpiresAt.Format(time.RFC3339))
			}
			if len(p.Attributes) > 0 {
				fmt.Fprintf(&b, " attrs=%v", p.Attributes)
			}
			b.WriteString("\n")
		}
		for _, t := range d.Teams {
			fmt.Fprintf(&b, "  team %s = %v\n", t.Slug, t.Members)
		}
		for _, bd := range d.Bindings {
			fmt.Fprintf(&b, "  binding %s\n", describeBinding(bd))
		}
		for _, r := range d.Resources {
			fmt.Fprintf(&b, "  resource %s/%s/%s labels=%v attrs=%v\n", r.Namespace, r.Type, r.ID, r.Labels, r.Attributes)
		}
		if req == nil || req.Org == org {
			src := h.src[d.Policy]
			fmt.Fprintf(&b, "  policy:\n    | %s\n", strings.ReplaceAll(strings.TrimSpace(src), "\n", "\n    | "))
		}
	}
	return b.String()
}
