package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Access says who may call a route.
type Access int

const (
	// Public routes take no API credentials (health, the OpenAPI
	// document, accepting an invitation; metrics, which check the metrics
	// token themselves).
	Public Access = iota
	// Authenticated routes need a valid credential.
	Authenticated
	// OrgMember routes are about the org in the path: they need a valid
	// credential of a member of that org (a non-member, or a credential
	// confined to another org, gets 404 as if the org did not exist).
	OrgMember
)

func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case Authenticated:
		return "authenticated"
	default:
		return "org-member"
	}
}

// Route is one entry of the route table: an HTTP pattern, what it needs,
// what it takes and returns, and its handler. The table is the single
// source of the mux, the OpenAPI document and the route-driven tests.
type Route struct {
	Method  string // "POST"
	Path    string // "/v1/orgs/{org}/check"
	Summary string
	Tag     string
	Access  Access
	// Perm documents the administrative permission the route needs beyond
	// membership ("members:create"); "" when any member (or any caller with
	// the route's Access) may call it. Routes whose permission depends on
	// the target (yourself or another) say so in Summary and leave it "".
	Perm string
	// Status is the success status (200, or 201 for creations).
	Status int
	// Query documents the query parameters.
	Query []Param
	// MaxBody overrides the request body limit (bytes).
	MaxBody int64
	// OptionalBody lets a POST without a body decode as the zero request.
	OptionalBody bool
	// OptionalAuth: a public route whose handler authenticates the caller
	// when it presents a credential (accepting an invitation).
	OptionalAuth bool

	// ContentType is the success media type of raw routes, and of JSON
	// routes that stream their own answer instead of JSON (the snapshot).
	ContentType string
	// Streams is a second media type a JSON route answers in when the
	// client asks for it (server-sent events).
	Streams string

	reqType, respType reflect.Type
	hasBody           bool
	// bounded: every wait of the route has its own bound (the check path:
	// authentication's store timeout, the consistency timeout, decision
	// logging's settings read and record; following the audit log: the
	// wait asked for plus the request timeout, followBudget), so it needs
	// no per-request timeout context.
	bounded bool
	run     func(c *call) (any, error)
	raw     http.Handler // a non-JSON route (metrics, openapi)
}

// Param is a documented query parameter.
type Param struct {
	Name, Type, Doc string
}

// HasBody reports whether the route decodes a JSON request body.
func (rt *Route) HasBody() bool { return rt.hasBody }

// Pattern is the ServeMux pattern.
func (rt *Route) Pattern() string { return rt.Method + " " + rt.Path }

// rawRoute declares a public route that writes its own answer.
func rawRoute(method, path, tag, summary, contentType string, h http.Handler) *Route {
	return &Route{Method: method, Path: path, Tag: tag, Summary: summary, Access: Public, Status: http.StatusOK,
		ContentType: contentType, raw: h}
}

// noBody is the request type of routes without a body.
type noBody struct{}

// route declares a JSON route: fn receives the decoded request (for POST,
// PUT and PATCH) and returns the response value.
func route[Req, Resp any](method, path, tag, summary string, fn func(c *call, req *Req) (Resp, error)) *Route {
	rt := &Route{
		Method: method, Path: path, Tag: tag, Summary: summary,
		Access: OrgMember, Status: http.StatusOK,
		reqType: reflect.TypeFor[Req](), respType: reflect.TypeFor[Resp](),
	}
	if !strings.Contains(path, "{org}") {
		rt.Access = Authenticated
	}
	rt.hasBody = rt.reqType != reflect.TypeFor[noBody]() && (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch)
	rt.run = func(c *call) (any, error) {
		// The request and the answer share one allocation (the call's
		// own for /check: reqRespOf), and the answer is returned by
		// pointer (an interface holding a pointer allocates nothing;
		// writeJSON encodes *Resp as Resp).
		x := reqRespOf[Req, Resp](c)
		req := &x.req
		if c.r.URL.RawQuery != "" {
			if err := rt.knownQuery(c.r.URL.Query()); err != nil {
				return nil, err
			}
		}
		if !rt.hasBody {
			if err := c.refuseBody(); err != nil {
				return nil, err
			}
		} else {
			var err error
			if br, ok := any(req).(*BatchCheckRequest); ok {
				c.batch = getBatchScratch()
				br.Checks = c.batch.items[:0]
			}
			if fd, ok := fastDecoderOf(req); ok {
				err = c.decodeWith(fd)
			} else {
				err = c.decode(req)
			}
			if err != nil {
				return nil, err
			}
		}
		var err error
		if x.resp, err = fn(c, req); err != nil {
			return nil, err
		}
		return &x.resp, nil
	}
	return rt
}

// reqResp is a JSON route's decoded request and its answer, allocated
// together.
type reqResp[Req, Resp any] struct {
	req  Req
	resp Resp
}

// checkReqResp is /check's request and answer.
type checkReqResp = reqResp[CheckRequest, CheckResponse]

// reqRespOf is the storage of c's request and answer: the call's own when
// it was allocated with it (checkCall: /check, the hot route), else a new
// one.
func reqRespOf[Req, Resp any](c *call) *reqResp[Req, Resp] {
	if x, ok := any(c.check).(*reqResp[Req, Resp]); ok && x != nil {
		return x
	}
	return new(reqResp[Req, Resp])
}

// checkCall is a /check call and its request and answer in one
// allocation: call.check points into it, so nothing of it outlives the
// others (no pool: a request's values are never seen by another). It fits
// the 768-byte size class (TestCheckCallSize): a field more in call would
// make every /check allocate the next class, 896 bytes.
type checkCall struct {
	call
	rr checkReqResp
}

func (rt *Route) perm(p string) *Route     { rt.Perm = p; return rt }
func (rt *Route) created() *Route          { rt.Status = http.StatusCreated; return rt }
func (rt *Route) public() *Route           { rt.Access = Public; return rt }
func (rt *Route) optionalAuth() *Route     { rt.OptionalAuth = true; return rt }
func (rt *Route) maxBody(n int64) *Route   { rt.MaxBody = n; return rt }
func (rt *Route) optionalBody() *Route     { rt.OptionalBody = true; return rt }
func (rt *Route) selfBounded() *Route      { rt.bounded = true; return rt }
func (rt *Route) query(ps ...Param) *Route { rt.Query = append(rt.Query, ps...); return rt }

// knownQuery refuses a query parameter the route does not take: a typo
// such as ?princpal=user:bob would otherwise be ignored and the answer
// (every binding) read as the filtered one.
func (rt *Route) knownQuery(q url.Values) error {
	for _, name := range slices.Sorted(maps.Keys(q)) { // the same answer every time
		if !slices.ContainsFunc(rt.Query, func(p Param) bool { return p.Name == name }) {
			if len(rt.Query) == 0 {
				return invalidField(name, "unknown query parameter %q: %s %s takes none", name, rt.Method, rt.Path)
			}
			names := make([]string, len(rt.Query))
			for i, p := range rt.Query {
				names[i] = p.Name
			}
			return invalidField(name, "unknown query parameter %q: %s %s takes %s", name, rt.Method, rt.Path, strings.Join(names, ", "))
		}
	}
	return nil
}

// pageParams are the query parameters of every list.
var pageParams = []Param{
	{"page_size", "integer", "rows per page, 1 to 1000 (default 100)"},
	{"cursor", "string", "next_cursor of the previous page"},
}

// call is one request being served.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	rt    *Route
	reqID string
	addr  string
	id    auth.Identity
	// status overrides the route's success status.
	status int
	// hdr is set on a successful response.
	hdr http.Header
	// batch is the pooled scratch of a /checks call (its items and
	// results), returned to the pool once the answer is written.
	batch *batchScratch
	// streamed: the route's function wrote the answer itself (an event
	// stream, a snapshot); its return value is not written.
	streamed bool
	// reqIDHdr backs the X-Request-Id header value and areq the engine
	// request of /check: parts of the call's one allocation instead of
	// one each per request (areq's pointer escapes into the engine).
	reqIDHdr [1]string
	areq     authz.Request
	// check is the request and answer of a call allocated as a checkCall
	// (nil otherwise): reqRespOf.
	check *checkReqResp
	// orgName is the {org} path value ("" for routes without one): read
	// once, by the mux's match or by the /check fast path.
	orgName string
	// gate is what the org gate found (OrgMember routes): the decisions'
	// Askers start from it (directory.Asker.Gated).
	gate directory.Gate
}

// actor is the directory's view of the caller.
func (c *call) actor() directory.Actor {
	return directory.Actor{Principal: c.id.Principal, KeyID: c.id.KeyID, SessionID: c.id.SessionID, ClientAddr: c.addr, RequestID: c.reqID, MintedBy: c.id.MintedBy}
}

// org is the {org} path value.
func (c *call) org() string { return c.orgName }

// path is a path value.
func (c *call) path(name string) string { return c.r.PathValue(name) }

// page reads page_size and cursor.
func (c *call) page() (store.Page, error) {
	p := store.Page{Cursor: c.r.URL.Query().Get("cursor")}
	if s := c.r.URL.Query().Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageSize {
			return p, invalidField("page_size", "page_size must be an integer from 1 to %d", store.MaxPageSize)
		}
		p.Size = n
	}
	return p, nil
}

// queryUint reads an unsigned integer query parameter (0 when absent).
func (c *call) queryUint(name string) (uint64, error) {
	s := c.r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, invalidField(name, "%s must be a non-negative integer", name)
	}
	return n, nil
}

// queryBool reads a boolean query parameter.
func (c *call) queryBool(name string) (bool, error) {
	s := c.r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalidField(name, "%s must be true or false", name)
	}
	return b, nil
}

// DefaultMaxBody is the request body limit of most routes.
const DefaultMaxBody = 1 << 20

// decode reads the JSON body into v: Content-Type application/json, at most
// the route's limit, one JSON value (strictJSON: no member named twice, or
// twice but for case, at most maxDepth deep, nothing after it), no unknown
// fields.
func (c *call) decode(v any) error {
	r := c.r
	if c.rt.OptionalBody && r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return problem(ProblemMediaType, "the request body must be application/json (got %q)", ct)
	}
	buf, err := c.readJSONBody(c.bodyLimit())
	if err != nil {
		return err
	}
	defer putBody(buf)
	return decodeStd(buf.Bytes(), v)
}

// readJSONBody is readBody for a body that is decoded as JSON: one
// holding a credential-shaped value outside the members that take one is
// refused, naming the member, before any decoder can quote it
// (bodyCredential, threat-model row 91).
func (c *call) readJSONBody(limit int64) (*bytes.Buffer, error) {
	buf, err := c.readBody(limit)
	if err != nil {
		return nil, err
	}
	if field, ok := bodyCredential(buf.Bytes()); ok {
		putBody(buf)
		return nil, errBodyCredential(field)
	}
	return buf, nil
}

// bodyLimit is the route's request body limit.
func (c *call) bodyLimit() int64 {
	if c.rt.MaxBody > 0 {
		return c.rt.MaxBody
	}
	return c.s.maxBody
}

// refuseBody checks the body of a route that takes none: it may be absent
// or an empty JSON object (what clients send to a POST without fields);
// beyond the limit every route has it is 413, anything else 400 — a
// member named (unknown field), or a body that is not one strict JSON
// value (strictJSON). Ignoring it would let a client believe that a
// DELETE or a GET did what its body asked.
func (c *call) refuseBody() error {
	if c.r.Body == nil || c.r.Body == http.NoBody {
		return nil
	}
	limit := c.bodyLimit()
	if c.r.ContentLength > limit {
		return problem(ProblemTooLarge, "the request body is larger than %d bytes", limit)
	}
	buf, err := c.readJSONBody(limit)
	if err != nil {
		return err
	}
	defer putBody(buf)
	if buf.Len() == 0 {
		return nil
	}
	return decodeStd(buf.Bytes(), &noBody{})
}

// isNull reports whether the JSON text br starts with (after whitespace) is
// null, which encoding/json would decode into any request as "nothing
// given": a PUT would reset what it replaces. It consumes only whitespace.
func isNull(br *bufio.Reader) bool {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return false // the decoder reports it
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		}
		b, _ = br.Peek(4)
		return string(b) == "null"
	}
}

// errNullBody is the problem for a request body that is JSON null.
func errNullBody() *Problem {
	return invalidField("", "the request body is null; a JSON object is required")
}

// decodeWith is decode for request types with a hand-written decoder.
func (c *call) decodeWith(fd fastDecoder) error {
	r := c.r
	ct := headerValue(r.Header, "Content-Type")
	if ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return problem(ProblemMediaType, "the request body must be application/json (got %q)", ct)
		}
	}
	buf, err := c.readJSONBody(c.bodyLimit())
	if err != nil {
		return err
	}
	defer putBody(buf)
	return fd.decodeFast(buf.Bytes())
}

// decodeProblem turns a JSON decoding error into a 400 (naming the field
// where possible) or a 413.
func decodeProblem(err error, limit int64) *Problem {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return problem(ProblemTooLarge, "the request body is larger than %d bytes", limit)
	case errors.Is(err, io.EOF):
		return invalidField("", "the request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidField("", "the request body is truncated JSON")
	case errors.As(err, &se):
		return invalidField("", "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return invalidField("", "the request body must be a JSON object, not %s", te.Value)
		}
		return invalidField(field, "field %q must be %s, not %s", field, jsonKind(te.Type), te.Value)
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		field, _ := strconv.Unquote(strings.TrimPrefix(msg, unknown))
		return invalidField(field, "unknown field %q", field)
	}
	// Other decoder errors (invalid UTF-8 in a string, a value the type
	// rejects) are the client's: say so without echoing internals.
	return invalidField("", "the request body is not valid for this operation")
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return "an RFC 3339 time string"
		}
		return "an object"
	}
	return "a different type"
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}()
	// Routes answer by pointer (route); the decisions' answers have
	// hand-written encoders.
	switch r := v.(type) {
	case *CheckResponse:
		buf.Write(appendCheckResponse(buf.AvailableBuffer(), *r))
	case CheckResponse:
		buf.Write(appendCheckResponse(buf.AvailableBuffer(), r))
	case *BatchCheckResponse:
		buf.Write(batchEncoder(*r).appendJSON(buf.AvailableBuffer()))
	case BatchCheckResponse:
		buf.Write(batchEncoder(r).appendJSON(buf.AvailableBuffer()))
	case fastEncoder:
		buf.Write(r.appendJSON(buf.AvailableBuffer()))
	default:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	// Canonical keys set directly, constant values shared: no allocation
	// per header (net/http copies them when the header is written).
	h := w.Header()
	switch contentType {
	case "application/json":
		h["Content-Type"] = hdrJSON
	case "application/problem+json":
		h["Content-Type"] = hdrProblem
	default:
		h["Content-Type"] = []string{contentType}
	}
	if buf.Len() > smallBody {
		h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	}
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// writeCheck writes a /check answer as writeJSON would, byte for byte
// (TestCheckAnswerBytes): no type switch, no deferred closure.
func (c *call) writeCheck(status int, r *CheckResponse) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	b := appendCheckResponse(buf.AvailableBuffer(), *r) // in buf's array unless it outgrew it
	h := c.w.Header()
	h["Content-Type"] = hdrJSON
	if len(b) > smallBody {
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	}
	h["Cache-Control"] = hdrNoStore
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
	bufPool.Put(buf)
}

// smallBody: an answer up to this size is written in one Write that
// net/http buffers whole (its buffer before chunking is 2 KiB), and when
// the handler returns net/http sets Content-Length itself, without
// allocating; only larger answers set it here (else they would be sent
// chunked). Every answer therefore carries a Content-Length.
const smallBody = 1 << 10

// Shared header values of writeJSON: read-only.
var (
	hdrJSON    = []string{"application/json"}
	hdrProblem = []string{"application/problem+json"}
	hdrNoStore = []string{"no-store"}
)

// writeProblem answers with an application/problem+json document.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, reqID string, p *Problem) {
	out := *p
	out.RequestID = reqID
	if out.Status == http.StatusInternalServerError {
		out.Detail = "internal error (request " + reqID + ")"
	} else {
		if creds := pathCredentials(r.URL.Path); creds != nil {
			out.Detail = redactCredentials(out.Detail, creds)
		}
		// Wherever else a credential in the detail came from (a query
		// parameter, a body the decoder quotes): row 91.
		out.Detail = redactText(out.Detail)
	}
	h := w.Header()
	if ra := retryAfterHeader(&out); ra != "" {
		h.Set("Retry-After", ra)
	}
	if out.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	if err := writeJSON(w, out.Status, "application/problem+json", &out); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// handler is the generic JSON handler of a route: request id, then
// authentication, then org confinement, then decoding, then the route's
// function under a deadline, then the answer — a JSON value or a problem.
func (s *Server) handler(rt *Route) http.Handler {
	m := s.metrics.forRoute(rt.Pattern())
	if rt.raw != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			reqID := s.requestID(r)
			w.Header().Set("X-Request-Id", reqID)
			if err := (&call{s: s, w: w, r: r, rt: rt}).refuseBody(); err != nil {
				p := toProblem(err)
				s.writeProblem(w, r, reqID, p)
				m.observe(p.Status, time.Since(start))
				return
			}
			sw := &statusWriter{ResponseWriter: w}
			rt.raw.ServeHTTP(sw, r)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			m.observe(sw.status, time.Since(start))
		})
	}
	return &routeHandler{s: s, rt: rt, m: m,
		check: rt.reqType == reflect.TypeFor[CheckRequest]() && rt.respType == reflect.TypeFor[CheckResponse]()}
}

// routeHandler serves one JSON route. Its ServeHTTP is what the mux
// dispatches to; serve is also called directly by Server.ServeHTTP's fast
// path for /check (checkPathOrg), with the {org} value it parsed.
type routeHandler struct {
	s  *Server
	rt *Route
	m  *routeMetrics
	// check: the route takes a CheckRequest and answers a CheckResponse
	// (/check), whose calls are allocated as checkCall.
	check bool
}

func (h *routeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, r.PathValue("org"))
}

// serve is the generic JSON handler of the route for a request whose {org}
// path value is org ("" for routes without one).
func (h *routeHandler) serve(w http.ResponseWriter, r *http.Request, org string) {
	s, rt, m := h.s, h.rt, h.m
	start := time.Now()
	var c *call
	if h.check {
		cc := &checkCall{call: call{s: s, w: w, r: r, rt: rt, reqID: s.requestID(r), addr: s.clientAddr(r), orgName: org}}
		cc.check = &cc.rr
		c = &cc.call
	} else {
		c = &call{s: s, w: w, r: r, rt: rt, reqID: s.requestID(r), addr: s.clientAddr(r), orgName: org}
	}
	c.reqIDHdr[0] = c.reqID
	w.Header()["X-Request-Id"] = c.reqIDHdr[:]
	if rt.bounded {
		c.ctx = r.Context()
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), s.requestTimeout)
		defer cancel()
		c.ctx = ctx
	}

	resp, err := s.runCall(c)
	if c.batch != nil {
		defer putBatchScratch(c.batch) // after the answer is written: it holds the results
	}
	status := c.status
	if status == 0 {
		status = rt.Status
	}
	var p *Problem
	switch {
	case c.streamed:
		// The function wrote the answer itself (status 200).
	case err != nil:
		p = toProblem(err)
		status = p.Status
		s.writeProblem(w, r, c.reqID, p)
	default:
		if cr, ok := resp.(*CheckResponse); ok && c.hdr == nil {
			c.writeCheck(status, cr)
			break
		}
		for k, vs := range c.hdr {
			w.Header()[k] = vs
		}
		if werr := writeJSON(w, status, "application/json", resp); werr != nil {
			p = toProblem(werr)
			status = p.Status
			s.writeProblem(w, r, c.reqID, p)
		}
	}
	d := time.Since(start)
	m.observe(status, d)
	s.logCall(c, status, d, p)
}

// runCall authenticates and runs the route's function.
func (s *Server) runCall(c *call) (any, error) {
	if c.rt.Access != Public {
		id, err := s.authenticate(c)
		if err != nil {
			return nil, err
		}
		c.id = id
		if c.rt.Access == OrgMember {
			member := false
			if id.AllowsOrg(c.org()) {
				c.gate, member = s.dir.Member(c.org(), id.Principal)
			}
			if !member {
				// A non-member, or a credential confined to another org: as
				// for an org that does not exist, before the body is even
				// read.
				return nil, problem(ProblemNotFound, "org %q: not found", c.org())
			}
		}
	}
	return c.rt.run(c)
}

// bearerToken is the credential of an "Authorization: Bearer <token>"
// header: the scheme in any case (RFC 9110 §11.1), the token trimmed;
// false when there is none.
func bearerToken(r *http.Request) (string, bool) {
	scheme, cred, ok := strings.Cut(headerValue(r.Header, "Authorization"), " ")
	cred = strings.TrimSpace(cred)
	return cred, ok && strings.EqualFold(scheme, "Bearer") && cred != ""
}

// authenticate resolves the Authorization header.
func (s *Server) authenticate(c *call) (auth.Identity, error) {
	cred, ok := bearerToken(c.r)
	if !ok {
		s.metrics.authFails.WithLabelValues("missing").Inc()
		return auth.Identity{}, problem(ProblemUnauthenticated, "an Authorization: Bearer <API key or session token> header is required")
	}
	id, err := s.auth.Authenticate(c.ctx, cred, c.addr)
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		s.metrics.authFails.WithLabelValues("rate_limited").Inc()
		s.recordAuthFailure(c, cred, err)
	case errors.Is(err, auth.ErrUnauthenticated):
		s.metrics.authFails.WithLabelValues("unauthenticated").Inc()
		s.recordAuthFailure(c, cred, err)
	case errors.Is(err, auth.ErrOutranksMinter):
		s.recordOutranked(c.ctx, err, c.rt.Pattern(), c.addr, c.reqID)
	}
	return id, err
}

func (s *Server) logCall(c *call, status int, d time.Duration, p *Problem) {
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelInfo
	}
	if !s.log.Enabled(c.r.Context(), level) {
		return
	}
	path, creds := c.r.URL.Path, pathCredentials(c.r.URL.Path)
	if creds != nil {
		path = redactCredentials(path, creds)
	}
	attrs := []slog.Attr{
		slog.String("request_id", c.reqID),
		slog.String("route", c.rt.Pattern()),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("client", c.addr),
	}
	if c.id.Principal != "" {
		attrs = append(attrs, slog.String("principal", c.id.Principal))
	}
	if p != nil {
		attrs = append(attrs, slog.String("problem", p.Type))
		if p.cause != nil {
			attrs = append(attrs, slog.String("error", redactText(redactCredentials(p.cause.Error(), creds))))
		}
	}
	s.log.LogAttrs(c.r.Context(), level, "request", attrs...)
}

// clientAddr is the client's IP address (the port dropped): the key of
// authentication rate limiting and the address audit entries record.
// X-Forwarded-For is believed only from a trusted proxy (Config.
// TrustedProxies), and then read from the right: the nearest address that
// is not itself a trusted proxy is the client, so a client cannot choose
// its own address by sending the header. With no trusted proxies the
// header is ignored.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.trusted) == 0 || !s.isTrusted(host) {
		return host
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return host // a malformed hop: stop believing the chain
			}
			hop := a.Unmap().String()
			if !s.isTrusted(hop) {
				return hop
			}
			host = hop
		}
	}
	return host
}

// isTrusted reports whether addr is one of the trusted proxies.
func (s *Server) isTrusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// requestID is the request's id: the server's own (a random prefix of
// the process and a sequence number), after the client's X-Request-Id and
// a '~' when the client sent a short, plain one ("mine~3fa2b1c0-1k").
// The client's value stays visible (in the answer's X-Request-Id, the log,
// problems and audit entries), but two requests never share an id: the
// server's part, after the last '~' (which a plain id cannot hold), is
// its alone, so a caller cannot give its audit entries another request's
// id (docs/threat-model.md row 81).
func (s *Server) requestID(r *http.Request) string {
	// Client (≤ 64 bytes), '~', prefix (9) and a base-36 uint64 (≤ 13): in
	// b, and one allocation, the string.
	var b [96]byte
	buf := b[:0]
	if id := headerValue(r.Header, "X-Request-Id"); id != "" && len(id) <= 64 && plainID(id) {
		buf = append(append(buf, id...), '~')
	}
	n := s.reqSeq.Add(1)
	return string(appendBase36(append(buf, s.reqPrefix...), n))
}

// appendBase36 is strconv.AppendUint(b, n, 36), byte for byte
// (TestAppendBase36), with the base a constant: the compiler divides by
// 36 with a multiplication, where strconv's variable base takes a
// hardware division per digit (≈ 80 ns a request id in the profile).
func appendBase36(b []byte, n uint64) []byte {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var a [13]byte // 36^13 > 2^64
	i := len(a)
	for n >= 36 {
		i--
		q := n / 36
		a[i] = digits[n-q*36]
		n = q
	}
	i--
	a[i] = digits[n]
	return append(b, a[i:]...)
}

// headerValue is h.Get(key) for a key already in canonical form, found
// without canonicalizing it again on every request (Get would; the keys
// of a request's header are canonical as net/http parses them, and Get
// finds no other either).
func headerValue(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func plainID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status a raw handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
