package sqlcore

import (
	"encoding/json"
	"fmt"
	"time"
)

// ts scans a time column: time.Time (PostgreSQL), int64 microseconds
// (SQLite), or NULL (zero time).
type ts struct{ t *time.Time }

func (s ts) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*s.t = time.Time{}
	case time.Time:
		*s.t = x.UTC()
	case int64:
		*s.t = time.UnixMicro(x).UTC()
	default:
		return fmt.Errorf("cannot scan %T into a time", v)
	}
	return nil
}

func scanTime(t *time.Time) *ts { return &ts{t: t} }

// timeArg converts a time for a nullable column: nil for the zero time.
func (s *Store) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.b.TimeArg(t.UTC().Truncate(time.Microsecond))
}

// decodeObject decodes a JSON object column into a map; "{}" and NULL give
// nil so that round trips of empty maps compare equal.
func decodeObject[V any](raw []byte) (map[string]V, error) {
	if len(raw) == 0 || string(raw) == "{}" {
		return nil, nil
	}
	var m map[string]V
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func decodeStrings(raw []byte) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	var s []string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return s, nil
}

// rawJSON copies a scanned JSON column; nil for NULL.
func rawJSON(raw []byte) json.RawMessage {
	if raw == nil {
		return nil
	}
	return json.RawMessage(append([]byte(nil), raw...))
}
