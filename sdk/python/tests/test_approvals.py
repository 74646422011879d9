"""Approvals and run records through the Python SDK, against a real
gatehouse serve --dev (docs/approvals.md): a check answered
approval_required, approved by another user, allowed once when presented,
refused the second time; the guard's opt-in wait; a run's start and finish."""

from __future__ import annotations

import hashlib
import threading
import time
import unittest

from gh_server import Server  # noqa: E402  (puts ../src on the path when gatehouse is not installed)

import gatehouse  # noqa: E402

ORG, NS, CHAIN = "demo", "pyapprove", "py-deploy"
ASK = "    ask before run chains when in_pyapprove\n"
OPERATOR = "role operator: viewer level 30 {\n"
NULL_SHA256 = hashlib.sha256(b"null").hexdigest()


class ApprovalsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        # A server of its own: the policy, namespace and bindings written
        # here would change what the contract suite expects of the shared one.
        cls.srv = srv = Server()
        cls.alice = gatehouse.Client(srv.url, token=srv.keys["ALICE_KEY"])  # owner: approves
        cls.bob = gatehouse.Client(srv.url, token=srv.keys["BOB_KEY"])  # operator: runs, asks
        cls.original = cls.alice.get_policy(ORG).text
        assert OPERATOR in cls.original, "the demo policy has no operator role"
        text = ("condition in_pyapprove = \"resource.namespace == '" + NS + "'\"\n\n"
                + cls.original.replace(OPERATOR, OPERATOR + ASK, 1))
        cls.alice.create_namespace(ORG, NS)
        cls.alice.create_resource(ORG, NS, "chains", CHAIN)
        cls.alice.create_binding(ORG, "user:bob", "operator", scope={"namespace": NS})
        cls.alice.put_policy(ORG, text)
        # bob reads alice's writes: share the watermark.
        cls.bob._mark = cls.alice._mark

    @classmethod
    def tearDownClass(cls) -> None:
        cls.alice.close()
        cls.bob.close()
        cls.srv.stop()

    def test_batch_items_carry_approvals(self) -> None:
        """check_batch items take arguments and approval_id like check: an
        item needing approval carries it; presented twice in one batch it
        is consumed once."""
        args = {"ref": "v9", "case": "batch"}
        item = gatehouse.CheckItem(action="chains:run", resource=f"chains/{CHAIN}", namespace=NS, arguments=args)
        b = self.bob.check_batch(ORG, [item])
        r = b.results[0]
        self.assertFalse(r.allowed)
        self.assertTrue(r.approval_required)
        aid = r.approval["id"]
        self.alice.approve(ORG, aid, "ok")
        present = gatehouse.CheckItem(action="chains:run", resource=f"chains/{CHAIN}", namespace=NS, arguments=args, approval_id=aid)
        b = self.bob.check_batch(ORG, [present, present])
        self.assertEqual([x.allowed for x in b.results], [True, False])
        self.assertEqual(b.results[0].approval["status"], "consumed")
        self.assertTrue(b.results[1].approval_required)

    def test_approve_then_allowed_once(self) -> None:
        args = {"ref": "v1.2.3", "case": "once"}
        d = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS, arguments=args)
        self.assertFalse(d.allowed)
        self.assertTrue(d.approval_required)
        self.assertEqual(d.result, "approval_required")
        self.assertIsNotNone(d.approval)
        aid = d.approval["id"]
        self.assertEqual(d.approval["status"], "pending")

        # Asking again returns the same pending approval, and bob may see it.
        again = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS, arguments=args)
        self.assertEqual(again.approval["id"], aid)
        a = self.bob.get_approval(ORG, aid)
        self.assertIsInstance(a, gatehouse.Approval)
        self.assertEqual((a.status, a.principal, a.action, a.namespace), ("pending", "user:bob", "chains:run", NS))
        self.assertTrue(a.arguments_sha256)
        self.assertIn(aid, [x.id for x in self.alice.list_approvals(ORG, status="pending")])

        # A pending approval presented is still approval_required.
        early = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS, arguments=args, approval_id=aid)
        self.assertFalse(early.allowed)
        self.assertTrue(early.approval_required)

        # The requester cannot approve its own request.
        with self.assertRaises(gatehouse.Forbidden):
            self.bob.approve(ORG, aid, "me")

        granted = self.alice.approve(ORG, aid, "ship it")
        self.assertEqual(granted.status, "granted")
        self.assertTrue(granted.granted)
        self.assertTrue(any(v.by == "user:alice" and v.approve and v.comment == "ship it" for v in granted.votes or []))
        self.assertEqual(self.bob.wait_for_approval(ORG, aid, timeout=5).status, "granted")

        # Other arguments are another question: the approval does not apply.
        other = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS,
                               arguments={"ref": "v9"}, approval_id=aid)
        self.assertFalse(other.allowed)
        self.assertTrue(other.approval_required)
        self.assertNotEqual(other.approval["id"], aid)
        self.assertEqual(self.alice.deny(ORG, other.approval["id"], "not this one").status, "denied")

        ok = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS, arguments=args, approval_id=aid)
        self.assertTrue(ok.allowed)
        self.assertFalse(ok.approval_required)
        second = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS, arguments=args, approval_id=aid)
        self.assertFalse(second.allowed)
        self.assertTrue(second.approval_required)
        self.assertEqual(self.bob.get_approval(ORG, aid).status, "consumed")
        self.assertIn(aid, [x.id for x in self.bob.list_approvals(ORG, status="consumed")])

    def test_deny_ends_and_wait_returns(self) -> None:
        args = {"case": "deny"}
        d = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS, arguments=args)
        self.assertTrue(d.approval_required)
        aid = d.approval["id"]
        t0 = time.monotonic()
        pending = self.bob.wait_for_approval(ORG, aid, timeout=1.5)
        self.assertEqual(pending.status, "pending")
        self.assertLess(time.monotonic() - t0, 10)

        timer = threading.Timer(0.5, lambda: self.alice.deny(ORG, aid, "not today"))
        timer.start()
        self.addCleanup(timer.cancel)
        got = self.bob.wait_for_approval(ORG, aid, timeout=15)
        self.assertEqual(got.status, "denied")
        refused = self.bob.check(ORG, "chains:run", f"chains/{CHAIN}", namespace=NS, arguments=args, approval_id=aid)
        self.assertFalse(refused.allowed)

    def test_guard_waits_for_approval(self) -> None:
        guard = gatehouse.Guard(self.bob, ORG, namespace=NS, approval_timeout=20)
        ran = []

        @guard.require("chains:run", resource=f"chains/{CHAIN}")
        def deploy(ref: str) -> None:
            ran.append(ref)

        # The guard binds the approval to the call's arguments (canonical
        # JSON of {"ref": "main"}): other arguments are another question.
        want = hashlib.sha256(b'{"ref":"main"}').hexdigest()

        def approve_when_asked() -> None:
            for _ in range(100):
                for a in self.alice.list_approvals(ORG, status="pending"):
                    if a.namespace == NS and a.principal == "user:bob" and a.arguments_sha256 == want:
                        self.alice.approve(ORG, a.id, "guard")
                        return
                time.sleep(0.1)

        t = threading.Thread(target=approve_when_asked)
        t.start()
        deploy("main")
        t.join(20)
        self.assertEqual(ran, ["main"])
        # Used once: a second call needs a new approval (no wait: refused),
        # and so does a call with other arguments.
        no_wait = gatehouse.Guard(self.bob, ORG, namespace=NS)
        with self.assertRaises(gatehouse.ApprovalRequired):
            no_wait.check("chains:run", f"chains/{CHAIN}", arguments={"ref": "main"})
        with self.assertRaises(gatehouse.ApprovalRequired):
            no_wait.check("chains:run", f"chains/{CHAIN}", arguments={"ref": "evil"})

    def test_run_round_trip(self) -> None:
        started = self.alice.start_run(ORG, f"chains/{CHAIN}", namespace=NS, input={"ref": "main"})
        self.assertEqual(started.result, "started")
        self.assertFalse(started.approval_required)
        run = started.run
        self.assertIsInstance(run, gatehouse.Run)
        self.assertEqual((run.status, run.resource, run.namespace, run.principal),
                         ("running", f"chains/{CHAIN}", NS, "user:alice"))
        self.assertTrue(run.input_sha256)
        self.assertGreater(run.input_size, 0)

        done = self.alice.finish_run(ORG, run.id, "succeeded", output="deployed main\n")
        self.assertEqual(done.status, "succeeded")
        self.assertEqual(done.output_size, len("deployed main\n"))
        self.assertIn("deployed main", done.output_summary)
        self.assertTrue(done.finished_at)
        with self.assertRaises(gatehouse.Conflict):
            self.alice.finish_run(ORG, run.id, "failed", error="again")

        self.assertEqual(self.alice.get_run(ORG, run.id).status, "succeeded")
        listed = self.alice.list_runs(ORG, resource=f"chains/{CHAIN}", namespace=NS, status="succeeded")
        self.assertIn(run.id, [r.id for r in listed])

    def test_run_needs_approval_then_starts_once(self) -> None:
        inp = {"ref": "v2"}
        s = self.bob.start_run(ORG, f"chains/{CHAIN}", namespace=NS, input=inp)
        self.assertTrue(s.approval_required)
        self.assertIsNone(s.run)
        self.assertIsInstance(s.approval, gatehouse.Approval)
        self.alice.approve(ORG, s.approval.id)
        s2 = self.bob.start_run(ORG, f"chains/{CHAIN}", namespace=NS, input=inp, approval_id=s.approval.id)
        self.assertEqual(s2.result, "started")
        self.assertEqual(s2.run.approval_id, s.approval.id)
        self.bob.finish_run(ORG, s2.run.id, "failed", error="boom")
        self.assertEqual(self.bob.get_run(ORG, s2.run.id).error, "boom")
        s3 = self.bob.start_run(ORG, f"chains/{CHAIN}", namespace=NS, input=inp, approval_id=s.approval.id)
        self.assertTrue(s3.approval_required)


if __name__ == "__main__":
    unittest.main()
