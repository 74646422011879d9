// Package console is Gatehouse's web console, served by `gatehouse serve`
// at /console/: server-rendered html/template pages from embedded assets,
// with one small static script for progressive enhancement.
//
// Invariants:
//
//   - Data flows console → domain: every page and every action goes
//     through internal/directory (or internal/auth, internal/vault) with
//     the signed-in principal as the Actor, so the domain's own
//     authorization decides. The console hides what the principal may not
//     do (asking the engine, never a rule of its own), and a hidden action
//     posted directly is refused by the domain with nothing changed.
//   - A browser holds only an opaque, random session id (cookie
//     HttpOnly, SameSite=Strict, Path=/console/, Secure under TLS or a
//     configured https URL). The session token it maps to never leaves the
//     server, is re-authenticated on every request (a revoked key or a
//     deleted user ends it at once) and is forgotten on sign-out and when
//     the browser signs in again. A principal holds at most
//     maxPerPrincipal sessions: its oldest ends first.
//   - A POST body is application/x-www-form-urlencoded and at most
//     maxFormBytes, parsed before any handler runs (413, 415 otherwise):
//     nobody, signed in or not, makes the console buffer more.
//   - Every state-changing request (POST) carries a CSRF token: the
//     session's own (synchronizer) once signed in, a double-submit cookie
//     before; without it, or from another Origin, it is refused 403 before
//     anything runs.
//   - Every answer carries a strict Content-Security-Policy (no inline
//     script or style, frame-ancestors 'none'), nosniff, same-origin referrers and
//     no-store; no secret value or API key is ever rendered.
//   - A session comes only from the caller's own credential: an API key
//     exchanged by auth.Service.Session (the rule of POST /v1/sessions),
//     an anonymous invitation acceptance that created a new user, or a
//     one-time sign-in link minted from such a session.
//   - Anything about an org the principal is not a member of is "not
//     found", like the API.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/credscan"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console/"

// CSP is the Content-Security-Policy of every console answer.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Config configures a Console.
type Config struct {
	Directory *directory.Directory
	Auth      *auth.Service
	// Vault serves the secrets page; nil hides it.
	Vault  *vault.Vault
	Logger *slog.Logger
	// Secure marks the session cookies Secure even on a plain-HTTP request
	// (the console is reached through an https URL, TLS ending at a
	// proxy). A request that arrived over TLS always gets Secure cookies.
	Secure bool
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Console serves the web console. Create it with New; it is an
// http.Handler for the /console/ subtree.
type Console struct {
	dir    *directory.Directory
	auth   *auth.Service
	vault  *vault.Vault
	log    *slog.Logger
	secure bool
	now    func() time.Time

	sessions *sessionStore
	// refusals is the flood control of refused sign-ins' audit entries.
	refusals audit.Throttle
	tmpl     map[string]*template.Template
	mux      *http.ServeMux
	static   http.Handler
}

// New builds a console.
func New(cfg Config) (*Console, error) {
	c := &Console{dir: cfg.Directory, auth: cfg.Auth, vault: cfg.Vault, log: cfg.Logger, secure: cfg.Secure, now: cfg.Now}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.sessions = newSessionStore(c.now)
	c.refusals.Now = c.now
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	c.mux = http.NewServeMux()
	c.routes()
	return c, nil
}

// ServeHTTP sets the security headers and dispatches.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method == http.MethodPost {
		if !c.sameOrigin(r) {
			if r.URL.Path == Prefix+"signin" {
				c.recordSigninRefusal(r, refusedOrigin, "", auth.Identity{})
			}
			c.forbidden(w, r, "This request came from another site and was refused.")
			return
		}
		if !c.boundedForm(w, r) {
			return
		}
	}
	if !c.noCredentials(w, r) {
		return
	}
	c.mux.ServeHTTP(w, r)
}

// credentialFields are the form fields that take a credential, and echo
// it nowhere: the sign-in's API key, an invitation's token, a one-time
// link's token, a secret's value (stored encrypted, never rendered), and
// the form's own CSRF token (random, which could in principle spell one).
var credentialFields = map[string]bool{"api_key": true, "token": true, "t": true, "value": true, "csrf": true}

// noCredentials refuses (400) a request whose address or form — a POST's
// fields, a GET's query — holds a value in the form of a Gatehouse
// credential outside credentialFields (credscan, the API's rule of
// docs/threat-model.md rows 91 and 102): a key pasted into a name, a
// description, a policy or a filter would otherwise be quoted by the page
// that refuses it, stored and shown to every reader, or logged. The
// refusal names the field, never the value; nothing ran. An org form is
// shown again with everything else the user typed (reshowForm).
func (c *Console) noCredentials(w http.ResponseWriter, r *http.Request) bool {
	form := r.Form
	if r.Method != http.MethodPost {
		form = r.URL.Query()
	}
	var msg string
	if credscan.In(r.URL.Path) {
		msg = "The page address holds a value in the form of a Gatehouse credential (an API key, invitation, session, agent or run token); nothing was done."
	} else if field, found := credscan.Form(form, credentialFields); found {
		where := "A field's name"
		if field != "" {
			where = "The field " + strconv.Quote(field)
		}
		msg = where + " holds a value in the form of a Gatehouse credential (an API key, invitation, session, agent or run token); nothing was changed."
	} else {
		return true
	}
	msg += " Credentials are never ids, names or data: revoke it if it was pasted by mistake, and keep secrets in the vault."
	if !credscan.In(r.URL.Path) && c.reshowForm(w, r, msg) {
		return false
	}
	c.refuse(w, r, http.StatusBadRequest, msg)
	return false
}

// maxFormBytes bounds a console POST's body: the largest form is the
// policy editor's, a policy text (store.MaxPolicyBytes) and a few fields.
const maxFormBytes = store.MaxPolicyBytes + 64<<10

// boundedForm parses a POST's form before any handler runs, or answers
// 415 or 413: every console form is application/x-www-form-urlencoded
// (multipart would spill file parts to disk, 32 MiB in memory first), and
// no body is read past maxFormBytes, signed in or not.
func (c *Console) boundedForm(w http.ResponseWriter, r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		c.refuse(w, r, http.StatusUnsupportedMediaType, "The console takes forms only as application/x-www-form-urlencoded; nothing was changed.")
		return false
	}
	if r.ContentLength > maxFormBytes {
		c.refuse(w, r, http.StatusRequestEntityTooLarge, "The form is too large; nothing was changed.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.refuse(w, r, http.StatusRequestEntityTooLarge, "The form is too large; nothing was changed.")
		} else {
			c.refuse(w, r, http.StatusBadRequest, "The form could not be read; nothing was changed.")
		}
		return false
	}
	return true
}

// sameOrigin refuses a POST whose Origin names another site (or is
// "null": a sandboxed frame, a data: URL). Browsers send Origin on every
// form POST under the console's Referrer-Policy (same-origin); its
// absence (old clients, curl) is left to the CSRF token.
func (c *Console) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	return o == "http://"+r.Host || o == "https://"+r.Host
}

func (c *Console) isSecure(r *http.Request) bool { return c.secure || r.TLS != nil }

// reqCtx bounds a console request's work.
func reqCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 15*time.Second)
}
