package console

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func init() {
	// short is the start of a long hex digest (the whole in its title).
	funcs["short"] = func(s string) string {
		if len(s) <= 12 {
			return s
		}
		return s[:12] + "…"
	}
}

func (c *Console) approvalRoutes() {
	m := c.mux
	org := Prefix + "orgs/{org}/"
	m.HandleFunc("GET "+org+"approvals", c.inOrg(c.approvalsPage))
	m.HandleFunc("POST "+org+"approvals/{id}/approve", c.inOrg(c.decideApproval(true)))
	m.HandleFunc("POST "+org+"approvals/{id}/deny", c.inOrg(c.decideApproval(false)))
}

// approvalsSeen is how many approvals the page (and the nav's "has
// requests" test) reads.
const approvalsSeen = 200

type approvalsData struct {
	Pending []store.Approval // pending ones others asked, the principal may see
	Mine    []store.Approval // the principal's own requests, any state
}

// mayDecide reports whether the principal holds decisions:approve at org
// level or in one of the org's namespaces (the engine decides; who may
// decide one approval is the directory's, on each answer).
func (c *Console) mayDecide(r *http.Request, q *req) bool {
	if c.may(q, "decisions:approve") {
		return true
	}
	ns, _, err := c.dir.ListNamespaces(r.Context(), q.actor, q.org.ID, store.Page{Size: 100})
	if err != nil {
		return false
	}
	for _, n := range ns {
		if c.mayIn(q, n.Name, "decisions:approve") {
			return true
		}
	}
	return false
}

// mine reports whether ap is about the principal: it asked, or it is the
// principal or the user acted for.
func mine(ap store.Approval, principal string) bool {
	return ap.Principal == principal || ap.OnBehalfOf == principal || ap.RequestedBy == principal
}

// approvals reads what the page shows; ok is false when the principal
// can neither decide nor has requests (the page is hidden).
func (c *Console) approvals(r *http.Request, q *req) (approvalsData, bool, error) {
	var d approvalsData
	list, _, err := c.dir.ListApprovals(r.Context(), q.actor, q.org.ID, "", store.Page{Size: approvalsSeen})
	if err != nil {
		return d, false, err
	}
	me := q.caller.Principal
	for _, ap := range list {
		if mine(ap, me) {
			d.Mine = append(d.Mine, ap)
		} else if ap.Status == store.ApprovalPending {
			d.Pending = append(d.Pending, ap)
		}
	}
	return d, len(d.Mine) > 0 || c.mayDecide(r, q), nil
}

// showsApprovals decides the nav link.
func (c *Console) showsApprovals(r *http.Request, q *req) bool {
	if c.mayDecide(r, q) {
		return true
	}
	list, _, err := c.dir.ListApprovals(r.Context(), q.actor, q.org.ID, "", store.Page{Size: approvalsSeen})
	if err != nil {
		return false
	}
	for _, ap := range list {
		if mine(ap, q.caller.Principal) {
			return true
		}
	}
	return false
}

func (c *Console) approvalsPage(w http.ResponseWriter, r *http.Request, q *req) {
	c.showApprovals(w, r, q, http.StatusOK, "")
}

func (c *Console) showApprovals(w http.ResponseWriter, r *http.Request, q *req, status int, msg string) {
	d, ok, err := c.approvals(r, q)
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	if !ok {
		c.render(w, r, http.StatusNotFound, "error", c.basePage(r, q, "Not found", "There is no such page."))
		return
	}
	p := c.orgPage(r, q, "Approvals")
	p.Current = orgPath(q.org.ID) + "approvals"
	p.Error, p.Notice, p.Data = msg, notice(r), d
	c.render(w, r, status, "approvals", p)
}

// decideApproval approves or denies one approval as the signed-in
// principal; the directory decides whether it may (self-approval, `from`
// roles, quorum) and audits the answer.
func (c *Console) decideApproval(approve bool) func(http.ResponseWriter, *http.Request, *req) {
	return func(w http.ResponseWriter, r *http.Request, q *req) {
		comment := strings.TrimSpace(r.PostFormValue("comment"))
		_, err := c.dir.DecideApproval(r.Context(), q.actor, q.org.ID, r.PathValue("id"), approve, comment)
		what := "denied"
		if approve {
			what = "approved"
		}
		c.finish(w, r, q, err, func(status int, msg string) { c.showApprovals(w, r, q, status, msg) }, "approvals", what)
	}
}
