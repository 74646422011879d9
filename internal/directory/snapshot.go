package directory

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// Engine snapshot encoding (store.EngineSnapshot.Data): one org's replayed
// state (orgHistory) at a revision, for point-in-time decisions
// (pointintime.go). Version 1:
//
//	"GHES" 0x01                       magic and version
//	string org
//	uvarint revision, varint commit time (Unix ns)
//	byte flags                        1 born, 2 exists, 4 has a policy
//	string policy text
//	varint inactive_after, attest_every (ns)
//	strings: uvarint count, uvarint total bytes, count × uvarint length, the bytes
//	namespaces: uvarint n, n × string index
//	principals: uvarint n, n × (uvarint length, JSON of authz.Principal)
//	teams: uvarint n, n × (slug index, uvarint m, m × member index)
//	bindings: uvarint n, n × (id, principal, role indexes, uvarint a,
//	          a × action index, namespace, type, id, condition indexes,
//	          time expires_at)
//	resources: uvarint n, n × (namespace, type, id indexes, uvarint
//	          length, JSON of labels and attributes or nothing)
//	uint32 CRC-32C (little endian) of everything before it
//
// A string is a uvarint length and its bytes; a time is uvarint 0 (zero)
// or 1 and a varint Unix ns. Every string a binding, team or namespace
// names is an index into the string table, whose bytes become one Go
// string that the decoded values share (1,000,000 bindings decode without
// an allocation per string). Principals and resources carry open-ended
// attributes and are JSON, decoded as the changelog's payloads are.
//
// Snapshots are derived data: a snapshot that does not decode (bad magic,
// unknown version, checksum mismatch, an index out of range, trailing
// bytes) is an error, and the caller replays the changelog instead. The
// checksum makes a damaged snapshot an error rather than a wrong answer.

const snapshotMagic = "GHES\x01"

var (
	errSnapshot = errors.New("engine snapshot does not decode")
	crcTable    = crc32.MakeTable(crc32.Castagnoli)
)

// maxSnapshotCount bounds any count read from a snapshot before it sizes
// an allocation (a corrupt count must not allocate gigabytes).
const maxSnapshotCount = 1 << 28

// encodeSnapshot encodes h (org, replayed).
func encodeSnapshot(org string, h *orgHistory) []byte {
	var strs []string
	index := map[string]uint64{}
	intern := func(s string) uint64 {
		if i, ok := index[s]; ok {
			return i
		}
		i := uint64(len(strs))
		index[s] = i
		strs = append(strs, s)
		return i
	}
	// Sections that index strings are written to body first, then the
	// table goes before them.
	var body []byte
	uv := func(v uint64) { body = binary.AppendUvarint(body, v) }
	tm := func(t time.Time) {
		if t.IsZero() {
			uv(0)
			return
		}
		uv(1)
		body = binary.AppendVarint(body, t.UnixNano())
	}
	raw := func(b []byte) {
		uv(uint64(len(b)))
		body = append(body, b...)
	}
	namespaces := make([]string, 0, len(h.namespaces))
	for n := range h.namespaces {
		namespaces = append(namespaces, n)
	}
	slices.Sort(namespaces)
	uv(uint64(len(namespaces)))
	for _, n := range namespaces {
		uv(intern(n))
	}
	pids := sortedKeys(h.principals)
	uv(uint64(len(pids)))
	for _, id := range pids {
		b, err := json.Marshal(h.principals[id])
		if err != nil { // attributes came from JSON: cannot happen
			panic(fmt.Sprintf("encoding principal %s: %v", id, err))
		}
		raw(b)
	}
	tids := sortedKeys(h.teams)
	uv(uint64(len(tids)))
	for _, slug := range tids {
		t := h.teams[slug]
		uv(intern(t.Slug))
		uv(uint64(len(t.Members)))
		for _, m := range t.Members {
			uv(intern(m))
		}
	}
	bindings := h.allBindings()
	slices.SortFunc(bindings, func(a, b authz.Binding) int { return strings.Compare(a.ID, b.ID) })
	uv(uint64(len(bindings)))
	for _, b := range bindings {
		uv(intern(b.ID))
		uv(intern(b.Principal))
		uv(intern(b.Role))
		uv(uint64(len(b.Actions)))
		for _, a := range b.Actions {
			uv(intern(a))
		}
		uv(intern(b.Scope.Namespace))
		uv(intern(b.Scope.Type))
		uv(intern(b.Scope.ID))
		uv(intern(b.Condition))
		tm(b.ExpiresAt)
	}
	rkeys := make([][3]string, 0, len(h.resources))
	for k := range h.resources {
		rkeys = append(rkeys, k)
	}
	slices.SortFunc(rkeys, func(a, b [3]string) int { return slices.Compare(a[:], b[:]) })
	uv(uint64(len(rkeys)))
	for _, k := range rkeys {
		r := h.resources[k]
		uv(intern(r.Namespace))
		uv(intern(r.Type))
		uv(intern(r.ID))
		if len(r.Labels) == 0 && len(r.Attributes) == 0 {
			uv(0)
			continue
		}
		b, err := json.Marshal(resourceExtra{Labels: r.Labels, Attributes: r.Attributes})
		if err != nil {
			panic(fmt.Sprintf("encoding resource %v: %v", k, err))
		}
		raw(b)
	}

	out := make([]byte, 0, len(body)+64+len(h.policyText))
	out = append(out, snapshotMagic...)
	out = binary.AppendUvarint(out, uint64(len(org)))
	out = append(out, org...)
	out = binary.AppendUvarint(out, h.rev)
	out = binary.AppendVarint(out, h.when.UnixNano())
	var flags byte
	if h.born {
		flags |= 1
	}
	if h.exists {
		flags |= 2
	}
	if h.hasPolicy {
		flags |= 4
	}
	out = append(out, flags)
	out = binary.AppendUvarint(out, uint64(len(h.policyText)))
	out = append(out, h.policyText...)
	out = binary.AppendVarint(out, int64(h.d.Lifecycle.InactiveAfter))
	out = binary.AppendVarint(out, int64(h.d.Lifecycle.AttestEvery))
	total := 0
	for _, s := range strs {
		total += len(s)
	}
	out = binary.AppendUvarint(out, uint64(len(strs)))
	out = binary.AppendUvarint(out, uint64(total))
	for _, s := range strs {
		out = binary.AppendUvarint(out, uint64(len(s)))
	}
	for _, s := range strs {
		out = append(out, s...)
	}
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, crcTable))
}

// resourceExtra is the JSON part of an encoded resource.
type resourceExtra struct {
	Labels     map[string]string `json:"labels,omitempty"`
	Attributes map[string]any    `json:"attributes,omitempty"`
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// snapReader reads an encoded snapshot; the first error sticks.
type snapReader struct {
	b    []byte
	err  error
	strs []string
}

func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errSnapshot, fmt.Sprintf(format, args...))
	}
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items each at least min bytes long: one that
// the rest of the input cannot hold is an error.
func (r *snapReader) count(min int) int {
	n := r.uvarint()
	if n > maxSnapshotCount || n*uint64(min) > uint64(len(r.b)) {
		r.fail("count %d is larger than the data", n)
		return 0
	}
	return int(n)
}

func (r *snapReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("length %d is past the end", n)
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *snapReader) str() string {
	i := r.uvarint()
	if r.err != nil {
		return ""
	}
	if i >= uint64(len(r.strs)) {
		r.fail("string %d of %d", i, len(r.strs))
		return ""
	}
	return r.strs[i]
}

func (r *snapReader) time() time.Time {
	switch r.uvarint() {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, r.varint()).UTC()
	default:
		r.fail("bad time marker")
		return time.Time{}
	}
}

// decodeSnapshot decodes an encoded snapshot of org into a replayable
// state. The policy text is compiled by the caller (decodeSnapshot does no
// policy work). Errors wrap errSnapshot.
func decodeSnapshot(org string, data []byte) (*orgHistory, error) {
	if len(data) < len(snapshotMagic)+4 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a version 1 engine snapshot", errSnapshot)
	}
	end := len(data) - 4
	if crc32.Checksum(data[:end], crcTable) != binary.LittleEndian.Uint32(data[end:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errSnapshot)
	}
	r := &snapReader{b: data[len(snapshotMagic):end]}
	h := newOrgHistory()
	if o := string(r.bytes()); r.err == nil && o != org {
		return nil, fmt.Errorf("%w: a snapshot of org %q, not %q", errSnapshot, o, org)
	}
	h.rev = r.uvarint()
	h.when = time.Unix(0, r.varint()).UTC()
	if r.err == nil && len(r.b) > 0 {
		flags := r.b[0]
		r.b = r.b[1:]
		if flags&^7 != 0 {
			r.fail("unknown flags %#x", flags)
		}
		h.born, h.exists, h.hasPolicy = flags&1 != 0, flags&2 != 0, flags&4 != 0
	} else {
		r.fail("truncated header")
	}
	h.policyText = string(r.bytes())
	inactive, attest := r.varint(), r.varint()
	if inactive < 0 || attest < 0 {
		r.fail("negative lifecycle setting")
	}
	h.d.Lifecycle = authz.LifecycleSettings{InactiveAfter: time.Duration(inactive), AttestEvery: time.Duration(attest)}

	nstr := r.count(1)
	total := r.uvarint()
	if r.err == nil {
		lens := make([]uint64, nstr)
		var sum uint64
		for i := range lens {
			lens[i] = r.uvarint()
			sum += lens[i]
			if sum > total {
				r.fail("string lengths exceed the table")
				break
			}
		}
		if r.err == nil && (sum != total || total > uint64(len(r.b))) {
			r.fail("string table of %d bytes does not fit", total)
		}
		if r.err == nil {
			all := string(r.b[:total])
			r.b = r.b[total:]
			r.strs = make([]string, nstr)
			off := uint64(0)
			for i, l := range lens {
				r.strs[i] = all[off : off+l]
				off += l
			}
		}
	}

	for range r.count(1) {
		h.namespaces[r.str()] = true
	}
	for range r.count(1) {
		b := r.bytes()
		if r.err != nil {
			break
		}
		var p authz.Principal
		if err := json.Unmarshal(b, &p); err != nil {
			r.fail("principal: %v", err)
			break
		}
		if _, dup := h.principals[p.ID]; dup {
			r.fail("principal %q twice", p.ID)
			break
		}
		h.principals[p.ID] = p
	}
	for range r.count(2) {
		t := authz.Team{Slug: r.str()}
		m := r.count(1)
		t.Members = make([]string, 0, m)
		for range m {
			t.Members = append(t.Members, r.str())
		}
		if _, dup := h.teams[t.Slug]; dup && r.err == nil {
			r.fail("team %q twice", t.Slug)
		}
		h.teams[t.Slug] = t
	}
	nb := r.count(9)
	h.base = make([]authz.Binding, 0, nb)
	for range nb {
		b := authz.Binding{ID: r.str(), Principal: r.str(), Role: r.str()}
		if a := r.count(1); a > 0 {
			b.Actions = make([]string, a)
			for i := range b.Actions {
				b.Actions[i] = r.str()
			}
		}
		b.Scope = authz.Scope{Namespace: r.str(), Type: r.str(), ID: r.str()}
		b.Condition = r.str()
		b.ExpiresAt = r.time()
		if r.err != nil {
			break
		}
		if len(h.base) > 0 && b.ID <= h.base[len(h.base)-1].ID {
			r.fail("binding %q out of order", b.ID)
			break
		}
		h.base = append(h.base, b)
	}
	for range r.count(4) {
		res := authz.Resource{Namespace: r.str(), Type: r.str(), ID: r.str()}
		if extra := r.bytes(); len(extra) > 0 {
			var x resourceExtra
			if err := json.Unmarshal(extra, &x); err != nil {
				r.fail("resource: %v", err)
				break
			}
			res.Labels, res.Attributes = x.Labels, x.Attributes
		}
		if r.err != nil {
			break
		}
		k := [3]string{res.Namespace, res.Type, res.ID}
		if _, dup := h.resources[k]; dup {
			r.fail("resource %v twice", k)
			break
		}
		h.resources[k] = res
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes after the last section", len(r.b))
	}
	if r.err == nil && !h.hasPolicy && h.policyText != "" {
		r.fail("a policy text without a policy")
	}
	if r.err == nil && (h.rev == 0 || h.rev > math.MaxInt64) {
		r.fail("revision %d", h.rev)
	}
	if r.err == nil && !h.born && (h.exists || h.facts()+len(h.namespaces) > 0 || h.hasPolicy) {
		r.fail("an org not yet created holds state")
	}
	if r.err != nil {
		return nil, r.err
	}
	return h, nil
}
