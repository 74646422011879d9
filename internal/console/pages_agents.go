package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/templates"
)

func (c *Console) agentRoutes() {
	m := c.mux
	org := Prefix + "orgs/{org}/"
	m.HandleFunc("GET "+org+"agents", c.inOrg(c.agentsPage))
	m.HandleFunc("POST "+org+"keys", c.inOrg(c.createKey))
	m.HandleFunc("POST "+org+"keys/{kid}/revoke", c.inOrg(c.revokeKey))
	m.HandleFunc("POST "+org+"agents/{agent}/tokens/{tid}/revoke", c.inOrg(c.revokeAgentToken))
}

type agentRow struct {
	store.Agent
	Rules []string // "can run chains when business_hours"
}

type agentsData struct {
	Agents    []agentRow
	CanAgents bool
	MyKeys    []store.APIKey
	OrgKeys   []store.APIKey
	CanOrg    bool
	// Tokens are the org's unexpired agent tokens (never a token itself),
	// shown with apikeys:read.
	Tokens    []store.AgentToken
	CanTokens bool
	NewKey    string // the token of a key just created: shown once
	NewName   string
}

func (c *Console) agentsPage(w http.ResponseWriter, r *http.Request, q *req) {
	c.showAgents(w, r, q, http.StatusOK, "", nil)
}

func (c *Console) showAgents(w http.ResponseWriter, r *http.Request, q *req, status int, msg string, adjust func(*agentsData)) {
	ctx := r.Context()
	d := agentsData{CanAgents: c.may(q, "agents:list"), CanOrg: c.may(q, "apikeys:list"), CanTokens: c.may(q, "apikeys:read")}
	if d.CanAgents {
		as, _, err := c.dir.ListAgents(ctx, q.actor, q.org.ID, store.Page{Size: pageSize, Cursor: r.URL.Query().Get("cursor")})
		if err != nil {
			c.fail(w, r, q, err)
			return
		}
		var model *policy.Model
		if pol, err := c.dir.GetPolicy(ctx, q.actor, q.org.ID); err == nil {
			model, _ = policy.Load(directory.PolicyFile, []byte(pol.Text), templates.LintOptions())
		}
		for _, a := range as {
			row := agentRow{Agent: a}
			if model != nil {
				if pa, ok := model.Agent(a.Name); ok {
					for _, ru := range pa.Rules {
						s := ru.Kind.String() + " " + strings.Join(ru.Words, " ")
						if ru.Condition != "" {
							s += " " + ru.Keyword + " " + ru.Condition
						}
						row.Rules = append(row.Rules, s)
					}
				}
			}
			d.Agents = append(d.Agents, row)
		}
	}
	if ks, _, err := c.auth.ListKeys(ctx, q.caller, "", "", store.Page{Size: pageSize}); err == nil {
		d.MyKeys = live(ks, c.now())
	}
	if d.CanOrg {
		if ks, _, err := c.auth.ListKeys(ctx, q.caller, q.org.ID, "", store.Page{Size: pageSize}); err == nil {
			d.OrgKeys = live(ks, c.now())
		}
	}
	if d.CanTokens {
		if ts, _, err := c.auth.ListAgentTokens(ctx, q.caller, q.org.ID, "", store.Page{Size: pageSize}); err == nil {
			d.Tokens = ts
		}
	}
	if adjust != nil {
		adjust(&d)
	}
	p := c.orgPage(r, q, "Agents and keys")
	p.Current = orgPath(q.org.ID) + "agents"
	p.Error, p.Notice, p.Data = msg, notice(r), d
	c.render(w, r, status, "agents", p)
}

// live drops revoked and expired keys.
func live(ks []store.APIKey, now time.Time) []store.APIKey {
	out := ks[:0]
	for _, k := range ks {
		if k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt)) {
			out = append(out, k)
		}
	}
	return out
}

// createKey creates a personal API key for the signed-in user; the token
// is shown on this answer only.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request, q *req) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	_, tok, _, err := c.auth.CreateKey(r.Context(), q.caller, "", auth.KeySpec{Name: name})
	if err != nil {
		status, msg := sentence(err)
		c.showAgents(w, r, q, status, msg, nil)
		return
	}
	c.showAgents(w, r, q, http.StatusCreated, "", func(d *agentsData) { d.NewKey, d.NewName = tok, name })
}

// revokeKey revokes one of the user's personal keys, or (scope=org) a key
// of the org; auth decides who may.
func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, q *req) {
	org := ""
	if r.PostFormValue("scope") == "org" {
		org = q.org.ID
	}
	_, err := c.auth.RevokeKey(r.Context(), q.caller, org, r.PathValue("kid"))
	c.finish(w, r, q, err, func(status int, msg string) { c.showAgents(w, r, q, status, msg, nil) }, "agents", "deleted")
}

// revokeAgentToken revokes one agent token of the org by its id; auth
// decides who may (apikeys:delete and managing the agent).
func (c *Console) revokeAgentToken(w http.ResponseWriter, r *http.Request, q *req) {
	_, err := c.auth.RevokeAgentToken(r.Context(), q.caller, q.org.ID, r.PathValue("agent"), r.PathValue("tid"))
	c.finish(w, r, q, err, func(status int, msg string) { c.showAgents(w, r, q, status, msg, nil) }, "agents", "deleted")
}
