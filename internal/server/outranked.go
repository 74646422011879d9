package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// outrankWarnings is the warning of a write that succeeded and raised
// principals (a binding, a share; a team standing for its members): the
// API keys of theirs whose principal now outranks their minter, which
// every use will refuse 403 credential-outranks-minter (threat-model row
// 86). The keys are named only to a caller that may read them (else a
// count). It also records them in the org's audit log, as
// "apikey.outranked" beside the write's own entry (same request id):
// an entry of the log is written in the write's transaction, before the
// engine holds the state the keys are judged against. nil when no key
// stops; a failure to read them is logged, never the write's failure.
func (s *Server) outrankWarnings(c *call, cause string, principals []string) []api.WriteWarning {
	if len(principals) == 0 {
		return nil
	}
	keys, visible, truncated, err := s.auth.OutrankedKeys(c.ctx, c.caller(), c.org(), principals)
	if err != nil {
		s.log.Warn("listing the keys a write outranks failed", "request_id", c.reqID, "error", err)
		return nil
	}
	if len(keys) == 0 {
		return nil
	}
	w := api.WriteWarning{Code: api.WarningCredentialsOutranked, Count: len(keys), Truncated: truncated,
		Message: fmt.Sprintf("this write makes principals outrank the members that minted %d of their API keys: every use of those keys is now refused (credential-outranks-minter) until revoked and minted again by someone who outranks them", len(keys))}
	listed := make([]api.OutrankedCredential, 0, len(keys))
	for _, k := range keys {
		listed = append(listed, api.OutrankedCredential{ID: k.ID, Principal: k.Principal, Minter: k.Minter, Scope: scopeText(k.Err), Reason: k.Err.Error()})
	}
	if visible {
		w.Credentials = listed
	}
	s.recordOutrankedKeys(c, cause, listed, truncated)
	return []api.WriteWarning{w}
}

// recordOutrankedKeys writes the keys a write stopped to the org's audit
// log: their ids, principals and minters, never a secret.
func (s *Server) recordOutrankedKeys(c *call, cause string, keys []api.OutrankedCredential, truncated bool) {
	type key struct {
		ID        string `json:"id"`
		Principal string `json:"principal"`
		Minter    string `json:"minter"`
		Scope     string `json:"scope,omitempty"`
	}
	ks := make([]key, len(keys))
	for i, k := range keys {
		ks[i] = key{k.ID, k.Principal, k.Minter, k.Scope}
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
		Org:    c.org(),
		Actor:  audit.Actor{Principal: c.id.Principal, KeyID: c.id.KeyID, SessionID: c.id.SessionID, ClientAddr: c.addr, RequestID: c.reqID},
		Action: "apikey.outranked", Result: audit.Success, Details: details,
		Message: fmt.Sprintf("%d API keys now outrank their minters (by %s)", len(ks), cause),
	}
	if err := s.dir.RecordEvent(context.WithoutCancel(c.ctx), e); err != nil {
		s.log.Error("audit: recording the keys a write outranks failed", "request_id", c.reqID, "error", err)
	}
}
