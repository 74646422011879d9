package client

import (
	"context"
	"sync"

	"github.com/gatehouse-dev/gatehouse/api"
)

// WriteWarning is what a write that succeeded stopped: code
// "credentials-outrank-minter", the API keys and agent tokens whose
// principal (a service, an agent) now outranks the member that minted
// them (docs/api.md). OutrankedCredential is one of them (never its
// secret); its Kind is CredentialAPIKey or CredentialAgentToken.
type (
	WriteWarning        = api.WriteWarning
	OutrankedCredential = api.OutrankedCredential
)

// Kinds of OutrankedCredential.
const (
	CredentialAPIKey     = api.CredentialAPIKey
	CredentialAgentToken = api.CredentialAgentToken
)

// WriteWarnings collects what the writes made with a context from
// CollectWarnings stopped. The write methods answer (item, revision,
// error) or (revision, error) and have no room for it; Write (a batch)
// and ApplyPolicy answer it themselves, and record it here too. Safe for
// concurrent use.
type WriteWarnings struct {
	mu sync.Mutex
	ws []WriteWarning
}

type warningsKey struct{}

// CollectWarnings returns a context under which every write of any Client
// appends its answer's warnings to the returned collector:
//
//	ctx, ws := client.CollectWarnings(ctx)
//	if _, err := c.RemoveMember(ctx, org, "bob"); err != nil { … }
//	for _, w := range ws.List() { log.Print(w.Message) } // the keys bob minted, now refused
func CollectWarnings(ctx context.Context) (context.Context, *WriteWarnings) {
	w := &WriteWarnings{}
	return context.WithValue(ctx, warningsKey{}, w), w
}

// List is the warnings collected so far, in the order of the answers (nil
// when none).
func (w *WriteWarnings) List() []WriteWarning {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ws) == 0 {
		return nil
	}
	return append([]WriteWarning(nil), w.ws...)
}

// noteWarnings records a write's warnings in ctx's collector, if any.
func noteWarnings(ctx context.Context, ws []WriteWarning) {
	if len(ws) == 0 {
		return
	}
	w, _ := ctx.Value(warningsKey{}).(*WriteWarnings)
	if w == nil {
		return
	}
	w.mu.Lock()
	w.ws = append(w.ws, ws...)
	w.mu.Unlock()
}
