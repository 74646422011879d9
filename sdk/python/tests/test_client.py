"""Unit tests of the client against a scripted server: retries, errors,
consistency, batching, thread safety."""

from __future__ import annotations

import socket
import threading
import unittest

import gh_server  # noqa: F401  (puts ../src on the path when gatehouse is not installed)
from fake import Fake, ok, problem

import gatehouse

FAST = gatehouse.RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01)
TOKEN = "gth_0123456789abcdef_secretsecretsecretsecretsecretsecretsecretsecretsec"


class ClientTest(unittest.TestCase):
    def fake(self, *a, **kw) -> Fake:
        f = Fake(*a, **kw)
        self.addCleanup(f.close)
        return f

    def client(self, f: Fake, **kw) -> gatehouse.Client:
        c = gatehouse.Client(f.url, token=TOKEN, retry=kw.pop("retry", FAST), **kw)
        self.addCleanup(c.close)
        return c

    def test_retries(self) -> None:
        nc = problem(503, "not-caught-up")
        un = problem(503, "unavailable")
        cases = [
            # (name, script, call, want attempts, want outcome)
            ("a decision retries a 503", [un, ok({"allowed": True, "revision": 3})],
             lambda c: c.check("o", "a:b").allowed, 2, True),
            ("a decision gives up after max_attempts", [un],
             lambda c: c.check("o", "a:b"), 4, gatehouse.Unavailable),
            ("a create is not retried on a plain 503", [un, ok({"revision": 1, "item": {}})],
             lambda c: c.create_namespace("o", "n"), 1, gatehouse.Unavailable),
            ("a create is retried on not-caught-up", [nc, ok({"revision": 1, "item": {"name": "n"}})],
             lambda c: c.create_namespace("o", "n").item.name, 2, "n"),
            ("a DELETE is idempotent", [un, ok({"revision": 9})],
             lambda c: c.delete_namespace("o", "n"), 2, 9),
            ("a Retry-After beyond max_delay ends the retries",
             [(503, {"Retry-After": "60", "Content-Type": "application/problem+json"}, b"{}"), ok({"allowed": True})],
             lambda c: c.check("o", "a:b"), 1, gatehouse.Unavailable),
            ("a 500 is not retried", [problem(500, "internal"), ok({"allowed": True})],
             lambda c: c.check("o", "a:b"), 1, gatehouse.ServerError),
            ("a 429 is not retried", [problem(429, "rate-limited"), ok({"allowed": True})],
             lambda c: c.check("o", "a:b"), 1, gatehouse.RateLimited),
        ]
        for name, script, call, attempts, want in cases:
            with self.subTest(name):
                f = self.fake(script)
                c = self.client(f)
                if isinstance(want, type):
                    with self.assertRaises(want):
                        call(c)
                else:
                    self.assertEqual(call(c), want)
                self.assertEqual(len(f.requests), attempts)

    def test_connection_errors(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed: nothing listens
        c = gatehouse.Client(f"http://127.0.0.1:{port}", token=TOKEN, retry=FAST)
        with self.assertRaises(gatehouse.TransportError) as cm:
            c.check("o", "a:b")
        self.assertNotIn(TOKEN, str(cm.exception))

    def test_timeout(self) -> None:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)  # accepts, never answers
        self.addCleanup(srv.close)
        c = gatehouse.Client(f"http://127.0.0.1:{srv.getsockname()[1]}", token=TOKEN, timeout=0.2,
                             retry=gatehouse.RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.01))
        with self.assertRaises(gatehouse.Timeout):
            c.check("o", "a:b")

    def test_errors_carry_the_problem(self) -> None:
        cases = [
            (problem(403, "forbidden", missing_permission="bindings:read", scope="ns/prod", detail="requires"),
             gatehouse.Forbidden, {"missing_permission": "bindings:read", "scope": "ns/prod", "kind": "forbidden"}),
            (problem(403, "escalation", reason="level", role="owner", missing_permissions=["x:y"]),
             gatehouse.Escalation, {"reason": "level", "role": "owner", "missing_permissions": ["x:y"]}),
            (problem(400, "invalid-request", field="action"), gatehouse.InvalidRequest, {"field": "action"}),
            (problem(422, "invalid-policy", errors=[{"pos": {"line": 2, "col": 3}, "message": "m"}]),
             gatehouse.InvalidPolicy, {"diagnostics": [{"pos": {"line": 2, "col": 3}, "message": "m"}]}),
            (problem(404, "not-found"), gatehouse.NotFound, {"status": 404}),
            (problem(409, "last-owner"), gatehouse.Conflict, {"kind": "last-owner"}),
            (problem(410, "gone"), gatehouse.Gone, {"status": 410}),
            (problem(401, "unauthenticated"), gatehouse.Unauthenticated, {"status": 401}),
            ((502, {"Content-Type": "text/html"}, b"<html>bad\ngateway</html>"), gatehouse.ServerError,
             {"status": 502, "kind": "", "detail": "<html>bad gateway</html>"}),
            # the status line is the truth, not the body
            ((404, {"Content-Type": "application/problem+json"}, b'{"status": 200, "type": "x"}'),
             gatehouse.NotFound, {"status": 404}),
        ]
        for ans, cls, fields in cases:
            with self.subTest(cls.__name__, status=ans[0]):
                c = self.client(self.fake([ans]))
                with self.assertRaises(cls) as cm:
                    c.get_policy("o")
                for k, v in fields.items():
                    self.assertEqual(getattr(cm.exception, k), v, k)
                self.assertNotIn(TOKEN, str(cm.exception))
                self.assertEqual(cm.exception.method, "GET")

    def test_malformed_answers_fail_closed(self) -> None:
        for name, ans in [("not JSON", (200, {"Content-Type": "application/json"}, b"allowed")),
                          ("not an object", ok([True])),
                          ("allowed as a string", ok({"allowed": "true", "revision": 1})),
                          ("allowed as a number", ok({"allowed": 1, "revision": 1})),
                          ("revision as a boolean", ok({"allowed": False, "revision": True})),
                          ("obligations not an array", ok({"allowed": True, "obligations": 5})),
                          ("an obligation not an object", ok({"allowed": True, "advice": [1]}))]:
            with self.subTest(name):
                c = self.client(self.fake([ans]))
                with self.assertRaises(gatehouse.DecodeError):
                    c.check("o", "a:b")

    def test_unknown_members_are_kept(self) -> None:
        c = self.client(self.fake([ok({"allowed": True, "revision": 2, "new_member": {"x": 1}})]))
        d = c.check("o", "a:b")
        self.assertTrue(d.allowed)
        self.assertEqual(d.extra, {"new_member": {"x": 1}})

    def test_warnings_are_read(self) -> None:
        w = {"code": "unknown_action", "message": "did you mean chains:run?"}
        c = self.client(self.fake([ok({"allowed": False, "revision": 2, "reason": "no_grant", "warnings": [w]}),
                                   ok({"results": [{"allowed": False, "reason": "no_grant", "warnings": [w]}],
                                       "revision": 2})]))
        d = c.check("o", "a:b")
        self.assertFalse(d.allowed)
        self.assertEqual([(x.code, x.message) for x in d.warnings or []], [(w["code"], w["message"])])
        b = c.check_batch("o", [gatehouse.CheckItem(action="a:b")])
        self.assertEqual([x.code for x in b.results[0].warnings or []], ["unknown_action"])

    def test_write_warnings_are_read(self) -> None:
        cred = {"kind": "api_key", "id": "k1", "principal": "service:ci", "minter": "user:adm", "scope": "org", "reason": "mint a new one"}
        tok = {"kind": "agent_token", "id": "t1", "principal": "agent:Helper", "minter": "user:adm", "scope": "org", "reason": "r"}
        w = {"code": "credentials-outrank-minter", "message": "stopped", "count": 2, "credentials": [cred, tok]}
        c = self.client(self.fake([ok({"revision": 3, "item": {"id": "b1", "principal": "user:adm", "role": "viewer"},
                                       "warnings": [w]}),
                                   ok({"revision": 4, "item": {"id": "b2", "principal": "user:bob", "role": "viewer"}})]))
        got = c.set_member_role("o", "adm", "viewer")
        self.assertEqual([(x.code, x.count, [(k.kind, k.id) for k in x.credentials or []]) for x in got.warnings or []],
                         [("credentials-outrank-minter", 2, [("api_key", "k1"), ("agent_token", "t1")])])
        self.assertIsNone(c.set_member_role("o", "bob", "viewer").warnings)

    def test_revision_writes_return_their_warnings(self) -> None:
        cred = {"id": "k1", "principal": "service:ci", "minter": "user:adm", "scope": "org", "reason": "mint a new one"}
        w = {"code": "credentials-outrank-minter", "message": "stopped", "count": 1, "credentials": [cred]}
        d = {"code": "quorum-unreachable", "severity": "warning", "message": "m"}
        c = self.client(self.fake([ok({"revision": 7, "warnings": [w]}), ok({"revision": 8}),
                                   ok({"revision": 9, "warnings": [d], "write_warnings": [w]}),
                                   ok({"revision": 10, "warnings": "no"})]))
        got = c.delete_binding("o", "b1")
        self.assertEqual((got, [(x.code, [k.id for k in x.credentials or []]) for x in got.warnings]),
                         (7, [("credentials-outrank-minter", ["k1"])]))
        self.assertEqual(c.remove_member("o", "bob").warnings, ())
        pol = c.put_policy("o", "role r level 1 {}")
        self.assertEqual((pol, [x.code for x in pol.warnings], [x.code for x in pol.policy_warnings]),
                         (9, ["credentials-outrank-minter"], ["quorum-unreachable"]))
        with self.assertRaises(gatehouse.DecodeError):
            c.delete_team("o", "t")

    def test_a_revision_is_still_an_int(self) -> None:
        import copy
        import json
        import pickle
        w = gatehouse.WriteWarning(code="credentials-outrank-minter", message="m", count=1)
        for r in (gatehouse.Revision(42, [w]), gatehouse.PolicyRevision(42, [w], [gatehouse.Diagnostic(code="c")])):
            with self.subTest(type(r).__name__):
                self.assertTrue(isinstance(r, int) and r == 42 and hash(r) == hash(42) and r < 43 and r + 1 == 43)
                self.assertEqual((str(r), repr(r), f"{r:05d}", "%d" % r, json.dumps({"rev": r})),
                                 ("42", "42", "00042", "42", '{"rev": 42}'))
                self.assertEqual({42: "x"}[r], "x")
                for back in (pickle.loads(pickle.dumps(r)), copy.copy(r), copy.deepcopy(r)):
                    self.assertEqual((type(back), back, back.warnings), (type(r), 42, (w,)))
                self.assertIs(type(pickle.loads(pickle.dumps(int(r)))), int)
        self.assertEqual(pickle.loads(pickle.dumps(gatehouse.PolicyRevision(1, (), [gatehouse.Diagnostic(code="c")]))).policy_warnings,
                         (gatehouse.Diagnostic(code="c"),))

    def test_pages_walks_every_page(self) -> None:
        pages = {"": ok({"items": [{"name": "a"}], "next_cursor": "n1"}),
                 "n1": ok({"items": [{"name": "b"}, {"name": "c"}], "next_cursor": ""})}
        f = self.fake(handler=lambda m, p, b: pages["n1" if "cursor=n1" in p else ""])
        c = self.client(f)
        self.assertEqual([n.name for n in gatehouse.Client.pages(c.list_namespaces, "o", page_size=2)],
                         ["a", "b", "c"])
        self.assertEqual(len(f.requests), 2)

    def test_reads_its_own_writes(self) -> None:
        f = self.fake(handler=lambda m, p, b: ok({"revision": 41, "item": {"name": "n"}}) if p.endswith("/namespaces")
                      else ok({"allowed": True, "revision": 41, "items": []}))
        c = self.client(f)
        c.check("o", "a:b")
        self.assertNotIn("consistency", f.requests[-1]["body"])
        c.create_namespace("o", "n")
        other = c.with_token("gth_other")  # shares the watermark
        other.check("o", "a:b")
        self.assertEqual(f.requests[-1]["body"]["consistency"], {"at_least": 41})
        self.assertEqual(f.requests[-1]["headers"]["Authorization"], "Bearer gth_other")
        c.check("o", "a:b", at_least=50)
        self.assertEqual(f.requests[-1]["body"]["consistency"], {"at_least": 50})
        c.permissions("o", "user:x")
        self.assertIn("at_least=41", f.requests[-1]["path"])
        off = gatehouse.Client(f.url, read_your_writes=False)
        off.create_namespace("o", "n")
        off.check("o", "a:b")
        self.assertNotIn("consistency", f.requests[-1]["body"])
        self.assertNotIn("Authorization", f.requests[-1]["headers"])

    def test_batch_sends_one_request_per_1000(self) -> None:
        def h(m, p, b):
            return ok({"revision": 7, "results": [{"allowed": i % 2 == 0} for i in range(len(b["checks"]))]})
        f = self.fake(handler=h)
        c = self.client(f)
        items = [gatehouse.CheckItem(action="a:b", resource=f"a/{i}") for i in range(2500)]
        b = c.check_batch("o", items)
        self.assertEqual([len(r["body"]["checks"]) for r in f.requests], [1000, 1000, 500])
        self.assertEqual(len(b.results), 2500)
        self.assertEqual(b.results[1001].allowed, False)
        self.assertEqual(b.results[1000].allowed, True)
        self.assertEqual(f.requests[0]["body"]["checks"][3], {"action": "a:b", "resource": "a/3"})

    def test_batch_count_mismatch_fails_closed(self) -> None:
        c = self.client(self.fake([ok({"results": [{"allowed": True}], "revision": 1})]))
        with self.assertRaises(gatehouse.DecodeError):
            c.check_batch("o", [{"action": "a:b"}, {"action": "a:c"}])

    def test_batch_item_error_is_never_allowed(self) -> None:
        c = self.client(self.fake([ok({"results": [{"allowed": True, "error": {"status": 400}}], "revision": 1})]))
        r = c.check_batch("o", [{"action": "a:b"}]).results[0]
        self.assertFalse(r.allowed)
        self.assertFalse(bool(r))

    def test_pagination_iterator(self) -> None:
        pages = {"": ok({"items": [{"id": "a"}], "next_cursor": "c1", "revision": 5}),
                 "c1": ok({"items": [{"id": "b"}], "next_cursor": "", "revision": 6})}
        f = self.fake(handler=lambda m, p, b: pages[b.get("cursor", "")])
        c = self.client(f)
        self.assertEqual([r.id for r in c.iter_resources("o", "chains:run", page_size=1)], ["a", "b"])
        self.assertEqual(f.requests[1]["body"]["consistency"], {"at_least": 5})

    def test_paths_are_escaped(self) -> None:
        f = self.fake([ok({"principal": "user:a/b", "items": []})])
        self.client(f).permissions("o/x", "user:a/b", namespace="n s")
        self.assertTrue(f.requests[0]["path"].startswith("/v1/orgs/o%2Fx/principals/user%3Aa%2Fb/permissions?"))

    def test_thread_safe(self) -> None:
        f = self.fake(handler=lambda m, p, b: ok({"allowed": b["resource"].endswith("0"), "revision": 1}))
        c = self.client(f)
        errors = []

        def worker(n: int) -> None:
            for i in range(30):
                res = f"r/{n}{i}"
                try:
                    if c.check("o", "a:b", res).allowed != res.endswith("0"):
                        errors.append(res)
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))
        ts = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(f.requests), 240)

    def test_a_connection_the_server_closed_is_not_reused(self) -> None:
        f = self.fake([ok({"revision": 1, "item": {"name": "n"}})])
        c = self.client(f, retry=gatehouse.RetryPolicy(max_attempts=1))
        c.create_namespace("o", "n")
        for conn in c._t._idle:  # the server side closes its idle connections
            conn.sock.shutdown(socket.SHUT_RD)
        f.httpd.shutdown()
        f.httpd.server_close()
        f2 = self.fake([ok({"revision": 2, "item": {"name": "m"}})])
        # Same client, a write (never retried): the dead connection is
        # dropped before use, not discovered by losing the request.
        c2 = gatehouse.Client(f2.url, retry=gatehouse.RetryPolicy(max_attempts=1))
        c2._t._idle = list(c._t._idle)
        c2._t._host, c2._t._port = "127.0.0.1", int(f2.url.rsplit(":", 1)[1])
        self.assertEqual(c2.create_namespace("o", "m").item.name, "m")
        self.assertEqual(len(f2.requests), 1)

    def test_bad_base_url(self) -> None:
        for u in ["", "ftp://x", "http://", "127.0.0.1:8080"]:
            with self.subTest(u), self.assertRaises(ValueError):
                gatehouse.Client(u)

    def test_secrets_never_printed(self) -> None:
        c = gatehouse.Client("http://127.0.0.1:1", token=TOKEN)
        self.assertNotIn(TOKEN, repr(c))
        self.assertNotIn("s3cret", repr(gatehouse.Released(name="k", value="s3cret")))
        self.assertNotIn("gtr_s3cret", repr(gatehouse.RunGrant(token="gtr_s3cret")))


if __name__ == "__main__":
    unittest.main()
