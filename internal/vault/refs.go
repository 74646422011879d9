package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Secret references. A resource's spec references secrets by name with a
// top-level "secrets" member, an array of names:
//
//	{"steps": [...], "secrets": ["OPENAI_API_KEY", "DB_PASSWORD"]}
//
// The names are secrets of the resource's own namespace: a chain in prod
// can only ever reference prod's secrets (seed 002: "a builder with dev
// access can't accidentally reference a production credential").

// SpecMember is the spec member that lists secret references.
const SpecMember = "secrets"

// SpecSecrets returns the sorted, unique secret names a spec references.
// A spec that is empty, null, not an object, or has no "secrets" member
// references none. ErrInvalid when "secrets" is not an array of secret
// names, or names more than store.MaxRunTokenSecrets.
func SpecSecrets(spec json.RawMessage) ([]string, error) {
	raw, ok := member(spec, SpecMember)
	if !ok {
		return nil, nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, errorf(ErrInvalid, "read spec", `"secrets" must be an array of secret names`)
	}
	if len(names) > store.MaxRunTokenSecrets {
		return nil, errorf(ErrInvalid, "read spec", `"secrets" names more than %d secrets`, store.MaxRunTokenSecrets)
	}
	for _, n := range names {
		if err := CheckName(n); err != nil {
			return nil, err
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// member returns the raw value of a top-level member of a JSON object.
func member(doc json.RawMessage, name string) (json.RawMessage, bool) {
	d := bytes.TrimSpace(doc)
	if len(d) == 0 || d[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d, &m); err != nil {
		return nil, false
	}
	raw, ok := m[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, false
	}
	return raw, true
}

// withoutMember returns a JSON object without one top-level member,
// keeping the other members in their order; anything that is not an
// object without errors is returned unchanged.
func withoutMember(doc json.RawMessage, name string) json.RawMessage {
	d := bytes.TrimSpace(doc)
	if len(d) == 0 || d[0] != '{' {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(d))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return doc
	}
	var out bytes.Buffer
	out.WriteByte('{')
	found, first := false, true
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return doc
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return doc
		}
		if key == name {
			found = true
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(key) // a string: cannot fail
		out.Write(kb)
		out.WriteByte(':')
		out.Write(val)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return doc
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return doc
	}
	if !found {
		return doc
	}
	out.WriteByte('}')
	return out.Bytes()
}

// admits reports whether principal p may reference secret s: anyone when
// s.ReferableBy is empty; else p is listed, is a member of a listed team,
// or holds a listed role ("role:<name>") unconditionally at org scope or
// in the secret's namespace, directly or through a team.
func admits(ctx context.Context, r store.Reader, s store.Secret, p string) (bool, error) {
	if len(s.ReferableBy) == 0 {
		return true, nil
	}
	roles := map[string]bool{}
	teams := map[string]bool{}
	for _, e := range s.ReferableBy {
		switch {
		case e == p:
			return true, nil
		case strings.HasPrefix(e, "role:"):
			roles[strings.TrimPrefix(e, "role:")] = true
		case strings.HasPrefix(e, authz.KindTeam+":"):
			teams[strings.TrimPrefix(e, authz.KindTeam+":")] = true
		}
	}
	// The principal's teams: only the listed ones matter for membership,
	// every one for role bindings.
	holders := []string{p}
	ts, err := allTeams(ctx, r, s.Org)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		full, err := r.GetTeam(ctx, s.Org, t.Slug)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return false, err
		}
		if !slices.Contains(full.Members, p) {
			continue
		}
		if teams[t.Slug] {
			return true, nil
		}
		holders = append(holders, full.PrincipalID())
	}
	if len(roles) == 0 {
		return false, nil
	}
	for _, h := range holders {
		page := store.Page{}
		for {
			bs, next, err := r.ListBindings(ctx, s.Org, store.BindingFilter{Principal: h}, page)
			if err != nil {
				return false, err
			}
			for _, b := range bs {
				sc := b.Scope
				inScope := sc.Namespace == "" || (sc.Namespace == s.Namespace && sc.Type == "")
				if b.Role != "" && roles[b.Role] && b.Condition == "" && inScope {
					return true, nil
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	return false, nil
}

func allTeams(ctx context.Context, r store.Reader, org string) ([]store.Team, error) {
	var out []store.Team
	page := store.Page{Size: store.MaxPageSize}
	for {
		ts, next, err := r.ListTeams(ctx, org, page)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}

// CheckSpec implements directory.ResourceHook: a spec written by actor may
// reference only secrets that exist in the resource's namespace, only if
// the actor holds secrets:list there, and only secrets whose reference
// restriction admits the actor. Errors wrap the directory's sentinels
// (ErrInvalid, ErrForbidden), so the resource write fails with 400 or 403.
func (v *Vault) CheckSpec(ctx context.Context, r store.Reader, actor directory.Actor, org string, ref authz.ResourceRef, spec json.RawMessage) error {
	names, err := SpecSecrets(spec)
	if err != nil {
		var ve *Error
		msg := err.Error()
		if errors.As(err, &ve) {
			msg = ve.Msg
		}
		return &directory.InvalidError{Field: "spec.secrets", Reason: msg}
	}
	if len(names) == 0 {
		return nil
	}
	if !v.holds(org, actor.Principal, ref.Namespace, permList) {
		return &directory.ForbiddenError{Permission: permList.String(), Scope: authz.Scope{Namespace: ref.Namespace}}
	}
	found, err := r.GetSealedSecrets(ctx, org, ref.Namespace, names)
	if err != nil {
		return err
	}
	byName := make(map[string]store.Secret, len(found))
	for _, s := range found {
		byName[s.Secret.Name] = s.Secret
	}
	for _, n := range names {
		s, ok := byName[n]
		if !ok {
			return &directory.InvalidError{Field: "spec.secrets", Reason: fmt.Sprintf("secret %q does not exist in namespace %q", n, ref.Namespace)}
		}
		ok, err := admits(ctx, r, s, actor.Principal)
		if err != nil {
			return err
		}
		if !ok {
			return &directory.Error{Op: "check spec", Kind: directory.ErrForbidden,
				Msg: fmt.Sprintf("secret %q in namespace %q may be referenced only by %s", n, ref.Namespace, strings.Join(s.ReferableBy, ", "))}
		}
	}
	return nil
}

// RedactSpec implements directory.ResourceHook: a principal without
// secrets:list in the resource's namespace does not see which secrets a
// spec references (seed 002: operators and viewers "don't see secret
// names in chain configs").
func (v *Vault) RedactSpec(actor directory.Actor, org string, ref authz.ResourceRef, spec json.RawMessage) json.RawMessage {
	if spec == nil || v.holds(org, actor.Principal, ref.Namespace, permList) {
		return spec
	}
	return withoutMember(spec, SpecMember)
}

// RedactDiff implements directory.ResourceHook: without secrets:list the
// diff's entries about "secrets" are dropped, and whole specs or
// documents in it are redacted.
func (v *Vault) RedactDiff(actor directory.Actor, org string, ref authz.ResourceRef, d []store.DiffEntry) []store.DiffEntry {
	if v.holds(org, actor.Principal, ref.Namespace, permList) {
		return d
	}
	const at = "/spec/" + SpecMember
	out := make([]store.DiffEntry, 0, len(d))
	for _, e := range d {
		switch {
		case e.Path == at || strings.HasPrefix(e.Path, at+"/"):
			continue
		case e.Path == "/spec":
			e.Old, e.New = withoutMember(e.Old, SpecMember), withoutMember(e.New, SpecMember)
		case e.Path == "":
			e.Old, e.New = redactDoc(e.Old), redactDoc(e.New)
		}
		out = append(out, e)
	}
	return out
}

// redactDoc removes spec.secrets from a whole version document.
func redactDoc(doc json.RawMessage) json.RawMessage {
	spec, ok := member(doc, "spec")
	if !ok {
		return doc
	}
	red := withoutMember(spec, SpecMember)
	if bytes.Equal(red, spec) {
		return doc
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil
	}
	m["spec"] = red
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}
