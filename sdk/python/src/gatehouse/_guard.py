"""Guards: Gatehouse decisions around agent tool calls and web routes.

- :func:`require` / :meth:`Guard.require` — a decorator for any callable
  (sync or async; LangChain, CrewAI or LangGraph tools wrap the decorated
  function without this package importing them) and, the same object, a
  FastAPI-style dependency (``Depends(guard.require("kb:read"))``) written
  against Starlette's request interface by duck typing.
- :class:`ASGIMiddleware` and :class:`WSGIMiddleware` — answer 401 / 403
  (configurable: Letta documents 401 for both) with problem+json before
  the app runs.

Fail closed: a guard runs the wrapped code only on a decoded allow. A deny
raises :class:`Denied`; an approval_required answer raises
:class:`ApprovalRequired` carrying the approval; no decision (server down,
timeout, bad credential of the guard itself) raises the client's error —
and the middleware answers 503 — never a pass-through.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple, Union

from ._client import Client
from ._errors import APIError, ApprovalRequired, Denied, GatehouseError, Unauthenticated
from ._types import Decision

__all__ = ["Guard", "Rule", "require", "configure", "acting_as", "ASGIMiddleware", "WSGIMiddleware"]

# (principal, on_behalf_of) of the code running now (acting_as).
_actor: contextvars.ContextVar[Tuple[str, str]] = contextvars.ContextVar("gatehouse_actor", default=("", ""))


@contextlib.contextmanager
def acting_as(principal: str = "", *, on_behalf_of: str = "") -> Iterator[None]:
    """Run the block as ``principal`` ("agent:Triage"), acting for
    ``on_behalf_of`` ("user:carol"): guarded calls inside it are decided
    for them (the intersection of both, DESIGN §1.1 item 5). Context-local:
    safe across threads and asyncio tasks."""
    tok = _actor.set((principal, on_behalf_of))
    try:
        yield
    finally:
        _actor.reset(tok)


Template = Union[str, Callable[..., str], None]


def _render(t: Template, values: Dict[str, Any]) -> str:
    """A template "tools/{name}" filled from values, or a callable's
    answer; "" for None."""
    if t is None:
        return ""
    if callable(t):
        return str(t(**values))
    try:
        return t.format_map(values) if "{" in t else t
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"gatehouse: cannot fill {t!r}: {e}") from e


def _jsonable(v: Any) -> Any:
    try:
        json.dumps(v)
        return v
    except (TypeError, ValueError):
        return repr(v)


class Guard:
    """Decides guarded calls with ``client`` in ``org``.

    ``principal`` and ``on_behalf_of`` default to the :func:`acting_as`
    block, else to the client's own credential (an agent's key asks about
    itself). ``explain_denials`` attaches the explanation to every
    :class:`Denied` (one more request per deny). ``approval_wait``, opt-in,
    is called with the approval of an approval_required answer and returns
    whether it was granted; ``approval_timeout`` (seconds), also opt-in,
    waits with :meth:`Client.wait_for_approval` instead. Once granted the
    same question is asked once more presenting the approval's id, and the
    server lets the granted approval through once.
    """

    def __init__(self, client: Client, org: str, *, namespace: str = "", principal: str = "",
                 on_behalf_of: str = "", explain_denials: bool = False,
                 approval_wait: Optional[Callable[[Dict[str, Any]], bool]] = None,
                 approval_timeout: Optional[float] = None) -> None:
        if not isinstance(client, Client):
            raise TypeError("gatehouse.Guard: client must be a gatehouse.Client")
        if not org:
            raise ValueError("gatehouse.Guard: org is required")
        self.client, self.org, self.namespace = client, org, namespace
        self.principal, self.on_behalf_of = principal, on_behalf_of
        self.explain_denials, self.approval_wait = explain_denials, approval_wait
        if approval_wait is None and approval_timeout is not None:
            self.approval_wait = lambda a: self._wait_granted(a, approval_timeout)

    def _wait_granted(self, approval: Dict[str, Any], timeout: float) -> bool:
        id = approval.get("id")
        if not isinstance(id, str) or not id:
            return False
        return self.client.wait_for_approval(self.org, id, timeout=timeout).status == "granted"

    def check(self, permission: str, resource: str = "", *, namespace: str = "", principal: str = "",
              on_behalf_of: str = "", context: Optional[Dict[str, Any]] = None,
              client: Optional[Client] = None, as_caller: bool = False,
              arguments: Any = None) -> Decision:
        """Decide now; return the allow, raise :class:`Denied` /
        :class:`ApprovalRequired` otherwise (or the client's error when no
        decision was made). ``client`` (another credential) with
        ``as_caller`` asks about that credential's own principal, whatever
        the guard or :func:`acting_as` name. ``arguments`` (a guarded
        call's) bind an approval to exactly this call: other arguments are
        another question."""
        if as_caller:
            principal, on_behalf_of = "", ""
        else:
            ap, ab = _actor.get()
            principal = principal or ap or self.principal
            on_behalf_of = on_behalf_of or ab or self.on_behalf_of
        namespace = namespace or self.namespace
        c = client or self.client
        bound: Dict[str, Any] = {} if arguments is None else {"arguments": arguments}
        d = c.check(self.org, permission, resource, namespace=namespace, principal=principal,
                    context=context, on_behalf_of=on_behalf_of, **bound)
        if d.allowed is True and not d.approval_required:
            return d
        if d.approval_required:
            approval = d.approval
            if self.approval_wait is not None and approval is not None and self.approval_wait(approval):
                d2 = c.check(self.org, permission, resource, namespace=namespace, principal=principal,
                             context=context, on_behalf_of=on_behalf_of,
                             approval_id=str(approval.get("id") or ""), **bound)
                if d2.allowed is True and not d2.approval_required:
                    return d2
            raise ApprovalRequired(permission, resource, namespace, d, approval)
        explanation = None
        if self.explain_denials:
            try:
                explanation = c.explain(self.org, permission, resource, namespace=namespace, principal=principal,
                                        context=context, on_behalf_of=on_behalf_of)
            except GatehouseError:
                explanation = None  # the deny stands either way
        raise Denied(permission, resource, namespace, d, explanation)

    def require(self, permission: str, resource: Template = None, *, namespace: Template = None,
                principal: str = "", on_behalf_of: str = "",
                context: Optional[Callable[..., Dict[str, Any]]] = None) -> "Requirement":
        """A requirement: use it as a decorator of a tool function, or as a
        FastAPI dependency.

        ``resource`` and ``namespace`` are strings, templates filled from
        the call's arguments ("tools/{name}") or, for a dependency, from
        the request's path parameters; or callables taking the same.
        As a decorator the call's arguments go to the decision as
        ``context.input`` (DESIGN: tools:call decides with the arguments in
        context.input); ``context`` replaces that with its own answer."""
        return Requirement(self, permission, resource, namespace, principal, on_behalf_of, context)


class Requirement:
    """What :meth:`Guard.require` returns: a decorator and a dependency."""

    def __init__(self, guard: Optional[Guard], permission: str, resource: Template, namespace: Template,
                 principal: str, on_behalf_of: str, context: Optional[Callable[..., Dict[str, Any]]]) -> None:
        self._guard, self.permission = guard, permission
        self.resource, self.namespace = resource, namespace
        self.principal, self.on_behalf_of, self.context = principal, on_behalf_of, context
        self.__signature__ = _dependency_signature()

    @property
    def guard(self) -> Guard:
        g = self._guard or _default_guard
        if g is None:
            raise GatehouseError("gatehouse.require: no guard: call gatehouse.configure(client, org=...) first "
                                 "or use Guard(...).require")
        return g

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # FastAPI calls a dependency with keyword arguments (request=...);
        # a decorator gets the function positionally.
        if "request" in kwargs and not args:
            return self._depend(kwargs["request"])
        if len(args) != 1 or kwargs:
            raise TypeError("gatehouse: a requirement decorates one function or takes one request")
        target = args[0]
        if callable(target) and not hasattr(target, "headers"):
            return self._wrap(target)
        return self._depend(target)

    # --- decorator

    def _decide_call(self, fn: Callable[..., Any], sig: Optional[inspect.Signature], args: tuple,
                     kwargs: Dict[str, Any]) -> Decision:
        values: Dict[str, Any] = {}
        if sig is not None:
            try:
                b = sig.bind(*args, **kwargs)
                b.apply_defaults()
                values = dict(b.arguments)
            except TypeError:
                values = dict(kwargs)
        values.pop("self", None)
        res = _render(self.resource, values)
        ns = _render(self.namespace, values)
        args_json = {k: _jsonable(v) for k, v in values.items()}
        ctx = self.context(**values) if self.context else {"input": args_json}
        return self.guard.check(self.permission, res, namespace=ns, principal=self.principal,
                                on_behalf_of=self.on_behalf_of, context=ctx, arguments=args_json)

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        try:
            sig: Optional[inspect.Signature] = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                ctx = contextvars.copy_context()
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: ctx.run(self._decide_call, fn, sig, args, kwargs))
                return await fn(*args, **kwargs)
            awrapper.__gatehouse_requirement__ = self  # type: ignore[attr-defined]
            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._decide_call(fn, sig, args, kwargs)
            return fn(*args, **kwargs)
        wrapper.__gatehouse_requirement__ = self  # type: ignore[attr-defined]
        return wrapper

    # --- dependency (Starlette's Request by duck typing)

    def _depend(self, request: Any) -> Decision:
        """Decide for a Starlette-like request (``.headers``,
        ``.path_params``, ``.method``, ``.url.path``): the caller is the
        request's bearer token unless the guard names a principal. Raises
        Starlette's HTTPException when Starlette is importable (FastAPI
        then answers with the status), else :class:`Denied` /
        :class:`Unauthenticated`."""
        params = dict(getattr(request, "path_params", {}) or {})
        res = _render(self.resource, params) if not callable(self.resource) else str(self.resource(request))
        ns = _render(self.namespace, params) if not callable(self.namespace) else str(self.namespace(request))
        g = self.guard
        client = None
        if not (self.principal or _actor.get()[0] or g.principal):
            token = _bearer(_header(request.headers, "authorization"))
            if not token:
                raise _http_error(401, "unauthenticated", "an Authorization: Bearer <token> header is required")
            client = g.client.with_token(token)
        try:
            return g.check(self.permission, res, namespace=ns, principal=self.principal,
                           on_behalf_of=self.on_behalf_of, client=client, as_caller=client is not None)
        except ApprovalRequired as e:
            raise _http_error(403, "approval-required", str(e), missing_permission=self.permission,
                              approval=e.approval) from e
        except Denied as e:
            raise _http_error(403, "forbidden", _denied_detail(e), missing_permission=self.permission) from e
        except Unauthenticated as e:
            raise _http_error(401, "unauthenticated", "missing, invalid or expired credentials") from e
        except APIError as e:
            if client is not None and e.status in (403, 404):
                raise _http_error(403, "forbidden", "not a member of the org", missing_permission=self.permission) from e
            raise _http_error(503, "unavailable", "no decision could be made") from e
        except GatehouseError as e:
            raise _http_error(503, "unavailable", "no decision could be made") from e


def _denied_detail(e: Denied) -> str:
    """What a web caller is told of a deny: the question and the reason,
    never the explanation (it names bindings the caller may not see)."""
    what = e.permission + (f" on {e.resource}" if e.resource else "") + f" in {e.namespace or 'default'}"
    return f"denied {what}" + (f" ({e.reason})" if e.reason else "")


def _dependency_signature() -> inspect.Signature:
    """``(request: starlette.requests.Request)`` when Starlette is installed
    (so FastAPI injects the request), else ``(request)``."""
    ann: Any = inspect.Parameter.empty
    try:  # pragma: no cover - Starlette is not installed in this repository's CI
        from starlette.requests import Request  # type: ignore[import-not-found]
        ann = Request
    except ImportError:
        pass
    return inspect.Signature([inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ann)])


def _http_error(status: int, kind: str, detail: str, **extra: Any) -> Exception:
    problem = {"type": "https://gatehouse.dev/problems/" + kind, "title": _TITLES.get(status, ""),
               "status": status, "detail": detail, **extra}
    try:  # pragma: no cover - Starlette is not installed in this repository's CI
        from starlette.exceptions import HTTPException  # type: ignore[import-not-found]
        return HTTPException(status_code=status, detail=problem)
    except ImportError:
        return _GuardHTTPError(status, problem)


class _GuardHTTPError(GatehouseError):
    """A guard's refusal of a web request, with its status and problem."""

    def __init__(self, status: int, problem: Dict[str, Any]) -> None:
        self.status_code, self.problem = status, problem
        super().__init__(f"gatehouse: {status} {problem.get('detail', '')}")


_TITLES = {401: "Authentication required", 403: "Permission denied", 503: "Service unavailable"}


def _header(headers: Any, name: str) -> str:
    if headers is None:
        return ""
    if hasattr(headers, "get"):
        v = headers.get(name) or headers.get(name.title())
        return v if isinstance(v, str) else ""
    return ""


def _bearer(h: str) -> str:
    scheme, _, tok = h.strip().partition(" ")
    return tok.strip() if scheme.lower() == "bearer" else ""


_default_guard: Optional[Guard] = None


def configure(client: Client, org: str, **kwargs: Any) -> Guard:
    """Set the guard :func:`require` uses (``Guard(client, org, **kwargs)``)
    and return it."""
    global _default_guard
    _default_guard = Guard(client, org, **kwargs)
    return _default_guard


def require(permission: str, resource: Template = None, *, namespace: Template = None, principal: str = "",
            on_behalf_of: str = "", context: Optional[Callable[..., Dict[str, Any]]] = None,
            guard: Optional[Guard] = None) -> Requirement:
    """``@gatehouse.require("tools:call", resource="tools/{name}")``: the
    decorated function runs only when the configured guard
    (:func:`configure`, or ``guard=``) allows it; see
    :meth:`Guard.require`."""
    return Requirement(guard, permission, resource, namespace, principal, on_behalf_of, context)


# --- middleware


@dataclass
class Rule:
    """Protects requests whose method and path match: ``path`` is a
    pattern with ``{name}`` segments ("/chains/{ns}/{id}/run") and
    ``resource`` / ``namespace`` templates over those names
    ("chains/{id}", "{ns}"). ``method`` "*" matches any."""

    method: str
    path: str
    permission: str
    resource: str = ""
    namespace: str = ""

    def __post_init__(self) -> None:
        parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", self.path)
        rx = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
        self._rx = re.compile("^" + rx + "$")

    def match(self, method: str, path: str) -> Optional[Dict[str, str]]:
        """The path parameters when the rule applies, else None."""
        if self.method != "*" and self.method.upper() != method.upper():
            return None
        m = self._rx.match(path)
        return m.groupdict() if m else None


class _Middleware:
    def __init__(self, guard: Guard, rules: List[Rule], *, principal_from: Optional[Callable[[Dict[str, Any]], str]],
                 denied_status: int, unauthenticated_status: int, unmatched: str) -> None:
        if unmatched not in ("pass", "deny"):
            raise ValueError("gatehouse: unmatched must be 'pass' or 'deny'")
        self.guard, self.rules, self.principal_from = guard, list(rules), principal_from
        self.denied_status, self.unauthenticated_status, self.unmatched = denied_status, unauthenticated_status, unmatched

    def decide(self, method: str, path: str, authorization: str, environ: Dict[str, Any]
               ) -> Tuple[int, Optional[Dict[str, Any]], Optional[Decision]]:
        """(0, None, decision) to let the request through, else the status
        and problem to answer."""
        for rule in self.rules:
            params = rule.match(method, path)
            if params is not None:
                break
        else:
            if self.unmatched == "pass":
                return 0, None, None
            return self._refuse(self.denied_status, "forbidden", "no rule allows this route")
        try:
            res, ns = _render(rule.resource or None, params), _render(rule.namespace or None, params)
        except ValueError:
            return self._refuse(503, "unavailable", "guard misconfigured")
        client, principal = None, ""
        if self.principal_from is not None:
            principal = self.principal_from(environ) or ""
            if not principal:
                return self._refuse(self.unauthenticated_status, "unauthenticated", "no caller")
        else:
            token = _bearer(authorization)
            if not token:
                return self._refuse(self.unauthenticated_status, "unauthenticated",
                                    "an Authorization: Bearer <token> header is required")
            client = self.guard.client.with_token(token)
        try:
            d = self.guard.check(rule.permission, res, namespace=ns, principal=principal, client=client,
                                 as_caller=client is not None)
            return 0, None, d
        except ApprovalRequired as e:
            return self._refuse(self.denied_status, "approval-required", str(e), missing_permission=rule.permission,
                                approval=e.approval)
        except Denied as e:
            return self._refuse(self.denied_status, "forbidden", _denied_detail(e), missing_permission=rule.permission)
        except Unauthenticated:
            if client is not None:
                return self._refuse(self.unauthenticated_status, "unauthenticated", "missing, invalid or expired credentials")
            return self._refuse(503, "unavailable", "the guard's credential was refused")
        except APIError as e:
            if client is not None and e.status in (403, 404):  # not a member of the org
                return self._refuse(self.denied_status, "forbidden", "denied", missing_permission=rule.permission)
            if e.status == 400:
                return self._refuse(self.denied_status, "forbidden", "malformed resource")
            return self._refuse(503, "unavailable", "no decision could be made")
        except GatehouseError:
            return self._refuse(503, "unavailable", "no decision could be made")

    @staticmethod
    def _refuse(status: int, kind: str, detail: str, **extra: Any) -> Tuple[int, Dict[str, Any], None]:
        return status, {"type": "https://gatehouse.dev/problems/" + kind, "title": _TITLES.get(status, "Refused"),
                        "status": status, "detail": detail, **extra}, None


def _problem_bytes(problem: Dict[str, Any]) -> bytes:
    return json.dumps(problem, separators=(",", ":")).encode()


class ASGIMiddleware:
    """ASGI middleware: requests matching a :class:`Rule` reach ``app``
    only on an allow; others pass through (``unmatched="deny"`` refuses
    them). The caller is the request's bearer token (a Gatehouse key or
    session, checked about itself), or ``principal_from(scope)`` when the
    host authenticates (then the guard's client needs bindings:read).
    Refusals are problem+json: ``unauthenticated_status`` (401) without a
    caller, ``denied_status`` (403; Letta uses 401) on a deny, 503 when no
    decision could be made. The allow is in ``scope["gatehouse.decision"]``.
    Decisions run in a worker thread, never on the event loop."""

    def __init__(self, app: Callable[..., Awaitable[None]], guard: Guard, rules: List[Rule], *,
                 principal_from: Optional[Callable[[Dict[str, Any]], str]] = None, denied_status: int = 403,
                 unauthenticated_status: int = 401, unmatched: str = "pass") -> None:
        self.app = app
        self._m = _Middleware(guard, rules, principal_from=principal_from, denied_status=denied_status,
                              unauthenticated_status=unauthenticated_status, unmatched=unmatched)

    async def __call__(self, scope: Dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        auth = ""
        for k, v in scope.get("headers") or []:
            if k.lower() == b"authorization":
                auth = v.decode("latin-1")
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        status, problem, decision = await loop.run_in_executor(
            None, lambda: ctx.run(self._m.decide, scope.get("method", "GET"), scope.get("path", "/"), auth, scope))
        if status == 0:
            if decision is not None:
                scope = dict(scope)
                scope["gatehouse.decision"] = decision
            await self.app(scope, receive, send)
            return
        body = _problem_bytes(problem or {})
        headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="gatehouse"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class WSGIMiddleware:
    """WSGI middleware with :class:`ASGIMiddleware`'s rules and answers;
    ``principal_from`` receives the WSGI environ. The allow is in
    ``environ["gatehouse.decision"]``."""

    def __init__(self, app: Callable[..., Any], guard: Guard, rules: List[Rule], *,
                 principal_from: Optional[Callable[[Dict[str, Any]], str]] = None, denied_status: int = 403,
                 unauthenticated_status: int = 401, unmatched: str = "pass") -> None:
        self.app = app
        self._m = _Middleware(guard, rules, principal_from=principal_from, denied_status=denied_status,
                              unauthenticated_status=unauthenticated_status, unmatched=unmatched)

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        status, problem, decision = self._m.decide(environ.get("REQUEST_METHOD", "GET"),
                                                   environ.get("PATH_INFO", "/") or "/",
                                                   environ.get("HTTP_AUTHORIZATION", ""), environ)
        if status == 0:
            if decision is not None:
                environ["gatehouse.decision"] = decision
            return self.app(environ, start_response)
        body = _problem_bytes(problem or {})
        headers = [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="gatehouse"'))
        start_response(f"{status} {_REASONS.get(status, 'Refused')}", headers)
        return [body]


_REASONS = {401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}
