package server

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// Cross-org lookup (issue 19): "everything I can run" across the caller's
// orgs in one paged call instead of one call per org and page.

func (s *Server) meLookupRoutes() []*Route {
	return []*Route{
		route("GET", "/v1/me/lookup/resources", "decisions", "Which resources may I do action on, in every org I am a member of (a credential confined to an org: that org)? Paged across orgs, in org order.", s.meLookupResources).
			query(Param{"action", "string", "<type>:<action>, e.g. chains:run (required)"},
				Param{"namespace", "string", "only this namespace in each org"},
				Param{"page_size", "integer", "1 to 10000 (default 100)"},
				Param{"cursor", "string", "next_cursor of the previous page"},
				Param{"at_least", "integer", "answer at a revision ≥ this one (bounded wait, then 503)"}),
	}
}

// meCursor is the position of a cross-org lookup: the org it stopped in and
// that org's own page token ("" to start the org).
func encodeMeCursor(org, token string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(org + "\x00" + token))
}

func decodeMeCursor(c string) (org, token string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", false
	}
	org, token, ok = strings.Cut(string(b), "\x00")
	return org, token, ok && validSlug(org)
}

func (s *Server) meLookupResources(c *call, _ *noBody) (api.MeLookupResourcesResponse, error) {
	q := c.r.URL.Query()
	rev, err := c.queryUint("at_least")
	if err != nil {
		return api.MeLookupResourcesResponse{}, err
	}
	if err := s.waitFor(c, rev); err != nil {
		return api.MeLookupResourcesResponse{}, err
	}
	perm, err := parseAction("action", q.Get("action"))
	if err != nil {
		return api.MeLookupResourcesResponse{}, err
	}
	ns := q.Get("namespace")
	if ns != "" && !validSlug(ns) {
		return api.MeLookupResourcesResponse{}, badNamespace("namespace", ns)
	}
	size := 100
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 10000 {
			return api.MeLookupResourcesResponse{}, invalidField("page_size", "page_size must be from 1 to 10000")
		}
	}
	var startOrg, token string
	if cur := q.Get("cursor"); cur != "" {
		var ok bool
		if startOrg, token, ok = decodeMeCursor(cur); !ok {
			return api.MeLookupResourcesResponse{}, invalidField("cursor", "cursor is not a next_cursor of this route")
		}
	}
	var orgs []string
	if c.id.Org != "" {
		orgs = []string{c.id.Org}
	} else {
		os, err := s.dir.ListOrgs(c.ctx, c.actor())
		if err != nil {
			return api.MeLookupResourcesResponse{}, err
		}
		for _, o := range os {
			orgs = append(orgs, o.ID)
		}
		slices.Sort(orgs)
	}
	out := api.MeLookupResourcesResponse{Items: []api.OrgResourceRef{}}
	// known: some org of the caller has the namespace asked for. When none
	// has, the answer says so (row 92), as each org's lookup does; a
	// namespace of an org the caller is not in is as unknown as a made-up
	// one. (A cursor is only handed out after an item, so a lookup whose
	// namespace no org has is always answered from its first org.)
	known := ns == ""
	for _, org := range orgs {
		if org < startOrg {
			continue
		}
		tok := ""
		if org == startOrg {
			tok = token
		}
		for {
			page, err := s.dir.LookupResources(c.ctx, c.actor(), authz.LookupResourcesRequest{
				Org: org, Principal: c.id.Principal, Type: perm.Resource, Action: perm.Action, Namespace: ns,
				PageSize: size - len(out.Items), PageToken: tok,
			}, 0)
			if errors.Is(err, directory.ErrNotFound) {
				break // left the org meanwhile, or no such namespace there
			}
			if err != nil {
				return api.MeLookupResourcesResponse{}, err
			}
			if out.Revision == 0 || page.Revision < out.Revision {
				out.Revision = page.Revision
			}
			known = known || page.Reason != authz.ReasonUnknownNamespace
			for _, r := range page.Resources {
				out.Items = append(out.Items, api.OrgResourceRef{Org: org, ResourceRef: apiRef(r)})
			}
			if len(out.Items) >= size {
				if page.NextPageToken != "" {
					out.NextCursor = encodeMeCursor(org, page.NextPageToken)
				} else if next := nextOrg(orgs, org); next != "" {
					out.NextCursor = encodeMeCursor(next, "")
				}
				return out, nil
			}
			if page.NextPageToken == "" {
				break
			}
			tok = page.NextPageToken
		}
	}
	if out.Revision == 0 {
		out.Revision = s.dir.Revision()
	}
	if !known && startOrg == "" {
		out.Reason = string(authz.ReasonUnknownNamespace)
	}
	return out, nil
}

// nextOrg is the org after org in sorted orgs, "" if none.
func nextOrg(orgs []string, org string) string {
	i, _ := slices.BinarySearch(orgs, org)
	for ; i < len(orgs); i++ {
		if orgs[i] > org {
			return orgs[i]
		}
	}
	return ""
}
