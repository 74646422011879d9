package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

type auditList struct {
	Items      []audit.Entry `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

// TestAuditOverHTTP reads, filters, pages, follows and verifies an org's
// audit log through the API, and records failed authentications.
func TestAuditOverHTTP(t *testing.T) {
	watch := &auditPollWatch{waiting: make(chan struct{}, 1)}
	e := newEnv(t, "sqlite", envOpts{wrap: func(st store.Store) store.Store { watch.Store = st; return watch }})
	w := buildWorld(t, e, "")
	base := "/v1/orgs/" + w.org + "/audit"

	var all auditList
	e.must(200, "GET", base, w.viewer, nil, &all)
	if len(all.Items) < 5 || all.Items[0].Seq != 1 || all.Items[0].Action != "org.create" {
		t.Fatalf("the world's log: %d entries, first %+v", len(all.Items), all.Items)
	}
	head := all.Items[len(all.Items)-1].Seq

	// Pages of 2, newest first, cover the same entries.
	var seen []uint64
	cursor := ""
	for i := 0; i < 100; i++ {
		var page auditList
		e.must(200, "GET", base+"?order=newest&page_size=2&cursor="+url.QueryEscape(cursor), w.owner, nil, &page)
		for _, it := range page.Items {
			seen = append(seen, it.Seq)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != len(all.Items) || seen[0] != head || seen[len(seen)-1] != 1 {
		t.Errorf("newest-first pages = %v", seen)
	}

	// A denied attempt is in the log, findable by result and actor.
	r := e.do("POST", "/v1/orgs/"+w.org+"/namespaces", w.viewer, map[string]any{"name": "nope"})
	if r.Status != http.StatusForbidden {
		t.Fatalf("viewer creates a namespace: %d", r.Status)
	}
	var denied auditList
	e.must(200, "GET", base+"?result=denied&action=namespace.*", w.owner, nil, &denied)
	if len(denied.Items) != 1 || denied.Items[0].Target != "scope/org" || denied.Items[0].Actor.KeyID == "" {
		t.Errorf("denied entries = %+v", denied.Items)
	}
	if r := e.do("GET", base+"?since=yesterday", w.owner, nil); r.Status != http.StatusBadRequest {
		t.Errorf("bad since: %d", r.Status)
	}

	// Follow: a long poll after the head returns the next entry as soon as
	// it is written.
	var (
		wg       sync.WaitGroup
		followed auditList
	)
	last := denied.Items[0].Seq
	watch.after.Store(last)
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.must(200, "GET", base+"?after="+strconv.FormatUint(last, 10)+"&wait=20", w.owner, nil, &followed)
	}()
	// Write only once the poll has found nothing and is waiting, so that
	// the test follows the log rather than reading an entry already there.
	select {
	case <-watch.waiting:
	case <-time.After(guard):
		t.Fatal("the long poll never read the log")
	}
	e.must(201, "POST", "/v1/orgs/"+w.org+"/namespaces", w.owner, map[string]any{"name": "followed"}, nil)
	wg.Wait()
	if len(followed.Items) != 1 || followed.Items[0].Seq != last+1 || followed.Items[0].Action != "namespace.create" {
		t.Errorf("followed = %+v", followed.Items)
	}

	var v server.AuditVerifyResult
	e.must(200, "POST", base+"/verify", w.viewer, nil, &v)
	if !v.OK || v.Report.Last != last+1 {
		t.Errorf("verify = %+v", v)
	}

	// Settings: a viewer reads them and cannot change them.
	var s audit.Settings
	e.must(200, "GET", base+"/settings", w.viewer, nil, &s)
	if s.Decisions != audit.DecisionsOff {
		t.Errorf("default settings = %+v", s)
	}
	if r := e.do("PUT", base+"/settings", w.viewer, audit.Settings{Decisions: audit.DecisionsAll}); r.Status != http.StatusForbidden {
		t.Errorf("viewer changes settings: %d", r.Status)
	}
	e.must(200, "PUT", base+"/settings", w.owner, audit.Settings{Decisions: audit.DecisionsDenies}, nil)

	// Another org's log is not there.
	if r := e.do("GET", "/v1/orgs/globex/audit", w.owner, nil); r.Status != http.StatusNotFound {
		t.Errorf("another org's log: %d", r.Status)
	}
	// A bad credential is recorded in the deployment's log.
	if r := e.do("GET", base, "gh_bogus_key", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("bogus key: %d", r.Status)
	}
	recs, _, err := e.st.ListAudit(ctxT(t), audit.SystemOrg, store.AuditFilter{Action: "auth.failure"}, store.Page{})
	if err != nil || len(recs) != 1 || recs[0].Result != "denied" || strings.Contains(string(recs[0].Body), "bogus") {
		t.Errorf("authentication failures recorded: %+v, %v", recs, err)
	}
}

// auditPollWatch is a store that signals each read of the audit log after
// sequence number `after` that finds nothing: a long poll is then waiting.
type auditPollWatch struct {
	store.Store
	after   atomic.Uint64 // 0: watch nothing
	waiting chan struct{} // buffered; a signal nobody has taken yet is enough
}

func (s *auditPollWatch) ListAudit(ctx context.Context, org string, f store.AuditFilter, p store.Page) ([]store.AuditRecord, string, error) {
	recs, next, err := s.Store.ListAudit(ctx, org, f, p)
	if after := s.after.Load(); after != 0 && f.After == after && err == nil && len(recs) == 0 {
		select {
		case s.waiting <- struct{}{}:
		default:
		}
	}
	return recs, next, err
}

// TestDecisionLoggingOverHTTP: with decision logging on, every decision
// answered over HTTP is in the log — the second asking of a question as
// well as the first (the server answers repeated questions from a cache
// of who may ask), and each item of a batch.
func TestDecisionLoggingOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	base := "/v1/orgs/" + w.org
	count := func(result string) int {
		t.Helper()
		var l auditList
		e.must(200, "GET", base+"/audit?action=decision&page_size=1000&result="+result, w.owner, nil, &l)
		return len(l.Items)
	}
	allowed := map[string]any{"action": "chains:run", "resource": "chains/triage", "namespace": "prod"}
	denied := map[string]any{"action": "chains:delete", "resource": "chains/triage", "namespace": "prod"}

	e.must(200, "PUT", base+"/audit/settings", w.owner, audit.Settings{Decisions: audit.DecisionsAll}, nil)
	for range 3 {
		e.must(200, "POST", base+"/check", w.mkey, allowed, nil)
	}
	e.must(200, "POST", base+"/checks", w.mkey, map[string]any{"checks": []any{allowed, allowed, denied}}, nil)
	if got, want := count("success"), 5; got != want {
		t.Errorf("mode all: %d allowed decisions logged, want %d", got, want)
	}
	if got, want := count("denied"), 1; got != want {
		t.Errorf("mode all: %d denied decisions logged, want %d", got, want)
	}
	// Each names the actor with the roles it holds, as other entries do.
	var l auditList
	e.must(200, "GET", base+"/audit?action=decision", w.owner, nil, &l)
	for _, it := range l.Items {
		if it.Actor.Principal != "user:"+w.memberID || !slices.Contains(it.Actor.Roles, "viewer") || !slices.Contains(it.Actor.Roles, "operator@prod") {
			t.Errorf("decision entry %d: actor %+v, want user:%s with roles viewer and operator@prod", it.Seq, it.Actor, w.memberID)
		}
	}

	e.must(200, "PUT", base+"/audit/settings", w.owner, audit.Settings{Decisions: audit.DecisionsDenies}, nil)
	for range 2 {
		e.must(200, "POST", base+"/check", w.mkey, denied, nil)
		e.must(200, "POST", base+"/check", w.mkey, allowed, nil)
	}
	if got, want := count("denied"), 3; got != want {
		t.Errorf("mode denies: %d denied decisions logged, want %d", got, want)
	}
	if got, want := count("success"), 5; got != want {
		t.Errorf("mode denies: %d allowed decisions logged, want still %d", got, want)
	}
}
