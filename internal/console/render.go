package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/credscan"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// page is what every template gets.
type page struct {
	Page    string // the template's name (body data-page, for tests)
	Title   string
	Me      string      // the signed-in principal ("" when signed out)
	Orgs    []store.Org // for the org switcher
	Org     *store.Org  // the current org, on org pages
	Nav     []navItem
	Current string // the current nav item's path
	CSRF    string
	Error   string // a sentence shown at the top
	Notice  string
	Data    any
	// Refill is what the user typed in a refused form (reshowForm, or a
	// handler's refusal: postedForm), for the form's fields (Kept,
	// Invalid, FieldError, FormError, SecretNote).
	Refill *refill
}

type navItem struct {
	Name, Path string
}

// navPages are the org pages with the permissions that show them (hiding
// only: each handler goes through the domain, which decides).
var navPages = []struct {
	name, path string
	perms      []string
}{
	{"Overview", "", nil},
	{"Members", "members", []string{"members:list"}},
	{"Teams", "teams", []string{"teams:list"}},
	{"Roles", "roles", []string{"roles:list"}},
	{"Policy", "policy", []string{"policy:read"}},
	{"Resources", "resources", nil},
	{"Playground", "playground", nil},
	{"Agents and keys", "agents", nil},
	{"Approvals", "approvals", nil},
	{"Secrets", "secrets", []string{"secrets:list"}},
	{"Audit", "audit", []string{"audit:read"}},
}

func (c *Console) parseTemplates() error {
	c.tmpl = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return fmt.Errorf("console: template %s: %w", n, err)
		}
		c.tmpl[base] = t
	}
	return nil
}

// basePage is a page of a signed-in principal.
func (c *Console) basePage(r *http.Request, q *req, title, errMsg string) *page {
	p := &page{Title: title, Error: errMsg}
	if q != nil {
		p.Me, p.Orgs, p.Org, p.CSRF = q.caller.Principal, q.orgs, q.org, q.sess.csrf
		if q.org != nil {
			p.Nav = c.nav(r, q)
		}
	}
	return p
}

// orgPage is a page of the current org.
func (c *Console) orgPage(r *http.Request, q *req, title string) *page {
	p := c.basePage(r, q, title, "")
	p.Current = r.URL.Path
	return p
}

func (c *Console) nav(r *http.Request, q *req) []navItem {
	var out []navItem
	for _, n := range navPages {
		if len(n.perms) > 0 && !c.may(q, n.perms...) {
			continue
		}
		if n.path == "secrets" && c.vault == nil {
			continue
		}
		if n.path == "approvals" && !c.showsApprovals(r, q) {
			continue
		}
		path := orgPath(q.org.ID)
		if n.path != "" {
			path += n.path
		}
		out = append(out, navItem{Name: n.name, Path: path})
	}
	return out
}

// render executes a page template; a template failure is a 500 that
// says nothing more.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.Page = name
	rf := refillOf(r.Context())
	if rf == nil && name != "error" {
		rf = postedForm(r, status, p.Error)
	}
	if rf != nil {
		p.Refill = rf
		if p.Error == "" {
			p.Error = rf.Msg
		}
	}
	c.execute(w, status, name, "layout.html", p)
}

// execute writes one template of a page's set (the whole page, or a
// section the script swaps in) as an HTML answer.
func (c *Console) execute(w http.ResponseWriter, status int, page, name string, data any) {
	t := c.tmpl[page]
	var buf bytes.Buffer
	if t == nil {
		c.log.Error("console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.Error("console: render", "page", page, "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// forbidden answers a refused POST before anything ran.
func (c *Console) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	c.refuse(w, r, http.StatusForbidden, msg)
}

// refuse answers a POST refused with status before anything ran.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", &page{Title: "Refused", Error: msg})
}

// fail answers a domain error as a page with its sentence.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, q *req, err error) {
	status, msg := sentence(err)
	if status == http.StatusInternalServerError {
		c.log.Error("console", "path", credscan.Redact(r.URL.Path), "err", credscan.Redact(err.Error()))
	}
	c.render(w, r, status, "error", c.basePage(r, q, "Refused", msg))
}

// sentence turns a domain error into a status and a sentence for people.
// It says no more than the API's problem detail would.
func sentence(err error) (int, string) {
	var ee *directory.EscalationError
	var fe *directory.ForbiddenError
	switch {
	case errors.As(err, &ee):
		return http.StatusForbidden, escalationSentence(ee)
	case errors.As(err, &fe):
		return http.StatusForbidden, fmt.Sprintf("You are not allowed to do this: it needs the permission %s at %s, which you do not hold.", fe.Permission, scopeText(fe.Scope.String()))
	}
	k := errs.KindOf(err)
	var e *errs.Error
	text := ""
	if errors.As(err, &e) {
		text = e.Text()
	}
	var ie *directory.InvalidError
	if errors.As(err, &ie) {
		text = ie.Error()
	}
	switch {
	case k == nil:
	case errors.Is(k, errs.NotFound):
		return http.StatusNotFound, "Not found."
	case errors.Is(k, errs.LastOwner):
		return http.StatusConflict, "Refused: the org would be left without an owner. Make someone else owner first."
	case errors.Is(k, errs.Conflict):
		return http.StatusConflict, capital(orDefault(text, "conflict")) + "."
	case errors.Is(k, errs.Invalid):
		return http.StatusBadRequest, capital(orDefault(text, "invalid input")) + "."
	case errors.Is(k, errs.Forbidden):
		return http.StatusForbidden, capital(orDefault(text, "you are not allowed to do this")) + "."
	case errors.Is(k, errs.Gone):
		return http.StatusGone, "That is no longer valid (used, revoked or expired)."
	case errors.Is(k, errs.RateLimited):
		return http.StatusTooManyRequests, "Too many failed attempts from this address; wait a little and try again."
	case errors.Is(k, errs.Unauthenticated):
		return http.StatusUnauthorized, "You are not signed in."
	case errors.Is(k, errs.Unavailable), errors.Is(k, errs.NotCaughtUp):
		return http.StatusServiceUnavailable, "The service is busy; try again in a moment."
	}
	return http.StatusInternalServerError, "Something went wrong on the server; nothing more is shown here (see the server log)."
}

func escalationSentence(e *directory.EscalationError) string {
	at := scopeText(e.Scope.String())
	switch e.Reason {
	case directory.ReasonLevel:
		return fmt.Sprintf("You cannot grant or take away the role %s: its level (%d) is above your own level (%d) at %s.", e.Role, e.RoleLevel, e.ActorLevel, at)
	case directory.ReasonTarget:
		return fmt.Sprintf("You cannot change %s: their level (%d) at %s is above yours (%d).", e.Target, e.TargetLevel, at, e.ActorLevel)
	}
	ps := make([]string, len(e.Missing))
	for i, p := range e.Missing {
		ps[i] = p.String()
	}
	what := "these actions"
	if e.Role != "" {
		what = "the role " + e.Role
	}
	return fmt.Sprintf("You cannot grant or take away %s: it includes %s, which you do not hold yourself at %s.", what, strings.Join(ps, ", "), at)
}

func scopeText(s string) string {
	if s == "" || s == "org" {
		return "org level"
	}
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
