package authz

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/ident"
)

// IsIdent reports whether s is an identifier as ids and names are
// written: an ASCII letter, then letters, digits, '_' or '-'. It never
// allocates.
func IsIdent(s string) bool { return ident.IsIdent(s) }

func isIdent(s string) bool { return ident.IsIdent(s) }

// parsePrincipal splits "kind:name". ok is false for a missing ':', an
// unknown kind or a name that is not an identifier.
func parsePrincipal(id string) (kind, name string, ok bool) {
	kind, name, found := strings.Cut(id, ":")
	if !found || !isIdent(name) {
		return "", "", false
	}
	switch kind {
	case KindUser, KindTeam, KindAgent, KindService:
		return kind, name, true
	}
	return "", "", false
}

// parseSubject is parsePrincipal for the subject of a binding, which may
// also be "role:<name>" (a role share).
func parseSubject(id string) (kind, name string, ok bool) {
	if name, found := strings.CutPrefix(id, KindRole+":"); found {
		if !isIdent(name) {
			return "", "", false
		}
		return KindRole, name, true
	}
	return parsePrincipal(id)
}
