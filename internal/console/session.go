package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
)

// Cookie names. Both are scoped to the console's path.
const (
	sessionCookie  = "gatehouse_console"
	anonCSRFCookie = "gatehouse_console_csrf"
)

// Limits of the in-memory session tables. maxPerPrincipal keeps one
// principal, signing in again and again with its own key, from filling
// the table that everyone shares: its oldest session ends instead. Many
// principals together can still fill maxSessions (anyone may create users
// through invitations to an org of its own); then a sign-in ends the
// oldest session of a principal holding the most (create), never
// refusing the sign-in.
const (
	maxSessions     = 100_000
	maxPerPrincipal = 50
	linkTTL         = 15 * time.Minute
	maxLinks        = 1_000
)

// session is a signed-in browser: the auth session token stays here.
type session struct {
	id        string
	principal string
	token     string // the auth session (JWT): never sent to the browser
	csrf      string
	expires   time.Time
}

// link is a one-time sign-in link: its token yields one session.
type link struct {
	token   string // the auth session the link signs in with
	expires time.Time
}

// sessionStore holds the console's sessions and one-time links in memory:
// a restart signs everyone out, and replicas behind a load balancer need
// sticky sessions (docs/console.md).
type sessionStore struct {
	now      func() time.Time
	mu       sync.Mutex
	sessions map[string]*session
	// byPrincipal is each principal's live session ids, oldest first.
	byPrincipal map[string][]string
	// byCount[n] is the set of principals holding exactly n sessions
	// (1 ≤ n ≤ maxPerPrincipal): a principal holding the most is found
	// in at most maxPerPrincipal steps when the table is full.
	byCount []map[string]struct{}
	// max bounds len(sessions): maxSessions (tests lower it).
	max   int
	links map[string]link
}

func newSessionStore(now func() time.Time) *sessionStore {
	s := &sessionStore{now: now, sessions: map[string]*session{}, byPrincipal: map[string][]string{}, links: map[string]link{},
		byCount: make([]map[string]struct{}, maxPerPrincipal+1), max: maxSessions}
	for n := range s.byCount {
		s.byCount[n] = map[string]struct{}{}
	}
	return s
}

// counted moves principal from the set of those holding from sessions to
// those holding to; s.mu is held.
func (s *sessionStore) counted(principal string, from, to int) {
	if from > 0 {
		delete(s.byCount[from], principal)
	}
	if to > 0 {
		s.byCount[to][principal] = struct{}{}
	}
}

// forget removes a session from both tables; s.mu is held.
func (s *sessionStore) forget(x *session) {
	delete(s.sessions, x.id)
	ids := s.byPrincipal[x.principal]
	for i, id := range ids {
		if id == x.id {
			ids = append(ids[:i:i], ids[i+1:]...)
			s.counted(x.principal, len(ids)+1, len(ids))
			break
		}
	}
	if len(ids) == 0 {
		delete(s.byPrincipal, x.principal)
	} else {
		s.byPrincipal[x.principal] = ids
	}
}

// errLinksFull: maxLinks sign-in links are outstanding (sessions are
// never refused: a full table evicts, see create).
var errLinksFull = errors.New("console: too many sign-in links outstanding; try again later")

// randomID is 256 bits from crypto/rand, base64url.
func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create stores a session of principal for an auth session token valid
// until expires; the principal's oldest session ends if it holds
// maxPerPrincipal already. When the table is full of live sessions, the
// oldest session of a principal holding the most ends (any one of them
// if several hold as many): whoever fills the table with many principals
// loses their own sessions first, as the sign-ins go on, and a person
// with a few is reached only once no one holds more — never a refused
// sign-in (docs/threat-model.md row 79).
func (s *sessionStore) create(token, principal string, expires time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if ids := s.byPrincipal[principal]; len(ids) >= maxPerPrincipal {
		s.forget(s.sessions[ids[0]])
	}
	if len(s.sessions) >= s.max {
		for _, x := range s.sessions {
			if !now.Before(x.expires) {
				s.forget(x)
			}
		}
		if len(s.sessions) >= s.max {
			s.evictFromLargest()
		}
	}
	x := &session{id: randomID(), principal: principal, token: token, csrf: randomID(), expires: expires}
	s.sessions[x.id] = x
	s.byPrincipal[principal] = append(s.byPrincipal[principal], x.id)
	s.counted(principal, len(s.byPrincipal[principal])-1, len(s.byPrincipal[principal]))
	return x
}

// evictFromLargest ends the oldest session of a principal holding the
// most sessions; s.mu is held.
func (s *sessionStore) evictFromLargest() {
	for n := len(s.byCount) - 1; n > 0; n-- {
		for p := range s.byCount[n] {
			s.forget(s.sessions[s.byPrincipal[p][0]])
			return
		}
	}
}

// get returns the live session with id, or nil.
func (s *sessionStore) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.sessions[id]
	if x == nil {
		return nil
	}
	if !s.now().Before(x.expires) {
		s.forget(x)
		return nil
	}
	return x
}

// drop forgets a session (sign-out).
func (s *sessionStore) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.sessions[id]; x != nil {
		s.forget(x)
	}
}

// addLink stores a one-time link for an auth session token and returns
// its token.
func (s *sessionStore) addLink(token string, expires time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for t, l := range s.links {
		if !now.Before(l.expires) {
			delete(s.links, t)
		}
	}
	if len(s.links) >= maxLinks {
		return "", errLinksFull
	}
	t := randomID()
	exp := now.Add(linkTTL)
	if !expires.IsZero() && expires.Before(exp) {
		exp = expires
	}
	s.links[t] = link{token: token, expires: exp}
	return t, nil
}

// takeLink consumes a one-time link: it works once, before it expires.
func (s *sessionStore) takeLink(t string) (link, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[t]
	delete(s.links, t)
	if !ok || !s.now().Before(l.expires) {
		return link{}, false
	}
	return l, true
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	ck := &http.Cookie{Name: name, Value: value, Path: Prefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.isSecure(r)}
	if value == "" {
		ck.MaxAge = -1
	} else if !expires.IsZero() {
		ck.Expires = expires
	}
	http.SetCookie(w, ck)
}

// startSession signs the browser in with an auth session token, under a
// new id: a session the browser already held (another user's, or an id
// planted before sign-in) is forgotten on the server, not merely
// overwritten in the browser, so that a copy of its cookie signs nothing
// in.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, token string, id auth.Identity) {
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		c.sessions.drop(ck.Value)
	}
	exp := id.Expires
	if exp.IsZero() {
		exp = c.now().Add(c.auth.SessionTTL())
	}
	x := c.sessions.create(token, id.Principal, exp)
	c.setCookie(w, r, sessionCookie, x.id, exp)
	c.setCookie(w, r, anonCSRFCookie, "", time.Time{})
}

// lookupSession is the browser's live console session, or nil.
func (c *Console) lookupSession(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	return c.sessions.get(ck.Value)
}

// anonCSRF is the double-submit token of a browser that is not signed
// in, set as a cookie when missing.
func (c *Console) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(anonCSRFCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	t := randomID()
	c.setCookie(w, r, anonCSRFCookie, t, time.Time{})
	return t
}

// checkCSRF reports whether a POST carries the right token: the
// session's own when signed in, else the double-submit cookie's.
func (c *Console) checkCSRF(r *http.Request, x *session) bool {
	got := r.PostFormValue("csrf")
	var want string
	if x != nil {
		want = x.csrf
	} else if ck, err := r.Cookie(anonCSRFCookie); err == nil {
		want = ck.Value
	}
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
