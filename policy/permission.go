package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Wildcard is the whole-segment wildcard of a permission pattern.
const Wildcard = "*"

// ErrBadPermission is wrapped by every error ParsePermission returns.
var ErrBadPermission = errors.New("malformed permission")

// Permission is a `resource:action` pattern. Either part may be the
// whole-segment wildcard "*"; otherwise each part is an identifier.
type Permission struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// String renders "resource:action".
func (p Permission) String() string { return p.Resource + ":" + p.Action }

// ParsePermission parses "resource:action". It rejects empty parts, extra
// colons, partial wildcards such as "chain*" and malformed identifiers, each
// with an error that says which part is wrong and wraps ErrBadPermission.
func ParsePermission(s string) (Permission, error) {
	res, act, ok := strings.Cut(s, ":")
	if !ok {
		return Permission{}, fmt.Errorf("%w %q: want resource:action, e.g. chains:run", ErrBadPermission, s)
	}
	if strings.Contains(act, ":") {
		return Permission{}, fmt.Errorf("%w %q: more than one ':'", ErrBadPermission, s)
	}
	if err := CheckPatternPart(res); err != nil {
		return Permission{}, fmt.Errorf("%w %q: resource %v", ErrBadPermission, s, err)
	}
	if err := CheckPatternPart(act); err != nil {
		return Permission{}, fmt.Errorf("%w %q: action %v", ErrBadPermission, s, err)
	}
	return Permission{Resource: res, Action: act}, nil
}

// MustPermission is ParsePermission for literals known to be valid; it
// panics otherwise. Use it only with constants.
func MustPermission(s string) Permission {
	p, err := ParsePermission(s)
	if err != nil {
		panic(err)
	}
	return p
}

// CheckPatternPart validates one part of a pattern: "*" or an identifier.
func CheckPatternPart(s string) error {
	if s == Wildcard {
		return nil
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf("%q is a partial wildcard: '*' must stand alone for the whole part", s)
	}
	return CheckIdent(s)
}

// CheckIdent validates an identifier: a letter, then letters, digits, '_'
// or '-'. Only ASCII letters are letters.
func CheckIdent(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			if i == 0 {
				return fmt.Errorf("%q must start with a letter", s)
			}
			return fmt.Errorf("%q has %q at byte %d: only letters, digits, '_' and '-' are allowed", s, c, i)
		}
	}
	return nil
}

// IsIdent reports whether s is a valid identifier.
func IsIdent(s string) bool { return CheckIdent(s) == nil }

// Matches reports whether the pattern grants the concrete permission
// resource:action. Wildcards match any value, including values that appear
// nowhere in the policy.
func (p Permission) Matches(resource, action string) bool {
	return (p.Resource == Wildcard || p.Resource == resource) &&
		(p.Action == Wildcard || p.Action == action)
}

// Covers reports whether pattern p grants everything pattern q grants
// (p ⊇ q). It is the building block of escalation prevention: an actor may
// hand out q only if one of its patterns covers it.
func (p Permission) Covers(q Permission) bool {
	return (p.Resource == Wildcard || p.Resource == q.Resource) &&
		(p.Action == Wildcard || p.Action == q.Action)
}

// IsWildcard reports whether either part is "*".
func (p Permission) IsWildcard() bool { return p.Resource == Wildcard || p.Action == Wildcard }
