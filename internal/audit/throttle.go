package audit

import (
	"encoding/json"
	"sync"
	"time"
)

// Throttle is flood control for entries that anyone can cause without
// being authenticated (a refused sign-in, a bad bearer token): recording
// each would let whoever sends them grow the append-only log one entry a
// request. It lets one entry per key (say a refusal's reason, account and
// client address) through per window and counts the others, so that the
// next entry of the key says how many were left unrecorded since the
// previous one (docs/threat-model.md rows 85 and 100).
//
// Memory is bounded: at most Max keys are remembered. When the table is
// full, keys whose window has passed are forgotten (their unrecorded
// counts move to the overflow note, so none is lost), and a new key that
// still does not fit shares the overflow note (Overflow set): it is
// recorded at most once a window for all such keys together, and the
// first new key that fits again, after the overflow's window, carries its
// count. Hence at most Max+1 entries a window get through, whoever sends
// what.
type Throttle struct {
	// Window is how long a recorded entry covers its key (default 1 min).
	Window time.Duration
	// Max bounds the keys remembered (default 1,000).
	Max int
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu       sync.Mutex
	notes    map[string]*throttleNote
	overflow throttleNote
}

type throttleNote struct {
	since   time.Time // when the last recorded entry was let through
	skipped int64     // refusals since, not recorded
}

// Noted is the Throttle's answer for one event.
type Noted struct {
	// Record: write this event's entry.
	Record bool
	// Unrecorded is how many events of the key were not recorded since
	// its previous entry (set only with Record).
	Unrecorded int64
	// Overflow: the key shares the overflow note (the table was full), so
	// Unrecorded counts events of other keys too.
	Overflow bool
}

const (
	defaultThrottleWindow = time.Minute
	defaultThrottleMax    = 1_000
)

// Note counts one event of key and says whether to record it.
func (t *Throttle) Note(key string) Noted {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	at := now()
	window, max := t.Window, t.Max
	if window <= 0 {
		window = defaultThrottleWindow
	}
	if max <= 0 {
		max = defaultThrottleMax
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.notes == nil {
		t.notes = map[string]*throttleNote{}
	}
	n, ok := t.notes[key]
	if !ok {
		if len(t.notes) >= max {
			for k, old := range t.notes {
				if at.Sub(old.since) >= window {
					t.overflow.skipped += old.skipped
					delete(t.notes, k)
				}
			}
		}
		if len(t.notes) >= max {
			return t.overflow.note(at, window, true)
		}
		t.notes[key] = &throttleNote{since: at}
		if t.overflow.skipped > 0 && at.Sub(t.overflow.since) >= window {
			// This entry also speaks for the overflow's unrecorded
			// events, which would otherwise wait for the next overflow.
			return t.overflow.note(at, window, true)
		}
		return Noted{Record: true}
	}
	return n.note(at, window, false)
}

// note counts one event on n; t.mu is held.
func (n *throttleNote) note(at time.Time, window time.Duration, overflow bool) Noted {
	if !n.since.IsZero() && at.Sub(n.since) < window {
		n.skipped++
		return Noted{}
	}
	out := Noted{Record: true, Unrecorded: n.skipped, Overflow: overflow}
	n.since, n.skipped = at, 0
	return out
}

// AuthFailure is the "auth.failure" entry of a refused credential or
// sign-in that a Throttle let through (n.Record): why (reason: the
// rate-limited, unauthenticated, … kinds the caller names), the org the
// request was for if any, the SHA-256 of the key id sent (keyDigest;
// never the key, never text that is not a key) and what n says was left
// out since the key's previous entry. The console and the API build their
// entries here so that one reader filter serves both.
func AuthFailure(actor Actor, target, reason, org, keyDigest, message string, n Noted) Entry {
	details, err := json.Marshal(struct {
		Reason     string `json:"reason"`
		Org        string `json:"org,omitempty"`
		KeyDigest  string `json:"key_id_sha256,omitempty"`
		Unrecorded int64  `json:"unrecorded_refusals,omitempty"`
		Overflow   bool   `json:"overflow,omitempty"`
	}{reason, org, keyDigest, n.Unrecorded, n.Overflow})
	if err != nil {
		details = nil
	}
	return Entry{Actor: actor, Action: "auth.failure", Target: target, Result: Denied, Message: message, Details: details}
}
