package console

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/format"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// pageSize is the length of every paginated list.
const pageSize = 50

// pageRoutes registers the org pages beyond the overview.
func (c *Console) pageRoutes() {
	m := c.mux
	org := "orgs/{org}/"
	m.HandleFunc("GET "+Prefix+org+"members", c.inOrg(c.members))
	m.HandleFunc("POST "+Prefix+org+"members/invite", c.inOrg(c.invite))
	m.HandleFunc("POST "+Prefix+org+"members/{user}/role", c.inOrg(c.changeRole))
	m.HandleFunc("POST "+Prefix+org+"members/{user}/remove", c.inOrg(c.removeMember))
	m.HandleFunc("POST "+Prefix+org+"invitations/{id}/revoke", c.inOrg(c.revokeInvitation))
	m.HandleFunc("GET "+Prefix+org+"teams", c.inOrg(c.teams))
	m.HandleFunc("POST "+Prefix+org+"teams", c.inOrg(c.createTeam))
	m.HandleFunc("POST "+Prefix+org+"teams/{team}/members", c.inOrg(c.addTeamMember))
	m.HandleFunc("POST "+Prefix+org+"teams/{team}/members/remove", c.inOrg(c.removeTeamMember))
	m.HandleFunc("GET "+Prefix+org+"roles", c.inOrg(c.roles))
	m.HandleFunc("POST "+Prefix+org+"roles", c.inOrg(c.saveRole))
	m.HandleFunc("POST "+Prefix+org+"roles/{role}/delete", c.inOrg(c.deleteRole))
	m.HandleFunc("GET "+Prefix+org+"policy", c.inOrg(c.policyPage))
	m.HandleFunc("POST "+Prefix+org+"policy", c.inOrg(c.policyAction))
	m.HandleFunc("POST "+Prefix+org+"policy/lint", c.inOrg(c.policyLint))
}

// done are the notices a redirect after a successful change may show
// (fixed sentences: a query parameter never puts text on the page).
var done = map[string]string{
	"role":     "The role was changed.",
	"removed":  "The member was removed.",
	"saved":    "Saved.",
	"deleted":  "Deleted.",
	"created":  "Created.",
	"revoked":  "The invitation was revoked.",
	"rotated":  "Rotated: the new value is the current version.",
	"policy":   "The policy was saved.",
	"approved": "Your approval was recorded.",
	"denied":   "Your denial was recorded: the request is denied.",
}

func (c *Console) redirectDone(w http.ResponseWriter, r *http.Request, path, what string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"done="+what, http.StatusSeeOther)
}

func notice(r *http.Request) string { return done[r.URL.Query().Get("done")] }

// finish ends a form's action: on an error, again shows the page with its
// sentence; else a redirect to the org page path with the notice what.
func (c *Console) finish(w http.ResponseWriter, r *http.Request, q *req, err error, again func(status int, msg string), path, what string) {
	if err != nil {
		again(sentence(err))
		return
	}
	c.redirectDone(w, r, orgPath(q.org.ID)+path, what)
}

// --- members

type memberRow struct {
	UserID   string
	Bindings []store.Binding
	OrgRole  string // the role bound at org scope ("" if none directly)
}

type membersData struct {
	Members     []memberRow
	Next        string
	Cursor      string
	Grantable   []directory.RoleInfo
	CanInvite   bool
	CanUpdate   bool
	CanRemove   bool
	CanBindings bool
	Invitations []store.Invitation
	InviteLink  string // shown once, after an invitation was created
	InviteEmail string
}

func (c *Console) membersData(r *http.Request, q *req) (*membersData, error) {
	ctx := r.Context()
	cursor := r.URL.Query().Get("cursor")
	ms, next, err := c.dir.ListMembers(ctx, q.actor, q.org.ID, store.Page{Size: pageSize, Cursor: cursor})
	if err != nil {
		return nil, err
	}
	d := &membersData{Next: next, Cursor: cursor,
		CanInvite: c.may(q, "members:create"), CanUpdate: c.may(q, "members:update"),
		CanRemove: c.may(q, "members:delete"), CanBindings: c.may(q, "bindings:list")}
	for _, m := range ms {
		row := memberRow{UserID: m.UserID}
		if d.CanBindings || m.PrincipalID() == q.caller.Principal {
			bs, _, err := c.dir.ListBindings(ctx, q.actor, q.org.ID, directory.BindingFilter{Principal: m.PrincipalID()}, store.Page{Size: 100})
			if err != nil {
				return nil, err
			}
			row.Bindings = bs
			for _, b := range bs {
				if b.Role != "" && b.Scope.IsOrg() && b.Condition == "" {
					row.OrgRole = b.Role
				}
			}
		}
		d.Members = append(d.Members, row)
	}
	if d.CanInvite || d.CanUpdate {
		if d.Grantable, err = c.dir.GrantableRoles(ctx, q.actor, q.org.ID); err != nil {
			return nil, err
		}
		// Lowest first: the form's default is the least it can grant.
		sort.SliceStable(d.Grantable, func(i, j int) bool { return d.Grantable[i].Level < d.Grantable[j].Level })
		if invs, _, err := c.auth.ListInvitations(ctx, q.caller, q.org.ID, store.Page{Size: pageSize}); err == nil {
			for _, inv := range invs {
				if inv.AcceptedAt.IsZero() && inv.RevokedAt.IsZero() && c.now().Before(inv.ExpiresAt) {
					d.Invitations = append(d.Invitations, inv)
				}
			}
		}
	}
	return d, nil
}

func (c *Console) members(w http.ResponseWriter, r *http.Request, q *req) {
	c.showMembers(w, r, q, http.StatusOK, "", nil)
}

// showMembers renders the members page, with an error sentence or what
// an invitation produced.
func (c *Console) showMembers(w http.ResponseWriter, r *http.Request, q *req, status int, errMsg string, adjust func(*membersData)) {
	d, err := c.membersData(r, q)
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	if adjust != nil {
		adjust(d)
	}
	p := c.orgPage(r, q, "Members")
	p.Current = orgPath(q.org.ID) + "members"
	p.Error, p.Notice, p.Data = errMsg, notice(r), d
	c.render(w, r, status, "members", p)
}

func (c *Console) invite(w http.ResponseWriter, r *http.Request, q *req) {
	email, role := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("role")
	_, tok, _, err := c.auth.Invite(r.Context(), q.caller, q.org.ID, email, role)
	if err != nil {
		status, msg := sentence(err)
		c.showMembers(w, r, q, status, msg, nil)
		return
	}
	scheme := "http"
	if c.isSecure(r) {
		scheme = "https"
	}
	link := scheme + "://" + r.Host + Prefix + "invitation?token=" + url.QueryEscape(tok)
	c.showMembers(w, r, q, http.StatusOK, "", func(d *membersData) {
		d.InviteLink, d.InviteEmail = link, email
	})
}

// membersAgain re-renders the members page with a refusal.
func (c *Console) membersAgain(w http.ResponseWriter, r *http.Request, q *req) func(int, string) {
	return func(status int, msg string) { c.showMembers(w, r, q, status, msg, nil) }
}

func (c *Console) changeRole(w http.ResponseWriter, r *http.Request, q *req) {
	_, _, err := c.dir.ChangeMemberRole(r.Context(), q.actor, q.org.ID, r.PathValue("user"), r.PostFormValue("role"))
	c.finish(w, r, q, err, c.membersAgain(w, r, q), "members", "role")
}

// revokeInvitation revokes a pending invitation (auth decides who may).
func (c *Console) revokeInvitation(w http.ResponseWriter, r *http.Request, q *req) {
	_, err := c.auth.RevokeInvitation(r.Context(), q.caller, q.org.ID, r.PathValue("id"))
	c.finish(w, r, q, err, c.membersAgain(w, r, q), "members", "revoked")
}

func (c *Console) removeMember(w http.ResponseWriter, r *http.Request, q *req) {
	_, err := c.dir.RemoveMember(r.Context(), q.actor, q.org.ID, r.PathValue("user"))
	c.finish(w, r, q, err, c.membersAgain(w, r, q), "members", "removed")
}

// --- teams

type teamsData struct {
	Teams     []store.Team
	Next      string
	CanCreate bool
	CanUpdate bool
}

func (c *Console) teams(w http.ResponseWriter, r *http.Request, q *req) {
	c.showTeams(w, r, q, http.StatusOK, "")
}

func (c *Console) teamsAgain(w http.ResponseWriter, r *http.Request, q *req) func(int, string) {
	return func(status int, msg string) { c.showTeams(w, r, q, status, msg) }
}

// createTeam creates an empty team.
func (c *Console) createTeam(w http.ResponseWriter, r *http.Request, q *req) {
	_, _, err := c.dir.CreateTeam(r.Context(), q.actor, q.org.ID, strings.TrimSpace(r.PostFormValue("slug")), r.PostFormValue("name"), nil)
	c.finish(w, r, q, err, c.teamsAgain(w, r, q), "teams", "created")
}

// addTeamMember adds a principal ("user:bob", "agent:x") to a team.
func (c *Console) addTeamMember(w http.ResponseWriter, r *http.Request, q *req) {
	_, err := c.dir.AddTeamMember(r.Context(), q.actor, q.org.ID, r.PathValue("team"), strings.TrimSpace(r.PostFormValue("principal")))
	c.finish(w, r, q, err, c.teamsAgain(w, r, q), "teams", "saved")
}

// removeTeamMember takes a principal out of a team.
func (c *Console) removeTeamMember(w http.ResponseWriter, r *http.Request, q *req) {
	_, err := c.dir.RemoveTeamMember(r.Context(), q.actor, q.org.ID, r.PathValue("team"), r.PostFormValue("principal"))
	c.finish(w, r, q, err, c.teamsAgain(w, r, q), "teams", "saved")
}

func (c *Console) showTeams(w http.ResponseWriter, r *http.Request, q *req, status int, msg string) {
	ctx := r.Context()
	ts, next, err := c.dir.ListTeams(ctx, q.actor, q.org.ID, store.Page{Size: pageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	for i := range ts {
		t, err := c.dir.GetTeam(ctx, q.actor, q.org.ID, ts[i].Slug)
		if err != nil {
			c.fail(w, r, q, err)
			return
		}
		ts[i] = t
	}
	p := c.orgPage(r, q, "Teams")
	p.Current = orgPath(q.org.ID) + "teams"
	p.Error, p.Notice = msg, notice(r)
	p.Data = teamsData{Teams: ts, Next: next, CanCreate: c.may(q, "teams:create"), CanUpdate: c.may(q, "teams:update")}
	c.render(w, r, status, "teams", p)
}

// --- roles and the matrix

type rolesData struct {
	Roles     []directory.RoleInfo
	Matrix    *policy.Matrix
	CanCreate bool
	CanUpdate bool
	CanDelete bool
	Form      roleForm
}

type roleForm struct {
	Name, Level, Parents, Permissions string
	Edit                              bool
}

func (c *Console) roles(w http.ResponseWriter, r *http.Request, q *req) {
	c.showRoles(w, r, q, http.StatusOK, "", roleForm{})
}

func (c *Console) showRoles(w http.ResponseWriter, r *http.Request, q *req, status int, errMsg string, f roleForm) {
	ctx := r.Context()
	rs, err := c.dir.ListRoles(ctx, q.actor, q.org.ID)
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	d := rolesData{Roles: rs, CanCreate: c.may(q, "roles:create"), CanUpdate: c.may(q, "roles:update"), CanDelete: c.may(q, "roles:delete"), Form: f}
	if edit := r.URL.Query().Get("edit"); edit != "" && f.Name == "" {
		for _, ri := range rs {
			if ri.Name == edit && ri.Custom {
				d.Form = roleForm{Name: ri.Name, Level: strconv.Itoa(ri.Level), Parents: strings.Join(ri.Parents, ", "), Permissions: strings.Join(ri.Permissions, ", "), Edit: true}
			}
		}
	}
	if pol, err := c.dir.GetPolicy(ctx, q.actor, q.org.ID); err == nil {
		if m, _ := policy.Load(directory.PolicyFile, []byte(pol.Text), templates.LintOptions()); m != nil {
			if mx, err := policy.BuildMatrix(m); err == nil {
				d.Matrix = &mx
			}
		}
	}
	p := c.orgPage(r, q, "Roles and the matrix")
	p.Current = orgPath(q.org.ID) + "roles"
	p.Error, p.Notice, p.Data = errMsg, notice(r), d
	c.render(w, r, status, "roles", p)
}

// saveRole creates a custom role, or updates one (edit=1).
func (c *Console) saveRole(w http.ResponseWriter, r *http.Request, q *req) {
	f := roleForm{Name: strings.TrimSpace(r.PostFormValue("name")), Level: strings.TrimSpace(r.PostFormValue("level")),
		Parents: r.PostFormValue("parents"), Permissions: r.PostFormValue("permissions"), Edit: r.PostFormValue("edit") == "1"}
	level, err := strconv.Atoi(f.Level)
	if err != nil {
		c.showRoles(w, r, q, http.StatusBadRequest, "The level must be a whole number.", f)
		return
	}
	spec := directory.RoleSpec{Name: f.Name, Level: level, Parents: splitList(f.Parents), Permissions: splitList(f.Permissions)}
	if f.Edit {
		_, err = c.dir.UpdateRole(r.Context(), q.actor, q.org.ID, spec)
	} else {
		_, err = c.dir.CreateRole(r.Context(), q.actor, q.org.ID, spec)
	}
	c.finish(w, r, q, err, func(status int, msg string) { c.showRoles(w, r, q, status, msg, f) }, "roles", "saved")
}

func (c *Console) deleteRole(w http.ResponseWriter, r *http.Request, q *req) {
	_, err := c.dir.DeleteRole(r.Context(), q.actor, q.org.ID, r.PathValue("role"))
	c.finish(w, r, q, err, func(status int, msg string) { c.showRoles(w, r, q, status, msg, roleForm{}) }, "roles", "deleted")
}

// splitList splits "a, b c" into ["a" "b" "c"].
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// --- the policy editor

type policyData struct {
	Text      string
	Version   uint64
	CanSave   bool
	Lint      *lintResult
	Conflict  bool
	Impact    *impactView // set by Check when the text compiles and the principal may see it
	ImpactErr string      // why no impact is shown
}

// impactView is the policy impact (Directory.PolicyImpact: who would
// gain or lose which permission where), its entries capped.
type impactView struct {
	Summary authz.ImpactSummary
	Entries []authz.ImpactEntry
	More    int
}

// maxImpactEntries bounds the impact table; the summary counts them all.
const maxImpactEntries = 200

// impact computes what saving text would change, for the editor.
func (c *Console) impact(r *http.Request, q *req, d *policyData) {
	if d.Lint == nil || !d.Lint.Valid {
		return
	}
	im, err := c.dir.PolicyImpact(r.Context(), q.actor, q.org.ID, d.Text)
	if err != nil {
		_, d.ImpactErr = sentence(err)
		return
	}
	v := &impactView{Summary: im.Summary, Entries: im.Entries}
	if len(v.Entries) > maxImpactEntries {
		v.Entries, v.More = v.Entries[:maxImpactEntries], len(v.Entries)-maxImpactEntries
	}
	d.Impact = v
}

// lintResult is a policy text checked as the directory would store it.
type lintResult struct {
	Valid  bool
	Errors int
	Lines  []lintLine // only the lines with diagnostics, with their text
	Matrix *policy.Matrix
}

type lintLine struct {
	N     int
	Text  string
	Diags []token.Diagnostic
}

// lint compiles and lints text like the API's validate endpoint.
func lint(text string) *lintResult {
	m, diags := policy.Load(directory.PolicyFile, []byte(text), templates.LintOptions())
	diags.Sort()
	res := &lintResult{Valid: !diags.HasErrors(), Errors: len(diags.Errors())}
	lines := strings.Split(text, "\n")
	for _, d := range diags {
		n := d.Pos.Line
		if n < 1 {
			n = 1
		}
		if k := len(res.Lines); k > 0 && res.Lines[k-1].N == n {
			res.Lines[k-1].Diags = append(res.Lines[k-1].Diags, d)
			continue
		}
		l := lintLine{N: n}
		if n <= len(lines) {
			l.Text = lines[n-1]
		}
		l.Diags = []token.Diagnostic{d}
		res.Lines = append(res.Lines, l)
	}
	if m != nil {
		if mx, err := policy.BuildMatrix(m); err == nil {
			res.Matrix = &mx
		}
	}
	return res
}

func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, q *req) {
	pol, err := c.dir.GetPolicy(r.Context(), q.actor, q.org.ID)
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	c.showPolicy(w, r, q, http.StatusOK, "", &policyData{Text: pol.Text, Version: pol.Version})
}

func (c *Console) showPolicy(w http.ResponseWriter, r *http.Request, q *req, status int, errMsg string, d *policyData) {
	d.CanSave = c.may(q, "policy:update")
	p := c.orgPage(r, q, "Policy")
	p.Current = orgPath(q.org.ID) + "policy"
	p.Error, p.Notice, p.Data = errMsg, notice(r), d
	c.render(w, r, status, "policy", p)
}

// policyAction is the editor's form: check, format or save.
func (c *Console) policyAction(w http.ResponseWriter, r *http.Request, q *req) {
	ctx := r.Context()
	// Reading the policy authorizes the editor (policy:read), like the
	// API's validate endpoint.
	if _, err := c.dir.GetPolicy(ctx, q.actor, q.org.ID); err != nil {
		c.fail(w, r, q, err)
		return
	}
	text := strings.ReplaceAll(r.PostFormValue("text"), "\r\n", "\n")
	version, _ := strconv.ParseUint(r.PostFormValue("version"), 10, 64)
	d := &policyData{Text: text, Version: version}
	switch r.PostFormValue("action") {
	case "format":
		out, diags := format.Source(directory.PolicyFile, []byte(text))
		if diags.HasErrors() {
			d.Lint = lint(text)
			c.showPolicy(w, r, q, http.StatusUnprocessableEntity, "The text does not parse, so it was not formatted: see the errors at their lines.", d)
			return
		}
		d.Text = string(out)
		d.Lint = lint(d.Text)
		c.showPolicy(w, r, q, http.StatusOK, "", d)
	case "save":
		_, err := c.dir.ReplacePolicyAt(ctx, q.actor, q.org.ID, text, false, version)
		var pe *directory.PolicyError
		switch {
		case err == nil:
			c.redirectDone(w, r, orgPath(q.org.ID)+"policy", "policy")
		case errors.As(err, &pe):
			d.Lint = lint(text)
			c.showPolicy(w, r, q, http.StatusUnprocessableEntity, "The policy was not saved: it has errors, shown at their lines.", d)
		default:
			status, msg := sentence(err)
			d.Conflict = errors.Is(err, directory.ErrConflict)
			d.Lint = lint(text)
			c.showPolicy(w, r, q, status, msg, d)
		}
	default: // check, with the impact of saving
		d.Lint = lint(text)
		c.impact(r, q, d)
		c.showPolicy(w, r, q, http.StatusOK, "", d)
	}
}

// policyLint answers the editor's live lint: the rendered result section
// only (the script swaps it in).
func (c *Console) policyLint(w http.ResponseWriter, r *http.Request, q *req) {
	if _, err := c.dir.GetPolicy(r.Context(), q.actor, q.org.ID); err != nil {
		status, _ := sentence(err)
		http.Error(w, http.StatusText(status), status)
		return
	}
	c.execute(w, http.StatusOK, "policy", "lint", lint(strings.ReplaceAll(r.PostFormValue("text"), "\r\n", "\n")))
}
