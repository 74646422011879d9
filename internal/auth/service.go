package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Options tune a Service. The zero value is fine.
type Options struct {
	// KeyCacheTTL is how long a looked-up API key is trusted before it is
	// read again (default 5s): the bound on how long a key revoked through
	// another process keeps working here.
	KeyCacheTTL time.Duration
	// SessionTTL is a session's lifetime (default 15m).
	SessionTTL time.Duration
	// InvitationTTL is an invitation's lifetime (default 7 days).
	InvitationTTL time.Duration
	// FailureRate and FailureBurst tune the per-address limit on failed
	// authentications (default: 10 in a row, then one every 2s).
	FailureRate, FailureBurst float64
	// UsageFlush is how often last-used times are written (default 30s).
	UsageFlush time.Duration
	// StoreTimeout bounds each store call made while authenticating
	// (default 5s).
	StoreTimeout time.Duration
	Logger       *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Service authenticates callers and manages API keys, sessions and
// invitations over a store and the directory that authorizes them.
type Service struct {
	st      store.Store
	dir     *directory.Directory
	keys    *KeySet
	opts    Options
	limiter *Limiter

	cache sync.Map // key id → *cachedKey
	users sync.Map // user id → *cachedUser (the incarnation sessions check)
	// agents: "<org>/<name>" → *cachedUser, the agent's incarnation that
	// agent tokens check.
	agents sync.Map
	// verified: SHA-256 of an agent token → *verifiedAgent (agenttoken.go).
	verified  sync.Map
	nVerified atomic.Int64
	// revoked: the ids of revoked, unexpired agent tokens
	// (agenttokenrevoke.go).
	revoked revokedSet
	// verdicts: credential id → *minterVerdict (minter.go), nVerdicts
	// how many were stored since the last clearing.
	verdicts  sync.Map
	nVerdicts atomic.Int64
	// refusals: credential id → *refusalNote (minter.go), nRefusals
	// how many were stored since the last clearing.
	refusals  sync.Map
	nRefusals atomic.Int64
	// forgets counts invalidations (of keys or users): a lookup that
	// raced with one does not cache what it read.
	forgets atomic.Uint64

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// cachedKey is a verified key record, or (dead) a key known to be
// revoked or to stand for a principal or org that is gone.
type cachedKey struct {
	hash     []byte
	identity Identity
	// principalCreatedAt is the incarnation of the key's principal.
	principalCreatedAt time.Time
	dead               bool
	expires            time.Time
	fetched            time.Time
	lastUsed           atomic.Int64 // unix micro of the last use not yet flushed
	flushed            atomic.Int64
}

// New returns a service. Close it to flush last-used times.
func New(st store.Store, dir *directory.Directory, keys *KeySet, opts Options) *Service {
	if opts.KeyCacheTTL <= 0 {
		opts.KeyCacheTTL = 5 * time.Second
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.InvitationTTL <= 0 {
		opts.InvitationTTL = 7 * 24 * time.Hour
	}
	if opts.FailureRate <= 0 {
		opts.FailureRate = 0.5
	}
	if opts.FailureBurst <= 0 {
		opts.FailureBurst = 10
	}
	if opts.UsageFlush <= 0 {
		opts.UsageFlush = 30 * time.Second
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := NewLimiter(opts.FailureRate, opts.FailureBurst)
	l.Now = opts.Now
	s := &Service{st: st, dir: dir, keys: keys, opts: opts, limiter: l, stop: make(chan struct{}), done: make(chan struct{})}
	dir.OnChanges(s.forgetChanged)
	go s.flushLoop()
	return s
}

// Close stops the usage flusher after a last flush.
func (s *Service) Close() error {
	s.stopOnce.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

// Keys is the session key set.
func (s *Service) Keys() *KeySet { return s.keys }

// SessionTTL is the lifetime of issued sessions.
func (s *Service) SessionTTL() time.Duration { return s.opts.SessionTTL }

// Caller is an authenticated caller with request details.
type Caller struct {
	Identity
	ClientAddr string
	RequestID  string
}

// Actor is the directory's view of the caller.
func (c Caller) Actor() directory.Actor {
	return directory.Actor{Principal: c.Principal, KeyID: c.KeyID, SessionID: c.SessionID, ClientAddr: c.ClientAddr, RequestID: c.RequestID, MintedBy: c.MintedBy}
}

// --- authentication

// Authenticate resolves a bearer credential presented from clientAddr.
//
// Failed attempts are rate-limited per client address, but the limit
// gates only work that reaches the store: while an address is limited, a
// credential that verifies from memory (a session token's signature, an
// API key whose record is cached and whose secret matches) is still
// accepted, and anything that would need a store lookup is refused with
// *RateLimitError before it is looked at. The secrets are 256-bit random,
// so accepting a correct one reveals nothing a guesser could use, while
// a burst of forged tokens relayed through one host platform cannot lock
// that platform's real users out.
//
// Errors: *RateLimitError (ErrRateLimited) while the address is limited
// and the credential is not verifiable from memory, ErrUnauthenticated
// for any bad credential, or an ErrUnavailable-kind directory error when
// the store cannot be read (not counted as a failure).
func (s *Service) Authenticate(ctx context.Context, credential, clientAddr string) (Identity, error) {
	wait, allowed := s.limiter.Allow(clientAddr)
	var (
		id  Identity
		err error
	)
	switch {
	case strings.HasPrefix(credential, APIKeyPrefix):
		id, err = s.authKey(ctx, credential, allowed)
	case strings.Count(credential, ".") == 2:
		id, err = s.authSession(ctx, credential)
	default:
		err = ErrUnauthenticated
	}
	if err == nil && id.Org != "" && strings.HasPrefix(id.Principal, authz.KindService+":") {
		// A suspended (or no longer present) service: its key verified,
		// so this is no guess and is not counted as a failure.
		if member, why := s.dir.Standing(id.Org, id.Principal, s.opts.Now()); !member || why != "" {
			return Identity{}, ErrUnauthenticated
		}
	}
	if err == nil && id.MintedBy != "" {
		// A key minted by someone else (a service's): its minter must
		// still outrank its principal (minter.go). Not a guess either.
		if id.KeyID == "" {
			return Identity{}, ErrUnauthenticated // only keys are minted for others here
		}
		if err := s.minterStands(id, "API key", id.KeyID, s.opts.Now()); err != nil {
			return Identity{}, err
		}
	}
	switch {
	case err == nil:
		return id, nil
	case !allowed && (errors.Is(err, ErrUnauthenticated) || errors.Is(err, errLimited)):
		return Identity{}, &RateLimitError{RetryAfter: wait}
	case errors.Is(err, ErrUnauthenticated):
		s.limiter.Fail(clientAddr)
		return Identity{}, ErrUnauthenticated
	}
	return id, err
}

// errLimited: the key is not cached and the caller's address may not
// cause a store lookup now.
var errLimited = errors.New("auth: store lookup refused while rate limited")

// authKey verifies an API key against the cache or, when lookup is
// allowed, the store.
func (s *Service) authKey(ctx context.Context, token string, lookup bool) (Identity, error) {
	kid, ok := ParseToken(APIKeyPrefix, token)
	if !ok {
		return Identity{}, ErrUnauthenticated
	}
	now := s.opts.Now()
	var ck *cachedKey
	if v, ok := s.cache.Load(kid); ok {
		if c := v.(*cachedKey); now.Sub(c.fetched) < s.opts.KeyCacheTTL {
			ck = c
		}
	}
	if ck == nil {
		if !lookup {
			return Identity{}, errLimited
		}
		var err error
		if ck, err = s.loadKey(ctx, kid, now, false); err != nil {
			return Identity{}, err
		}
	}
	if ck.dead || !Matches(token, ck.hash) {
		return Identity{}, ErrUnauthenticated
	}
	if !ck.expires.IsZero() && !now.Before(ck.expires) {
		return Identity{}, ErrUnauthenticated
	}
	if u := now.UnixMicro(); u-ck.lastUsed.Load() >= usageGranularity.Microseconds() {
		ck.lastUsed.Store(u)
	}
	return ck.identity, nil
}

// usageGranularity: a key's last use is recorded to within this much (and
// reaches the store every UsageFlush, 30 s by default). A request writes
// the shared cache entry only when its time has moved on by at least this
// since the use recorded: every request with one key writing it took the
// entry's cache line from the other cores, which read it on every
// request too (its hash, identity and expiry).
const usageGranularity = time.Second

// loadKey reads a key and checks that it still stands for a live
// principal of a live org (same incarnation); it caches good keys, and
// keys found dead (revoked, or of a principal or org that is gone). An
// unknown key id is cached as dead only when cacheMissing is set: ids
// presented as API keys are the caller's to choose, while an id named by
// a verified session is one this server issued.
func (s *Service) loadKey(ctx context.Context, kid string, now time.Time, cacheMissing bool) (*cachedKey, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
	defer cancel()
	gen := s.forgets.Load()
	dead := func() (*cachedKey, error) {
		if s.forgets.Load() == gen {
			s.cache.Store(kid, &cachedKey{dead: true, fetched: now})
		} else {
			s.cache.Delete(kid)
		}
		return nil, ErrUnauthenticated
	}
	k, err := s.st.GetAPIKey(ctx, kid)
	if errors.Is(err, store.ErrNotFound) {
		if cacheMissing {
			return dead()
		}
		s.cache.Delete(kid)
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, unavailable("authenticate", err)
	}
	if !k.RevokedAt.IsZero() {
		return dead()
	}
	live, err := s.incarnation(ctx, k.Org, k.Principal)
	if err != nil {
		return nil, unavailable("authenticate", err)
	}
	if !live.principal.Equal(k.PrincipalCreatedAt) || (k.Org != "" && !live.org.Equal(k.OrgCreatedAt)) {
		return dead()
	}
	ck := &cachedKey{
		hash:               k.Hash,
		identity:           Identity{Principal: k.Principal, Org: k.Org, KeyID: k.ID, Expires: k.ExpiresAt, MintedBy: mintedBy(k.Principal, k.CreatedBy)},
		principalCreatedAt: k.PrincipalCreatedAt,
		expires:            k.ExpiresAt,
		fetched:            now,
	}
	if old, ok := s.cache.Load(kid); ok { // keep unflushed usage
		ck.lastUsed.Store(old.(*cachedKey).lastUsed.Load())
		ck.flushed.Store(old.(*cachedKey).flushed.Load())
	}
	if s.forgets.Load() == gen { // else a deletion raced with the read: do not cache it
		s.cache.Store(kid, ck)
	}
	return ck, nil
}

// --- sessions

// cachedUser is a user's incarnation as last read (zero: no such user).
type cachedUser struct {
	createdAt time.Time
	fetched   time.Time
}

// authSession verifies a session token: its signature from memory, then
// its binding — the user still exists with the incarnation the session
// was issued for, and the API key it came from (if any) is live — through
// the user and key caches, which the change feed invalidates
// (forgetChanged) and which are re-read after KeyCacheTTL or on a miss.
// A cached verification does not touch the store.
//
// The binding lookup is not gated by the rate limit: it only happens for
// a token whose signature verified, which no guesser can produce.
func (s *Service) authSession(ctx context.Context, token string) (Identity, error) {
	now := s.opts.Now()
	id, b, err := s.keys.VerifyBound(token, now)
	if err != nil {
		return Identity{}, err
	}
	uid := strings.TrimPrefix(id.Principal, authz.KindUser+":")
	created, err := s.userIncarnation(ctx, uid, now)
	if err != nil {
		return Identity{}, err
	}
	if created.IsZero() || !created.Equal(b.UserCreatedAt) {
		return Identity{}, ErrUnauthenticated
	}
	if b.APIKey != "" {
		var ck *cachedKey
		if v, ok := s.cache.Load(b.APIKey); ok {
			if c := v.(*cachedKey); now.Sub(c.fetched) < s.opts.KeyCacheTTL {
				ck = c
			}
		}
		if ck == nil {
			if ck, err = s.loadKey(ctx, b.APIKey, now, true); err != nil {
				return Identity{}, err
			}
		}
		if ck.dead || ck.identity.Principal != id.Principal || ck.identity.Org != id.Org ||
			!ck.principalCreatedAt.Equal(b.UserCreatedAt) || (!ck.expires.IsZero() && !now.Before(ck.expires)) {
			return Identity{}, ErrUnauthenticated
		}
	}
	return id, nil
}

// userIncarnation is the user's created_at (zero when there is no such
// user), from the cache or the store.
func (s *Service) userIncarnation(ctx context.Context, uid string, now time.Time) (time.Time, error) {
	if v, ok := s.users.Load(uid); ok {
		if c := v.(*cachedUser); now.Sub(c.fetched) < s.opts.KeyCacheTTL {
			return c.createdAt, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
	defer cancel()
	gen := s.forgets.Load()
	u, err := s.st.GetUser(ctx, uid)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return time.Time{}, unavailable("authenticate", err)
	}
	if s.forgets.Load() == gen { // else a change raced with the read: do not cache it
		s.users.Store(uid, &cachedUser{createdAt: u.CreatedAt, fetched: now})
	}
	return u.CreatedAt, nil
}

// incarnationTimes are the creation times of a principal and its org
// (zero when they do not exist).
type incarnationTimes struct {
	principal, org time.Time
}

func (s *Service) incarnation(ctx context.Context, org, principal string) (incarnationTimes, error) {
	return incarnationOf(ctx, s.st, org, principal)
}

func incarnationOf(ctx context.Context, r store.Reader, org, principal string) (incarnationTimes, error) {
	var out incarnationTimes
	kind, name, _ := strings.Cut(principal, ":")
	switch kind {
	case authz.KindUser:
		u, err := r.GetUser(ctx, name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return out, err
		}
		out.principal = u.CreatedAt
	case authz.KindService:
		sv, err := r.GetService(ctx, org, name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return out, err
		}
		out.principal = sv.CreatedAt
	}
	if org != "" {
		o, err := r.GetOrg(ctx, org)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return out, err
		}
		out.org = o.CreatedAt
	}
	return out, nil
}

// ResetLimits forgets every address's failed attempts.
func (s *Service) ResetLimits() { s.limiter.Reset() }

// Forget drops a key from the cache (after it was revoked here).
func (s *Service) Forget(kid string) {
	s.forgets.Add(1)
	s.cache.Delete(kid)
}

// forgetChanged drops the cached keys that a batch of committed changes
// makes stale, wherever the change was made (Directory.OnChanges): every
// key of a deleted user, of a deleted service, of a deleted org, and a
// key that changed (revoked); and the incarnation of a user created,
// changed or deleted, which sessions check. A dropped entry is read again
// at its next use.
func (s *Service) forgetChanged(changes []store.Change) {
	for _, c := range changes {
		var stale func(Identity) bool
		switch c.Kind {
		case store.KindUserPut:
			s.forgets.Add(1)
			s.users.Delete(c.Key)
			continue
		case store.KindUserDelete:
			s.forgets.Add(1) // before the delete: see userIncarnation
			s.users.Delete(c.Key)
			p := authz.KindUser + ":" + c.Key
			stale = func(id Identity) bool { return id.Principal == p }
		case store.KindServiceDelete:
			stale = func(id Identity) bool { return id.Org == c.Org && id.Principal == c.Key }
		case store.KindAgentPut, store.KindAgentDelete:
			s.forgets.Add(1) // before the delete: see agentIncarnation
			s.agents.Delete(c.Org + "/" + strings.TrimPrefix(c.Key, authz.KindAgent+":"))
			continue
		case store.KindOrgDelete:
			stale = func(id Identity) bool { return id.Org == c.Org }
			s.agents.Range(func(k, _ any) bool {
				if strings.HasPrefix(k.(string), c.Org+"/") {
					s.agents.Delete(k)
				}
				return true
			})
		case store.KindAPIKeyPut:
			s.Forget(strings.TrimPrefix(c.Key, "apikey:"))
			continue
		case store.KindAgentTokenPut:
			s.noteAgentTokenChange(c)
			continue
		default:
			continue
		}
		s.forgets.Add(1)
		s.cache.Range(func(k, v any) bool {
			if stale(v.(*cachedKey).identity) {
				s.cache.Delete(k)
			}
			return true
		})
	}
}

// flushLoop writes last-used times every UsageFlush, and once at Close.
func (s *Service) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.UsageFlush)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			s.flush()
			return
		case <-t.C:
			s.flush()
		}
	}
}

func (s *Service) flush() {
	uses := map[string]time.Time{}
	marks := map[*cachedKey]int64{}
	s.cache.Range(func(k, v any) bool {
		ck := v.(*cachedKey)
		if u := ck.lastUsed.Load(); u > ck.flushed.Load() {
			uses[k.(string)] = time.UnixMicro(u)
			marks[ck] = u
		}
		return true
	})
	if len(uses) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.StoreTimeout)
	defer cancel()
	if err := s.st.RecordAPIKeyUse(ctx, uses); err != nil {
		s.opts.Logger.Warn("auth: recording API key use failed; will retry", "keys", len(uses), "err", err)
		return
	}
	for ck, u := range marks {
		ck.flushed.Store(u)
	}
}

// FlushUsage writes pending last-used times now (tests, shutdown).
func (s *Service) FlushUsage() { s.flush() }

// settle waits (bounded, best effort) for the engine to reach rev, so that
// a caller's next decision with consistency at_least rev does not wait.
func (s *Service) settle(ctx context.Context, rev uint64) {
	_ = s.dir.WaitFor(ctx, rev)
}

// --- errors: *errs.Error of Pkg "auth", in the kinds every layer shares

// pkg is auth's errs.Error Pkg.
const pkg = "auth"

func unavailable(op string, err error) error {
	return &errs.Error{Pkg: pkg, Op: op, Kind: errs.Unavailable, Cause: err}
}

func notFound(op, format string, args ...any) error {
	return &errs.Error{Pkg: pkg, Op: op, Msg: fmt.Sprintf(format, args...), Kind: errs.NotFound}
}

func invalid(field, format string, args ...any) error {
	return &directory.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// storeErr puts a store error under auth's op, keeping its kind (a refusal
// is a conflict) and message; every other error passes through.
func storeErr(op string, err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Pkg != "store" {
		return err
	}
	return errs.In(pkg, op, err, false)
}

// --- authorization helpers: the directory's own checks (unconditional
// grants only)

// member reports whether principal is a member of org.
func (s *Service) member(org, principal string) bool {
	return s.dir.IsMember(org, principal)
}

// need requires principal to hold perm at org scope.
func (s *Service) need(org, principal, perm string) error {
	p, err := policy.ParsePermission(perm)
	if err != nil {
		return err
	}
	if len(s.dir.Missing(org, principal, authz.Scope{}, []policy.Permission{p})) > 0 {
		return &directory.ForbiddenError{Permission: perm, Scope: authz.Scope{}}
	}
	return nil
}

// enter checks that the caller may act in org: its credential allows the
// org and it is a member (else not found, as for an org that does not
// exist).
func (s *Service) enter(c Caller, op, org string) error {
	if org == "" || !c.AllowsOrg(org) || !s.member(org, c.Principal) {
		return notFound(op, "org %q", org)
	}
	return nil
}
