package console

import (
	"context"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET "+Prefix+"static/", c.static)
	m.HandleFunc("GET "+Prefix+"{$}", c.home)
	m.HandleFunc("GET "+Prefix+"signin", c.signinForm)
	m.HandleFunc("POST "+Prefix+"signin", c.signin)
	m.HandleFunc("POST "+Prefix+"signout", c.signout)
	m.HandleFunc("GET "+Prefix+"link", c.linkForm)
	m.HandleFunc("POST "+Prefix+"link", c.linkSignin)
	m.HandleFunc("GET "+Prefix+"invitation", c.invitationForm)
	m.HandleFunc("POST "+Prefix+"invitation", c.acceptInvitation)
	m.HandleFunc("GET "+Prefix+"switch", c.signedIn(c.switchOrg))
	m.HandleFunc("GET "+Prefix+"orgs/{org}/{$}", c.inOrg(c.overview))
	c.pageRoutes()
	c.auditRoutes()
	c.resourceRoutes()
	c.agentRoutes()
	c.approvalRoutes()
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", &page{Title: "Not found", Error: "There is no such page."})
	})
}

// req is a signed-in request.
type req struct {
	sess   *session
	caller auth.Caller
	actor  directory.Actor
	orgs   []store.Org
	org    *store.Org // set on org pages
}

// clientAddr is the client's address: the server that mounts the console
// has already resolved trusted proxies into RemoteAddr.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// signedIn wraps a handler that needs a session: the session's token is
// authenticated again on every request, and a POST must carry its CSRF
// token.
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *req)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x := c.lookupSession(r)
		if x == nil {
			c.toSignin(w, r)
			return
		}
		if r.Method == http.MethodPost && !c.checkCSRF(r, x) {
			c.forbidden(w, r, "The form was stale or did not come from this console (CSRF check failed); nothing was changed. Reload the page and try again.")
			return
		}
		ctx, cancel := reqCtx(r)
		defer cancel()
		if r.Method == http.MethodPost {
			ctx = withPosted(ctx) // its CSRF token checked: a refusal may show it again
		}
		id, err := c.auth.Authenticate(ctx, x.token, clientAddr(r))
		if err != nil {
			c.sessions.drop(x.id)
			c.setCookie(w, r, sessionCookie, "", x.expires)
			c.toSignin(w, r)
			return
		}
		q := &req{sess: x, caller: auth.Caller{Identity: id, ClientAddr: clientAddr(r), RequestID: "console-" + randomID()[:12]}}
		q.actor = q.caller.Actor()
		orgs, err := c.dir.ListOrgs(ctx, q.actor)
		if err != nil {
			c.fail(w, r, q, err)
			return
		}
		for _, o := range orgs {
			if id.AllowsOrg(o.ID) {
				q.orgs = append(q.orgs, o)
			}
		}
		h(w, r.WithContext(ctx), q)
	}
}

// inOrg wraps a page of one org: an org the principal is not a member of
// (or its credential is not for) is not found.
func (c *Console) inOrg(h func(http.ResponseWriter, *http.Request, *req)) http.HandlerFunc {
	return c.signedIn(func(w http.ResponseWriter, r *http.Request, q *req) {
		org := r.PathValue("org")
		for i := range q.orgs {
			if q.orgs[i].ID == org {
				q.org = &q.orgs[i]
				h(w, r, q)
				return
			}
		}
		c.render(w, r, http.StatusNotFound, "error", c.basePage(r, q, "Not found", "There is no org "+org+" here."))
	})
}

func (c *Console) toSignin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		http.Redirect(w, r, Prefix+"signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusUnauthorized, "error", &page{Title: "Signed out", Error: "You are not signed in (or your session ended); nothing was changed."})
}

// home sends a signed-in browser to its first org, else to sign-in.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	c.signedIn(func(w http.ResponseWriter, r *http.Request, q *req) {
		if len(q.orgs) == 0 {
			c.render(w, r, http.StatusOK, "noorg", c.basePage(r, q, "No org", ""))
			return
		}
		http.Redirect(w, r, orgPath(q.orgs[0].ID), http.StatusSeeOther)
	})(w, r)
}

func orgPath(org string) string { return Prefix + "orgs/" + url.PathEscape(org) + "/" }

func (c *Console) switchOrg(w http.ResponseWriter, r *http.Request, q *req) {
	org := r.URL.Query().Get("org")
	for _, o := range q.orgs {
		if o.ID == org {
			http.Redirect(w, r, orgPath(org), http.StatusSeeOther)
			return
		}
	}
	c.render(w, r, http.StatusNotFound, "error", c.basePage(r, q, "Not found", "There is no org "+org+" here."))
}

// --- sign in and out

type signinData struct {
	Next string
	// KeyDropped: a refused sign-in had a key typed, which the form does
	// not show again (a note says so).
	KeyDropped bool
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Sign in", CSRF: c.anonCSRF(w, r), Data: signinData{Next: safeNext(r.URL.Query().Get("next"))}}
	c.render(w, r, http.StatusOK, "signin", p)
}

// safeNext keeps a post-sign-in destination inside the console.
func safeNext(n string) string {
	if !strings.HasPrefix(n, Prefix) || strings.ContainsAny(n, "\\\r\n") {
		return Prefix
	}
	if u, err := url.Parse(n); err != nil || u.Scheme != "" || u.Host != "" {
		return Prefix
	}
	return n
}

// signin exchanges an API key for a session: the rule of POST
// /v1/sessions (auth.Service.Session), a user's own key only.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	key := strings.TrimSpace(r.PostFormValue("api_key"))
	again := func(status int, msg string) {
		c.render(w, r, status, "signin", &page{Title: "Sign in", CSRF: c.anonCSRF(w, r), Error: msg, Data: signinData{Next: next, KeyDropped: key != ""}})
	}
	if !c.checkCSRF(r, nil) {
		c.recordSigninRefusal(r, refusedCSRF, key, auth.Identity{})
		again(http.StatusForbidden, "The sign-in form was stale (CSRF check failed). Try again.")
		return
	}
	if key == "" {
		again(http.StatusBadRequest, "Enter an API key.")
		return
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	caller := auth.Caller{ClientAddr: clientAddr(r)}
	id, err := c.auth.Authenticate(ctx, key, caller.ClientAddr)
	if err == nil && id.KeyID == "" {
		err = auth.ErrUnauthenticated // a session token: only an API key signs in here
	}
	if err != nil {
		if rl, ok := errors.AsType[*auth.RateLimitError](err); ok {
			c.recordSigninRefusal(r, refusedRateLimited, key, auth.Identity{})
			retryAfter(w, rl.RetryAfter)
			again(http.StatusTooManyRequests, "Too many failed attempts from this address; wait a little and try again.")
			return
		}
		if errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, auth.ErrOutranksMinter) {
			c.recordSigninRefusal(r, refusedCredential, key, auth.Identity{})
		}
		again(http.StatusUnauthorized, "That API key was not accepted (unknown, revoked or expired).")
		return
	}
	caller.Identity = id
	tok, sid, err := c.auth.Session(ctx, caller)
	if err != nil {
		c.recordSigninRefusal(r, refusedNotUserKey, key, id)
		again(http.StatusForbidden, "Only a user's own API key signs in to the console (not a service key).")
		return
	}
	c.startSession(w, r, tok, sid)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout forgets the session: its token is gone from the server, so the
// cookie no longer signs anything in.
func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	x := c.lookupSession(r)
	if x != nil {
		if !c.checkCSRF(r, x) {
			c.forbidden(w, r, "The sign-out form was stale (CSRF check failed). Reload and try again.")
			return
		}
		c.sessions.drop(x.id)
	}
	c.setCookie(w, r, sessionCookie, "", time.Time{})
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// --- one-time sign-in links (serve --dev prints one for the owner)

// SignInLink mints a one-time sign-in link (a path under /console/) for
// the user whose API key is apiKey: the key is exchanged for a session by
// the rule of POST /v1/sessions, and the link yields that session once,
// within 15 minutes.
func (c *Console) SignInLink(ctx context.Context, apiKey string) (string, error) {
	id, err := c.auth.Authenticate(ctx, apiKey, "")
	if err != nil {
		return "", err
	}
	tok, sid, err := c.auth.Session(ctx, auth.Caller{Identity: id})
	if err != nil {
		return "", err
	}
	t, err := c.sessions.addLink(tok, sid.Expires)
	if err != nil {
		return "", err
	}
	return Prefix + "link?t=" + t, nil
}

// linkForm asks for a click: a GET (a link preview, a prefetch) never
// consumes the link.
func (c *Console) linkForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "link", &page{Title: "Sign in", CSRF: c.anonCSRF(w, r), Data: r.URL.Query().Get("t")})
}

func (c *Console) linkSignin(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(r, nil) {
		c.render(w, r, http.StatusForbidden, "link", &page{Title: "Sign in", CSRF: c.anonCSRF(w, r), Data: r.PostFormValue("t"),
			Error: "The form was stale (CSRF check failed). Try again."})
		return
	}
	l, ok := c.sessions.takeLink(r.PostFormValue("t"))
	if !ok {
		c.render(w, r, http.StatusGone, "error", &page{Title: "Link used", Error: "This sign-in link was already used or has expired. Sign in with an API key instead."})
		return
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	id, err := c.auth.Authenticate(ctx, l.token, clientAddr(r))
	if err != nil {
		c.render(w, r, http.StatusUnauthorized, "error", &page{Title: "Sign in", Error: "This sign-in link no longer works. Sign in with an API key instead."})
		return
	}
	c.startSession(w, r, l.token, id)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// --- invitations

type invitationData struct {
	Token    string
	SignedIn string // the principal accepting as itself, if signed in
	UserID   string
	Name     string
}

func (c *Console) invitationForm(w http.ResponseWriter, r *http.Request) {
	d := invitationData{Token: r.URL.Query().Get("token")}
	p := &page{Title: "Accept an invitation", Data: &d}
	if x := c.lookupSession(r); x != nil {
		p.CSRF = x.csrf
		if id, err := c.auth.Keys().Verify(x.token, c.now()); err == nil {
			d.SignedIn = id.Principal
		}
	} else {
		p.CSRF = c.anonCSRF(w, r)
	}
	c.render(w, r, http.StatusOK, "invitation", p)
}

// acceptInvitation redeems an invitation by auth's rules: anonymously it
// creates a new user and signs the browser in as it; signed in, the user
// joins as itself and keeps its session.
func (c *Console) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	x := c.lookupSession(r)
	d := invitationData{Token: r.PostFormValue("token"), UserID: r.PostFormValue("user_id"), Name: r.PostFormValue("display_name")}
	again := func(status int, msg string) {
		p := &page{Title: "Accept an invitation", Data: &d, Error: msg}
		if x != nil {
			p.CSRF = x.csrf
		} else {
			p.CSRF = c.anonCSRF(w, r)
		}
		c.render(w, r, status, "invitation", p)
	}
	if !c.checkCSRF(r, x) {
		again(http.StatusForbidden, "The form was stale (CSRF check failed); nothing was changed. Try again.")
		return
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	caller := auth.Caller{ClientAddr: clientAddr(r), RequestID: "console-" + randomID()[:12]}
	if x != nil {
		id, err := c.auth.Authenticate(ctx, x.token, caller.ClientAddr)
		if err != nil {
			c.sessions.drop(x.id)
			again(http.StatusUnauthorized, "Your session ended; sign in again, or sign out to accept as a new user.")
			return
		}
		caller.Identity = id
		d.SignedIn = id.Principal
		d.UserID, d.Name = "", ""
	}
	acc, err := c.auth.AcceptInvitation(ctx, caller, d.Token, d.UserID, d.Name)
	if err != nil {
		status, msg := sentence(err)
		switch {
		case errors.Is(err, auth.ErrCredentialRequired):
			status, msg = http.StatusUnauthorized, "This invitation is for an existing user: sign in with that user's API key first, then open the invitation link again."
		case errors.Is(err, auth.ErrGone):
			status, msg = http.StatusGone, "This invitation was already used, was revoked, or has expired."
		case errors.Is(err, auth.ErrRateLimited):
			status, msg = http.StatusTooManyRequests, "Too many failed attempts from this address; wait a little and try again."
		case errors.Is(err, auth.ErrUnauthenticated):
			status, msg = http.StatusUnauthorized, "This invitation link is not valid."
		}
		again(status, msg)
		return
	}
	if acc.Session != "" {
		c.startSession(w, r, acc.Session, acc.Identity)
	}
	http.Redirect(w, r, orgPath(acc.Invitation.Org), http.StatusSeeOther)
}

// --- overview

type overviewData struct {
	Namespaces  []store.Namespace
	MoreNS      bool
	Roles       []store.Binding
	Permissions []authz.Grant
	Counts      []count
	AuditLast   uint64 // the newest audit entry's number (0: none, or not shown)
	CanAudit    bool
}

// count is a number of things on the overview; a count past one page is
// shown as "50+" (counting 10,000 members is the Members page's job).
type count struct {
	Name, N string
	Path    string
}

// countOf counts one page of a list, "" when the principal may not list it.
func countOf[T any](items []T, next string, err error) string {
	switch {
	case err != nil:
		return ""
	case next != "":
		return strconv.Itoa(len(items)) + "+"
	}
	return strconv.Itoa(len(items))
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, q *req) {
	ctx := r.Context()
	p := c.orgPage(r, q, "Overview")
	var d overviewData
	ns, next, err := c.dir.ListNamespaces(ctx, q.actor, q.org.ID, store.Page{Size: 50})
	if err == nil {
		d.Namespaces, d.MoreNS = ns, next != ""
	}
	bs, _, err := c.dir.ListBindings(ctx, q.actor, q.org.ID, directory.BindingFilter{Principal: q.caller.Principal}, store.Page{Size: 100})
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	d.Roles = bs
	gs, _, err := c.dir.Permissions(ctx, q.actor, q.org.ID, q.caller.Principal, "", 0)
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	d.Permissions = gs
	pg := store.Page{Size: pageSize}
	for _, cn := range []struct {
		one, many, path string
		n               string
	}{
		{"member", "members", "members", countOf(c.dir.ListMembers(ctx, q.actor, q.org.ID, pg))},
		{"team", "teams", "teams", countOf(c.dir.ListTeams(ctx, q.actor, q.org.ID, pg))},
		{"agent", "agents", "agents", countOf(c.dir.ListAgents(ctx, q.actor, q.org.ID, pg))},
	} {
		if cn.n != "" {
			name := cn.many
			if cn.n == "1" {
				name = cn.one
			}
			d.Counts = append(d.Counts, count{Name: name, N: cn.n, Path: orgPath(q.org.ID) + cn.path})
		}
	}
	if es, _, err := c.dir.ListAudit(ctx, q.actor, q.org.ID, store.AuditFilter{Newest: true}, store.Page{Size: 1}); err == nil {
		d.CanAudit = true
		if len(es) == 1 {
			d.AuditLast = es[0].Seq
		}
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "overview", p)
}

// may reports whether the signed-in principal holds every permission at
// org scope, by the engine: for hiding only (the domain re-checks).
func (c *Console) may(q *req, perms ...string) bool {
	return c.mayIn(q, "", perms...)
}

// template helpers
var funcs = template.FuncMap{
	"orgPath": orgPath,
	"dec":     func(n uint64) uint64 { return n - 1 },
	"list":    func(s ...string) []string { return s },
	// agentName is "Helper" of "agent:Helper" (a path segment).
	"agentName": func(p string) string { return strings.TrimPrefix(p, "agent:") },
	"offers": func(rs []directory.RoleInfo, name string) bool {
		for _, r := range rs {
			if r.Name == name {
				return true
			}
		}
		return false
	},
	"matrixOf": func(id, caption string, m *policy.Matrix) map[string]any {
		return map[string]any{"ID": id, "Caption": caption, "M": m}
	},
}

// mayIn is may at a namespace's scope.
func (c *Console) mayIn(q *req, ns string, perms ...string) bool {
	ps := make([]policy.Permission, 0, len(perms))
	for _, s := range perms {
		p, err := policy.ParsePermission(s)
		if err != nil {
			return false
		}
		ps = append(ps, p)
	}
	return len(c.dir.Missing(q.org.ID, q.caller.Principal, authz.Scope{Namespace: ns}, ps)) == 0
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
