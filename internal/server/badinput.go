package server

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
)

// Validation of what a decision route is asked about. A malformed
// principal, on_behalf_of, namespace or resource id is a 400 naming the
// field, never a deny: "bob" for "user:bob" is an integration bug, and a
// deny would hide it. Only well-formed but unknown names are denied (with a
// reason, authz.Reason). These checks read only the request (no org data),
// so they answer the same whoever asks, and they never allocate unless
// they fail: the allowed path pays a few byte comparisons.

// checkAsked validates the subject fields shared by check, explain and
// lookup resources: principal ("" means the caller, whose id is caller),
// on_behalf_of and namespace ("" means default).
func checkAsked(principal, caller, onBehalfOf, namespace string) error {
	if principal != "" {
		if err := checkSubject("principal", principal); err != nil {
			return err
		}
	} else {
		principal = caller
	}
	if onBehalfOf != "" {
		if err := checkOnBehalfOf(principal, onBehalfOf); err != nil {
			return err
		}
	}
	if namespace != "" && !validSlug(namespace) {
		return badNamespace("namespace", namespace)
	}
	return nil
}

// checkSubject validates a principal that is to act: user, agent or
// service (a team cannot act).
func checkSubject(field, p string) error {
	kind, name, ok := strings.Cut(p, ":")
	if !ok || !validName(name) {
		return invalidField(field, "%s must be user:<id>, agent:<name> or service:<name>, e.g. \"user:alice\" (got %q)", field, p)
	}
	switch kind {
	case authz.KindUser, authz.KindAgent, authz.KindService:
		return nil
	case authz.KindTeam:
		return invalidField(field, "%s %q is a team: a team cannot act, ask about one of its members", field, p)
	}
	return invalidField(field, "%s must be user:<id>, agent:<name> or service:<name>, e.g. \"user:alice\" (got %q)", field, p)
}

// checkOnBehalfOf validates on_behalf_of: a user, and only for an agent or
// service principal (DESIGN §1.1.5).
func checkOnBehalfOf(principal, u string) error {
	kind, name, ok := strings.Cut(u, ":")
	if !ok || kind != authz.KindUser || !validName(name) {
		return invalidField("on_behalf_of", "on_behalf_of must be the user the principal acts for, user:<id>, e.g. \"user:alice\" (got %q)", u)
	}
	if pk, _, _ := strings.Cut(principal, ":"); pk != authz.KindAgent && pk != authz.KindService {
		return invalidField("on_behalf_of", "only an agent or a service acts on behalf of a user (the principal is %q)", principal)
	}
	return nil
}

func badNamespace(field, ns string) error {
	return invalidField(field, "%s %q is not a namespace name (a lower-case letter, then a-z, 0-9, '-' or '_'; at most 63 bytes)", field, ns)
}

// validName is an identifier as principal names are written (the
// directory's checkName): an ASCII letter, then letters, digits, '_' or
// '-', at most 128 bytes.
func validName(s string) bool { return len(s) <= 128 && ident.IsIdent(s) }

// validSlug is a namespace name as the directory creates them: a
// lower-case letter, then a-z, 0-9, '-' or '_', at most 63 bytes.
func validSlug(s string) bool { return ident.IsSlug(s) }
