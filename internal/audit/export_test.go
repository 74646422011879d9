package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// appendN records n fixture entries of org in one write each batch of 10.
func appendN(t *testing.T, s store.Store, org string, from, n int) {
	t.Helper()
	ctx := ctxT(t)
	for i := from; i < from+n; i += 10 {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			for j := i; j < min(i+10, from+n); j++ {
				if err := audit.Record(ctx, tx, fixtureEntry(org, j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// wakeup is a signal for waitFor: whatever may make a waited-for condition
// true pokes it. Pokes coalesce (one pending is enough, since the waiter
// re-checks its condition after each). The zero value is ready to use.
type wakeup struct {
	once sync.Once
	c    chan struct{}
}

func (w *wakeup) ch() chan struct{} {
	w.once.Do(func() { w.c = make(chan struct{}, 1) })
	return w.c
}

func (w *wakeup) poke() {
	select {
	case w.ch() <- struct{}{}:
	default:
	}
}

// seqSet collects delivered sequence numbers (with duplicates counted).
type seqSet struct {
	mu   sync.Mutex
	seen map[uint64]int
	wake wakeup // poked on every add
}

func (s *seqSet) add(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[uint64]int{}
	}
	s.seen[seq]++
	s.wake.poke()
}

// complete reports whether 1..n were all seen.
func (s *seqSet) complete(n uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := uint64(1); i <= n; i++ {
		if s.seen[i] == 0 {
			return false
		}
	}
	return true
}

func (s *seqSet) missing(n uint64) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint64
	for i := uint64(1); i <= n; i++ {
		if s.seen[i] == 0 {
			out = append(out, i)
		}
	}
	return out
}

// waitFor re-checks cond each time wake is poked until it holds; the hang
// guard turns a missing signal into a failure.
func waitFor(t *testing.T, what string, wake *wakeup, cond func() bool) {
	t.Helper()
	guard := time.NewTimer(60 * time.Second)
	defer guard.Stop()
	for !cond() {
		select {
		case <-wake.ch():
		case <-guard.C:
			t.Fatalf("hang guard: %s", what)
		}
	}
}

// writeWatch is a store that pokes wake after every write (the exporter
// acknowledges a delivery by writing its cursor).
type writeWatch struct {
	store.Store
	wake *wakeup
}

func (w writeWatch) Write(ctx context.Context, fn func(tx store.Tx) error) (uint64, error) {
	rev, err := w.Store.Write(ctx, fn)
	w.wake.poke()
	return rev, err
}

func TestJSONLinesResumesFromItsCursor(t *testing.T) {
	s := openStore(t, fixturePath(t))
	ctx := ctxT(t)
	appendN(t, s, "acme", 0, 25)
	var out bytes.Buffer
	x := &audit.Exporter{Store: s, Org: "acme", Name: "file", Sink: audit.JSONLines{W: &out}, Batch: 10}
	for i := 0; i < 2; i++ {
		if _, err := x.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A new exporter with the same name (after a crash) goes on at 21.
	appendN(t, s, "acme", 25, 5)
	y := &audit.Exporter{Store: s, Org: "acme", Name: "file", Sink: audit.JSONLines{W: &out}, Batch: 100}
	if n, err := y.RunOnce(ctx); err != nil || n != 10 {
		t.Fatalf("resumed exporter delivered %d, %v; want 10", n, err)
	}
	if n, err := y.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("caught-up exporter delivered %d, %v", n, err)
	}
	var seqs []uint64
	var prev audit.Hash
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
		prev = e.Hash
	}
	if len(seqs) != 30 || seqs[0] != 1 || seqs[29] != 30 {
		t.Errorf("delivered %v, want 1..30 once each", seqs)
	}
	if h := must(t, s, "acme").Hash; !bytes.Equal(h, prev[:]) {
		t.Errorf("the last exported hash is not the chain head")
	}
	// Another exporter name has its own cursor.
	var other bytes.Buffer
	z := &audit.Exporter{Store: s, Org: "acme", Name: "other", Sink: audit.JSONLines{W: &other}}
	if n, err := z.RunOnce(ctx); err != nil || n != 30 {
		t.Errorf("second exporter delivered %d, %v", n, err)
	}
}

func must(t *testing.T, s store.Store, org string) store.AuditHead {
	t.Helper()
	h, err := s.AuditHead(ctxT(t), org)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCEFFormat(t *testing.T) {
	e := audit.Entry{
		Org: "acme", Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Actor:  audit.Actor{Principal: "user:alice", ClientAddr: "10.0.0.1:5555", RequestID: "r=1", Roles: []string{"admin", "owner"}},
		Action: "bindings.create", Target: `b|1\x`, Result: audit.Denied, Message: "line1\nline2",
	}
	got := audit.FormatCEF(&e)
	want := `CEF:0|Gatehouse|Gatehouse|1|bindings.create|bindings.create denied|5|rt=1767323045000 suser=user:alice src=10.0.0.1 act=bindings.create outcome=denied msg=line1\nline2 cs1Label=org cs1=acme cs2Label=target cs2=b|1\\x cs3Label=requestId cs3=r\=1 cs4Label=roles cs4=admin,owner cs5Label=hash cs5=0000000000000000000000000000000000000000000000000000000000000000 cn1Label=seq cn1=7`
	if got != want {
		t.Errorf("CEF:\n got %s\nwant %s", got, want)
	}
}

// syslogReceiver is a TCP syslog listener (octet-counting framing) that
// can go down and come back on the same address.
type syslogReceiver struct {
	t    *testing.T
	addr string
	seqs seqSet
	mu   sync.Mutex
	ln   net.Listener
	// dieAfter, when > 0, makes the receiver drop the connection and stop
	// listening after reading that many messages in total.
	dieAfter int
	read     int
	down     chan struct{}
	tls      *tls.Config // listen with TLS when set
}

func (r *syslogReceiver) start() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	if r.tls != nil {
		ln = tls.NewListener(ln, r.tls)
	}
	r.mu.Lock()
	r.ln, r.addr = ln, ln.Addr().String()
	r.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
}

func (r *syslogReceiver) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		lenStr, err := br.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(lenStr))
		if err != nil || n <= 0 || n > 1<<20 {
			r.t.Errorf("bad syslog frame length %q", lenStr)
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			return
		}
		if !bytes.HasPrefix(msg, []byte("<")) || !bytes.Contains(msg, []byte(">1 ")) {
			r.t.Errorf("not an RFC 5424 message: %q", msg)
		}
		i := bytes.Index(msg, []byte(`seq="`))
		j := bytes.IndexByte(msg[i+5:], '"')
		seq, _ := strconv.ParseUint(string(msg[i+5:i+5+j]), 10, 64)
		r.seqs.add(seq)
		r.mu.Lock()
		r.read++
		die := r.dieAfter > 0 && r.read == r.dieAfter
		r.mu.Unlock()
		if die {
			r.ln.Close()
			close(r.down)
			return // drops the connection with unread data
		}
	}
}

func TestSyslogReceiverGoesDownMidStream(t *testing.T) {
	s := openStore(t, fixturePath(t))
	appendN(t, s, "acme", 0, 120)
	rcv := &syslogReceiver{t: t, addr: "127.0.0.1:0", dieAfter: 37, down: make(chan struct{})}
	rcv.start()
	sink := &audit.Syslog{Addr: rcv.addr, Hostname: "gh-test", ProbeTime: 200 * time.Millisecond}
	defer sink.Close()
	var (
		mu     sync.Mutex
		errs   []error
		failed wakeup
	)
	x := &audit.Exporter{Store: writeWatch{s, &rcv.seqs.wake}, Org: "acme", Name: "syslog", Sink: sink, Batch: 10, Poll: 10 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock(); failed.poke() }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	<-rcv.down
	// The receiver is down (mid-batch: it read 7 of the batch 31..40);
	// entries keep coming; once the exporter has failed to deliver, the
	// receiver comes back on the same address.
	appendN(t, s, "acme", 120, 30)
	waitFor(t, "a failed delivery during the outage", &failed, func() bool { mu.Lock(); defer mu.Unlock(); return len(errs) > 0 })
	rcv.dieAfter = 0
	rcv.start()
	waitFor(t, "all 150 entries delivered and acknowledged", &rcv.seqs.wake, func() bool {
		cur, err := s.AuditCursor(ctxT(t), "acme", "syslog")
		return err == nil && cur == 150 && rcv.seqs.complete(150)
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	if m := rcv.seqs.missing(150); len(m) > 0 {
		t.Errorf("missing %v", m)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) == 0 {
		t.Errorf("the outage caused no failed delivery: the test did not test it")
	}
	if cur, err := s.AuditCursor(ctxT(t), "acme", "syslog"); err != nil || cur != 150 {
		t.Errorf("cursor = %d, %v; want 150", cur, err)
	}
}

// webhookReceiver checks signatures and can fail or be down.
type webhookReceiver struct {
	t      *testing.T
	secret []byte
	seqs   seqSet
	mu     sync.Mutex
	calls  int
	failAt map[int]int // call number -> status to answer
}

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if !audit.VerifyWebhook(r.secret, req.Header.Get("X-Gatehouse-Timestamp"), req.Header.Get("X-Gatehouse-Signature"), body) {
		r.t.Errorf("webhook signature does not verify")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.calls++
	status := r.failAt[r.calls]
	r.mu.Unlock()
	if status != 0 {
		http.Error(w, "nope", status)
		return
	}
	var b audit.WebhookBody
	if err := json.Unmarshal(body, &b); err != nil || b.Org != "acme" {
		r.t.Errorf("webhook body: %v (org %q)", err, b.Org)
	}
	for _, e := range b.Entries {
		r.seqs.add(e.Seq)
	}
}

func TestWebhookRetriesThroughFailuresAndAnOutage(t *testing.T) {
	s := openStore(t, fixturePath(t))
	appendN(t, s, "acme", 0, 100)
	rcv := &webhookReceiver{t: t, secret: []byte("s3cret"), failAt: map[int]int{2: 503, 3: 500, 6: 429}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: rcv}
	go srv.Serve(ln)
	var (
		mu       sync.Mutex
		failures int
		failed   wakeup
	)
	x := &audit.Exporter{Store: writeWatch{s, &rcv.seqs.wake}, Org: "acme", Name: "hook", Batch: 10, Poll: 10 * time.Millisecond,
		Sink:       &audit.Webhook{URL: "http://" + addr + "/audit", Secret: []byte("s3cret")},
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		OnError: func(error) { mu.Lock(); failures++; mu.Unlock(); failed.poke() }}
	failuresNow := func() int { mu.Lock(); defer mu.Unlock(); return failures }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	waitFor(t, "the first 50 delivered", &rcv.seqs.wake, func() bool { return rcv.seqs.complete(50) })
	// The receiver goes down mid-stream, and comes back once the exporter
	// has failed to reach it.
	srv.Close()
	before := failuresNow()
	appendN(t, s, "acme", 100, 20)
	waitFor(t, "a failed delivery during the outage", &failed, func() bool { return failuresNow() > before })
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := &http.Server{Handler: rcv}
	go srv2.Serve(ln2)
	defer srv2.Close()
	waitFor(t, "all 120 delivered and acknowledged", &rcv.seqs.wake, func() bool {
		cur, err := s.AuditCursor(ctxT(t), "acme", "hook")
		return err == nil && cur == 120 && rcv.seqs.complete(120)
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if failures < 3 {
		t.Errorf("failures = %d, want at least the 3 refused calls", failures)
	}
	if cur, err := s.AuditCursor(ctxT(t), "acme", "hook"); err != nil || cur != 120 {
		t.Errorf("cursor = %d, %v; want 120", cur, err)
	}
	// Nothing was delivered more than once except batches that failed.
	rcv.seqs.mu.Lock()
	defer rcv.seqs.mu.Unlock()
	for seq, n := range rcv.seqs.seen {
		if n > 2 {
			t.Errorf("entry %d delivered %d times", seq, n)
		}
	}
}

func TestExporterRefusesToSkipPrunedEntries(t *testing.T) {
	s := openStore(t, fixturePath(t))
	ctx := ctxT(t)
	l := newTestLog(t, s, audit.Options{Signer: testSigner(t), CheckpointEvery: 10})
	for i := 0; i < 25; i++ {
		if _, err := l.RecordAlone(ctx, fixtureEntry("acme", i)); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	first := &audit.Exporter{Store: s, Org: "acme", Name: "archive", Sink: audit.JSONLines{W: &out}, Batch: 15}
	if _, err := first.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Pruning past what "archive" delivered is refused.
	if _, err := l.Prune(ctx, "acme", 21, "archive", audit.Actor{Principal: "user:root"}); !errors.Is(err, audit.ErrNotExported) {
		t.Fatalf("prune past the export = %v, want ErrNotExported", err)
	}
	if _, err := l.Prune(ctx, "acme", 11, "archive", audit.Actor{Principal: "user:root"}); err != nil {
		t.Fatal(err)
	}
	// A lagging exporter stops instead of skipping 1..11.
	lag := &audit.Exporter{Store: s, Org: "acme", Name: "lagging", Sink: audit.JSONLines{W: io.Discard}}
	if _, err := lag.RunOnce(ctx); !errors.Is(err, audit.ErrSkipped) {
		t.Errorf("lagging exporter after a prune = %v, want ErrSkipped", err)
	}
	// The pruned log still verifies: anchored by the checkpoint at 11 and
	// recorded by the prune entry.
	rep, err := audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(t).Public()}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.First != 12 || rep.Pruned != 11 || rep.Last != 26 {
		t.Errorf("report after prune = %+v", rep)
	}
}

// TestExportedCopyVerifiesWithoutGatehouse re-implements the documented
// encoding (docs/audit.md) with the standard library only and checks an
// exported JSON Lines copy and its exported checkpoints with it.
func TestExportedCopyVerifiesWithoutGatehouse(t *testing.T) {
	s := openStore(t, fixturePath(t))
	ctx := ctxT(t)
	l := newTestLog(t, s, audit.Options{Signer: testSigner(t), CheckpointEvery: 7})
	for i := 0; i < 30; i++ {
		if _, err := l.RecordAlone(ctx, fixtureEntry("acme", i)); err != nil {
			t.Fatal(err)
		}
	}
	var out, cps bytes.Buffer
	x := &audit.Exporter{Store: s, Org: "acme", Name: "copy", Sink: audit.JSONLines{W: &out}}
	if _, err := x.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.ExportCheckpoints(ctx, s, "acme", 0, &cps); err != nil {
		t.Fatal(err)
	}
	str := func(b *bytes.Buffer, s string) {
		_ = binary.Write(b, binary.BigEndian, uint32(len(s)))
		b.WriteString(s)
	}
	heads := map[uint64][32]byte{}
	var prev [32]byte
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Org, Action, Target, Result, Body, Hash string
			Seq                                     uint64
			At                                      int64
			Actor                                   struct{ Principal string }
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		var m bytes.Buffer
		m.WriteString("gatehouse.audit.entry.v1\x00")
		m.Write(prev[:])
		_ = binary.Write(&m, binary.BigEndian, e.Seq)
		_ = binary.Write(&m, binary.BigEndian, e.At)
		for _, f := range []string{e.Org, e.Actor.Principal, e.Action, e.Target, e.Result, e.Body} {
			str(&m, f)
		}
		prev = sha256.Sum256(m.Bytes())
		if hex.EncodeToString(prev[:]) != e.Hash {
			t.Fatalf("entry %d: recomputed hash %x, exported %s", e.Seq, prev, e.Hash)
		}
		heads[e.Seq] = prev
	}
	if len(heads) != 30 {
		t.Fatalf("exported %d entries", len(heads))
	}
	pub := ed25519.PublicKey(testSigner(t).Public().Key)
	n := 0
	dec := json.NewDecoder(&cps)
	for dec.More() {
		var c struct {
			Org, Head string
			Seq       uint64
			At        int64
			Signature []byte
		}
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		var m bytes.Buffer
		m.WriteString("gatehouse.audit.checkpoint.v1\x00")
		str(&m, c.Org)
		_ = binary.Write(&m, binary.BigEndian, c.Seq)
		h := heads[c.Seq]
		if hex.EncodeToString(h[:]) != c.Head {
			t.Errorf("checkpoint %d: head %s is not the chain's %x", c.Seq, c.Head, h)
		}
		m.Write(h[:])
		_ = binary.Write(&m, binary.BigEndian, c.At)
		if !ed25519.Verify(pub, m.Bytes(), c.Signature) {
			t.Errorf("checkpoint %d: signature does not verify", c.Seq)
		}
		n++
	}
	if n < 5 {
		t.Errorf("only %d checkpoints exported", n)
	}
}

// selfSigned makes a TLS server config for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syslog-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}

func TestSyslogOverTLS(t *testing.T) {
	s := openStore(t, fixturePath(t))
	appendN(t, s, "acme", 0, 40)
	srvCfg, pool := selfSigned(t)
	rcv := &syslogReceiver{t: t, addr: "127.0.0.1:0", tls: srvCfg, down: make(chan struct{})}
	rcv.start()
	sink := &audit.Syslog{Addr: rcv.addr, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ProbeTime: 20 * time.Millisecond}
	defer sink.Close()
	x := &audit.Exporter{Store: s, Org: "acme", Name: "tls", Sink: sink, Batch: 15}
	for {
		n, err := x.RunOnce(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	waitFor(t, "40 entries over TLS", &rcv.seqs.wake, func() bool { return rcv.seqs.complete(40) })
	// A client that does not trust the certificate delivers nothing.
	bad := &audit.Syslog{Addr: rcv.addr, TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
	defer bad.Close()
	y := &audit.Exporter{Store: s, Org: "acme", Name: "untrusted", Sink: bad}
	if _, err := y.RunOnce(ctxT(t)); err == nil {
		t.Error("an exporter delivered to an untrusted TLS receiver")
	}
}

// TestCEFKeepsEveryEntryOnItsLine (threat-model row 53): whatever text an
// entry carries, its CEF line is one line whose fields a reader splits
// where the format says: no raw control character (ESC sequences that
// repaint a terminal, C1 CSI, NEL, vertical tab, form feed), no line or
// paragraph separator and no bidirectional override reaches the line;
// `\`, `=`, `|` and newlines keep their CEF escapes.
func TestCEFKeepsEveryEntryOnItsLine(t *testing.T) {
	for _, row := range []struct{ name, msg, want string }{
		{"escaped by CEF", "a=b\\c\nd\re", `msg=a\=b\\c\nd\re`},
		{"ESC sequence", "x\x1b[2Jy", "msg=x [2Jy"},
		{"NUL, tab, vertical tab, form feed, DEL", "a\x00b\tc\vd\fe\x7ff", "msg=a b c d e f"},
		{"C1 CSI and NEL", "a\u009b31mb\u0085c", "msg=a 31mb c"},
		{"line and paragraph separators", "a\u2028b\u2029c", "msg=a b c"},
		{"bidirectional override and zero-width space", "a\u202eb\u200bc", "msg=a b c"},
		{"printable Unicode stays", "déploy 日本 ✓", "msg=déploy 日本 ✓"},
	} {
		t.Run(row.name, func(t *testing.T) {
			e := audit.Entry{Org: "acme", Seq: 1, Time: time.Unix(0, 0), Actor: audit.Actor{Principal: "user:alice"},
				Action: "x.y", Target: "t", Result: audit.Success, Message: row.msg}
			got := audit.FormatCEF(&e)
			if !strings.Contains(got, " "+row.want+" cs1Label=") {
				t.Errorf("CEF line %q, want it to carry %q", got, row.want)
			}
		})
	}
}
