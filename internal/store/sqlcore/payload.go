package sqlcore

import (
	"encoding/json"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// appendBindingPayload appends b's changelog payload: the bytes
// json.Marshal(b) makes (TestBindingPayloadIsJSONMarshal), without
// reflection; a bulk write records one per share (issue 19). A time
// this encoder does not write exactly as json.Marshal would (a year
// outside 0-9999, a zone offset that is not whole minutes within ±24h)
// falls back to json.Marshal, errors included.
func appendBindingPayload(dst []byte, b store.Binding) ([]byte, error) {
	if !jsonTime(b.CreatedAt) || (!b.ExpiresAt.IsZero() && !jsonTime(b.ExpiresAt)) {
		raw, err := json.Marshal(b)
		return append(dst, raw...), err
	}
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, b.ID)
	dst = append(dst, `,"principal":`...)
	dst = appendJSONString(dst, b.Principal)
	if b.Role != "" {
		dst = append(dst, `,"role":`...)
		dst = appendJSONString(dst, b.Role)
	}
	if len(b.Actions) > 0 {
		dst = append(dst, `,"actions":[`...)
		for i, a := range b.Actions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, a)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"scope":{`...)
	sep := false
	for _, f := range [3]struct{ name, v string }{{"namespace", b.Scope.Namespace}, {"type", b.Scope.Type}, {"id", b.Scope.ID}} {
		if f.v == "" {
			continue
		}
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = append(dst, '"')
		dst = append(dst, f.name...)
		dst = append(dst, `":`...)
		dst = appendJSONString(dst, f.v)
	}
	dst = append(dst, '}')
	if b.Condition != "" {
		dst = append(dst, `,"condition":`...)
		dst = appendJSONString(dst, b.Condition)
	}
	if !b.ExpiresAt.IsZero() {
		dst = append(dst, `,"expires_at":"`...)
		dst = b.ExpiresAt.AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"org":`...)
	dst = appendJSONString(dst, b.Org)
	if b.CreatedBy != "" {
		dst = append(dst, `,"created_by":`...)
		dst = appendJSONString(dst, b.CreatedBy)
	}
	dst = append(dst, `,"created_at":"`...)
	dst = b.CreatedAt.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...), nil
}

// bindingPayloadSize is room for b's payload without escapes: one
// allocation for the common case.
func bindingPayloadSize(b store.Binding) int {
	n := 200 + len(b.ID) + len(b.Principal) + len(b.Role) + len(b.Scope.Namespace) + len(b.Scope.Type) + len(b.Scope.ID) +
		len(b.Condition) + len(b.Org) + len(b.CreatedBy)
	for _, a := range b.Actions {
		n += len(a) + 3
	}
	return n
}

// jsonTime reports whether time.Time's MarshalJSON writes t as
// AppendFormat(RFC3339Nano) does: a year within 0-9999 and a zone offset
// of whole minutes within ±24h (its strict RFC 3339 check).
func jsonTime(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off%60 == 0 && off > -24*3600 && off < 24*3600
}
