package console

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func (c *Console) resourceRoutes() {
	m := c.mux
	org := Prefix + "orgs/{org}/"
	m.HandleFunc("GET "+org+"resources", c.inOrg(c.resourcesPage))
	m.HandleFunc("GET "+org+"resources/{ns}/{type}/{id}", c.inOrg(c.resourcePage))
	m.HandleFunc("GET "+org+"playground", c.inOrg(c.playground))
}

// --- resources

type resourcesData struct {
	Namespace  string
	Type       string
	Namespaces []store.Namespace
	Resources  []store.Resource
	Next       string
}

func (c *Console) resourcesPage(w http.ResponseWriter, r *http.Request, q *req) {
	ctx := r.Context()
	qs := r.URL.Query()
	d := resourcesData{Namespace: qs.Get("namespace"), Type: qs.Get("type")}
	if d.Namespace == "" {
		d.Namespace = authz.DefaultNamespace
	}
	rs, next, err := c.dir.ListResources(ctx, q.actor, q.org.ID, directory.ResourceFilter{Namespace: d.Namespace, Type: d.Type}, store.Page{Size: pageSize, Cursor: qs.Get("cursor")})
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	d.Resources, d.Next = rs, next
	d.Namespaces, _, _ = c.dir.ListNamespaces(ctx, q.actor, q.org.ID, store.Page{Size: 100})
	p := c.orgPage(r, q, "Resources")
	p.Data = d
	c.render(w, r, http.StatusOK, "resources", p)
}

type resourceData struct {
	Resource store.Resource
	Spec     string
	Versions []store.ResourceVersion
	From, To uint64
	Diff     []store.DiffEntry
	Shares   []store.Binding
	Actions  []string // the type's actions, for the who-can links
	WhoCan   []whoCan // the selected action's
}

type whoCan struct {
	Action   string
	Subjects []authz.Subject // the first maxSubjects
	More     int             // how many more (the playground lists them)
	Err      string
}

// maxSubjects bounds the principals a who-can cell names; the rest are
// counted, and the playground's who-can lists more.
const maxSubjects = 25

// maxPlaygroundSubjects bounds the playground's who-can answer.
const maxPlaygroundSubjects = 500

// capSubjects keeps the first n subjects and counts the others.
func capSubjects(s []authz.Subject, n int) ([]authz.Subject, int) {
	if len(s) <= n {
		return s, 0
	}
	return s[:n], len(s) - n
}

func (c *Console) resourcePage(w http.ResponseWriter, r *http.Request, q *req) {
	ctx := r.Context()
	ref := authz.ResourceRef{Namespace: r.PathValue("ns"), Type: r.PathValue("type"), ID: r.PathValue("id")}
	res, err := c.dir.GetResource(ctx, q.actor, q.org.ID, ref)
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	d := resourceData{Resource: res, Spec: string(res.Spec)}
	if vs, _, err := c.dir.ListResourceVersions(ctx, q.actor, q.org.ID, ref, store.Page{Size: pageSize}); err == nil {
		d.Versions = vs
	}
	d.To, _ = strconv.ParseUint(r.URL.Query().Get("to"), 10, 64)
	d.From, _ = strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	if d.To == 0 {
		d.To = res.Version
	}
	if d.From == 0 && d.To > 1 {
		d.From = d.To - 1
	}
	if d.From > 0 && d.From < d.To {
		d.Diff, _ = c.dir.DiffResourceVersions(ctx, q.actor, q.org.ID, ref, d.From, d.To)
	}
	// Sharing: the bindings at this resource's scope, for those who may
	// list the namespace's bindings.
	if bs, _, err := c.dir.ListBindings(ctx, q.actor, q.org.ID, directory.BindingFilter{Namespace: ref.Namespace}, store.Page{Size: store.MaxPageSize}); err == nil {
		for _, b := range bs {
			if b.Scope.Type == ref.Type && b.Scope.ID == ref.ID {
				d.Shares = append(d.Shares, b)
			}
		}
	}
	// Who can: one action at a time (a lookup over every member is the
	// page's dearest part), the others a click away.
	d.Actions = c.actionsOf(r, q, ref.Type)
	sel := r.URL.Query().Get("who")
	if !slices.Contains(d.Actions, sel) {
		sel = d.Actions[0]
		if slices.Contains(d.Actions, "read") {
			sel = "read"
		}
	}
	for _, a := range []string{sel} {
		wc := whoCan{Action: a}
		subs, _, err := c.dir.LookupSubjects(ctx, q.actor, authz.LookupSubjectsRequest{Org: q.org.ID, Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID, Action: a}, 0)
		if err != nil {
			_, wc.Err = sentence(err)
		}
		wc.Subjects, wc.More = capSubjects(subs, maxSubjects)
		d.WhoCan = append(d.WhoCan, wc)
	}
	p := c.orgPage(r, q, ref.Type+"/"+ref.ID)
	p.Current = orgPath(q.org.ID) + "resources"
	p.Data = d
	c.render(w, r, http.StatusOK, "resource", p)
}

// actionsOf lists the actions the org's roles name on a type (no
// wildcards), for the who-can table; "read" when none can be listed.
func (c *Console) actionsOf(r *http.Request, q *req, typ string) []string {
	seen := map[string]bool{}
	if rs, err := c.dir.ListRoles(r.Context(), q.actor, q.org.ID); err == nil {
		for _, ro := range rs {
			for _, p := range ro.Permissions {
				if res, act, ok := strings.Cut(p, ":"); ok && res == typ && act != "*" {
					seen[act] = true
				}
			}
		}
	}
	if len(seen) == 0 {
		return []string{"read"}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// --- the decision playground

type playgroundData struct {
	Mode                                 string // check, explain, who-can, what-can
	Principal, Action, Namespace, Target string // Target: "type/id" or "type"
	Ran                                  bool
	Allowed                              bool
	Summary                              string
	Subjects                             []authz.Subject
	MoreSubjects                         int
	Resources                            []authz.ResourceRef
	Grants                               []authz.Grant
}

// playground answers check, explain, who-can and what-can through the
// directory (which decides who may ask); a GET, since it changes nothing.
func (c *Console) playground(w http.ResponseWriter, r *http.Request, q *req) {
	ctx := r.Context()
	qs := r.URL.Query()
	d := playgroundData{Mode: qs.Get("mode"), Principal: qs.Get("principal"), Action: qs.Get("action"), Namespace: qs.Get("namespace"), Target: qs.Get("resource")}
	if d.Namespace == "" {
		d.Namespace = authz.DefaultNamespace
	}
	if d.Principal == "" {
		d.Principal = q.caller.Principal
	}
	p := c.orgPage(r, q, "Decision playground")
	status := http.StatusOK
	if d.Mode != "" {
		typ, id, _ := strings.Cut(d.Target, "/")
		action := d.Action
		if res, act, ok := strings.Cut(d.Action, ":"); ok {
			typ, action = res, act
		}
		req := authz.Request{Org: q.org.ID, Principal: d.Principal, Namespace: d.Namespace, ResourceType: typ, ResourceID: id, Action: action}
		var err error
		switch d.Mode {
		case "check":
			var dec authz.Decision
			dec, err = c.dir.Check(ctx, q.actor, req, 0)
			d.Allowed = dec.Allowed
		case "explain":
			var ex authz.Explanation
			ex, err = c.dir.Explain(ctx, q.actor, req, 0)
			d.Allowed, d.Summary = ex.Decision.Allowed, ex.Summary
		case "who-can":
			d.Subjects, _, err = c.dir.LookupSubjects(ctx, q.actor, authz.LookupSubjectsRequest{Org: q.org.ID, Namespace: d.Namespace, Type: typ, ID: id, Action: action}, 0)
			d.Subjects, d.MoreSubjects = capSubjects(d.Subjects, maxPlaygroundSubjects)
		case "what-can":
			var pg authz.LookupResourcesPage
			pg, err = c.dir.LookupResources(ctx, q.actor, authz.LookupResourcesRequest{Org: q.org.ID, Principal: d.Principal, Type: typ, Action: action, Namespace: d.Namespace, PageSize: pageSize}, 0)
			d.Resources = pg.Resources
		case "permissions":
			d.Grants, _, err = c.dir.Permissions(ctx, q.actor, q.org.ID, d.Principal, d.Namespace, 0)
		default:
			status, p.Error = http.StatusBadRequest, "Choose check, explain, who can or what can."
		}
		if err != nil {
			status, p.Error = sentence(err)
		} else if p.Error == "" {
			d.Ran = true
		}
	}
	p.Data = d
	c.render(w, r, status, "playground", p)
}
