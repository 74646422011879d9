"""Guards: the decorator, the FastAPI-style dependency and the ASGI and
WSGI middleware, against the real server (and a scripted one for what the
server does not answer yet, approvals)."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import socket
import unittest
import uuid
from typing import Any, Dict, List, Optional

from fake import Fake, ok
from gh_server import server

import gatehouse
from gatehouse import _guard

RUN = gatehouse.GuardRule("POST", "/chains/{ns}/{id}/run", "chains:run", resource="chains/{id}", namespace="{ns}")


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = server()
        cls.root = gatehouse.Client(cls.srv.url)
        cls.alice = cls.root.with_token(cls.srv.keys["ALICE_KEY"])

    def key(self, name: str) -> str:
        return self.srv.keys[name]


class DecoratorTest(Base):
    def test_tool_calls(self) -> None:
        guard = gatehouse.Guard(self.alice, "demo", namespace="prod", explain_denials=True)
        ran: List[str] = []

        @guard.require("chains:run", resource="chains/{chain}")
        def run_chain(chain: str, note: str = "") -> str:
            """Runs a chain."""
            ran.append(chain)
            return "ran " + chain

        self.assertEqual(run_chain.__doc__, "Runs a chain.")
        self.assertEqual(run_chain.__name__, "run_chain")
        with gatehouse.acting_as("agent:Triage", on_behalf_of="user:carol"):
            self.assertEqual(run_chain("escalation-triage"), "ran escalation-triage")
            with self.assertRaises(gatehouse.Denied) as cm:
                run_chain(chain="database-migration")
        self.assertEqual(ran, ["escalation-triage"])
        e = cm.exception
        self.assertEqual((e.permission, e.resource, e.namespace, e.reason),
                         ("chains:run", "chains/database-migration", "prod", "no_grant"))
        self.assertFalse(e.decision.allowed)
        self.assertTrue(e.explanation.summary, "explain_denials attaches the explanation")
        self.assertIn(e.explanation.summary, str(e))
        # Outside acting_as the check is about the guard's own credential (alice, the owner).
        self.assertEqual(run_chain("database-migration"), "ran database-migration")

    def test_async_tool(self) -> None:
        guard = gatehouse.Guard(self.root.with_token(self.key("CAROL_KEY")), "demo", namespace="prod")

        @guard.require("chains:run", resource=lambda chain: "chains/" + chain)
        async def run_chain(chain: str) -> str:
            return chain

        self.assertEqual(asyncio.run(run_chain("escalation-triage")), "escalation-triage")
        with self.assertRaises(gatehouse.Denied):
            asyncio.run(run_chain("database-migration"))

    def test_module_level_require(self) -> None:
        self.addCleanup(setattr, _guard, "_default_guard", None)
        _guard._default_guard = None

        @gatehouse.require("chains:read", resource="chains/{id}", namespace="prod")
        def read(id: str) -> str:
            return id

        with self.assertRaises(gatehouse.GatehouseError):
            read("escalation-triage")  # no guard configured: refused, not run
        gatehouse.configure(self.root.with_token(self.key("CAROL_KEY")), org="demo")
        self.assertEqual(read("escalation-triage"), "escalation-triage")

    def test_arguments_are_the_context_input(self) -> None:
        f = Fake([ok({"allowed": True, "revision": 1})])
        self.addCleanup(f.close)
        guard = gatehouse.Guard(gatehouse.Client(f.url, token="t"), "o")

        class Obj:
            pass

        @guard.require("tools:call", resource="tools/search.{engine}")
        def search(engine: str, query: str, limit: int = 5, raw: Any = None) -> None:
            pass

        search("web", "cats", raw=Obj())
        body = f.requests[0]["body"]
        self.assertEqual(body["resource"], "tools/search.web")
        self.assertEqual(body["context"]["input"]["query"], "cats")
        self.assertEqual(body["context"]["input"]["limit"], 5)
        self.assertIsInstance(body["context"]["input"]["raw"], str)  # not JSON: its repr

    def test_fails_closed_without_a_decision(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        c = gatehouse.Client(f"http://127.0.0.1:{port}", token="t",
                             retry=gatehouse.RetryPolicy(max_attempts=1))
        ran = []
        guard = gatehouse.Guard(c, "o")

        @guard.require("tools:call")
        def tool() -> None:
            ran.append(1)

        with self.assertRaises(gatehouse.TransportError):
            tool()
        self.assertEqual(ran, [])

    def test_approval_required(self) -> None:
        pending = {"allowed": False, "revision": 3, "result": "approval_required",
                   "approval": {"id": "ap_1", "status": "pending"}}
        cases = [
            ("raises with the approval", [ok(pending)], None, gatehouse.ApprovalRequired, 1),
            ("an allow that also says approval_required is not an allow",
             [ok(dict(pending, allowed=True))], None, gatehouse.ApprovalRequired, 1),
            ("the opt-in wait asks again once granted",
             [ok(pending), ok({"allowed": True, "revision": 4})], lambda a: a["id"] == "ap_1", None, 2),
            ("a wait that is refused raises", [ok(pending)], lambda a: False, gatehouse.ApprovalRequired, 1),
        ]
        for name, script, wait, want, requests in cases:
            with self.subTest(name):
                f = Fake(script)
                self.addCleanup(f.close)
                guard = gatehouse.Guard(gatehouse.Client(f.url, token="t"), "o", approval_wait=wait)
                ran = []

                @guard.require("deploys:run", resource="deploys/x")
                def deploy() -> None:
                    ran.append(1)

                if want is None:
                    deploy()
                    self.assertEqual(ran, [1])
                else:
                    with self.assertRaises(want) as cm:
                        deploy()
                    self.assertEqual(cm.exception.approval["id"], "ap_1")
                    self.assertIsInstance(cm.exception, gatehouse.Denied)
                    self.assertEqual(ran, [])
                self.assertEqual(len(f.requests), requests)
                if requests == 2:  # the second ask presents the granted approval
                    self.assertEqual(f.requests[1]["body"].get("approval_id"), "ap_1")


class FakeRequest:
    """Starlette's request interface, as much as the dependency reads."""

    def __init__(self, headers: Dict[str, str], path_params: Dict[str, str]) -> None:
        self.headers, self.path_params, self.method = headers, path_params, "POST"


class DependencyTest(Base):
    def test_fastapi_style_dependency(self) -> None:
        guard = gatehouse.Guard(self.root, "demo")
        dep = guard.require("chains:run", resource="chains/{id}", namespace="{ns}")
        self.assertEqual(list(inspect.signature(dep).parameters), ["request"])
        params = {"ns": "prod", "id": "database-migration"}
        d = dep(FakeRequest({"authorization": "Bearer " + self.key("BOB_KEY")}, params))
        self.assertTrue(d.allowed)
        # FastAPI passes the request by keyword.
        d = dep(request=FakeRequest({"authorization": "Bearer " + self.key("BOB_KEY")}, params))
        self.assertTrue(d.allowed)
        for name, headers, status in [
            ("denied", {"authorization": "Bearer " + self.key("CAROL_KEY")}, 403),
            ("no credential", {}, 401),
            ("an unknown key", {"authorization": "Bearer gth_0000000000000000_" + "x" * 52}, 401),
        ]:
            with self.subTest(name):
                with self.assertRaises(Exception) as cm:
                    dep(FakeRequest(headers, params))
                self.assertEqual(getattr(cm.exception, "status_code", None), status)


def asgi_call(app: Any, method: str, path: str, token: Optional[str] = None) -> Dict[str, Any]:
    headers = [(b"host", b"x")] + ([(b"authorization", b"Bearer " + token.encode())] if token else [])
    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    out: Dict[str, Any] = {"body": b""}

    async def receive() -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: Dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            out["status"] = msg["status"]
            out["headers"] = {k.decode(): v.decode() for k, v in msg["headers"]}
        else:
            out["body"] += msg.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return out


async def hello_app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
    """A minimal ASGI app answering who was allowed."""
    d = scope.get("gatehouse.decision")
    body = json.dumps({"path": scope["path"], "allowed": bool(d and d.allowed)}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def hello_wsgi(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
    d = environ.get("gatehouse.decision")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"allowed": bool(d and d.allowed)}).encode()]


def wsgi_call(app: Any, method: str, path: str, token: Optional[str] = None) -> Dict[str, Any]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(b"")}
    if token:
        environ["HTTP_AUTHORIZATION"] = "Bearer " + token
    out: Dict[str, Any] = {}

    def start_response(status: str, headers: List[Any]) -> None:
        out["status"] = int(status.split()[0])
        out["headers"] = {k.lower(): v for k, v in headers}

    out["body"] = b"".join(app(environ, start_response))
    return out


class MiddlewareTest(Base):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.other_org = "mw-" + uuid.uuid4().hex[:8]
        cls.alice.create_org(cls.other_org)  # carol and bob are not members

    def cases(self) -> List[Any]:
        k = self.key
        return [
            # (name, options, method, path, token, status, problem kind)
            ("an allowed caller reaches the app", {}, "POST", "/chains/prod/database-migration/run", k("BOB_KEY"), 200, None),
            ("a denied caller gets 403", {}, "POST", "/chains/prod/database-migration/run", k("CAROL_KEY"), 403, "forbidden"),
            ("no credential gets 401", {}, "POST", "/chains/prod/database-migration/run", None, 401, "unauthenticated"),
            ("an unknown key gets 401", {}, "POST", "/chains/prod/database-migration/run",
             "gth_0000000000000000_" + "x" * 52, 401, "unauthenticated"),
            ("the denied status is configurable (Letta: 401)", {"denied_status": 401}, "POST",
             "/chains/prod/database-migration/run", k("CAROL_KEY"), 401, "forbidden"),
            ("an unmatched route passes", {}, "GET", "/health", None, 200, None),
            ("unmatched='deny' refuses it", {"unmatched": "deny"}, "GET", "/health", None, 403, "forbidden"),
            ("a non-member of the org is denied, not told about it", {"org": self.other_org}, "POST",
             "/chains/default/x/run", k("CAROL_KEY"), 403, "forbidden"),
            ("no decision is a 503", {"down": True}, "POST", "/chains/prod/x/run", k("BOB_KEY"), 503, "unavailable"),
            ("host-resolved principal", {"principal_from": lambda env: "user:carol"}, "POST",
             "/chains/prod/escalation-triage/run", None, 200, None),
            ("host-resolved principal denied", {"principal_from": lambda env: "user:carol"}, "POST",
             "/chains/prod/database-migration/run", None, 403, "forbidden"),
            ("host found no principal", {"principal_from": lambda env: ""}, "POST",
             "/chains/prod/database-migration/run", None, 401, "unauthenticated"),
            # In token mode the bearer is asked about itself, never about
            # a principal the guard names (alice may; carol may not).
            ("token mode asks about the token's own principal", {"guard_principal": "user:carol"}, "POST",
             "/chains/prod/database-migration/run", k("ALICE_KEY"), 200, None),
        ]

    def guard(self, opts: Dict[str, Any]) -> gatehouse.Guard:
        if opts.pop("down", False):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            c = gatehouse.Client(f"http://127.0.0.1:{port}", retry=gatehouse.RetryPolicy(max_attempts=1))
        else:
            c = self.root if "principal_from" not in opts else self.alice
        return gatehouse.Guard(c, opts.pop("org", "demo"), principal=opts.pop("guard_principal", ""))

    def test_explanations_stay_inside(self) -> None:
        """A web caller is told what was refused and why in one word, not
        the explanation (it names bindings the caller may not see)."""
        guard = gatehouse.Guard(self.alice, "demo", explain_denials=True)
        app = gatehouse.ASGIMiddleware(hello_app, guard, [RUN], principal_from=lambda scope: "user:carol")
        res = asgi_call(app, "POST", "/chains/prod/database-migration/run")
        self.assertEqual(res["status"], 403)
        p = json.loads(res["body"])
        self.assertEqual(p["detail"], "denied chains:run on chains/database-migration in prod (no_grant)")
        self.assertNotIn("binding", res["body"].decode())

    def test_asgi(self) -> None:
        self.run_cases(lambda g, o: gatehouse.ASGIMiddleware(hello_app, g, [RUN], **o), asgi_call)

    def test_wsgi(self) -> None:
        self.run_cases(lambda g, o: gatehouse.WSGIMiddleware(hello_wsgi, g, [RUN], **o), wsgi_call)

    def run_cases(self, make: Any, call: Any) -> None:
        for name, opts, method, path, token, status, kind in self.cases():
            with self.subTest(name):
                opts = dict(opts)
                app = make(self.guard(opts), opts)
                res = call(app, method, path, token)
                self.assertEqual(res["status"], status, res["body"])
                if kind is None:
                    if path.startswith("/chains"):
                        self.assertTrue(json.loads(res["body"])["allowed"], "the app sees the decision")
                    continue
                self.assertEqual(res["headers"]["content-type"], "application/problem+json")
                p = json.loads(res["body"])
                self.assertEqual(p["type"], "https://gatehouse.dev/problems/" + kind)
                self.assertEqual(p["status"], status)
                if status == 401:
                    self.assertIn("www-authenticate", res["headers"])
                if kind == "forbidden" and path.startswith("/chains"):
                    self.assertEqual(p["missing_permission"], "chains:run")


if __name__ == "__main__":
    unittest.main()
