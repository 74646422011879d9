"""Run tokens: the platform gets one for a resource it may run, the
runtime (a service) exchanges it once for the spec's secrets."""

from __future__ import annotations

import unittest
import uuid

from gh_server import server

import gatehouse


class RuntimeTest(unittest.TestCase):
    def test_run_token_exchange(self) -> None:
        srv = server()
        alice = gatehouse.Client(srv.url, token=srv.keys["ALICE_KEY"])
        self.addCleanup(alice.close)
        org = "rt-" + uuid.uuid4().hex[:8]
        alice.create_org(org)
        alice.create_namespace(org, "prod")
        sec = alice.create_secret(org, "prod", "API_TOKEN", "s3cr3t-v1", description="upstream").item
        self.assertEqual((sec.name, sec.version), ("API_TOKEN", 1))
        self.assertEqual(alice.rotate_secret(org, "prod", "API_TOKEN", "s3cr3t-v2", if_version=1).item.version, 2)
        self.assertEqual([s.name for s in alice.list_secrets(org, "prod").items], ["API_TOKEN"])
        alice.create_resource(org, "prod", "chains", "runner", spec={"steps": ["call"], "secrets": ["API_TOKEN"]})
        alice.create_service(org, "runtime", role="operator", namespace="prod")
        key = alice.create_key(org, principal="service:runtime")
        self.assertNotIn(key.token, repr(key))
        runtime = alice.with_token(key.token)

        grant = alice.run_token(org, "prod", "chains", "runner", runtime="service:runtime")
        self.assertEqual(grant.secret_count, 1)
        self.assertEqual(grant.resource, gatehouse.ResourceRef(namespace="prod", type="chains", id="runner"))
        self.assertNotIn(grant.token, repr(grant))
        rel = runtime.exchange_run_token(org, grant.token)
        self.assertEqual([(s.name, s.value) for s in rel.secrets], [("API_TOKEN", "s3cr3t-v2")])
        self.assertNotIn("s3cr3t", repr(rel))
        with self.assertRaises(gatehouse.APIError):
            runtime.exchange_run_token(org, grant.token)  # single use
        with self.assertRaises(gatehouse.Conflict):
            alice.delete_secret(org, "prod", "API_TOKEN")  # a spec references it
        self.assertGreater(alice.delete_secret(org, "prod", "API_TOKEN", force=True), 0)
        self.assertGreater(alice.revoke_key(org, key.item.id), 0)
        with self.assertRaises(gatehouse.Unauthenticated):
            runtime.me()


if __name__ == "__main__":
    unittest.main()
