package sqlcore

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The changelog's rows. A row is one change (kind, change_key, payload),
// or a run: consecutive changes of one revision and one org stored in one
// row whose kind is denseRunKind (denserun.go: each change front/back-
// coded against the run's previous change of its kind) or, written by
// versions before it and still read, runKind (a JSON array of the
// changes' kinds, keys and payloads, runChange); whose seq is the run's
// first change's and whose change_key is its count. A bulk write's
// thousand changes to one org are one row instead of a thousand, each of
// which cost the changelog's three B-trees (SQLite) or heap and two
// indexes (PostgreSQL).
//
// Invariants every reader relies on, kept by changelogStmts:
//   - A run never spans two revisions or two orgs, so the (revision, seq)
//     and (org, revision, seq) orders of rows are the orders of changes
//     and the changelog_org index still finds an org's changes.
//   - The changes of a run are numbered seq, seq+1, ... and the next row
//     of the revision starts after them: "seq > s", for s the last change
//     a reader returned, skips exactly the rows it has read.
//   - Readers (readChanges) expand a run into its changes, so no caller
//     ever sees runKind or denseRunKind; store.Change is the same
//     whichever way its row was written, payload bytes included.

// runKind is the kind of a run row before denseRunKind (still read,
// no longer written). Neither is a store.Kind (those are "noun.verb").
const runKind = "changes"

// runChange is one change inside a run row's payload.
type runChange struct {
	Kind    string          `json:"k"`
	Key     string          `json:"key"`
	Payload json.RawMessage `json:"p"`
}

// minRun is the shortest run of same-org changes written as one row:
// shorter runs are one row a change, as before runs existed.
const minRun = 2

const changeBatch = 100

// changelogStmts are the INSERTs of changes (one revision's, in seq order)
// into the changelog: runs of at least minRun consecutive changes to one
// org are one row, and the rows go 100 a statement. With placeholder not
// 0 the rows are numbered with it instead of the changes' revision (a
// concurrent org write's rows, sent before its revision is known:
// orgwrite.go).
func (s *Store) changelogStmts(changes []store.Change, placeholder int64) []Stmt {
	type row struct {
		first   store.Change
		kind    string
		key     string
		payload string
	}
	var rows []row
	for i := 0; i < len(changes); {
		j := i + 1
		for j < len(changes) && changes[j].Org == changes[i].Org && changes[j].Revision == changes[i].Revision && changes[j].Seq == changes[j-1].Seq+1 {
			j++
		}
		if j-i < minRun {
			for _, ch := range changes[i:j] {
				rows = append(rows, row{first: ch, kind: string(ch.Kind), key: ch.Key, payload: string(ch.Payload)})
			}
		} else {
			rows = append(rows, row{first: changes[i], kind: denseRunKind, key: strconv.Itoa(j - i), payload: encodeDenseRun(changes[i:j])})
		}
		i = j
	}
	var out []Stmt
	for start := 0; start < len(rows); start += changeBatch {
		batch := rows[start:min(start+changeBatch, len(rows))]
		var b strings.Builder
		b.WriteString(`INSERT INTO changelog (` + changeCols + `) VALUES `)
		args := make([]any, 0, len(batch)*changelogArgs)
		for i, r := range batch {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(valuesRow(i, changelogArgs))
			ch := r.first
			rev := int64(ch.Revision)
			if placeholder != 0 {
				rev = placeholder
			}
			args = append(args, rev, ch.Seq, ch.Org, r.kind, r.key, r.payload, s.b.TimeArg(ch.CreatedAt))
		}
		out = append(out, Stmt{SQL: b.String(), Args: args})
	}
	return out
}

// encodeRun is a runKind row's payload: the changes' payloads are
// already JSON (record's encoding), copied in as they are. Only tests and
// benchmarks write it now (the rows of earlier versions).
func encodeRun(changes []store.Change) string {
	n := 2
	for _, ch := range changes {
		n += len(ch.Payload) + len(ch.Key) + len(ch.Kind) + 24
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, ch := range changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"k":`...)
		b = appendJSONString(b, string(ch.Kind))
		b = append(b, `,"key":`...)
		b = appendJSONString(b, ch.Key)
		b = append(b, `,"p":`...)
		b = append(b, ch.Payload...)
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

// appendJSONString appends s as a JSON string (encoding/json's, for
// anything but plain printable ASCII without quotes or backslashes).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// readChanges runs sql, a SELECT of changeCols in (revision, seq) order,
// and returns the changes of its rows (runs expanded) and how many rows
// it read.
func (s *Store) readChanges(ctx context.Context, q Querier, sql string, args ...any) ([]store.Change, int, error) {
	const op = "changes since"
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, 0, s.dbErr(ctx, op, "", err)
	}
	defer rows.Close()
	var (
		out []store.Change
		n   int
	)
	for rows.Next() {
		var (
			c        store.Change
			rev, seq int64
			kind     string
			payload  []byte
		)
		if err := rows.Scan(&rev, &seq, &c.Org, &kind, &c.Key, &payload, scanTime(&c.CreatedAt)); err != nil {
			return nil, 0, s.dbErr(ctx, op, "", err)
		}
		n++
		c.Revision, c.Seq = uint64(rev), int(seq)
		var run []runChange
		switch kind {
		case denseRunKind:
			run, err = decodeDenseRun(payload) // the payloads are its own buffer
			if err == nil && strconv.Itoa(len(run)) != c.Key {
				err = errDenseRun // change_key is the run's count
			}
		case runKind:
			run, err = decodeRun(bytes.Clone(payload)) // the payloads alias it: one copy, whatever the driver's buffers
		default:
			c.Kind, c.Payload = store.Kind(kind), rawJSON(payload)
			out = append(out, c)
			continue
		}
		if err != nil || len(run) == 0 {
			return nil, 0, store.Errorf(store.ErrBackend, op, "changelog row "+strconv.FormatInt(rev, 10)+"/"+strconv.FormatInt(seq, 10)+" holds a malformed run of changes", err)
		}
		for i, r := range run {
			d := c
			d.Seq, d.Kind, d.Key, d.Payload = c.Seq+i, store.Kind(r.Kind), r.Key, r.Payload
			out = append(out, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(ctx, op, "", err)
	}
	return out, n, nil
}

// decodeRun decodes a run row's payload. encodeRun's own shape is read
// by a scanner that slices the payloads out of b (each is checked when
// the change is decoded, as any change's payload); anything else is
// left to encoding/json. Either way the result is the same.
func decodeRun(b []byte) ([]runChange, error) {
	if run, ok := scanRun(b); ok {
		return run, nil
	}
	var run []runChange
	err := json.Unmarshal(b, &run)
	return run, err
}

// scanRun reads `[{"k":"…","key":"…","p":VALUE},…]` with strings free of
// escapes and VALUE an object, as encodeRun writes them; ok is false for
// anything else.
func scanRun(b []byte) (run []runChange, ok bool) {
	i := 0
	lit := func(s string) bool {
		if len(b)-i < len(s) || string(b[i:i+len(s)]) != s {
			return false
		}
		i += len(s)
		return true
	}
	str := func() (string, bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		for j := i + 1; j < len(b); j++ {
			switch c := b[j]; {
			case c == '"':
				s := string(b[i+1 : j])
				i = j + 1
				return s, true
			case c == '\\' || c < 0x20:
				return "", false
			}
		}
		return "", false
	}
	// object skips one JSON object, strings with escapes included.
	object := func() ([]byte, bool) {
		if i >= len(b) || b[i] != '{' {
			return nil, false
		}
		start, depth, inStr := i, 0, false
		for ; i < len(b); i++ {
			c := b[i]
			switch {
			case inStr && c == '\\':
				i++
			case c == '"':
				inStr = !inStr
			case inStr:
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					i++
					return b[start:i:i], true
				}
			}
		}
		return nil, false
	}
	if !lit("[") {
		return nil, false
	}
	for {
		var r runChange
		var ok bool
		if !lit(`{"k":`) {
			return nil, false
		}
		if r.Kind, ok = str(); !ok || !lit(`,"key":`) {
			return nil, false
		}
		if r.Key, ok = str(); !ok || !lit(`,"p":`) {
			return nil, false
		}
		if r.Payload, ok = object(); !ok || !lit("}") {
			return nil, false
		}
		run = append(run, r)
		if lit("]") {
			return run, i == len(b)
		}
		if !lit(",") {
			return nil, false
		}
	}
}

// changesPage reads about limit changes in (revision, seq) order, never
// splitting a revision: first is a SELECT of at most limit rows (its last
// argument the limit), rest a SELECT of one revision's rows after a seq
// (arguments: restArgs, then the revision and the seq).
func (s *Store) changesPage(ctx context.Context, q Querier, limit int, first string, firstArgs []any, rest string, restArgs []any) ([]store.Change, error) {
	out, rows, err := s.readChanges(ctx, q, first, append(firstArgs, limit)...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	if len(out) > limit {
		// Runs made more changes than rows: stop after the revision of
		// the limit-th change (it may still go on past the rows read).
		cut := out[limit-1].Revision
		i := limit
		for i < len(out) && out[i].Revision == cut {
			i++
		}
		if i < len(out) {
			return out[:i], nil
		}
	}
	if rows == limit {
		// Never split a revision: finish the last one.
		last := out[len(out)-1]
		more, _, err := s.readChanges(ctx, q, rest, append(restArgs, int64(last.Revision), last.Seq)...)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}
