package api

import "fmt"

// The types that carry secret values or tokens never print them
// (String, GoString), so a value logged by mistake shows as hidden.

// String hides the value.
func (s SecretCreate) String() string { return fmt.Sprintf("secret %s (value hidden)", s.Name) }

// String hides the value.
func (p SecretPatch) String() string { return "secret patch (value hidden)" }

// String hides the value.
func (v SecretValue) String() string {
	return fmt.Sprintf("secret %s/%s version %d (value hidden)", v.Namespace, v.Name, v.Version)
}

// GoString hides the value.
func (v SecretValue) GoString() string { return v.String() }

// String hides the token.
func (g RunGrant) String() string {
	return fmt.Sprintf("run token %s for %s/%s/%s version %d (token hidden)", g.TokenID, g.Resource.Namespace, g.Resource.Type, g.Resource.ID, g.ResourceVersion)
}

// GoString hides the token.
func (g RunGrant) GoString() string { return g.String() }

// String hides the values.
func (r Release) String() string {
	return fmt.Sprintf("release of %s/%s/%s version %d: %d secrets (values hidden)", r.Resource.Namespace, r.Resource.Type, r.Resource.ID, r.ResourceVersion, len(r.Secrets))
}

// GoString hides the values.
func (r Release) GoString() string { return r.String() }

// String hides the value.
func (r Released) String() string {
	return fmt.Sprintf("%s version %d (value hidden)", r.Name, r.Version)
}

// GoString hides the value.
func (r Released) GoString() string { return r.String() }
