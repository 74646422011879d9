package vault

import (
	"encoding/json"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/secretref"
)

// Secret references. A resource's spec references secrets by name with a
// top-level "secrets" member, an array of names:
//
//	{"steps": [...], "secrets": ["OPENAI_API_KEY", "DB_PASSWORD"]}
//
// The names are secrets of the resource's own namespace: a chain in prod
// can only ever reference prod's secrets (seed 002: "a builder with dev
// access can't accidentally reference a production credential").

// SpecSecrets returns the sorted, unique secret names a spec references
// (secretref.Names). A spec that is empty, null, not an object, or has no
// "secrets" member references none. ErrInvalid when "secrets" is not an
// array of secret names, or names more than store.MaxRunTokenSecrets.
//
// The directory checks the references of every spec it stores and hides
// them from principals without secrets:list (package secretref); the
// vault reads them to issue run tokens and to refuse deleting a secret
// still referenced.
func SpecSecrets(spec json.RawMessage) ([]string, error) {
	names, err := secretref.Names(spec)
	if err == nil {
		return names, nil
	}
	var ie *secretref.InvalidError
	if errors.As(err, &ie) && ie.Field == "name" {
		return nil, &Error{Pkg: pkg, Op: "check name", Msg: ie.Reason, Kind: ErrInvalid, Field: "name"}
	}
	return nil, errorf(ErrInvalid, "read spec", "%s", err.Error())
}
