package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// SecretOpener opens the current value of a secret of the namespace of
// server (the mcp_servers resource being imported) for the server's own
// use on actor's behalf (the vault's OpenForUse, which audits the use).
// It authorizes nothing: the importer calls it only after the directory
// has accepted the spec that references the secret from the same actor.
type SecretOpener func(ctx context.Context, actor directory.Actor, org string, server authz.ResourceRef, name string) ([]byte, error)

// Importer records MCP servers and their tools.
type Importer struct {
	Dir *directory.Directory
	// Open opens credentials; nil refuses any request with a credential.
	Open SecretOpener
	// Client is the HTTP client for upstreams (nil: a default client).
	Client *http.Client
	// Timeout bounds connecting to and listing an upstream (default 15s).
	Timeout time.Duration
}

// Request is one import.
type Request struct {
	Namespace       string
	Name            string
	URL             string
	Credential      *Credential
	WaitForApproval string
	DryRun          bool
}

// Result is an import's outcome.
type Result struct {
	Server store.Resource // the server's resource (its version; unchanged by a dry run)
	Spec   ServerSpec     // the server's spec as written
	Diff   Diff
	Tools  int    // the server's tools after the import
	Wrote  bool   // something was written (false: a dry run, or nothing changed)
	Rev    uint64 // the write's revision; the directory's current one when nothing was written
}

// stored is a server's tools as the directory holds them.
type storedTool struct {
	spec    ToolSpec
	version uint64
}

// Stored reads the server's tools from the directory as actor sees them:
// every tools resource of ns whose id starts with "<server>.", by id.
func (im *Importer) stored(ctx context.Context, actor directory.Actor, org, ns, server string) (map[string]storedTool, error) {
	out := map[string]storedTool{}
	var ids []string
	p := store.Page{Size: store.MaxPageSize}
	for {
		rs, next, err := im.Dir.ListResources(ctx, actor, org, directory.ResourceFilter{Namespace: ns, Type: ToolType}, p)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if strings.HasPrefix(r.ID, server+".") {
				ids = append(ids, r.ID)
			}
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	for _, id := range ids {
		r, err := im.Dir.GetResource(ctx, actor, org, authz.ResourceRef{Namespace: ns, Type: ToolType, ID: id})
		if errors.Is(err, directory.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		var spec ToolSpec
		_ = json.Unmarshal(r.Spec, &spec) // a spec edited by hand into another shape differs in every member
		out[id] = storedTool{spec: spec, version: r.Version}
	}
	return out, nil
}

// Import connects to the server, lists its tools and records the server
// and its tools in one directory write (or, with DryRun, only answers the
// diff). The actor must be allowed to write the server's spec before
// anything is sent upstream; the writes are authorized and audited by the
// directory.
func (im *Importer) Import(ctx context.Context, actor directory.Actor, org string, req Request) (Result, error) {
	if err := CheckServerName(req.Name); err != nil {
		return Result{}, err
	}
	spec := ServerSpec{URL: req.URL, Credential: req.Credential, WaitForApproval: req.WaitForApproval}
	if spec.Credential != nil {
		c := *spec.Credential
		spec.Credential = &c
	}
	if err := spec.Normalize(); err != nil {
		return Result{}, err
	}
	if spec.Credential != nil && im.Open == nil {
		return Result{}, invalid("credential", "this server has no vault: an MCP server credential cannot be used")
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return Result{}, err
	}
	ref := authz.ResourceRef{Namespace: req.Namespace, Type: ServerType, ID: req.Name}
	if _, err := im.Dir.GetNamespace(ctx, actor, org, req.Namespace); err != nil {
		return Result{}, err // 404 for a namespace of another org as for none
	}

	// The server as stored, and the write of its spec.
	// A caller who may not read it is refused the read whether or not it
	// exists (no existence oracle); the write below then asks for
	// create, as it does for a server that is not there.
	cur, err := im.Dir.GetResource(ctx, actor, org, ref)
	exists := err == nil
	if err != nil && !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrForbidden) {
		return Result{}, err
	}
	serverWrite := directory.ResourceWrite{Kind: directory.ResourceCreate,
		Resource: directory.ResourceSpec{Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID, Spec: specJSON}}
	if exists {
		serverWrite.Kind = directory.ResourceUpdate
		serverWrite.IfVersion = cur.Version
	}
	// Authorized to write this spec (URL and credential) before anything
	// is sent anywhere.
	if _, _, err := im.Dir.WriteResources(ctx, actor, org, []directory.ResourceWrite{serverWrite}, true); err != nil {
		return Result{}, err
	}

	stored, err := im.stored(ctx, actor, org, req.Namespace, req.Name)
	if err != nil {
		return Result{}, err
	}

	up := Upstream{URL: spec.URL, Client: im.Client, Timeout: im.Timeout}
	if c := spec.Credential; c != nil {
		v, err := im.Open(ctx, actor, org, ref, c.Secret)
		if err != nil {
			return Result{}, err
		}
		up.Header = c.Header
		up.Value = strings.Replace(c.Format, valueMark, string(v), 1)
		up.Redact = []string{string(v)}
		clear(v)
		if strings.ContainsAny(up.Value, "\r\n\x00") {
			return Result{}, invalid("credential", "secret %q holds a value that cannot be sent in an HTTP header", c.Secret)
		}
	}
	tools, err := up.ListTools(ctx)
	up.Value, up.Redact = "", nil
	if err != nil {
		return Result{}, err
	}
	next, err := Translate(req.Name, tools)
	if err != nil {
		var ue *UpstreamError
		if errors.As(err, &ue) {
			ue.URL = spec.URL
		}
		return Result{}, err
	}

	old := make(map[string]ToolSpec, len(stored))
	for id, s := range stored {
		old[id] = s.spec
	}
	diff := DiffTools(old, next)

	// The writes: the server when new or changed, then the tools.
	var ws []directory.ResourceWrite
	if !exists || !bytes.Equal(canonical(cur.Spec), canonical(specJSON)) {
		ws = append(ws, serverWrite)
	}
	ids := make([]string, 0, len(next))
	for id := range next {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := next[id]
		b, err := json.Marshal(n)
		if err != nil {
			return Result{}, err
		}
		rs := directory.ResourceSpec{Namespace: req.Namespace, Type: ToolType, ID: id, Spec: b}
		o, ok := stored[id]
		switch {
		case !ok:
			ws = append(ws, directory.ResourceWrite{Kind: directory.ResourceCreate, Resource: rs})
		case len(changedFields(o.spec, n)) > 0:
			ws = append(ws, directory.ResourceWrite{Kind: directory.ResourceUpdate, Resource: rs, IfVersion: o.version})
		}
	}
	gone := make([]string, 0)
	for id := range stored {
		if _, ok := next[id]; !ok {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		ws = append(ws, directory.ResourceWrite{Kind: directory.ResourceDelete, IfVersion: stored[id].version,
			Resource: directory.ResourceSpec{Namespace: req.Namespace, Type: ToolType, ID: id}})
	}

	res := Result{Spec: spec, Diff: diff, Tools: len(next), Server: cur}
	if !exists {
		res.Server = store.Resource{Resource: authz.Resource{Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID}, Org: org}
	}
	res.Server.Spec = specJSON
	if len(ws) == 0 {
		res.Rev = im.Dir.Revision()
		return res, nil
	}
	// A dry run authorizes every change too: it answers what the import
	// would do, or why it would be refused.
	out, rev, err := im.Dir.WriteResources(ctx, actor, org, ws, req.DryRun)
	if err != nil {
		return Result{}, err
	}
	if req.DryRun {
		res.Rev = im.Dir.Revision()
		return res, nil
	}
	if ws[0].Resource.Type == ServerType {
		res.Server = out[0]
	}
	res.Wrote, res.Rev = true, rev
	return res, nil
}

// ServerInfo is a registered server with its tool count.
type ServerInfo struct {
	Resource store.Resource
	Spec     ServerSpec // URL and WaitForApproval; Credential only for a reader who sees secret references
	Tools    int
}

// List lists the MCP servers of ns that actor may read, with the number of
// their tools actor may read.
func (im *Importer) List(ctx context.Context, actor directory.Actor, org, ns string) ([]ServerInfo, error) {
	if _, err := im.Dir.GetNamespace(ctx, actor, org, ns); err != nil {
		return nil, err
	}
	var out []ServerInfo
	counts := map[string]int{}
	for _, typ := range []string{ServerType, ToolType} {
		p := store.Page{Size: store.MaxPageSize}
		for {
			rs, next, err := im.Dir.ListResources(ctx, actor, org, directory.ResourceFilter{Namespace: ns, Type: typ}, p)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if typ == ToolType {
					if server, _, ok := strings.Cut(r.ID, "."); ok {
						counts[server]++
					}
					continue
				}
				out = append(out, ServerInfo{Resource: r})
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
	}
	for i := range out {
		r, err := im.Dir.GetResource(ctx, actor, org, out[i].Resource.Ref())
		if err != nil {
			if errors.Is(err, directory.ErrNotFound) {
				continue
			}
			return nil, err
		}
		out[i].Resource = r
		var s ServerSpec
		_ = json.Unmarshal(r.Spec, &s)
		if len(s.Secrets) == 0 {
			// The reader does not see secret references (no secrets:list):
			// nor the credential's secret name.
			s.Credential = nil
		}
		out[i].Spec = s
		out[i].Tools = counts[r.ID]
	}
	return out, nil
}
