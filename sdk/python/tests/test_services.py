"""Services under the agents' lifecycle: optional sponsors, sponsor_gone
when the last one leaves, the opt-in to the org's rules and attestation."""

from __future__ import annotations

import unittest
import uuid

from gh_server import server

import gatehouse


class ServiceLifecycleTest(unittest.TestCase):
    def test_sponsors_and_attestation(self) -> None:
        srv = server()
        alice = gatehouse.Client(srv.url, token=srv.keys["ALICE_KEY"])
        self.addCleanup(alice.close)
        bob = gatehouse.Client(srv.url, token=srv.keys["BOB_KEY"])
        self.addCleanup(bob.close)
        org = "svc-" + uuid.uuid4().hex[:8]
        alice.create_org(org)
        alice.add_member(org, "bob", "operator")

        with self.assertRaises(gatehouse.InvalidRequest) as bad:
            alice.create_service(org, "lonely", lifecycle=True)
        self.assertEqual(bad.exception.field, "lifecycle")

        ci = alice.create_service(org, "ci", role="viewer", sponsors=["user:bob"], lifecycle=True).item
        self.assertEqual((ci.sponsors, ci.lifecycle, ci.status), (["user:bob"], True, "active"))
        plain = alice.create_service(org, "plain", role="viewer").item
        self.assertEqual((plain.sponsors, plain.lifecycle), (None, False))

        with self.assertRaises(gatehouse.Forbidden):
            alice.attest_service(org, "ci")  # the owner is no sponsor
        self.assertNotEqual(bob.attest_service(org, "ci").item.attested_at, "")

        alice.remove_member(org, "bob")
        gone = alice.list_services(org, status="sponsor_gone").items
        self.assertEqual([s.name for s in gone], ["ci"])
        self.assertEqual(alice.get_service(org, "ci").status, "sponsor_gone")
        self.assertEqual(alice.get_service(org, "plain").status, "active")

        back = alice.update_service(org, "ci", sponsors=["user:alice"]).item
        self.assertEqual((back.sponsors, back.status), (["user:alice"], "active"))
        out = alice.update_service(org, "ci", lifecycle=False, sponsors=[]).item
        self.assertEqual((out.sponsors, out.lifecycle, out.status), (None, False, "active"))


if __name__ == "__main__":
    unittest.main()
