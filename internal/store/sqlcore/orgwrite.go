package sqlcore

// Concurrent writes of different orgs (issue 19, branch pgpar; PostgreSQL
// only, off unless Options.OrgWrites).
//
// A Write holds the deployment-wide write lock from its first statement to
// its commit, so every write runs alone. A WriteOrg of org X instead:
//
//  1. takes the structure lock SHARED (Write takes the same lock
//     exclusive, so a Write still runs alone: no WriteOrg is in progress
//     while it runs, and it waits for every one in progress), then X's
//     lock exclusive (WriteOrgs of one org run one at a time);
//  2. reads the committed revision cur (as Write does): the base. Every
//     change of X and every global change committed before is visible,
//     and none can commit until this transaction ends (X's writers wait on
//     X's lock, global writers on the structure lock); the changes other
//     orgs commit meanwhile are not X's. So whatever fn reads of X or of
//     global data is what a Write at the end of the queue would read, and
//     a read-modify-write of X cannot lose an update;
//  3. runs fn, whose Tx.Revision is cur+1 (so Directory.CatchUp brings
//     the engine to cur), and sends every row it wrote, its changelog
//     rows too, these under a placeholder revision (placeholderRevision:
//     negative, so no reader asks for it, and invisible to every other
//     transaction until the commit anyway);
//  4. only then, the tail (Backend CommitRevision, one round trip on
//     PostgreSQL, COMMIT included): takes the revision lock; then, in
//     statements that start after it is granted, UPDATE store_revision
//     to R+1 (R the committed revision, R ≥ cur), renumber the changelog
//     rows from the placeholder to R+1 (refusing to commit unless every
//     row sent moved), pg_notify; COMMIT. The revision lock is held to the commit,
//     and the next holder's UPDATE starts after the lock is granted, so
//     it sees R+1 committed: revisions are dense, unique and committed in
//     order, and a revision's changelog rows commit with it, as with
//     Write (docs/storage.md, "Why a follower can never skip a
//     revision"). What the lock serializes is the three small statements
//     and the commit, not the changelog's payloads (a bulk write's
//     thousand changes are ≈ 250 kB of JSON that PostgreSQL parses,
//     compresses and logs: issue 19, branch writes11).
//
// Lock order is always structure → org → revision, and a Write takes only
// the structure lock; nobody waits for a lock while holding a later one,
// so there is no deadlock. A process running a binary without WriteOrg
// takes the structure lock exclusive for every write: mixed deployments
// stay serialized, never unsafe.
//
// Fail closed: a WriteOrg may do only what a batch of one org does (the
// operations in orgWriteOps), and every change it records and every audit
// row it appends must be X's, but for one global change: a new user
// (CreateUser, a batch's user.create). Anything else fails the
// transaction, which then rolls back. Other global changes (a user's
// update or deletion, orgs, API keys, invitations) and every other write
// go through Write.
//
// Why a new user may be created beside other orgs' writes (issue 19,
// branch writes8): the only global write a WriteOrg makes is the INSERT of
// a users row that did not exist at its base revision. Nothing another
// writer decides rests on a user being absent, except creating the same
// id or email, and the database decides that: users' primary key and its
// unique email index make the second INSERT wait for the first
// transaction and fail (unique_violation, ErrConflict: 409) if it
// commits; two creating each other's users in opposite orders deadlock,
// and PostgreSQL aborts one (deadlock_detected, ErrConflict too). A
// user's update and deletion still run alone, so a user a WriteOrg reads
// as present stays so to its commit (members.user_id's foreign key backs
// this up). A WriteOrg may read a user created by a concurrent one after
// that one commits, or not (READ COMMITTED); either way it decides as a
// write placed after or before it would, and a write that needs the user
// and misses it fails (not found) rather than making anything.

import (
	"math"
	"math/rand/v2"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// orgWriteOps are the operations a WriteOrg may run: those of a batch of
// one org's namespaces, resources, members and bindings
// (directory.Write without user.create), its audit entries, and a
// resource's update (an org's read-modify-write; the conformance suite's
// counter).
var orgWriteOps = map[string]bool{
	"prefetch":                true, // reads only
	"create user":             true, // global: see above
	"create namespace":        true,
	"create resource":         true,
	"update resource":         true,
	"add member":              true,
	"create binding":          true,
	"delete binding":          true,
	"append audit entry":      true,
	"append audit checkpoint": true,
	"record audit head":       true,
}

// errOutOfScope is the error of anything a WriteOrg may not do.
func errOutOfScope(op, what string) error {
	return store.Errorf(store.ErrInvalid, op, "an org-scoped write may change only its own org ("+what+")", nil)
}

// scopeOp refuses, in a WriteOrg, an operation not in orgWriteOps; it
// poisons the transaction, so that the Write fails whatever fn does with
// the error.
func (t *txn) scopeOp(op string) error {
	if t.scope == "" || orgWriteOps[op] {
		return nil
	}
	err := errOutOfScope(op, "operation not allowed")
	if t.poison == nil {
		t.poison = err
	}
	return err
}

// inScope refuses, in a WriteOrg, a change or audit row of another org
// than the scope's, or a global one other than a new user's, poisoning
// the transaction.
func (t *txn) inScope(op, org string) error {
	if t.scope == "" || org == t.scope || (org == "" && op == "create user") {
		return nil
	}
	err := errOutOfScope(op, "org "+q(org))
	if t.poison == nil {
		t.poison = err
	}
	return err
}

// renumberSQL gives a concurrent org write's changelog rows, sent under
// a placeholder revision ($1), the revision CommitRevision has just set.
const renumberSQL = `UPDATE changelog SET revision = ` + RevisionSQL + ` WHERE revision = $1`

// changelogArgs is how many arguments a changelog row takes
// (changeCols).
const changelogArgs = 7

// placeholderRevision is a concurrent org write's changelog rows'
// revision until its tail renumbers them: negative, so no reader ever
// asks for it (readers ask for revisions above one they have, ≥ 0), and
// random, so that two concurrent writes rarely share one. If they do,
// nothing goes wrong: the second INSERT of a (revision, seq) key waits
// for the first transaction, which renumbers its rows before it commits,
// and each renumbering UPDATE sees only its own transaction's rows with
// the placeholder (the other's are uncommitted or renumbered), which
// CommitRevision counts.
func placeholderRevision() int64 { return -1 - rand.Int64N(math.MaxInt64-1) }

// setRevision numbers the transaction's changes rev (the tail of a
// WriteOrg, under the revision lock).
func (t *txn) setRevision(rev uint64) {
	t.rev = rev
	for i := range t.changes {
		t.changes[i].Revision = rev
	}
}

// BeforeTail makes fn run, if the transaction commits changes, after the
// callback has returned and its rows are sent, before the revision is
// taken: the directory holds its follower from then to the commit
// (ownWrite), so that in a WriteOrg only the tail, not the sending of the
// rows, is serialized in the process.
func (t *txn) BeforeTail(fn func()) { t.beforeTail = fn }
