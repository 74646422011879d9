package mcpgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Resource types (DESIGN §9).
const (
	TypeServer = "mcp_servers"
	TypeTool   = "tools"
	// ActionCall is the action a tool call is decided as (tools:call).
	ActionCall = "call"
)

// server is a parsed, checked server spec at one version (the spec is
// internal/mcp's, which the import writes: one parser for both).
type server struct {
	spec    mcpspec.ServerSpec
	version uint64
	header  string
	format  string
	wait    time.Duration
}

var errBadSpec = errors.New("mcpgw: invalid server spec")

func parseServer(raw json.RawMessage, version uint64) (*server, error) {
	sp, err := mcpspec.ParseServerSpec(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSpec, err)
	}
	s := &server{spec: sp, version: version, wait: sp.Wait()}
	if c := sp.Credential; c != nil {
		s.header, s.format = c.Header, c.Format // defaults filled by the parser
	}
	return s, nil
}

// tool is an imported tool: the resource tools/<server>.<tool> and the
// name the upstream knows it by.
type tool struct {
	id       string // resource id, "<server>.<tool>"
	upstream string // the spec's "tool" (default: the id after the server's prefix)
	version  uint64
}

// catalog is an endpoint's server and tools at one engine revision.
type catalog struct {
	rev        uint64
	srv        *server
	srvErr     error // the spec is invalid: every call fails closed
	byUpstream map[string]*tool
}

// catalogs caches each endpoint's catalog; a catalog is rebuilt when the
// directory's revision moves (a tool spec is re-read only when its
// version changed).
type catalogs struct {
	st  store.Store
	dir *directory.Directory

	mu sync.Mutex
	m  map[string]*slot
}

type slot struct {
	mu    sync.Mutex
	cur   *catalog
	tools map[string]*tool // by id, the last specs read
}

func newCatalogs(st store.Store, dir *directory.Directory) *catalogs {
	return &catalogs{st: st, dir: dir, m: map[string]*slot{}}
}

// server returns e's catalog at the current revision; store.ErrNotFound
// when there is no such server.
func (cs *catalogs) server(ctx context.Context, e endpoint) (*catalog, error) {
	rev := cs.dir.Revision()
	cs.mu.Lock()
	sl := cs.m[e.key()]
	if sl == nil {
		sl = &slot{tools: map[string]*tool{}}
		cs.m[e.key()] = sl
	}
	cs.mu.Unlock()
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.cur != nil && sl.cur.rev != rev {
		// Most revisions change nothing of this endpoint, and those that
		// do carry the changed resources: the changelog since the
		// catalog's revision updates it (or says to read it again).
		if c, ok, err := cs.apply(ctx, e, sl, rev); err == nil && ok {
			sl.cur = c
		}
	}
	if sl.cur == nil || sl.cur.rev != rev {
		c, err := cs.load(ctx, e, sl, rev)
		if err != nil {
			return nil, err
		}
		sl.cur = c
	}
	c := sl.cur
	if c.srv == nil && c.srvErr == nil {
		return nil, store.ErrNotFound
	}
	return c, nil
}

// maxChangeScan bounds the changelog read to decide that nothing of an
// endpoint changed; past it the catalog is simply read again.
const maxChangeScan = 2000

// apply brings sl's catalog from its revision to rev with the changelog's
// changes of e's server and tools (their payloads hold the resources,
// specs included). ok is false when it cannot (a namespace or org
// deleted, a changelog too long or not reaching rev): read again.
func (cs *catalogs) apply(ctx context.Context, e endpoint, sl *slot, rev uint64) (*catalog, bool, error) {
	server := e.ns + "/" + TypeServer + "/" + e.server
	tools := e.ns + "/" + TypeTool + "/" + e.server + "."
	var mine []store.Change
	reload := false
	same, err := noChange(ctx, cs.st, sl.cur.rev, rev, func(c store.Change) bool {
		if c.Org != e.org {
			return false
		}
		switch c.Kind {
		case store.KindResourcePut, store.KindResourceDelete:
			if c.Key == server || strings.HasPrefix(c.Key, tools) {
				mine = append(mine, c)
			}
		case store.KindNamespaceDelete, store.KindOrgDelete:
			reload = true
			return true
		}
		return false
	})
	if err != nil || !same || reload {
		return nil, false, err
	}
	c := *sl.cur
	c.rev = rev
	if len(mine) == 0 {
		return &c, true, nil
	}
	for _, ch := range mine {
		v, err := ch.Decode()
		if err != nil {
			return nil, false, err
		}
		r, ok := v.(store.Resource)
		if !ok {
			return nil, false, nil
		}
		del := ch.Kind == store.KindResourceDelete
		switch {
		case r.Type == TypeServer && del:
			c.srv, c.srvErr = nil, nil
		case r.Type == TypeServer:
			c.srv, c.srvErr = parseServer(r.Spec, r.Version)
		case del:
			delete(sl.tools, r.ID)
		default:
			sl.tools[r.ID] = toolOf(e.server, r)
		}
	}
	c.byUpstream = byUpstream(sl.tools)
	return &c, true, nil
}

// byUpstream maps upstream names to tools; of two tools naming the same
// upstream tool, the first by id wins (as a full read does).
func byUpstream(tools map[string]*tool) map[string]*tool {
	ids := make([]string, 0, len(tools))
	for id := range tools {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make(map[string]*tool, len(ids))
	for _, id := range ids {
		t := tools[id]
		if _, dup := out[t.upstream]; t.upstream != "" && !dup {
			out[t.upstream] = t
		}
	}
	return out
}

// noChange reports whether no change from revision from (exclusive) to
// to (inclusive) is relevant; false (read again) when the changelog
// cannot say within maxChangeScan entries.
func noChange(ctx context.Context, st store.Store, from, to uint64, relevant func(store.Change) bool) (bool, error) {
	seen := 0
	for from < to {
		list, err := st.ChangesSince(ctx, from, 500)
		if err != nil {
			return false, err
		}
		if len(list) == 0 {
			return false, nil // the changelog does not reach to
		}
		for _, c := range list {
			if c.Revision > to {
				return true, nil
			}
			from = c.Revision
			if relevant(c) {
				return false, nil
			}
		}
		if seen += len(list); seen > maxChangeScan {
			return false, nil
		}
	}
	return true, nil
}

func (cs *catalogs) load(ctx context.Context, e endpoint, sl *slot, rev uint64) (*catalog, error) {
	c := &catalog{rev: rev, byUpstream: map[string]*tool{}}
	res, err := cs.st.GetResource(ctx, e.org, authz.ResourceRef{Namespace: e.ns, Type: TypeServer, ID: e.server})
	if errors.Is(err, store.ErrNotFound) {
		return c, nil // remembered as absent at this revision
	}
	if err != nil {
		return nil, err
	}
	c.srv, c.srvErr = parseServer(res.Spec, res.Version)
	prefix := e.server + "."
	seen := map[string]bool{}
	p := store.Page{Size: store.MaxPageSize}
	for {
		list, next, err := cs.st.ListResources(ctx, e.org, store.ResourceFilter{Namespace: e.ns, Type: TypeTool}, p)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if !strings.HasPrefix(r.ID, prefix) {
				continue
			}
			seen[r.ID] = true
			t := sl.tools[r.ID]
			if t == nil || t.version != r.Version {
				full, err := cs.st.GetResource(ctx, e.org, r.Ref())
				if errors.Is(err, store.ErrNotFound) {
					continue // deleted since the list
				}
				if err != nil {
					return nil, err
				}
				t = toolOf(e.server, full)
				sl.tools[r.ID] = t
			}
			if t.upstream != "" {
				if _, dup := c.byUpstream[t.upstream]; !dup {
					c.byUpstream[t.upstream] = t
				}
			}
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	for id := range sl.tools {
		if !seen[id] {
			delete(sl.tools, id)
		}
	}
	return c, nil
}

// toolOf reads a tool resource's spec (mcpspec.ParseToolSpec). A spec that
// is invalid or names another server gives a tool with no upstream name:
// never listed, never called.
func toolOf(srv string, r store.Resource) *tool {
	t := &tool{id: r.ID, version: r.Version}
	if sp, err := mcpspec.ParseToolSpec(r.Spec); err == nil && sp.Server == srv {
		t.upstream = sp.Tool
	}
	return t
}
