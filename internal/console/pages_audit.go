package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

func (c *Console) auditRoutes() {
	m := c.mux
	org := Prefix + "orgs/{org}/"
	m.HandleFunc("GET "+org+"audit", c.inOrg(c.auditPage))
	m.HandleFunc("POST "+org+"audit/verify", c.inOrg(c.auditVerify))
	m.HandleFunc("GET "+org+"audit/export", c.inOrg(c.auditExport))
	m.HandleFunc("GET "+org+"secrets", c.inOrg(c.secretsPage))
	m.HandleFunc("POST "+org+"secrets/reveal", c.inOrg(c.secretReveal))
	m.HandleFunc("POST "+org+"secrets", c.inOrg(c.secretCreate))
	m.HandleFunc("POST "+org+"secrets/rotate", c.inOrg(c.secretRotate))
	m.HandleFunc("POST "+org+"secrets/delete", c.inOrg(c.secretDelete))
}

// --- audit log

type auditData struct {
	Filter  auditFilterForm
	Entries []auditRow
	Next    string
	// ExportURL and NextURL carry the filter on: whole URLs built here,
	// because html/template escapes a pre-encoded query placed after a
	// "?" in an attribute once more ("=" → "%3d"), and the links then
	// dropped the filter (an export handed on as "the denied entries"
	// held the whole log).
	ExportURL string
	NextURL   string
	Verify    *verifyResult
}

type auditFilterForm struct {
	Actor, Action, Target, Result, Since, Until string
}

type auditRow struct {
	audit.Entry
	Diff []store.DiffEntry
}

type verifyResult struct {
	OK      bool
	Entries uint64
	Last    uint64
	BadSeq  uint64
	Problem string
	Detail  string
}

// auditFilter reads the page's filter; a time that does not parse is a
// sentence.
func auditFilter(r *http.Request) (auditFilterForm, store.AuditFilter, string) {
	q := r.URL.Query()
	f := auditFilterForm{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Result: q.Get("result"), Since: q.Get("since"), Until: q.Get("until")}
	sf := store.AuditFilter{Actor: f.Actor, Action: f.Action, Target: f.Target, Result: f.Result, Newest: true}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", f.Since, &sf.Since}, {"until", f.Until, &sf.Until}} {
		if t.v == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			if tm, err = time.Parse("2006-01-02T15:04", t.v); err != nil {
				return f, sf, "The " + t.name + " time must look like 2026-12-05T21:30 (UTC)."
			}
		}
		*t.dst = tm.UTC()
	}
	return f, sf, ""
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, q *req) {
	c.showAudit(w, r, q, nil)
}

func (c *Console) showAudit(w http.ResponseWriter, r *http.Request, q *req, v *verifyResult) {
	f, sf, msg := auditFilter(r)
	d := auditData{Filter: f, Verify: v}
	fq := filterQuery(r)
	d.ExportURL = orgPath(q.org.ID) + "audit/export"
	if fq != "" {
		d.ExportURL += "?" + fq
	}
	status := http.StatusOK
	if msg == "" {
		es, next, err := c.dir.ListAudit(r.Context(), q.actor, q.org.ID, sf, store.Page{Size: pageSize, Cursor: r.URL.Query().Get("cursor")})
		if err != nil {
			c.fail(w, r, q, err)
			return
		}
		d.Next = next
		if next != "" {
			d.NextURL = orgPath(q.org.ID) + "audit?cursor=" + urlQueryEscape(next)
			if fq != "" {
				d.NextURL += "&" + fq
			}
		}
		for _, e := range es {
			row := auditRow{Entry: e}
			if len(e.Before) > 0 && len(e.After) > 0 {
				row.Diff, _ = store.Diff(e.Before, e.After)
			}
			d.Entries = append(d.Entries, row)
		}
	} else {
		status = http.StatusBadRequest
	}
	p := c.orgPage(r, q, "Audit log")
	p.Current = orgPath(q.org.ID) + "audit"
	p.Error, p.Data = msg, d
	c.render(w, r, status, "audit", p)
}

// filterQuery is the request's filter parameters, re-encoded.
func filterQuery(r *http.Request) string {
	in := r.URL.Query()
	out := make([]string, 0, 6)
	for _, k := range []string{"actor", "action", "target", "result", "since", "until"} {
		if v := in.Get(k); v != "" {
			out = append(out, k+"="+urlQueryEscape(v))
		}
	}
	return strings.Join(out, "&")
}

// auditVerify verifies the org's chain and names the first bad entry.
func (c *Console) auditVerify(w http.ResponseWriter, r *http.Request, q *req) {
	rep, err := c.dir.VerifyAudit(r.Context(), q.actor, q.org.ID, nil)
	v := &verifyResult{OK: err == nil, Entries: rep.Entries, Last: rep.Last}
	var ve *audit.VerifyError
	switch {
	case errors.As(err, &ve):
		v.BadSeq, v.Problem, v.Detail = ve.Seq, string(ve.Problem), ve.Detail
	case err != nil:
		c.fail(w, r, q, err)
		return
	}
	c.showAudit(w, r, q, v)
}

// maxExport bounds one export (the API pages on past it).
const maxExport = 10_000

// auditExport downloads the filtered log as JSON lines, redacted as the
// page is.
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, q *req) {
	_, sf, msg := auditFilter(r)
	if msg != "" {
		c.render(w, r, http.StatusBadRequest, "error", c.basePage(r, q, "Export", msg))
		return
	}
	sf.Newest = false
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	page := store.Page{Size: store.MaxPageSize}
	for n := 0; n < maxExport; {
		es, next, err := c.dir.ListAudit(r.Context(), q.actor, q.org.ID, sf, page)
		if err != nil {
			c.fail(w, r, q, err)
			return
		}
		for _, e := range es {
			_ = enc.Encode(e)
		}
		n += len(es)
		if next == "" {
			break
		}
		page.Cursor = next
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Content-Disposition", `attachment; filename="`+q.org.ID+`-audit.jsonl"`)
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// --- secrets

type secretsData struct {
	Namespace  string
	Namespaces []store.Namespace
	Secrets    []store.Secret
	Next       string
	CanRead    bool
	CanCreate  bool
	CanRotate  bool
	CanDelete  bool
	Revealed   *vault.Revealed
}

func (c *Console) secretsPage(w http.ResponseWriter, r *http.Request, q *req) {
	c.showSecrets(w, r, q, http.StatusOK, "", nil)
}

func (c *Console) showSecrets(w http.ResponseWriter, r *http.Request, q *req, status int, msg string, rev *vault.Revealed) {
	if c.vault == nil {
		c.render(w, r, http.StatusNotFound, "error", c.basePage(r, q, "Not found", "The secrets vault is not configured on this server."))
		return
	}
	ctx := r.Context()
	ns := r.FormValue("namespace")
	if ns == "" {
		ns = "default"
	}
	d := secretsData{Namespace: ns, Revealed: rev, CanRead: c.mayIn(q, ns, "secrets:read"),
		CanCreate: c.mayIn(q, ns, "secrets:create"), CanRotate: c.mayIn(q, ns, "secrets:rotate"), CanDelete: c.mayIn(q, ns, "secrets:delete")}
	ss, next, err := c.vault.List(ctx, q.actor, q.org.ID, ns, store.Page{Size: pageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	d.Secrets, d.Next = ss, next
	d.Namespaces, _, _ = c.dir.ListNamespaces(ctx, q.actor, q.org.ID, store.Page{Size: 100})
	p := c.orgPage(r, q, "Secrets")
	p.Current = orgPath(q.org.ID) + "secrets"
	p.Error, p.Notice, p.Data = msg, notice(r), d
	c.render(w, r, status, "secrets", p)
}

// secretReveal shows one value, once, on this answer only; the vault
// audits the reveal (secrets.read).
func (c *Console) secretReveal(w http.ResponseWriter, r *http.Request, q *req) {
	if c.vault == nil {
		c.showSecrets(w, r, q, http.StatusNotFound, "", nil)
		return
	}
	rev, err := c.vault.Reveal(r.Context(), q.actor, q.org.ID, r.PostFormValue("namespace"), r.PostFormValue("name"), 0)
	if err != nil {
		status, msg := sentence(err)
		if status == http.StatusNotFound || status == http.StatusForbidden && !c.mayIn(q, r.PostFormValue("namespace"), "secrets:list") {
			// Never confirm a secret name to someone who may not list it.
			c.render(w, r, http.StatusNotFound, "error", c.basePage(r, q, "Not found", "Not found."))
			return
		}
		c.showSecrets(w, r, q, status, msg, nil)
		return
	}
	c.showSecrets(w, r, q, http.StatusOK, "", &rev)
}

// secretsAgain re-renders the secrets page with a refusal.
func (c *Console) secretsAgain(w http.ResponseWriter, r *http.Request, q *req) func(int, string) {
	return func(status int, msg string) { c.showSecrets(w, r, q, status, msg, nil) }
}

// secretsPath is the secrets page of the form's namespace.
func secretsPath(r *http.Request) string {
	return "secrets?namespace=" + urlQueryEscape(r.PostFormValue("namespace"))
}

// secretCreate stores a new secret; its value is never shown back.
func (c *Console) secretCreate(w http.ResponseWriter, r *http.Request, q *req) {
	if c.vault == nil {
		c.showSecrets(w, r, q, http.StatusNotFound, "", nil)
		return
	}
	_, _, err := c.vault.Create(r.Context(), q.actor, q.org.ID, r.PostFormValue("namespace"), strings.TrimSpace(r.PostFormValue("name")),
		[]byte(r.PostFormValue("value")), vault.Meta{Description: r.PostFormValue("description")})
	c.finish(w, r, q, err, c.secretsAgain(w, r, q), secretsPath(r), "created")
}

// secretRotate gives a secret a new current value.
func (c *Console) secretRotate(w http.ResponseWriter, r *http.Request, q *req) {
	if c.vault == nil {
		c.showSecrets(w, r, q, http.StatusNotFound, "", nil)
		return
	}
	_, _, err := c.vault.Rotate(r.Context(), q.actor, q.org.ID, r.PostFormValue("namespace"), r.PostFormValue("name"), []byte(r.PostFormValue("value")), 0)
	c.finish(w, r, q, err, c.secretsAgain(w, r, q), secretsPath(r), "rotated")
}

// secretDelete deletes a secret (refused while resource specs reference
// it: the vault says which).
func (c *Console) secretDelete(w http.ResponseWriter, r *http.Request, q *req) {
	if c.vault == nil {
		c.showSecrets(w, r, q, http.StatusNotFound, "", nil)
		return
	}
	_, err := c.vault.Delete(r.Context(), q.actor, q.org.ID, r.PostFormValue("namespace"), r.PostFormValue("name"), vault.DeleteOptions{})
	c.finish(w, r, q, err, c.secretsAgain(w, r, q), secretsPath(r), "deleted")
}
