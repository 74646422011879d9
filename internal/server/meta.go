package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func (s *Server) healthz(c *call, _ *noBody) (Health, error) {
	return Health{Status: "ok", Version: s.version, EngineRevision: s.dir.Revision(), FollowerHealthy: s.dir.SyncError() == nil}, nil
}

// readyz is ready when the store answers and the engine has caught up
// with the store's revision as of the probe (waiting up to the consistency
// timeout for it).
func (s *Server) readyz(c *call, _ *noBody) (Health, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	h := Health{Status: "ok", Version: s.version, FollowerHealthy: s.dir.SyncError() == nil}
	rev, err := s.store.CurrentRevision(ctx)
	if err != nil {
		h.Status, h.Detail = "unavailable", "the store is not reachable"
		h.EngineRevision = s.dir.Revision()
		c.status = http.StatusServiceUnavailable
		s.log.Warn("readyz: store unreachable", "request_id", c.reqID, "err", err)
		return h, nil
	}
	h.StoreRevision = rev
	wctx, wcancel := context.WithTimeout(c.ctx, s.consistency)
	defer wcancel()
	if err := s.dir.WaitFor(wctx, rev); err != nil {
		h.Status, h.Detail = "unavailable", "the engine has not caught up with the store"
		c.status = http.StatusServiceUnavailable
	}
	h.EngineRevision = s.dir.Revision()
	return h, nil
}

func (s *Server) identityRoutes() []*Route {
	return []*Route{
		route("GET", "/v1/me", "identity", "Who am I: the caller, its orgs and its permissions in each (in ?namespace=, default \"default\").", s.me).
			query(Param{"namespace", "string", "the namespace permissions are listed for (default \"default\")"}),
		route("DELETE", "/v1/me", "identity", "Delete your own user and every membership it has (409 while you are the last owner of an org). Needs a personal key or a session not confined to an org.",
			func(c *call, _ *noBody) (Revision, error) {
				kind, id, _ := strings.Cut(c.id.Principal, ":")
				if kind != authz.KindUser || c.id.Org != "" {
					return Revision{}, problem(ProblemForbidden, "only a user's personal key or session may delete the user")
				}
				// The keys it minted stop in every org it leaves: judged
				// once it is gone, against the engine as it was (row 99).
				touched := auth.Touched{Lowered: []string{c.id.Principal}}
				before := s.refusedBefore(touched)
				orgs, rev, err := s.dir.DeleteUserOrgs(c.ctx, c.actor(), id)
				if err != nil {
					return Revision{Revision: rev}, err
				}
				out := Revision{Revision: rev}
				for _, org := range orgs {
					for _, w := range s.outrankWarningsIn(c, org, "user.delete", touched, before) {
						w.Org = org
						out.Warnings = append(out.Warnings, w)
					}
				}
				return out, nil
			}),
	}
}

func (s *Server) me(c *call, _ *noBody) (Me, error) {
	ns := c.r.URL.Query().Get("namespace")
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	m := Me{Principal: c.id.Principal, Org: c.id.Org, KeyID: c.id.KeyID, Via: "api_key", Orgs: []MeOrg{}}
	if c.id.SessionID != "" {
		m.Via = "session"
	}
	if !c.id.Expires.IsZero() {
		m.Expires = c.id.Expires.UTC().Format(time.RFC3339)
	}
	if kind, id, _ := strings.Cut(c.id.Principal, ":"); kind == authz.KindUser {
		if u, err := s.auth.User(c.ctx, id); err == nil {
			au := apiUser(u)
			m.User = &au
		}
	}
	var orgs []store.Org
	if c.id.Org != "" {
		if o, err := s.dir.GetOrg(c.ctx, c.actor(), c.id.Org); err == nil {
			orgs = append(orgs, o)
		}
	} else {
		var err error
		if orgs, err = s.dir.ListOrgs(c.ctx, c.actor()); err != nil {
			return Me{}, err
		}
	}
	for _, o := range orgs {
		gs, _, err := s.dir.Permissions(c.ctx, c.actor(), o.ID, c.id.Principal, ns, 0)
		if err != nil {
			continue // left meanwhile, or no such namespace there
		}
		m.Orgs = append(m.Orgs, MeOrg{ID: o.ID, Name: o.Name, Namespace: ns, Permissions: grantsOut(gs)})
	}
	return m, nil
}

// Wire types of package api under the names the server uses.
type (
	Health = api.Health
	Me     = api.Me
	MeOrg  = api.MeOrg
)
