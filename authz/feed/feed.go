// Package feed is the wire format of an org's change feed and snapshot
// (GET /v1/orgs/{org}/changes and GET /v1/orgs/{org}/snapshot): the org's
// decision state — what an authz.Engine needs to decide for it — and the
// changes to it, revision by revision. The server encodes it; a replica
// (package client/replica) decodes it and feeds an engine. docs/replicas.md.
//
// Invariants:
//   - Decision state only. A change or snapshot carries namespaces,
//     principals (with the attributes conditions read), teams, bindings,
//     resources (labels and attributes, never specs), the policy text and
//     the org's suspension settings. Nothing else of the org exists here:
//     no secret (name or value), no resource spec (where secret names are
//     referenced), no API key or hash, no invitation, no user email, no
//     other org.
//   - Revisions are the server's (deployment-wide) revisions. An Event at
//     revision R says the org's state is complete through R: every change
//     of the org at a revision ≤ R is in it or before it. An Event may carry
//     no change (the deployment moved on, the org did not), so a replica's
//     revision keeps up with the revisions the server answers with.
//   - Decoding fails closed: a malformed line, an unknown op, a change
//     missing what its op needs, or a snapshot without its trailer (cut
//     short) is an error with a location, never a partial state.
package feed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed feed data")

// SnapshotFormat is the format name in a snapshot's header.
const SnapshotFormat = "gatehouse.snapshot.v1"

// MediaTypeSnapshot is the snapshot's media type (JSON Lines).
const MediaTypeSnapshot = "application/x-ndjson"

// Op names a change to an org's decision state.
type Op string

// The ops. A put replaces the thing with the same key (a binding's id, a
// principal's id, a team's slug, a resource's namespace/type/id).
const (
	OpPutBinding      Op = "binding.put"      // Binding
	OpDeleteBinding   Op = "binding.delete"   // ID: the binding's id
	OpPutPrincipal    Op = "principal.put"    // Principal (a member, agent or service)
	OpDeletePrincipal Op = "principal.delete" // ID: the principal's id
	OpPutTeam         Op = "team.put"         // Team, with its full member list
	OpDeleteTeam      Op = "team.delete"      // ID: the team's slug
	OpPutResource     Op = "resource.put"     // Resource
	OpDeleteResource  Op = "resource.delete"  // Resource (namespace, type, id)
	OpPutNamespace    Op = "namespace.put"    // ID: the namespace
	OpDeleteNamespace Op = "namespace.delete" // ID: the namespace
	OpSetPolicy       Op = "policy.set"       // Policy: the policy text
	OpSetLifecycle    Op = "org.lifecycle"    // Lifecycle: the org's suspension settings
	OpDeleteOrg       Op = "org.delete"       // the org is gone: nothing follows
)

// Change is one change of the org's decision state.
type Change struct {
	Op        Op                       `json:"op"`
	ID        string                   `json:"id,omitempty"`
	Binding   *authz.Binding           `json:"binding,omitempty"`
	Principal *authz.Principal         `json:"principal,omitempty"`
	Team      *authz.Team              `json:"team,omitempty"`
	Resource  *authz.Resource          `json:"resource,omitempty"`
	Policy    *string                  `json:"policy,omitempty"`
	Lifecycle *authz.LifecycleSettings `json:"lifecycle,omitempty"`
}

// Event is every change of the org at one revision. Changes may be empty:
// the org's state is complete through Revision and did not change.
type Event struct {
	Revision uint64   `json:"revision"`
	Changes  []Change `json:"changes,omitempty"`
}

// Page is one answer of GET /v1/orgs/{org}/changes?after=A: the org's
// events after A, in revision order. Revision is where to resume
// (after=Revision): the org's state is complete through it, even when
// Events is empty.
type Page struct {
	Org      string  `json:"org"`
	After    uint64  `json:"after"`
	Revision uint64  `json:"revision"`
	Events   []Event `json:"events"`
}

// Header is a snapshot's first line. The lines after it are puts
// (principal.put, team.put, binding.put, resource.put, in that order),
// one Change per line, then a Trailer.
type Header struct {
	Format     string                  `json:"format"` // SnapshotFormat
	Org        string                  `json:"org"`
	Revision   uint64                  `json:"revision"` // the org exactly as of this revision
	Policy     *string                 `json:"policy"`   // null: the org has no policy yet
	Lifecycle  authz.LifecycleSettings `json:"lifecycle"`
	Namespaces []string                `json:"namespaces"`
	Principals int                     `json:"principals"`
	Teams      int                     `json:"teams"`
	Bindings   int                     `json:"bindings"`
	Resources  int                     `json:"resources"`
}

// Trailer is a snapshot's last line: a stream without it was cut short.
type Trailer = api.SnapshotTrailer

// Validate checks that c carries what its op needs.
func (c *Change) Validate() error {
	need := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("%w: %s needs %s", ErrMalformed, c.Op, what)
		}
		return nil
	}
	switch c.Op {
	case OpPutBinding:
		return need(c.Binding != nil && c.Binding.ID != "", "a binding with an id")
	case OpPutPrincipal:
		return need(c.Principal != nil && c.Principal.ID != "", "a principal with an id")
	case OpPutTeam:
		return need(c.Team != nil && c.Team.Slug != "", "a team with a slug")
	case OpPutResource, OpDeleteResource:
		return need(c.Resource != nil && c.Resource.ID != "", "a resource")
	case OpDeleteBinding, OpDeletePrincipal, OpDeleteTeam, OpPutNamespace, OpDeleteNamespace:
		return need(c.ID != "", "an id")
	case OpSetPolicy:
		return need(c.Policy != nil, "a policy")
	case OpSetLifecycle:
		return need(c.Lifecycle != nil, "lifecycle settings")
	case OpDeleteOrg:
		return nil
	}
	return fmt.Errorf("%w: unknown op %q", ErrMalformed, c.Op)
}

// DecodeEvent decodes one event (an SSE data field, or an element of a
// Page's events) and validates every change.
func DecodeEvent(b []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: event: %v", ErrMalformed, err)
	}
	if err := ev.validate(); err != nil {
		return Event{}, err
	}
	return ev, nil
}

func (ev *Event) validate() error {
	for i := range ev.Changes {
		if err := ev.Changes[i].Validate(); err != nil {
			return fmt.Errorf("event at revision %d, change %d: %w", ev.Revision, i, err)
		}
	}
	return nil
}

// DecodePage decodes a Page and validates it: events in increasing
// revision order after After, none beyond Revision.
func DecodePage(b []byte) (Page, error) {
	var p Page
	if err := json.Unmarshal(b, &p); err != nil {
		return Page{}, fmt.Errorf("%w: page: %v", ErrMalformed, err)
	}
	last := p.After
	for i := range p.Events {
		ev := &p.Events[i]
		if ev.Revision <= last {
			return Page{}, fmt.Errorf("%w: page: event %d at revision %d is not after %d", ErrMalformed, i, ev.Revision, last)
		}
		last = ev.Revision
		if err := ev.validate(); err != nil {
			return Page{}, err
		}
	}
	if p.Revision < last {
		return Page{}, fmt.Errorf("%w: page: revision %d is before its last event's %d", ErrMalformed, p.Revision, last)
	}
	return p, nil
}

// Snapshot is a decoded snapshot.
type Snapshot struct {
	Header
	Principals []authz.Principal
	Teams      []authz.Team
	Bindings   []authz.Binding
	Resources  []authz.Resource
}

// OrgData is the engine's view of the snapshot, with the policy compiled
// as the server compiles it (Compile).
func (s *Snapshot) OrgData() authz.OrgData {
	var m *policy.Model
	if s.Policy != nil {
		m = Compile(*s.Policy)
	}
	return authz.OrgData{Org: s.Org, Policy: m, Namespaces: s.Namespaces, Principals: s.Principals,
		Teams: s.Teams, Bindings: s.Bindings, Resources: s.Resources, Lifecycle: s.Lifecycle}
}

// denyAll is the model of a policy text that does not compile: no roles,
// every check denies (the server does the same; a stored text must never
// fail open).
var denyAll = &policy.Model{}

// Compile compiles a policy text as the server does for its engine: a
// text that does not compile yields a model without roles (deny all).
func Compile(text string) *policy.Model {
	m, _ := policy.Load("policy", []byte(text), templates.LintOptions())
	if m == nil {
		return denyAll
	}
	return m
}

// MaxLine bounds one line of a snapshot (a resource with large
// attributes, a team with many members).
const MaxLine = 16 << 20

// ReadSnapshot decodes a snapshot stream. Errors wrap ErrMalformed and say
// the line; a stream cut short (no trailer, or counts that do not add up)
// is an error, never a partial snapshot.
func ReadSnapshot(r io.Reader) (*Snapshot, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	line := 0
	next := func() ([]byte, error) {
		line++
		b, err := readLine(br)
		if err == io.EOF {
			return nil, fmt.Errorf("%w: line %d: the snapshot ends before its trailer (cut short)", ErrMalformed, line)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		return b, nil
	}
	b, err := next()
	if err != nil {
		return nil, err
	}
	s := &Snapshot{}
	if err := json.Unmarshal(b, &s.Header); err != nil {
		return nil, fmt.Errorf("%w: line 1 (header): %v", ErrMalformed, err)
	}
	h := &s.Header
	if h.Format != SnapshotFormat {
		return nil, fmt.Errorf("%w: line 1 (header): format %q, want %q", ErrMalformed, h.Format, SnapshotFormat)
	}
	if h.Org == "" || h.Principals < 0 || h.Teams < 0 || h.Bindings < 0 || h.Resources < 0 {
		return nil, fmt.Errorf("%w: line 1 (header): an org and non-negative counts are required", ErrMalformed)
	}
	// The counts size the slices, bounded so that a lying header cannot
	// make us allocate what the stream does not deliver.
	const prealloc = 1 << 16
	s.Principals = make([]authz.Principal, 0, min(h.Principals, prealloc))
	s.Teams = make([]authz.Team, 0, min(h.Teams, prealloc))
	s.Bindings = make([]authz.Binding, 0, min(h.Bindings, prealloc))
	s.Resources = make([]authz.Resource, 0, min(h.Resources, prealloc))
	order := 0 // puts come in the order principal, team, binding, resource
	intern := map[string]string{}
	for {
		b, err := next()
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(b, []byte(`{"end"`)) {
			var t Trailer
			if err := json.Unmarshal(b, &t); err != nil || !t.End {
				return nil, fmt.Errorf("%w: line %d (trailer): not a trailer", ErrMalformed, line)
			}
			n := len(s.Principals) + len(s.Teams) + len(s.Bindings) + len(s.Resources)
			if t.Lines != n || len(s.Principals) != h.Principals || len(s.Teams) != h.Teams ||
				len(s.Bindings) != h.Bindings || len(s.Resources) != h.Resources {
				return nil, fmt.Errorf("%w: line %d (trailer): %d lines read, the header and trailer say otherwise (cut short or corrupt)", ErrMalformed, line, n)
			}
			if _, err := br.Peek(1); err != io.EOF {
				return nil, fmt.Errorf("%w: line %d: data after the trailer", ErrMalformed, line+1)
			}
			return s, nil
		}
		var bd authz.Binding
		if fastBinding(b, intern, &bd) {
			if bd.ID == "" {
				return nil, fmt.Errorf("line %d: %w: %s needs a binding with an id", line, ErrMalformed, OpPutBinding)
			}
			if order > 2 {
				return nil, fmt.Errorf("%w: line %d: %s after a later kind (principals, teams, bindings, resources)", ErrMalformed, line, OpPutBinding)
			}
			order = 2
			s.Bindings = append(grow(s.Bindings, h.Bindings), bd)
			continue
		}
		var pr authz.Principal
		if fastPrincipal(b, &pr) {
			if pr.ID == "" {
				return nil, fmt.Errorf("line %d: %w: %s needs a principal with an id", line, ErrMalformed, OpPutPrincipal)
			}
			if order > 0 {
				return nil, fmt.Errorf("%w: line %d: %s after a later kind (principals, teams, bindings, resources)", ErrMalformed, line, OpPutPrincipal)
			}
			s.Principals = append(grow(s.Principals, h.Principals), pr)
			continue
		}
		var c Change
		if err := decodeChange(b, &c); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		var rank int
		switch c.Op {
		case OpPutPrincipal:
			rank = 0
			s.Principals = append(s.Principals, *c.Principal)
		case OpPutTeam:
			rank = 1
			s.Teams = append(s.Teams, *c.Team)
		case OpPutBinding:
			rank = 2
			s.Bindings = append(s.Bindings, *c.Binding)
		case OpPutResource:
			rank = 3
			s.Resources = append(s.Resources, *c.Resource)
		default:
			return nil, fmt.Errorf("%w: line %d: %s in a snapshot (only puts)", ErrMalformed, line, c.Op)
		}
		if rank < order {
			return nil, fmt.Errorf("%w: line %d: %s after a later kind (principals, teams, bindings, resources)", ErrMalformed, line, c.Op)
		}
		order = rank
	}
}

// grow makes room for one more element of a slice the header promised
// promised elements of: up to 8× what was delivered so far, never beyond
// the promise (a lying header costs at most 8× what the stream delivers,
// and a large snapshot grows in two steps rather than five). Past the
// promise, append's own growth (the trailer check then refuses it).
func grow[T any](s []T, promised int) []T {
	if len(s) < cap(s) {
		return s
	}
	if n := min(promised, 8*max(cap(s), 1)); n > len(s) {
		return slices.Grow(s, n-len(s))
	}
	return s
}

// decodeChange decodes and validates one change line.
func decodeChange(b []byte, c *Change) error {
	if err := json.Unmarshal(b, c); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return c.Validate()
}

// readLine reads one '\n'-terminated line (without it), at most MaxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	if err == nil {
		return b[:len(b)-1], nil
	}
	if err == io.EOF {
		if len(b) > 0 {
			return nil, fmt.Errorf("%w: the last line has no newline (cut short)", ErrMalformed)
		}
		return nil, io.EOF
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	buf := append([]byte(nil), b...)
	for {
		b, err = br.ReadSlice('\n')
		buf = append(buf, b...)
		if len(buf) > MaxLine {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrMalformed, MaxLine)
		}
		switch err {
		case nil:
			return buf[:len(buf)-1], nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return nil, fmt.Errorf("%w: the last line has no newline (cut short)", ErrMalformed)
		default:
			return nil, err
		}
	}
}

// SnapshotWriter encodes a snapshot: WriteHeader, the puts in order, then
// Close (the trailer).
type SnapshotWriter struct {
	w     *bufio.Writer
	lines int
	enc   *json.Encoder
	buf   []byte
}

// NewSnapshotWriter writes to w.
func NewSnapshotWriter(w io.Writer) *SnapshotWriter {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &SnapshotWriter{w: bw, enc: enc}
}

// WriteHeader writes the header line.
func (sw *SnapshotWriter) WriteHeader(h Header) error {
	h.Format = SnapshotFormat
	return sw.enc.Encode(h)
}

// Put writes one put line.
func (sw *SnapshotWriter) Put(c Change) error {
	sw.lines++
	if c.Op == OpPutBinding && c.Binding != nil {
		sw.buf = appendBindingLine(sw.buf[:0], c.Binding)
		_, err := sw.w.Write(sw.buf)
		return err
	}
	return sw.enc.Encode(c)
}

// Close writes the trailer and flushes.
func (sw *SnapshotWriter) Close() error {
	if err := sw.enc.Encode(Trailer{End: true, Lines: sw.lines}); err != nil {
		return err
	}
	return sw.w.Flush()
}

// Engine translates changes to the engine's, for org, compiling policy
// texts with Compile.
func Engine(org string, cs []Change) []authz.Change {
	out := make([]authz.Change, 0, len(cs))
	for i := range cs {
		c := &cs[i]
		ch := authz.Change{Org: org, ID: c.ID}
		switch c.Op {
		case OpPutBinding:
			ch.Op, ch.Binding = authz.OpPutBinding, *c.Binding
		case OpDeleteBinding:
			ch.Op = authz.OpDeleteBinding
		case OpPutPrincipal:
			ch.Op, ch.Principal = authz.OpPutPrincipal, *c.Principal
		case OpDeletePrincipal:
			ch.Op = authz.OpDeletePrincipal
		case OpPutTeam:
			ch.Op, ch.Team = authz.OpPutTeam, *c.Team
		case OpDeleteTeam:
			ch.Op = authz.OpDeleteTeam
		case OpPutResource:
			ch.Op, ch.Resource = authz.OpPutResource, *c.Resource
		case OpDeleteResource:
			ch.Op, ch.Resource = authz.OpDeleteResource, *c.Resource
		case OpPutNamespace:
			ch.Op = authz.OpPutNamespace
		case OpDeleteNamespace:
			ch.Op = authz.OpDeleteNamespace
		case OpSetPolicy:
			ch.Op, ch.Policy = authz.OpSetPolicy, Compile(*c.Policy)
		case OpSetLifecycle:
			ch.Op, ch.Lifecycle = authz.OpSetLifecycle, c.Lifecycle
		case OpDeleteOrg:
			ch.Op = authz.OpDeleteOrg
		default:
			continue // Validate refused it before
		}
		out = append(out, ch)
	}
	return out
}
