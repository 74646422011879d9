package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A Sink delivers entries to a SIEM. Deliver gets entries of one org in
// sequence order and returns nil only when the receiver has taken all of
// them (as far as the protocol can tell); on error the exporter delivers
// the same entries again later, so a receiver may see an entry twice and
// dedups by (org, seq). Sinks are used from one goroutine.
type Sink interface {
	Deliver(ctx context.Context, entries []Entry) error
	Close() error
}

// ErrSkipped: entries after the exporter's cursor were pruned before it
// delivered them. The exporter stops rather than skip them.
var ErrSkipped = errors.New("entries were pruned before this exporter delivered them")

// Exporter delivers an org's log to a Sink from a cursor stored in the
// database under Name, so that after a crash or a receiver's outage it
// resumes where the receiver last acknowledged: nothing is skipped, and
// nothing is delivered twice except the batch in flight at a failure
// (at-least-once; entries carry their sequence number for dedup).
type Exporter struct {
	Store store.Store
	Org   string
	Name  string // the cursor's name; one per destination
	Sink  Sink
	// Batch is the most entries per Deliver; 0 means 500.
	Batch int
	// Poll is how often Run looks for new entries when caught up; 0
	// means 1s.
	Poll time.Duration
	// MinBackoff and MaxBackoff bound Run's retry delay after a failed
	// delivery (doubling); 0 means 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// OnError, if set, is told about every failed round (for logs).
	OnError func(error)
}

// RunOnce delivers one batch after the stored cursor and advances the
// cursor; it returns how many entries it delivered (0 when caught up).
func (x *Exporter) RunOnce(ctx context.Context) (int, error) {
	batch := x.Batch
	if batch <= 0 || batch > store.MaxAuditBatch {
		batch = 500
	}
	cur, err := x.Store.AuditCursor(ctx, x.Org, x.Name)
	if err != nil {
		return 0, err
	}
	recs, err := x.Store.ReadAudit(ctx, x.Org, cur, batch)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	if recs[0].Seq != cur+1 {
		return 0, fmt.Errorf("audit: exporter %q of org %q at %d: entries %d to %d: %w", x.Name, x.Org, cur, cur+1, recs[0].Seq-1, ErrSkipped)
	}
	entries := make([]Entry, len(recs))
	for i, r := range recs {
		if entries[i], err = FromRecord(r); err != nil {
			return 0, err
		}
	}
	if err := x.Sink.Deliver(ctx, entries); err != nil {
		return 0, fmt.Errorf("audit: exporter %q: deliver %d..%d: %w", x.Name, recs[0].Seq, recs[len(recs)-1].Seq, err)
	}
	last := recs[len(recs)-1].Seq
	if _, err := x.Store.Write(ctx, func(tx store.Tx) error { return tx.SetAuditCursor(ctx, x.Org, x.Name, last) }); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// Run delivers until ctx ends: batch after batch while there are entries,
// then polling; after a failure it retries with exponential backoff. It
// returns ctx's error, or ErrSkipped (which retrying cannot fix).
func (x *Exporter) Run(ctx context.Context) error {
	poll, lo, hi := x.Poll, x.MinBackoff, x.MaxBackoff
	if poll <= 0 {
		poll = time.Second
	}
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	backoff := lo
	for {
		n, err := x.RunOnce(ctx)
		var wait time.Duration
		switch {
		case errors.Is(err, ErrSkipped):
			return err
		case err != nil:
			if x.OnError != nil && ctx.Err() == nil {
				x.OnError(err)
			}
			wait = backoff
			backoff = min(backoff*2, hi)
		case n == 0:
			wait, backoff = poll, lo
		default:
			backoff = lo
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// --- JSON Lines

// JSONLines writes each entry as one JSON object per line (the Entry's
// JSON, with its hash). It does not close w.
type JSONLines struct{ W io.Writer }

// Deliver implements Sink.
func (j JSONLines) Deliver(_ context.Context, entries []Entry) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range entries {
		if err := enc.Encode(Export(entries[i])); err != nil {
			return err
		}
	}
	if _, err := j.W.Write(b.Bytes()); err != nil {
		return err
	}
	if f, ok := j.W.(*os.File); ok {
		return f.Sync()
	}
	return nil
}

// Close implements Sink.
func (JSONLines) Close() error { return nil }

// --- CEF

// CEF writes each entry as one ArcSight Common Event Format line.
type CEF struct{ W io.Writer }

// Deliver implements Sink.
func (c CEF) Deliver(_ context.Context, entries []Entry) error {
	var b strings.Builder
	for i := range entries {
		b.WriteString(FormatCEF(&entries[i]))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(c.W, b.String())
	return err
}

// Close implements Sink.
func (CEF) Close() error { return nil }

// severity maps a result to a CEF severity (0-10) and a syslog severity.
func severity(r Result) (cef int, syslog int) {
	switch r {
	case Denied:
		return 5, 5 // notice
	case Failure:
		return 7, 3 // error
	}
	return 3, 6 // informational
}

// FormatCEF renders an entry as a CEF:0 line (docs/audit.md lists the
// extension keys).
func FormatCEF(e *Entry) string {
	sev, _ := severity(e.Result)
	var b strings.Builder
	b.WriteString("CEF:0|Gatehouse|Gatehouse|1|")
	b.WriteString(cefHeader(e.Action))
	b.WriteByte('|')
	b.WriteString(cefHeader(e.Action + " " + string(e.Result)))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(sev))
	b.WriteByte('|')
	ext := [][2]string{
		{"rt", strconv.FormatInt(e.Time.UnixMilli(), 10)},
		{"suser", e.Actor.Principal},
		{"src", hostOnly(e.Actor.ClientAddr)},
		{"act", e.Action},
		{"outcome", string(e.Result)},
		{"msg", e.Message},
		{"cs1Label", "org"}, {"cs1", e.Org},
		{"cs2Label", "target"}, {"cs2", e.Target},
		{"cs3Label", "requestId"}, {"cs3", e.Actor.RequestID},
		{"cs4Label", "roles"}, {"cs4", strings.Join(e.Actor.Roles, ",")},
		{"cs5Label", "hash"}, {"cs5", e.Hash.String()},
		{"cn1Label", "seq"}, {"cn1", strconv.FormatUint(e.Seq, 10)},
	}
	first := true
	for _, kv := range ext {
		if kv[1] == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(cefValue(kv[1]))
	}
	return b.String()
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

var (
	cefHeaderEsc = strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\n", " ", "\r", " ")
	cefValueEsc  = strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`, "\r", `\r`)
)

func cefHeader(s string) string { return cefHeaderEsc.Replace(printable(s)) }
func cefValue(s string) string  { return cefValueEsc.Replace(printable(s)) }

// printable replaces with a space every character that does not print
// (unicode.IsPrint) but the newlines CEF escapes: control characters (C0,
// DEL, C1: ESC and CSI sequences that repaint a reader's terminal, NEL,
// vertical tab, form feed), format characters (bidirectional overrides,
// zero-width characters) and line and paragraph separators, so that an
// entry is one line that reads as it is (threat-model row 53).
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r != '\n' && r != '\r' && !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
}

// --- syslog (RFC 5424 over TCP or TLS, octet-counting framing, RFC 6587)

// Syslog sends each entry as one RFC 5424 message (facility "log audit",
// 13) over TCP or TLS. Syslog has no acknowledgements: after each batch
// the sink waits ProbeTimeout for the receiver to close or reset the
// connection, and reports such a batch as failed, so that the exporter
// sends it again; a receiver that loses messages it has already read from
// the socket is beyond what the protocol can tell.
type Syslog struct {
	Addr      string      // host:port
	TLS       *tls.Config // nil for plain TCP
	Hostname  string      // HOSTNAME field; "" means os.Hostname()
	AppName   string      // APP-NAME; "" means "gatehouse"
	Dial      time.Duration
	ProbeTime time.Duration // 0 means 50ms

	mu   sync.Mutex
	conn net.Conn
}

// Deliver implements Sink.
func (s *Syslog) Deliver(ctx context.Context, entries []Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		d := net.Dialer{Timeout: s.Dial}
		if d.Timeout <= 0 {
			d.Timeout = 5 * time.Second
		}
		var (
			c   net.Conn
			err error
		)
		if s.TLS != nil {
			td := tls.Dialer{NetDialer: &d, Config: s.TLS}
			c, err = td.DialContext(ctx, "tcp", s.Addr)
		} else {
			c, err = d.DialContext(ctx, "tcp", s.Addr)
		}
		if err != nil {
			return err
		}
		s.conn = c
	}
	var b bytes.Buffer
	for i := range entries {
		msg := s.format(&entries[i])
		b.WriteString(strconv.Itoa(len(msg)))
		b.WriteByte(' ')
		b.WriteString(msg)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetWriteDeadline(dl)
	} else {
		_ = s.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	}
	if _, err := s.conn.Write(b.Bytes()); err != nil {
		s.drop()
		return err
	}
	// The receiver never writes: a read that does not time out means it
	// closed or reset the connection, and may not have taken the batch.
	probe := s.ProbeTime
	if probe <= 0 {
		probe = 50 * time.Millisecond
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(probe))
	var one [1]byte
	if _, err := s.conn.Read(one[:]); err == nil || !isTimeout(err) {
		s.drop()
		if err == nil {
			err = errors.New("syslog receiver sent data")
		}
		return fmt.Errorf("syslog receiver closed the connection: %w", err)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Syslog) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// Close implements Sink.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop()
	return nil
}

// format renders one RFC 5424 message: PRI VERSION TIMESTAMP HOSTNAME
// APP-NAME PROCID MSGID STRUCTURED-DATA MSG, the MSG being the entry's
// JSON.
func (s *Syslog) format(e *Entry) string {
	_, sev := severity(e.Result)
	host := s.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	app := s.AppName
	if app == "" {
		app = "gatehouse"
	}
	body, _ := json.Marshal(Export(*e))
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s - %s ", 13*8+sev, e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		syslogField(host, 255), syslogField(app, 48), syslogField(e.Action, 32))
	fmt.Fprintf(&b, `[gatehouse@32473 org="%s" seq="%d" actor="%s" result="%s" hash="%s"] `,
		sdValue(e.Org), e.Seq, sdValue(e.Actor.Principal), sdValue(string(e.Result)), e.Hash)
	b.Write(body)
	return b.String()
}

// syslogField makes a header field: printable US-ASCII without spaces,
// at most n bytes, "-" if empty.
func syslogField(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

var sdEsc = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)

func sdValue(s string) string { return sdEsc.Replace(s) }

// --- webhook

// Webhook POSTs each batch as JSON {"org":..., "entries":[...]} to URL,
// signed with HMAC-SHA256 over "<timestamp>.<body>" under Secret:
// headers X-Gatehouse-Timestamp (Unix seconds) and X-Gatehouse-Signature
// ("sha256=<hex>"). Any 2xx answer acknowledges the batch; anything else
// (or no answer) fails it and the exporter retries with backoff.
type Webhook struct {
	URL    string
	Secret []byte
	Client *http.Client // nil means a client with a 30s timeout
}

// WebhookBody is the JSON a webhook receives.
type WebhookBody struct {
	Org     string     `json:"org"`
	Entries []Exported `json:"entries"`
}

// Deliver implements Sink.
func (w *Webhook) Deliver(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	ex := make([]Exported, len(entries))
	for i, e := range entries {
		ex[i] = Export(e)
	}
	body, err := json.Marshal(WebhookBody{Org: entries[0].Org, Entries: ex})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gatehouse-Timestamp", ts)
	req.Header.Set("X-Gatehouse-Signature", "sha256="+WebhookSignature(w.Secret, ts, body))
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Close implements Sink.
func (w *Webhook) Close() error { return nil }

// WebhookSignature is hex(HMAC-SHA256(secret, timestamp + "." + body)).
func WebhookSignature(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a received webhook request's signature in constant
// time (for receivers written in Go, and the tests).
func VerifyWebhook(secret []byte, timestamp, signature string, body []byte) bool {
	want := "sha256=" + WebhookSignature(secret, timestamp, body)
	return hmac.Equal([]byte(want), []byte(signature))
}

// --- checkpoints

// ExportCheckpoints writes the org's checkpoints after `after` as JSON
// Lines (Checkpoint), to be kept outside the database and given to
// `audit verify --checkpoints`. It returns the last sequence written.
func ExportCheckpoints(ctx context.Context, r store.AuditReader, org string, after uint64, w io.Writer) (uint64, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for {
		cps, err := r.ListAuditCheckpoints(ctx, org, after, store.MaxAuditBatch)
		if err != nil {
			return after, err
		}
		if len(cps) == 0 {
			return after, bw.Flush()
		}
		for _, c := range cps {
			if err := enc.Encode(CheckpointFromStore(c)); err != nil {
				return after, err
			}
			after = c.Seq
		}
	}
}

// ReadCheckpoints parses exported checkpoints (JSON Lines).
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var out []Checkpoint
	dec := json.NewDecoder(r)
	for {
		var c Checkpoint
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: checkpoints file: %v", ErrInvalid, err)
		}
		out = append(out, c)
	}
}
