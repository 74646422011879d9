package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
)

// keysBefore is the engine's state pinned before a write (refusedBefore):
// its warning leaves out the keys already refused in it.
type keysBefore = auth.Before

// refusedBefore is, before a write that touches t, the engine's state
// the keys it touches will be judged against once it committed (a key
// refused then is not the write's doing). It reads and judges nothing —
// the write may yet be refused, and then no key is read (threat-model
// row 99) — and pins nothing when t touches nothing.
func (s *Server) refusedBefore(t auth.Touched) keysBefore {
	return s.auth.Before(t)
}

// outrankWarnings is the warning of a write that succeeded and touched
// minted credentials (t: it raised their principals, lowered their
// minters, or changed what a role means): the API keys and agent tokens
// it stopped — whose principal now outranks their minter, and did not
// before (before) — which every use will refuse 403
// credential-outranks-minter (threat-model rows 86, 97 and 107). The keys are named only to a caller that may read them (else
// a count). It also records them in the org's audit log, as
// "apikey.outranked" beside the write's own entry (same request id):
// an entry of the log is written in the write's transaction, before the
// engine holds the state the keys are judged against. nil when no key
// stops; a failure to read them is logged, never the write's failure.
func (s *Server) outrankWarnings(c *call, cause string, t auth.Touched, before keysBefore) []api.WriteWarning {
	return s.outrankWarningsIn(c, c.org(), cause, t, before)
}

// outrankWarningsIn is outrankWarnings for the keys of org, which a route
// with no org in its path names (DELETE /v1/me: each org the user left).
func (s *Server) outrankWarningsIn(c *call, org, cause string, t auth.Touched, before keysBefore) []api.WriteWarning {
	if !t.Any() {
		return nil
	}
	keys, visible, truncated, err := s.auth.OutrankedKeys(c.ctx, c.caller(), org, t, before)
	if err != nil {
		s.log.Warn("listing the keys a write outranks failed", "request_id", c.reqID, "error", err)
		return nil
	}
	if len(keys) == 0 {
		return nil
	}
	w := api.WriteWarning{Code: api.WarningCredentialsOutranked, Count: len(keys), Truncated: truncated,
		Message: fmt.Sprintf("after this write principals outrank the members that minted %s: every use of them is now refused (credential-outranks-minter) until revoked and minted again by someone who outranks them", credentialsText(keys))}
	listed := make([]api.OutrankedCredential, 0, len(keys))
	for _, k := range keys {
		listed = append(listed, api.OutrankedCredential{Kind: k.Kind, ID: k.ID, Principal: k.Principal, Minter: k.Minter, Scope: scopeText(k.Err), Reason: k.Err.Error()})
	}
	if visible {
		w.Credentials = listed
	}
	s.recordOutrankedKeys(c, org, cause, listed, truncated)
	return []api.WriteWarning{w}
}

// credentialsText counts keys by kind: "2 of their API keys", "1 of
// their agent tokens", "2 of their API keys and 1 of their agent tokens".
func credentialsText(keys []auth.OutrankedKey) string {
	var nKeys, nTokens int
	for _, k := range keys {
		if k.Kind == auth.KindAgentToken {
			nTokens++
		} else {
			nKeys++
		}
	}
	switch {
	case nTokens == 0:
		return fmt.Sprintf("%d of their API keys", nKeys)
	case nKeys == 0:
		return fmt.Sprintf("%d of their agent tokens", nTokens)
	}
	return fmt.Sprintf("%d of their API keys and %d of their agent tokens", nKeys, nTokens)
}

// warnedRevision is a Revision answer of a write (rev, err) with the
// warning of the keys it stopped (outrankWarnings), once it succeeded.
func (s *Server) warnedRevision(c *call, cause string, t auth.Touched, before keysBefore, rev uint64, err error) (Revision, error) {
	if err != nil {
		return Revision{Revision: rev}, err
	}
	return Revision{Revision: rev, Warnings: s.outrankWarnings(c, cause, t, before)}, nil
}

// warnedWritten is warnedRevision for a write that answers what it wrote.
func warnedWritten[T any](s *Server, c *call, cause string, t auth.Touched, before keysBefore, item T, rev uint64, err error) (Written[T], error) {
	if err != nil {
		return Written[T]{Revision: rev, Item: item}, err
	}
	return Written[T]{Revision: rev, Item: item, Warnings: s.outrankWarnings(c, cause, t, before)}, nil
}

// recordOutrankedKeys writes the credentials a write stopped to the
// org's audit log: their kinds (API key, agent token), ids, principals
// and minters, never a secret. The action stays "apikey.outranked" (what
// filters on it keeps working); "keys" lists agent tokens too.
func (s *Server) recordOutrankedKeys(c *call, org, cause string, keys []api.OutrankedCredential, truncated bool) {
	type key struct {
		Kind      string `json:"kind"`
		ID        string `json:"id"`
		Principal string `json:"principal"`
		Minter    string `json:"minter"`
		Scope     string `json:"scope,omitempty"`
	}
	ks := make([]key, len(keys))
	for i, k := range keys {
		ks[i] = key{k.Kind, k.ID, k.Principal, k.Minter, k.Scope}
	}
	details, err := json.Marshal(struct {
		Cause     string `json:"cause"`
		Count     int    `json:"count"`
		Truncated bool   `json:"truncated,omitempty"`
		Keys      []key  `json:"keys"`
	}{cause, len(ks), truncated, ks})
	if err != nil {
		return
	}
	e := audit.Entry{
		Org:    org,
		Actor:  audit.Actor{Principal: c.id.Principal, KeyID: c.id.KeyID, SessionID: c.id.SessionID, ClientAddr: c.addr, RequestID: c.reqID},
		Action: "apikey.outranked", Result: audit.Success, Details: details,
		Message: fmt.Sprintf("%d minted credentials (API keys, agent tokens) now outrank their minters (by %s)", len(ks), cause),
	}
	if err := s.dir.RecordEvent(context.WithoutCancel(c.ctx), e); err != nil {
		s.log.Error("audit: recording the keys a write outranks failed", "request_id", c.reqID, "error", err)
	}
}
