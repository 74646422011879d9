"""A write that answers only its revision still shows what it stopped:
each family of such writes that can stop a minted API key (docs/api.md,
"A write that stops keys warns") returns a Revision carrying the
credentials-outrank-minter warning, against a real server."""

from __future__ import annotations

import re
import unittest
import uuid
from typing import Callable, Tuple

from gh_server import server

import gatehouse


class RevisionWarningsTest(unittest.TestCase):
    def setUp(self) -> None:
        srv = server()
        self.alice = gatehouse.Client(srv.url, token=srv.keys["ALICE_KEY"])
        self.addCleanup(self.alice.close)
        self.bob = gatehouse.Client(srv.url, token=srv.keys["BOB_KEY"])
        self.addCleanup(self.bob.close)

    def minted(self) -> Tuple[str, str]:
        """A new org where bob, a builder, minted an API key of service
        ci (role svcrole: level 10, chains:read), which bob outranks;
        the org and the key's id."""
        org = "warn-" + uuid.uuid4().hex[:8]
        a = self.alice
        a.create_org(org)
        a.add_member(org, "bob", "builder")
        a.create_role(org, "svcrole", level=10, permissions=["chains:read"])
        a.create_service(org, "ci", role="svcrole")
        key = self.bob.create_key(org, principal="service:ci")
        return org, key.item.id

    def test_revision_writes_carry_warnings(self) -> None:
        a = self.alice

        def bob_binding(org: str) -> str:
            return [b.id for b in a.list_bindings(org, principal="user:bob").items][0]

        def team_of_owners(org: str) -> str:
            a.create_team(org, "admins")
            a.create_binding(org, "team:admins", "admin")
            return "admins"

        def raise_in_policy(org: str) -> gatehouse.PolicyRevision:
            text = a.get_policy(org).text
            raised = re.sub(r"role svcrole level 10", "role svcrole level 60", text)
            self.assertNotEqual(raised, text, "no svcrole in the policy")
            return a.put_policy(org, raised)

        families: list[Tuple[str, Callable[[str], gatehouse.Revision]]] = [
            # the service raised
            ("add_team_member", lambda org: a.add_team_member(org, team_of_owners(org), "service:ci")),
            ("update_role", lambda org: a.update_role(org, "svcrole", level=10, permissions=["chains:read", "chains:delete"])),
            ("put_policy", raise_in_policy),
            # the minter lowered
            ("remove_member", lambda org: a.remove_member(org, "bob")),
            ("delete_binding", lambda org: a.delete_binding(org, bob_binding(org))),
        ]
        for name, write in families:
            with self.subTest(name):
                org, key_id = self.minted()
                rev = write(org)
                self.assertIsInstance(rev, gatehouse.Revision)
                self.assertIsInstance(rev, int)
                self.assertEqual(rev, a.revision)
                got = [(w.code, w.count, [(k.kind, k.id) for k in w.credentials or []]) for w in rev.warnings]
                self.assertEqual(got, [("credentials-outrank-minter", 1, [("api_key", key_id)])])
                self.assertTrue(all(k.minter == "user:bob" and k.principal == "service:ci"
                                    for w in rev.warnings for k in w.credentials or []))

    def test_agent_tokens_are_named(self) -> None:
        """bob's agent token of agent helper (role svcrole) is named beside
        his API key, each with its kind, when bob leaves the org."""
        org, key_id = self.minted()
        self.alice.create_agent(org, "helper", "svcrole")
        tok = self.bob.mint_agent_token(org, "helper", audience="https://gw.example/mcp/" + org + "/default/x", ttl="10m")
        rev = self.alice.remove_member(org, "bob")
        got = [(w.code, w.count, sorted((k.kind, k.id, k.principal, k.minter) for k in w.credentials or []))
               for w in rev.warnings]
        self.assertEqual(got, [("credentials-outrank-minter", 2, sorted([
            ("api_key", key_id, "service:ci", "user:bob"),
            ("agent_token", tok.token_id, "agent:helper", "user:bob")]))])

    def test_a_write_that_stops_nothing_has_no_warnings(self) -> None:
        org, _ = self.minted()
        rev = self.alice.update_role(org, "svcrole", level=10, permissions=["chains:read"])
        self.assertEqual(rev.warnings, ())
        text = self.alice.get_policy(org).text
        pol = self.alice.put_policy(org, text)
        self.assertEqual((pol.warnings, pol.policy_warnings), ((), ()))


if __name__ == "__main__":
    unittest.main()
