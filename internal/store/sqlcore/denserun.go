package sqlcore

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/jsonstr"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Dense runs (issue 19 goal 4, branch clog). A run row written by this
// version has kind denseRunKind and a payload that front/back-codes each
// change against the previous change of the same kind in the run: the
// org, created_by and created_at that every binding.put of a bulk write
// repeats, and the prefix its neighbour's key shares, are stored once.
// The payload is a JSON array (PostgreSQL's column is json) of six
// elements a change, [K, KP, "KEY", PP, PS, "MID", K, KP, ...]:
//
//   - K, the kind: a string the first time a kind occurs in the run, after
//     that its number (0 for the first kind named, 1 for the second, ...).
//   - KP, KEY: the key is the first KP bytes of the previous key of the
//     same kind in the run, then KEY.
//   - PP, PS, MID: the payload is the first PP bytes of the previous
//     payload of the same kind, then MID, then the last PS bytes of that
//     payload. For a kind's first change KP, PP and PS are 0.
//
// Strings escape only '"', '\' and bytes below 0x20 (\u00XX); everything
// else is copied as it is, so decoding gives back exactly the bytes
// encoded (whatever they are), and valid UTF-8 stays valid: the shared
// prefixes and suffixes end and start on a character boundary. Readers
// expand the row to the same store.Change values as a runKind row or one
// row a change (storetest ChangelogDenseRuns).
const denseRunKind = "changes2"

// errDenseRun is a dense run row's payload that does not decode.
var errDenseRun = errors.New("malformed dense run")

// maxRunKinds bounds the kinds a dense run tracks without allocating;
// a run of more kinds still encodes (the table grows).
const maxRunKinds = 8

// encodeDenseRun is a dense run row's payload for changes (one revision's
// consecutive changes to one org).
func encodeDenseRun(changes []store.Change) string {
	var (
		kindsArr [maxRunKinds]store.Kind
		lastArr  [maxRunKinds]int // index in changes of the kind's last change
		kinds    = kindsArr[:0]
		last     = lastArr[:0]
		n        int
	)
	for _, ch := range changes {
		n += len(ch.Payload)
	}
	b := make([]byte, 0, n/3+32*len(changes))
	b = append(b, '[')
	for i, ch := range changes {
		if i > 0 {
			b = append(b, ',')
		}
		k := -1
		for j, kd := range kinds {
			if kd == ch.Kind {
				k = j
				break
			}
		}
		var kp, pp, ps int
		if k < 0 {
			kinds = append(kinds, ch.Kind)
			last = append(last, i)
			b = appendDenseString(b, string(ch.Kind))
		} else {
			prev := changes[last[k]]
			last[k] = i
			b = strconv.AppendInt(b, int64(k), 10)
			kp = commonPrefix(ch.Key, prev.Key)
			pp = commonPrefix(ch.Payload, prev.Payload)
			ps = commonSuffix(ch.Payload[pp:], prev.Payload[pp:])
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(kp), 10)
		b = append(b, ',')
		b = appendDenseString(b, ch.Key[kp:])
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(pp), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(ps), 10)
		b = append(b, ',')
		b = appendDenseString(b, ch.Payload[pp:len(ch.Payload)-ps])
	}
	return string(append(b, ']'))
}

// commonPrefix is how many leading bytes a and b share, cut back to the
// start of a character of a (not inside a UTF-8 sequence).
func commonPrefix[T ~string | ~[]byte](a, b T) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && load64(a, i) == load64(b, i) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	for i > 0 && i < len(a) && !utf8.RuneStart(a[i]) {
		i--
	}
	return i
}

// commonSuffix is how many trailing bytes a and b share, cut back so that
// the suffix starts a character of a.
func commonSuffix[T ~string | ~[]byte](a, b T) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && load64(a, len(a)-i-8) == load64(b, len(b)-i-8) {
		i += 8
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	for i > 0 && !utf8.RuneStart(a[len(a)-i]) {
		i--
	}
	return i
}

// load64 is the 8 bytes of s at i as a number (the compiler makes it one
// load).
func load64[T ~string | ~[]byte](s T, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const hexDigits = "0123456789abcdef"

// appendDenseString appends s as a JSON string escaping only '"', '\' and
// bytes below 0x20: every other byte is copied.
func appendDenseString[T ~string | ~[]byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeDenseRun decodes a dense run row's payload. The changes' keys
// share one string and their payloads one buffer, neither aliasing b.
func decodeDenseRun(b []byte) ([]runChange, error) {
	d := denseDecoder{b: b}
	return d.run()
}

type denseDecoder struct {
	b []byte
	i int
}

func (d *denseDecoder) run() ([]runChange, error) {
	type span struct{ start, end int }
	type kindState struct {
		kind         string
		key, payload span // the kind's last change's, in keys and payloads
	}
	var (
		kindsArr [maxRunKinds]kindState
		kinds    = kindsArr[:0]
		keys     = make([]byte, 0, len(d.b)/4)
		payloads = make([]byte, 0, len(d.b)*3)
		out      []runChange
		spans    []span // each change's key, then payload
	)
	if !d.lit('[') {
		return nil, errDenseRun
	}
	for {
		// K
		var k int
		if d.i < len(d.b) && d.b[d.i] == '"' {
			kb, ok := d.str(nil)
			if !ok {
				return nil, errDenseRun
			}
			k = len(kinds)
			kinds = append(kinds, kindState{kind: string(kb)})
		} else {
			v, ok := d.num()
			if !ok || v >= len(kinds) {
				return nil, errDenseRun
			}
			k = v
		}
		ks := &kinds[k] // a kind's first change: spans {0, 0}, so KP, PP and PS are 0
		// KP, KEY
		kp, ok := d.sep().num()
		if !ok || kp > ks.key.end-ks.key.start {
			return nil, errDenseRun
		}
		keyStart := len(keys)
		keys = append(keys, keys[ks.key.start:ks.key.start+kp]...)
		if keys, ok = d.sep().str(keys); !ok {
			return nil, errDenseRun
		}
		// PP, PS, MID
		pp, ok1 := d.sep().num()
		ps, ok2 := d.sep().num()
		prev := ks.payload
		if !ok1 || !ok2 || pp+ps > prev.end-prev.start {
			return nil, errDenseRun
		}
		payStart := len(payloads)
		payloads = append(payloads, payloads[prev.start:prev.start+pp]...)
		if payloads, ok = d.sep().str(payloads); !ok {
			return nil, errDenseRun
		}
		payloads = append(payloads, payloads[prev.end-ps:prev.end]...)
		ks.key = span{keyStart, len(keys)}
		ks.payload = span{payStart, len(payloads)}
		spans = append(spans, ks.key, ks.payload)
		out = append(out, runChange{Kind: ks.kind})
		if d.lit(']') {
			if d.i != len(d.b) {
				return nil, errDenseRun
			}
			break
		}
		if !d.lit(',') {
			return nil, errDenseRun
		}
	}
	allKeys := string(keys)
	for i := range out {
		k, p := spans[2*i], spans[2*i+1]
		out[i].Key = allKeys[k.start:k.end]
		out[i].Payload = payloads[p.start:p.end:p.end]
	}
	return out, nil
}

func (d *denseDecoder) lit(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// sep reads the ',' between a change's elements; a missing one fails the
// next read.
func (d *denseDecoder) sep() *denseDecoder {
	if !d.lit(',') {
		d.i = len(d.b) + 1 // past the end: every read fails
	}
	return d
}

// num reads a non-negative decimal integer below 2^31.
func (d *denseDecoder) num() (int, bool) {
	start, v := d.i, 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		v = v*10 + int(d.b[d.i]-'0')
		d.i++
		if v >= 1<<31 {
			return 0, false
		}
	}
	return v, d.i > start && d.i <= len(d.b)
}

// str reads a JSON string, appending its value to dst (jsonstr: raw
// bytes are kept as they are, so a run gives back the bytes encoded).
func (d *denseDecoder) str(dst []byte) ([]byte, bool) {
	if d.i >= len(d.b) {
		return dst, false
	}
	dst, n, err := jsonstr.Append(dst, d.b[d.i:])
	d.i += n
	return dst, err == nil
}
