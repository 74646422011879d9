package authz

import "strings"

// IsIdent reports whether s is an identifier as ids and names are
// written: an ASCII letter, then letters, digits, '_' or '-'. It is
// policy.CheckIdent without building an error, and never allocates.
func IsIdent(s string) bool { return isIdent(s) }

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

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
