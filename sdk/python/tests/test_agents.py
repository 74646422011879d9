"""Agents with owners and lifetimes through the Python SDK, against a real
gatehouse serve --dev (docs/agents.md): sponsors, status, suspension,
attestation, the org's lifecycle rules, agent tokens, grants that expire,
blast radius and decisions at a point in the past.

Everything happens in an org of its own (ORG), so the demo org the
contract suite reads is left as it was; carol is kept out of it (the
contract suite lists her orgs)."""

from __future__ import annotations

import datetime
import re
import unittest

from gh_server import server  # noqa: E402  (puts ../src on the path when gatehouse is not installed)

import gatehouse  # noqa: E402

ORG, NS = "pyagents", "prod"
AUDIENCE = "https://gatehouse.example/mcp/pyagents/prod/github"


def _parse(s: str) -> datetime.datetime:
    """An RFC 3339 time as the server writes it (nanoseconds cut to what
    Python < 3.11 parses)."""
    s = re.sub(r"(\.\d{6})\d+", r"\1", s.replace("Z", "+00:00"))
    return datetime.datetime.fromisoformat(s)


class AgentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        srv = server()
        root = gatehouse.Client(srv.url)
        cls.alice = root.with_token(srv.keys["ALICE_KEY"])  # owner of ORG
        cls.bob = root.with_token(srv.keys["BOB_KEY"])  # viewer of ORG, sponsor of Helper
        cls.carol = root.with_token(srv.keys["CAROL_KEY"])  # not a member of ORG
        cls.alice.create_org(ORG)
        cls.alice.add_member(ORG, "bob", "viewer")
        cls.alice.create_namespace(ORG, NS)
        cls.alice.create_resource(ORG, NS, "chains", "deploy")
        cls.alice.create_resource(ORG, NS, "chains", "triage")
        cls.alice.create_team(ORG, "oncall", members=["user:bob"])
        cls.helper = cls.alice.create_agent(ORG, "Helper", "operator", namespace=NS,
                                            sponsors=["user:bob", "team:oncall"]).item

    def test_sponsors_and_status_everywhere(self) -> None:
        want = ["team:oncall", "user:bob"]
        self.assertEqual(sorted(self.helper.sponsors or []), want)
        self.assertEqual(self.helper.status, "active")
        got = self.alice.get_agent(ORG, "Helper")
        self.assertEqual((sorted(got.sponsors or []), got.status), (want, "active"))
        listed = {a.name: a for a in self.alice.list_agents(ORG).items}
        self.assertEqual(sorted(listed["Helper"].sponsors or []), want)
        # The creator sponsors an agent created without sponsors.
        solo = self.alice.create_agent(ORG, "Solo", "viewer").item
        self.assertEqual(solo.sponsors, ["user:alice"])

    def test_suspension_by_hand_and_status_filter(self) -> None:
        self.alice.create_agent(ORG, "Paused", "operator", namespace=NS, sponsors=["user:bob"])
        q = dict(principal="agent:Paused", namespace=NS)
        self.assertTrue(self.alice.check(ORG, "chains:run", "chains/deploy", **q).allowed)

        a = self.alice.update_agent(ORG, "Paused", suspended=True).item
        self.assertEqual((a.suspended, a.status), (True, "suspended"))
        d = self.alice.check(ORG, "chains:run", "chains/deploy", **q)
        self.assertEqual((d.allowed, d.reason), (False, "suspended"))
        names = lambda status: {x.name for x in self.alice.list_agents(ORG, status=status).items}  # noqa: E731
        self.assertIn("Paused", names("suspended"))
        self.assertNotIn("Paused", names("active"))

        a = self.alice.update_agent(ORG, "Paused", suspended=False).item
        self.assertEqual(a.status, "active")
        self.assertTrue(self.alice.check(ORG, "chains:run", "chains/deploy", **q).allowed)
        self.assertIn("Paused", names("active"))

    def test_new_sponsors_replace_the_old(self) -> None:
        self.alice.create_agent(ORG, "Handover", "viewer", sponsors=["user:bob"])
        a = self.alice.update_agent(ORG, "Handover", sponsors=["user:alice"]).item
        self.assertEqual(a.sponsors, ["user:alice"])

    def test_attestation_only_by_a_sponsor(self) -> None:
        # alice owns the org but does not sponsor Helper: 403.
        with self.assertRaises(gatehouse.Forbidden):
            self.alice.attest_agent(ORG, "Helper")
        w = self.bob.attest_agent(ORG, "Helper")
        self.assertGreater(w.revision, 0)
        self.assertEqual(w.item.name, "Helper")
        self.assertTrue(w.item.attested_at)
        # Another org's user learns nothing: 404.
        with self.assertRaises(gatehouse.NotFound):
            self.carol.attest_agent(ORG, "Helper")

    def test_org_lifecycle_rules(self) -> None:
        w = self.alice.set_org_lifecycle(ORG, inactive_days=30, attestation_days=90)
        self.assertEqual(w.item.lifecycle, gatehouse.OrgLifecycle(inactive_days=30, attestation_days=90))
        self.assertEqual(self.alice.get_org_lifecycle(ORG), gatehouse.OrgLifecycle(inactive_days=30, attestation_days=90))
        # A fresh agent was just created, used and attested: still active.
        self.assertEqual(self.alice.get_agent(ORG, "Helper").status, "active")
        cases = [
            ("a viewer lacks org:update", self.bob, {}, gatehouse.Forbidden, ""),
            ("another org's user", self.carol, {}, gatehouse.NotFound, ""),
            ("a negative number of days", self.alice, {"inactive_days": -1}, gatehouse.InvalidRequest, "inactive_days"),
        ]
        for name, c, kw, err, field in cases:
            with self.subTest(name):
                with self.assertRaises(err) as ctx:
                    c.set_org_lifecycle(ORG, **kw)
                if field:
                    self.assertEqual(ctx.exception.field, field)
        self.alice.set_org_lifecycle(ORG)  # off again
        self.assertEqual(self.alice.get_org_lifecycle(ORG), gatehouse.OrgLifecycle())

    def test_grants_that_expire(self) -> None:
        before = datetime.datetime.now(datetime.timezone.utc)
        b = self.alice.create_binding(ORG, "user:bob", "operator", scope={"namespace": NS}, expires_in="2h").item
        self.assertTrue(b.expires_at, "the answer has no expires_at")
        left = _parse(b.expires_at) - before
        self.assertTrue(datetime.timedelta(hours=1, minutes=59) < left < datetime.timedelta(hours=2, minutes=5), left)
        self.assertEqual(self.alice.get_binding(ORG, b.id).expires_at, b.expires_at)
        self.alice.delete_binding(ORG, b.id)

        until = before.replace(microsecond=0) + datetime.timedelta(days=1)
        s = self.alice.share(ORG, NS, "chains", "triage", principal="agent:Helper", actions=["run"],
                             expires_at=until).item
        self.assertEqual(_parse(s.expires_at), until)
        self.assertEqual(s.actions, ["run"])
        s = self.alice.share(ORG, NS, "chains", "deploy", principal="user:bob", actions=["read"],
                             expires_in="30m").item
        self.assertTrue(s.expires_at)

        cases = [
            ("a past instant", dict(expires_at="2001-01-01T00:00:00Z"), gatehouse.InvalidRequest, "expires_at"),
            ("a malformed duration", dict(expires_in="soon"), gatehouse.InvalidRequest, "expires_in"),
        ]
        for name, kw, err, field in cases:
            with self.subTest(name):
                with self.assertRaises(err) as ctx:
                    self.alice.create_binding(ORG, "user:bob", "builder", scope={"namespace": NS}, **kw)
                self.assertEqual(ctx.exception.field, field)
        with self.assertRaises(ValueError):  # a naive datetime never leaves the SDK
            self.alice.create_binding(ORG, "user:bob", "builder", expires_at=datetime.datetime(2030, 1, 1))

    def test_point_in_time(self) -> None:
        # Instants come from the server's clock: the resource's creation is
        # a moment before the share existed.
        t_before = self.alice.create_resource(ORG, NS, "chains", "pit").item.created_at
        q = dict(principal="user:bob", namespace=NS)
        self.assertFalse(self.alice.check(ORG, "chains:run", "chains/pit", **q).allowed)
        rev_before = self.alice.revision
        b = self.alice.share(ORG, NS, "chains", "pit", principal="user:bob", actions=["run"])
        self.assertTrue(self.alice.check(ORG, "chains:run", "chains/pit", **q).allowed)
        t_after = datetime.datetime.now(datetime.timezone.utc)

        then = self.alice.check(ORG, "chains:run", "chains/pit", at_revision=rev_before, **q)
        self.assertFalse(then.allowed)
        self.assertEqual(then.revision, rev_before)
        self.assertFalse(self.alice.check(ORG, "chains:run", "chains/pit", at_time=t_before, **q).allowed)
        self.assertTrue(self.alice.check(ORG, "chains:run", "chains/pit", at_revision=b.revision, **q).allowed)
        self.assertTrue(self.alice.check(ORG, "chains:run", "chains/pit", at_time=t_after, **q).allowed)

        e = self.alice.explain(ORG, "chains:run", "chains/pit", at_revision=rev_before, **q)
        self.assertFalse(e.allowed)
        self.assertTrue(e.summary.startswith(f"At revision {rev_before}"), e.summary)

        subjects = lambda **kw: {s.principal for s in self.alice.lookup_subjects(  # noqa: E731
            ORG, "chains:run", "chains/pit", namespace=NS, **kw).items}
        self.assertIn("user:bob", subjects())
        self.assertNotIn("user:bob", subjects(at_revision=rev_before))
        self.assertNotIn("user:bob", subjects(at_time=t_before))

        ids = lambda **kw: {r.id for r in self.alice.iter_resources(  # noqa: E731
            ORG, "chains:run", principal="user:bob", namespace=NS, page_size=1, **kw)}
        self.assertIn("pit", ids())
        self.assertNotIn("pit", ids(at_revision=rev_before))
        page = self.alice.lookup_resources(ORG, "chains:run", principal="user:bob", at_revision=rev_before)
        self.assertEqual(page.revision, rev_before)
        self.assertEqual(page.reason, "")
        # A namespace the org does not have: no items, and the reason a
        # check of the same question gives.
        page = self.alice.lookup_resources(ORG, "chains:run", principal="user:bob", namespace="no-such-namespace")
        self.assertEqual((page.items, page.reason), ([], "unknown_namespace"))
        # The other lookups say the same (row 92), and nothing where it exists.
        subs = self.alice.lookup_subjects(ORG, "chains:run", "chains/pit", namespace="no-such-namespace")
        self.assertEqual((subs.items, subs.reason), ([], "unknown_namespace"))
        self.assertEqual(self.alice.lookup_subjects(ORG, "chains:run", "chains/pit", namespace=NS).reason, "")
        perms = self.alice.permissions(ORG, "user:bob", namespace="no-such-namespace")
        self.assertEqual((perms.items, perms.reason), ([], "unknown_namespace"))
        self.assertEqual(self.alice.permissions(ORG, "user:bob", namespace=NS).reason, "")

    def test_point_in_time_refused(self) -> None:
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        cases = [
            ("before the org existed (outside what the changelog holds)", dict(at_time="2001-01-01T00:00:00Z"), "at_time"),
            ("in the future", dict(at_time=future), "at_time"),
            ("a revision not yet written", dict(at_revision=1 << 40), "at_revision"),
            ("both", dict(at_time="2001-01-01T00:00:00Z", at_revision=1), "at_revision"),
        ]
        calls = [
            ("check", lambda kw: self.alice.check(ORG, "chains:run", "chains/deploy", namespace=NS, **kw)),
            ("explain", lambda kw: self.alice.explain(ORG, "chains:run", "chains/deploy", namespace=NS, **kw)),
            ("lookup_resources", lambda kw: self.alice.lookup_resources(ORG, "chains:run", **kw)),
            ("lookup_subjects", lambda kw: self.alice.lookup_subjects(ORG, "chains:run", "chains/deploy", namespace=NS, **kw)),
        ]
        for cname, call in calls:
            for name, kw, field in cases:
                with self.subTest(call=cname, case=name):
                    with self.assertRaises(gatehouse.InvalidRequest) as ctx:
                        call(kw)
                    self.assertEqual((ctx.exception.status, ctx.exception.field), (400, field))
        with self.assertRaises(ValueError):
            self.alice.check(ORG, "chains:run", at_time=datetime.datetime(2026, 1, 1))

    def test_reach(self) -> None:
        r = self.alice.reach(ORG, "agent:Helper")
        self.assertIsInstance(r, gatehouse.Reach)
        self.assertEqual((r.principal, r.status), ("agent:Helper", "active"))
        self.assertTrue(r.summary)
        entries = {(n.namespace, e.permission): e for n in r.namespaces for e in n.entries}
        self.assertIn((NS, "chains:run"), entries, entries.keys())
        for e in entries.values():
            self.assertIn(e.severity, {"all", "destructive", "change", "read"})
        # Yourself, or bindings:read; another org's user learns nothing.
        self.assertEqual(self.bob.reach(ORG, "user:bob").principal, "user:bob")
        with self.assertRaises(gatehouse.Forbidden):
            self.bob.reach(ORG, "agent:Helper")
        with self.assertRaises(gatehouse.NotFound):
            self.carol.reach(ORG, "agent:Helper")
        # A suspended agent reaches nothing, and says why.
        self.alice.create_agent(ORG, "Gone", "operator", namespace=NS, sponsors=["user:bob"])
        self.alice.update_agent(ORG, "Gone", suspended=True)
        g = self.alice.reach(ORG, "agent:Gone")
        self.assertEqual(g.status, "suspended")
        self.assertEqual([e for n in g.namespaces for e in n.entries], [])

    def test_agent_tokens(self) -> None:
        t = self.alice.mint_agent_token(ORG, "Helper", audience=AUDIENCE, on_behalf_of="user:alice", ttl="10m")
        self.assertTrue(t.token.startswith("gha_"))
        self.assertEqual((t.agent, t.on_behalf_of, t.audience, t.token_type), ("agent:Helper", "user:alice", AUDIENCE, "Bearer"))
        self.assertNotIn(t.token, repr(t))
        # Every API route refuses it.
        with self.assertRaises(gatehouse.Unauthenticated):
            self.alice.with_token(t.token).me()
        self.alice.create_agent(ORG, "Stopped", "viewer", sponsors=["user:alice"])
        self.alice.update_agent(ORG, "Stopped", suspended=True)
        cases = [
            ("a viewer lacks apikeys:create", self.bob, "Helper", {}, gatehouse.Forbidden),
            ("another org's user", self.carol, "Helper", {}, gatehouse.NotFound),
            ("a user acting for another", self.alice, "Helper", {"on_behalf_of": "user:bob"}, gatehouse.Forbidden),
            ("a suspended agent", self.alice, "Stopped", {}, gatehouse.Conflict),
            ("no audience", self.alice, "Helper", {"audience": ""}, gatehouse.InvalidRequest),
        ]
        for name, c, agent, kw, err in cases:
            with self.subTest(name):
                args = {"audience": AUDIENCE} | kw
                with self.assertRaises(err):
                    c.mint_agent_token(ORG, agent, **args)

    def test_agent_tokens_listed_and_revoked(self) -> None:
        first = self.alice.mint_agent_token(ORG, "Helper", audience=AUDIENCE, on_behalf_of="user:alice")
        second = self.alice.mint_agent_token(ORG, "Helper", audience=AUDIENCE)
        page = self.alice.list_agent_tokens(ORG, "Helper")
        ids = [t.id for t in page.items]
        self.assertLess(ids.index(second.token_id), ids.index(first.token_id), "newest first")
        listed = next(t for t in page.items if t.id == first.token_id)
        self.assertEqual((listed.agent, listed.on_behalf_of, listed.audience, listed.created_by, listed.revoked_at),
                         ("agent:Helper", "user:alice", AUDIENCE, "user:alice", ""))
        self.assertNotIn(first.token, repr(page))
        self.assertIn(first.token_id, [t.id for t in self.alice.list_agent_tokens(ORG).items])
        with self.assertRaises(gatehouse.Forbidden):
            self.bob.list_agent_tokens(ORG, "Helper")
        with self.assertRaises(gatehouse.Forbidden):
            self.bob.revoke_agent_token(ORG, "Helper", first.token_id)
        with self.assertRaises(gatehouse.NotFound):
            self.alice.revoke_agent_token(ORG, "Helper", "0" * 32)
        self.assertGreater(self.alice.revoke_agent_token(ORG, "Helper", first.token_id), 0)
        with self.assertRaises(gatehouse.Conflict):
            self.alice.revoke_agent_token(ORG, "Helper", first.token_id)
        listed = next(t for t in self.alice.list_agent_tokens(ORG, "Helper").items if t.id == first.token_id)
        self.assertNotEqual(listed.revoked_at, "")
        self.assertEqual(listed.revoked_by, "user:alice")


if __name__ == "__main__":
    unittest.main()
