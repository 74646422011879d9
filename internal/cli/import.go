package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// importLine is one line of an import file: a change (client.WriteChange)
// and the org it is made in ("" means --org, else the caller's only org).
type importLine struct {
	Org string `json:"org"`
	client.WriteChange
}

// importBatch is a run of consecutive lines of one org, sent as one write.
type importBatch struct {
	org     string
	lines   []int // the line number of each change
	changes []client.WriteChange
}

// changeIndex finds the failed change in a batch's error ("change 3: …",
// field "changes[3].role").
var changeIndex = regexp.MustCompile(`\bchanges?(?: |\[)(\d+)`)

// failed says which line of b failed (when the server named the change),
// with the exit code of err, and where to resume: nothing of b was made.
func (b importBatch) failed(err error, done int) error {
	ex := &exitError{code: ExitInternal, err: err}
	errors.As(admExit(err), &ex)
	lines := lineRange(b.lines[0], b.lines[len(b.lines)-1])
	where := fmt.Sprintf("%s (org %s)", lines, b.org)
	if m := changeIndex.FindStringSubmatch(ex.err.Error()); m != nil {
		if i, perr := strconv.Atoi(m[1]); perr == nil && i < len(b.lines) {
			where = fmt.Sprintf("line %d (org %s)", b.lines[i], b.org)
		}
	}
	it, were := "them", "were"
	if len(b.lines) == 1 {
		it = "it"
	}
	if done == 1 {
		were = "was"
	}
	return &exitError{code: ex.code, err: fmt.Errorf("%s: %v; nothing of %s was made, %s before %s %s; resume with --from %d",
		where, ex.err, lines, counted(done, "change", "changes"), it, were, b.lines[0])}
}

// lineRange is "line 3" or "lines 3-7".
func lineRange(first, last int) string {
	if first == last {
		return fmt.Sprintf("line %d", first)
	}
	return fmt.Sprintf("lines %d-%d", first, last)
}

// counted is "1 change", "2 changes".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (a *adm) importCmd() *cobra.Command {
	var batch, from, parallel int
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Make the changes of a JSON Lines file (- for stdin), up to 1,000 per request",
		Long: `Reads one change per line, as POST /v1/orgs/{org}/writes takes them, with
the org it is made in ("org"; default --org, else your only org):

  {"org":"acme","op":"namespace.create","namespace":"prod"}
  {"org":"acme","op":"user.create","user":"gina","email":"gina@example.com","role":"viewer"}
  {"org":"acme","op":"binding.create","principal":"user:gina","role":"builder","scope":{"namespace":"prod"}}
  {"org":"acme","op":"share.create","namespace":"prod","type":"chains","id":"triage","principal":"user:gina","actions":["run"]}

Consecutive lines of one org go in one request of up to --batch changes,
which the server makes all or none; requests are sent in file order. On a
failure it says which line failed and how many lines were imported before
its request; resume with --from. --timeout bounds the whole import.
A user.create whose id is taken fails its request (409); one whose email
another user has is imported without the email, and the summary cannot
say so (the server does not tell: docs/api.md, "Bulk writes and
provisioning").

--parallel N keeps up to N requests in flight, so that the client and the
server encode and decode one request while the server writes another (on
PostgreSQL the server makes requests of different orgs concurrently, each
under its own revision). The result is the file order's: a request waits
for every earlier request of its org, and for the earlier requests that
create a user it names (member.add, a "user:" principal) or that name or
create a user or email it creates (users are shared by all orgs);
requests that share nothing may be made in any order, and one that waits
does not hold back the requests after it. On a failure nothing after the
failed request is sent (nor anything that depends on it) and the waiting
requests before it still are; requests already in flight finish, and the
error lists those after the failed one that were made (resuming with
--from would repeat them).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || batch > client.MaxWrites {
				return badInput("--batch %d: want 1 to %d", batch, client.MaxWrites)
			}
			if parallel < 1 || parallel > maxImportParallel {
				return badInput("--parallel %d: want 1 to %d", parallel, maxImportParallel)
			}
			if from < 1 {
				return badInput("--from %d: lines are numbered from 1", from)
			}
			var r io.Reader = a.e.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return badInput("%v", err)
				}
				defer f.Close()
				r = f
			}
			batches, err := readImport(r, firstNonEmpty(a.f.org, os.Getenv("GATEHOUSE_ORG")), batch, from)
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				// Lines without "org" and no --org: the org every command
				// defaults to (your only org), as docs/cli.md says.
				for i := range batches {
					if batches[i].org != "" {
						continue
					}
					org, err := cl.org()
					if err != nil {
						return err
					}
					for j := range batches {
						if batches[j].org == "" {
							batches[j].org = org
						}
					}
					break
				}
				start := time.Now()
				var mu sync.Mutex
				warned := map[int][]client.WriteWarning{} // by the batch's first line
				n, rev, err := sendImport(batches, parallel, func(b importBatch) (uint64, error) {
					res, err := cl.c.Write(cl.ctx, b.org, b.changes)
					if len(res.Warnings) > 0 {
						mu.Lock()
						warned[b.lines[0]] = res.Warnings
						mu.Unlock()
					}
					return res.Revision, err
				})
				// What the requests made stopped, in file order, each
				// naming its org (an import may span several); printed here,
				// not again by run. On a failure, what was made before it
				// still warns.
				cl.warnings()
				var ws []client.WriteWarning
				for _, b := range batches {
					for _, w := range warned[b.lines[0]] {
						w.Org = firstNonEmpty(w.Org, b.org)
						ws = append(ws, w)
					}
				}
				if err != nil {
					printWriteWarnings(a.e.stderr, ws)
					return err
				}
				d := time.Since(start)
				sum := map[string]any{"changes": n, "requests": len(batches), "revision": rev, "seconds": d.Seconds()}
				if len(ws) > 0 {
					sum["warnings"] = ws
				}
				if err := cl.say(sum, "imported %s in %s in %.1fs (%.0f changes/s), revision %d",
					counted(n, "change", "changes"), counted(len(batches), "request", "requests"), d.Seconds(), float64(n)/max(d.Seconds(), 1e-9), rev); err != nil {
					return err
				}
				if !cl.machine() {
					printWriteWarnings(a.e.stderr, ws)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&batch, "batch", client.MaxWrites, "changes per request (1 to 1,000)")
	cmd.Flags().IntVar(&from, "from", 1, "first line to import (to resume)")
	cmd.Flags().IntVar(&parallel, "parallel", 1, "requests in flight at once (1 to 16; see above for the order kept)")
	return a.leaf(cmd)
}

// maxImportParallel bounds --parallel: the server overlaps only writes of
// different orgs (on PostgreSQL), and more requests in flight than it can
// overlap only queue there.
const maxImportParallel = 16

// importLookahead is how far past the first unsent batch sendImport looks
// for one that is ready: far enough to pass the short batches that wait
// for the one before them, near enough that the scan stays cheap in a
// long import of one org (where no batch is ready but the next).
const importLookahead = 64

// userKeys says which users b names across orgs, the only things one
// org's batch can share with another's: every other thing a change names
// (namespaces, resources, bindings, roles, teams) is its org's, and a
// batch already follows every earlier batch of its org. creates are the
// user ids and emails its user.create changes make (ids and emails are
// unique in the deployment); reads the user ids its other changes name
// (member.add's user, a binding's or share's "user:" principal).
func (b importBatch) userKeys() (creates, reads []string) {
	for _, c := range b.changes {
		switch c.Op {
		case "user.create":
			creates = append(creates, "user "+c.User)
			if c.Email != "" {
				creates = append(creates, "email "+strings.ToLower(c.Email))
			}
		case "member.add":
			reads = append(reads, "user "+c.User)
		case "binding.create", "share.create":
			if id, ok := strings.CutPrefix(c.Principal, "user:"); ok {
				reads = append(reads, "user "+id)
			}
		}
	}
	return creates, reads
}

// importDeps gives, for each batch, the earlier batches it must wait for:
// the last earlier batch of its org (so an org's batches are made in file
// order), and for each user key (userKeys) the last earlier batch that
// created it and, if it creates the key, every earlier batch that named
// it since. Two batches that depend on neither chain touch nothing in
// common, so making them in either order, or at once, gives what the file
// order gives (the server may make batches of different orgs concurrently).
func importDeps(batches []importBatch) [][]int {
	deps := make([][]int, len(batches))
	lastOfOrg := map[string]int{}
	lastCreate := map[string]int{}
	readers := map[string][]int{} // since the key's last create
	for i, b := range batches {
		var ds []int
		if j, ok := lastOfOrg[b.org]; ok {
			ds = append(ds, j)
		}
		creates, reads := b.userKeys()
		for _, k := range reads {
			if j, ok := lastCreate[k]; ok {
				ds = append(ds, j)
			}
		}
		for _, k := range creates {
			if j, ok := lastCreate[k]; ok {
				ds = append(ds, j)
			}
			ds = append(ds, readers[k]...)
		}
		for _, k := range reads {
			readers[k] = append(readers[k], i)
		}
		for _, k := range creates {
			lastCreate[k] = i
			delete(readers, k)
		}
		lastOfOrg[b.org] = i
		slices.Sort(ds)
		deps[i] = slices.Compact(ds)
	}
	return deps
}

// sendImport sends batches with send, up to parallel at once, each only
// once every batch it depends on (importDeps) is made: when a slot is
// free, the first batch in file order that is ready, looking up to
// importLookahead batches past the first unsent one (a batch waiting for
// the one just before it, an org's last few lines after its thousand,
// does not hold back the independent batches after it). It returns how
// many changes were made and the highest revision. On a failure it sends
// nothing after the failed batch (so nothing that depends on it) but
// still sends the waiting batches before it, so that, as in file order,
// every batch before the earliest failed one is made; it waits for the
// requests in flight and returns the failure of the earliest batch that
// failed, and the error names the later ones that were made too.
func sendImport(batches []importBatch, parallel int, send func(importBatch) (uint64, error)) (int, uint64, error) {
	type result struct {
		rev  uint64
		err  error
		sent bool
		done bool
	}
	res := make([]result, len(batches))
	deps := importDeps(batches)
	completed := make(chan int, len(batches))
	var (
		lo       int            // the first batch not sent
		stop     = len(batches) // send nothing from here on: the earliest failed batch
		inFlight int
	)
	ready := func(i int) bool {
		for _, j := range deps[i] {
			if !res[j].done || res[j].err != nil {
				return false
			}
		}
		return true
	}
	next := func() int {
		for lo < stop && res[lo].sent {
			lo++
		}
		for i := lo; i < min(stop, lo+importLookahead); i++ {
			if !res[i].sent && ready(i) {
				return i
			}
		}
		return -1
	}
	for {
		for inFlight < parallel {
			i := next()
			if i < 0 {
				break
			}
			res[i].sent = true
			inFlight++
			go func() {
				rev, err := send(batches[i])
				res[i].rev, res[i].err = rev, err // read after completed hands i back
				completed <- i
			}()
		}
		if inFlight == 0 {
			break // nothing in flight, nothing ready: every batch before stop is made
		}
		i := <-completed
		inFlight--
		res[i].done = true
		if res[i].err != nil {
			stop = min(stop, i)
		}
	}
	sent := 0
	for i := range res {
		if res[i].sent {
			sent = i + 1
		}
	}
	var n int
	var rev uint64
	first := -1
	for i := range sent {
		if res[i].err != nil && first < 0 {
			first = i
		}
	}
	for i := range sent {
		r := res[i]
		if first >= 0 && i > first {
			continue
		}
		if r.sent && r.err == nil {
			n += len(batches[i].changes)
			rev = max(rev, r.rev)
		}
	}
	if first < 0 {
		return n, rev, nil
	}
	var also []string
	for i := first + 1; i < sent; i++ {
		if res[i].sent && res[i].err == nil {
			b := batches[i]
			also = append(also, fmt.Sprintf("%d-%d", b.lines[0], b.lines[len(b.lines)-1]))
		}
	}
	err := batches[first].failed(res[first].err, n)
	if len(also) > 0 {
		var ex *exitError
		if errors.As(err, &ex) {
			ex.err = fmt.Errorf("%v; lines %s, sent alongside, were made too (resuming with --from would repeat them)", ex.err, strings.Join(also, ", "))
		}
	}
	return n, rev, err
}

// maxImportLine bounds one line (a resource with a large spec).
const maxImportLine = 8 << 20

// readImport parses the whole file first, so that a malformed line is
// reported before anything is sent. The server and the database wait for
// it (issue 19, branch writes17), so the lines are decoded on every core,
// importChunkLines at a time, while the next ones are read; the answer is
// the serial parse's: the first malformed line in file order, or a line
// too long or a read error only if every line before it is well formed.
// Reading stops once a line is known to be malformed.
func readImport(r io.Reader, defaultOrg string, size, from int) ([]importBatch, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	work := make(chan *importChunk)
	var wg sync.WaitGroup
	var bad atomic.Bool // a chunk sent has a malformed line
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for c := range work {
				if c.decode(); c.err != nil {
					bad.Store(true)
				}
			}
		})
	}
	var chunks []*importChunk
	c := &importChunk{}
	for n := 1; !bad.Load() && sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if n < from || len(line) == 0 {
			continue
		}
		c.add(n, line)
		if len(c.nums) == importChunkLines {
			chunks = append(chunks, c)
			work <- c
			c = &importChunk{}
		}
	}
	if len(c.nums) > 0 {
		chunks = append(chunks, c)
		work <- c
	}
	close(work)
	wg.Wait()
	// Chunks are in file order and each stops at its first malformed
	// line: the first chunk with one has the file's first (every line
	// before it was sent in a chunk, whenever reading stopped).
	lines := 0
	for _, c := range chunks {
		if c.err != nil {
			return nil, c.err
		}
		lines += len(c.out)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, badInput("a line is longer than %d bytes", maxImportLine)
		}
		return nil, badInput("reading: %v", err)
	}
	if lines == 0 {
		return nil, badInput("no changes to import")
	}
	return importBatches(chunks, defaultOrg, size), nil
}

// importChunkLines is how many lines one goroutine of readImport decodes
// at a time.
const importChunkLines = 1024

// importChunk holds consecutive lines of an import (their numbers, and
// their bytes end to end in buf) and, once decoded, their changes or the
// first malformed line's error.
type importChunk struct {
	nums []int
	ends []int // line i is buf[ends[i-1]:ends[i]]
	buf  []byte
	out  []importLine
	err  error
}

func (c *importChunk) add(n int, line []byte) {
	c.nums = append(c.nums, n)
	c.buf = append(c.buf, line...)
	c.ends = append(c.ends, len(c.buf))
}

// decode decodes the chunk's lines as the serial parse did, stopping at
// the first malformed one.
func (c *importChunk) decode() {
	c.out = make([]importLine, len(c.nums))
	var rd bytes.Reader
	start := 0
	for i, n := range c.nums {
		line := c.buf[start:c.ends[i]]
		start = c.ends[i]
		if decodeFast(line, &c.out[i]) {
			if c.out[i].Op == "" {
				c.err = badInput("line %d: \"op\" is required", n)
				return
			}
			continue
		}
		c.out[i] = importLine{}
		rd.Reset(line)
		dec := json.NewDecoder(&rd)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c.out[i]); err != nil {
			c.err = badInput("line %d: %v", n, err)
			return
		}
		if dec.More() {
			c.err = badInput("line %d: more than one JSON value", n)
			return
		}
		if c.out[i].Op == "" {
			c.err = badInput("line %d: \"op\" is required", n)
			return
		}
	}
	c.buf = nil
}

// importBatches groups the decoded lines into batches: consecutive lines
// of one org, up to size a batch, each batch's slices allocated once.
func importBatches(chunks []*importChunk, defaultOrg string, size int) []importBatch {
	orgOf := func(l *importLine) string {
		if l.Org == "" {
			return defaultOrg // "" when not given: the caller's org, resolved before sending
		}
		return l.Org
	}
	// First the batches' lengths, then their contents.
	var lens []int
	var last string
	for _, c := range chunks {
		for i := range c.out {
			org := orgOf(&c.out[i])
			if k := len(lens) - 1; k >= 0 && last == org && lens[k] < size {
				lens[k]++
				continue
			}
			lens = append(lens, 1)
			last = org
		}
	}
	out := make([]importBatch, 0, len(lens))
	for _, c := range chunks {
		for i := range c.out {
			l := &c.out[i]
			if k := len(out) - 1; k < 0 || len(out[k].changes) == cap(out[k].changes) {
				n := lens[len(out)]
				out = append(out, importBatch{org: orgOf(l), lines: make([]int, 0, n), changes: make([]client.WriteChange, 0, n)})
			}
			k := len(out) - 1
			out[k].changes = append(out[k].changes, l.WriteChange)
			out[k].lines = append(out[k].lines, c.nums[i])
		}
		c.out = nil
	}
	return out
}
