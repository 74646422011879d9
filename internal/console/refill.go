package console

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/credscan"
)

// A refused form is shown again, never replaced by a bare refusal or a
// redirect that loses what the user typed:
//
//   - refused because a field holds a credential (noCredentials), before
//     any handler ran: the page the form lives on is rendered as its GET
//     would render it (reshowForm), with every other field's value as the
//     user typed it, the offending fields emptied (a long text keeps its
//     lines, the credential cut out) and marked;
//   - refused by its handler (the domain's refusal: invalid, forbidden,
//     a conflict): the handler renders its page with the refusal's status
//     and sentence, and render attaches what the user posted (postedForm),
//     so that the refused form's fields show it again and the sentence
//     stands next to the form (FormError) as well as on top.
//
// Nothing ran, and the form is submitted again only by the user. A
// credential is never echoed, nor a value of a field that takes one
// (credentialFields: a secret's value, a key, a token): such a field is
// left empty, with a note saying so (SecretNote). Only a signed-in
// session's post whose CSRF token checked is shown again (threat-model
// row 108): a post another site made the browser send gets the bare
// refusal page.

// refill is what a refused form's page shows again.
type refill struct {
	Action  string     // the path the form posted to
	Values  url.Values // the values to show again: no credential, no credential field
	Invalid []string   // the fields that held a credential (sorted)
	Dropped []string   // the credentialFields posted non-empty, not shown again (sorted; never csrf)
	Msg     string     // the refusal's sentence
}

type refillKey struct{}

// postedKey marks the context of a signed-in session's form post whose
// CSRF token checked (signedIn): the only posts whose values a refusal
// shows again.
type postedKey struct{}

// withPosted marks ctx as that of a checked form post.
func withPosted(ctx context.Context) context.Context {
	return context.WithValue(ctx, postedKey{}, true)
}

// postedForm is the refill of a handler's refusal (status ≥ 400) of a
// checked form post r, with its sentence msg; nil when r is not one.
func postedForm(r *http.Request, status int, msg string) *refill {
	if status < http.StatusBadRequest || r.Method != http.MethodPost {
		return nil
	}
	if ok, _ := r.Context().Value(postedKey{}).(bool); !ok {
		return nil
	}
	return newRefill(r, msg)
}

// refillOf is the refill a re-shown page carries (nil: none).
func refillOf(ctx context.Context) *refill {
	rf, _ := ctx.Value(refillKey{}).(*refill)
	return rf
}

// keptWithRedaction are the fields whose text is kept with the credential
// cut out (credscan.Redact) rather than emptied: a long text the user
// would otherwise lose whole (the policy editor's).
var keptWithRedaction = map[string]bool{"text": true}

// formPages maps the first segment of an org form's path (after
// /console/orgs/{org}/) to the org page that shows the form. A form
// missing here (a script's endpoint such as policy/lint, the forms before
// sign-in) is refused with the bare refusal page.
var formPages = map[string]string{
	"members":     "members",
	"invitations": "members",
	"teams":       "teams",
	"roles":       "roles",
	"policy":      "policy",
	"keys":        "agents",
	"approvals":   "approvals",
	"secrets":     "secrets",
	"audit":       "audit",
}

// formPage is the address (path and query) of the org page that shows
// the form r posted, and whether there is one.
func formPage(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix+"orgs/")
	if !ok {
		return "", false
	}
	org, rest, ok := strings.Cut(rest, "/")
	if !ok || org == "" || rest == "policy/lint" {
		return "", false
	}
	first, _, _ := strings.Cut(rest, "/")
	pg, ok := formPages[first]
	if !ok {
		return "", false
	}
	u := orgPath(org) + pg
	q := url.Values{}
	switch pg {
	case "secrets":
		if ns := r.PostForm.Get("namespace"); ns != "" && !credscan.In(ns) {
			q.Set("namespace", ns)
		}
	case "roles":
		if name := r.PostForm.Get("name"); r.PostForm.Get("edit") == "1" && name != "" && !credscan.In(name) {
			q.Set("edit", name)
		}
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u, true
}

// newRefill is the refill of a POST whose form holds credentials: every
// field but those of credentialFields, a field holding one emptied (or,
// in keptWithRedaction, with it cut out) and listed as invalid.
func newRefill(r *http.Request, msg string) *refill {
	rf := &refill{Action: r.URL.Path, Values: url.Values{}, Msg: msg}
	for k, vs := range r.PostForm {
		if credentialFields[k] || credscan.In(k) {
			if k != "csrf" && !credscan.In(k) && slices.ContainsFunc(vs, func(v string) bool { return v != "" }) {
				rf.Dropped = append(rf.Dropped, k)
			}
			continue
		}
		bad := false
		kept := make([]string, len(vs))
		for i, v := range vs {
			if credscan.In(v) {
				bad = true
				if keptWithRedaction[k] {
					kept[i] = credscan.Redact(v)
				}
				continue
			}
			kept[i] = v
		}
		if bad {
			rf.Invalid = append(rf.Invalid, k)
		}
		rf.Values[k] = kept
	}
	slices.Sort(rf.Invalid)
	slices.Sort(rf.Dropped)
	return rf
}

// reshowForm renders the page of the form r posted with what the user
// typed (newRefill), answering 400, and reports whether it did: only for
// an org form (formPage) of a signed-in session whose CSRF token the form
// carries — a form forged elsewhere is never shown pre-filled to the
// user, who could then submit it with their own token.
func (c *Console) reshowForm(w http.ResponseWriter, r *http.Request, msg string) bool {
	if r.Method != http.MethodPost {
		return false
	}
	x := c.lookupSession(r)
	if x == nil || !c.checkCSRF(r, x) {
		return false
	}
	target, ok := formPage(r)
	if !ok {
		return false
	}
	rf := newRefill(r, msg)
	if len(rf.Invalid) == 0 {
		return false // the credential was in a field's name
	}
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	g := r.Clone(context.WithValue(r.Context(), refillKey{}, rf))
	g.Method, g.URL, g.RequestURI = http.MethodGet, u, u.RequestURI()
	g.Body, g.ContentLength, g.Form, g.PostForm = http.NoBody, 0, nil, nil
	g.Header.Del("Content-Type")
	c.mux.ServeHTTP(&refusedWriter{ResponseWriter: w}, g)
	return true
}

// refusedWriter answers 400 where the page would answer 200: the form
// was refused, whatever the page that shows it again.
type refusedWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *refusedWriter) WriteHeader(status int) {
	if !w.wrote && status == http.StatusOK {
		status = http.StatusBadRequest
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *refusedWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// refillFor is the page's refill when it is of the form posted to the
// org path suffix form ("teams", "teams/ops/members"), else nil.
// A form ending "/*" stands for any last segment (a form whose buttons
// post to two paths: "approvals/ID/*").
func (p *page) refillFor(form string) *refill {
	if p.Refill == nil || p.Org == nil {
		return nil
	}
	path := Prefix + "orgs/" + p.Org.ID + "/" + form
	if base, ok := strings.CutSuffix(path, "*"); ok {
		if last, ok := strings.CutPrefix(p.Refill.Action, base); ok && last != "" && !strings.Contains(last, "/") {
			return p.Refill
		}
		return nil
	}
	if p.Refill.Action != path {
		return nil
	}
	return p.Refill
}

// Kept is the value to show in field of form: what the user typed when
// the form was refused and re-shown, else def. Templates: value="{{$.Kept
// "teams" "name" ""}}".
func (p *page) Kept(form, field, def string) string {
	if rf := p.refillFor(form); rf != nil {
		return rf.Values.Get(field)
	}
	return def
}

// matches reports whether the refill's values hold each field, value
// pair of match: which of a list's forms posting to one path was refused
// ("secrets/rotate" of the row whose name is X).
func (rf *refill) matches(match []string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		if rf.Values.Get(match[i]) != match[i+1] {
			return false
		}
	}
	return true
}

// FormError is the refusal's sentence next to the refused form (the
// top of the page says it too, far from a form at its foot), focused so
// that the browser scrolls to it; match narrows a path that several
// forms of a list post to (matches). A form refused for a credential has
// its inline error at the field instead (FieldError). Templates: inside
// the form, {{$.FormError "teams"}}.
func (p *page) FormError(form string, match ...string) template.HTML {
	rf := p.refillFor(form)
	if rf == nil || len(rf.Invalid) > 0 || rf.Msg == "" || !rf.matches(match) {
		return ""
	}
	return template.HTML(`<p class="error form-error" id="form-error" tabindex="-1" autofocus>` + template.HTMLEscapeString(rf.Msg) + `</p>`)
}

// secretDropped reports whether form was refused with field, one that
// takes a secret, filled in; match as for FormError.
func (p *page) secretDropped(form, field string, match []string) bool {
	rf := p.refillFor(form)
	return rf != nil && slices.Contains(rf.Dropped, field) && rf.matches(match)
}

// SecretDescribed ties field to its SecretNote (aria-describedby) when
// the note is shown. Templates: <input name="value"{{$.SecretDescribed
// "secrets" "value"}}>{{$.SecretNote "secrets" "value"}}.
func (p *page) SecretDescribed(form, field string, match ...string) template.HTMLAttr {
	if !p.secretDropped(form, field, match) {
		return ""
	}
	return template.HTMLAttr(` aria-describedby="secret-note-` + template.HTMLEscapeString(field) + `"`)
}

// SecretNote says, after a field that takes a secret (credentialFields),
// that what the user typed there was not shown again, when form was
// refused with that field filled in; match as for FormError.
func (p *page) SecretNote(form, field string, match ...string) template.HTML {
	if !p.secretDropped(form, field, match) {
		return ""
	}
	return template.HTML(`<p class="hint secret-note" id="secret-note-` + template.HTMLEscapeString(field) + `">What you typed here is a secret and is never shown again: type it again.</p>`)
}

// Invalid marks field of form when it held the credential that refused
// the form: aria-invalid, described by the inline error, focused (the
// first such field only). Templates: <input name="name"{{$.Invalid "teams" "name"}}>.
func (p *page) Invalid(form, field string) template.HTMLAttr {
	rf := p.refillFor(form)
	if rf == nil || !slices.Contains(rf.Invalid, field) {
		return ""
	}
	a := ` aria-invalid="true" aria-describedby="refill-error-` + template.HTMLEscapeString(field) + `"`
	if rf.Invalid[0] == field {
		a += " autofocus"
	}
	return template.HTMLAttr(a)
}

// FieldError is the inline error after field of form when it held the
// credential that refused the form (a fixed sentence: never the value).
func (p *page) FieldError(form, field string) template.HTML {
	rf := p.refillFor(form)
	if rf == nil || !slices.Contains(rf.Invalid, field) {
		return ""
	}
	what := "It was emptied"
	if keptWithRedaction[field] {
		what = "The credential was cut out of it (" + credscan.Redacted + ")"
	}
	return template.HTML(`<p class="error field-error" id="refill-error-` + template.HTMLEscapeString(field) + `">This field held a value in the form of a Gatehouse credential. ` +
		what + `; nothing was saved. Revoke the credential if it was pasted by mistake.</p>`)
}
