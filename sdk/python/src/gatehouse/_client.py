"""The Gatehouse client: one object, thread-safe, for every API call."""

from __future__ import annotations

import json
import datetime
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Type, TypeVar, Union

from . import _errors
from ._transport import RetryPolicy, Transport
from ._types import (Accepted, Agent, AgentToken, OrgLifecycle, Reach, Approval, Run, RunStarted, APIKey, KeyCreated, Secret, Batch, Binding, Decision, Explanation, Health, Invitation,
                     InvitationCreated, Me, Member, Namespace, Org, Page, Permissions, Policy, Release, Resource,
                     ResourcePage, ResourceRef, Role, RunGrant, Scope, Service, Session, Subjects, Team, Validation,
                     Wire, Written, _encode, Revision, PolicyRevision, WriteWarning, Diagnostic)

__all__ = ["Client", "CheckItem", "MAX_BATCH"]

T = TypeVar("T")

#: The most checks the server takes in one batch request; check_batch
#: sends one request per MAX_BATCH checks.
MAX_BATCH = 1000

_UNSET: Any = object()


@dataclass
class CheckItem(Wire):
    """One question of a batch: may ``principal`` (default: the caller) do
    ``action`` ("chains:run") on ``resource`` ("chains/<id>", or "" for the
    type) in ``namespace`` ("" = "default")?"""

    __schema__ = "BatchItem"
    action: str = ""
    resource: str = ""
    namespace: str = ""
    principal: str = ""
    context: Optional[Dict[str, Any]] = None
    on_behalf_of: str = ""
    #: The call's arguments (any JSON; None: none): an approval is bound to
    #: their canonical SHA-256, as for :meth:`Client.check`.
    arguments: Any = None
    #: Presents a granted approval of exactly this question (allowed once).
    approval_id: str = ""
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False, metadata={"wire": False})


class _Watermark:
    """The highest revision this client family's writes returned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def note(self, rev: Any) -> None:
        if isinstance(rev, int) and not isinstance(rev, bool) and rev > 0:
            with self._lock:
                if rev > self.value:
                    self.value = rev


def _q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def _org(org: str) -> str:
    return "/v1/orgs/" + _q(org)


def _res(org: str, namespace: str, type: str, id: str) -> str:
    return f"{_org(org)}/namespaces/{_q(namespace)}/resources/{_q(type)}/{_q(id)}"


def _body(**kw: Any) -> Dict[str, Any]:
    """A request body without its unset (None or "") members."""
    return {k: _encode(v) for k, v in kw.items() if v is not None and v != ""}


#: An instant: an RFC 3339 string as the server writes them, or an aware
#: datetime (a naive one is refused: its zone would be a guess).
Instant = Union[str, datetime.datetime, None]


def _instant(name: str, v: Instant) -> Optional[str]:
    """The wire form of an instant argument (None or "": unset)."""
    if v is None or v == "":
        return None
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError(f"gatehouse: {name} needs a timezone (a naive datetime is ambiguous)")
        return v.isoformat()
    if isinstance(v, str):
        return v
    raise TypeError(f"gatehouse: {name} takes an RFC 3339 string or a datetime, not {type(v).__name__}")


def _point(body: Dict[str, Any], at_time: Instant, at_revision: Optional[int]) -> Dict[str, Any]:
    """Adds a point in time (at_time or at_revision) to a decision body."""
    t = _instant("at_time", at_time)
    if t is not None:
        body["at_time"] = t
    if at_revision:
        body["at_revision"] = at_revision
    return body


def _lifetime(body: Dict[str, Any], expires_at: Instant, expires_in: str) -> Dict[str, Any]:
    """Adds a grant's lifetime (expires_at or expires_in) to a body."""
    t = _instant("expires_at", expires_at)
    if t is not None:
        body["expires_at"] = t
    if expires_in:
        body["expires_in"] = expires_in
    return body


class Client:
    """A client of one Gatehouse server.

    ``Client("http://127.0.0.1:8080", token="gth_…")``. Safe to share
    between threads: connections are pooled and kept alive. Every method
    returns the decoded answer or raises: an :class:`APIError` subclass
    carrying the problem document (``Forbidden``, ``NotFound``…), or a
    :class:`TransportError`. A decision method never reports an allow it
    did not decode from a 2xx answer; a deny is a result (``allowed`` is
    False), not an exception.

    Consistency: every write's revision is remembered, and decisions ask
    for an answer at least that fresh (``at_least``), so the caller reads
    its own writes; pass ``read_your_writes=False`` to turn it off.
    """

    def __init__(self, base_url: str, token: Optional[str] = None, *, timeout: float = 30.0,
                 retry: RetryPolicy = RetryPolicy(), user_agent: str = "gatehouse-python",
                 read_your_writes: bool = True, ssl_context: Any = None) -> None:
        self._t = Transport(base_url, timeout=timeout, retry=retry, user_agent=user_agent, ssl_context=ssl_context)
        self._token = token or None
        self._mark = _Watermark()
        self._ryw = read_your_writes

    def with_token(self, token: Optional[str]) -> "Client":
        """A client sending another credential (``None``: none), sharing
        this one's connections and revision watermark."""
        c = object.__new__(Client)
        c._t, c._token, c._mark, c._ryw = self._t, token or None, self._mark, self._ryw
        return c

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return self._t.base_url

    @property
    def revision(self) -> int:
        """The highest revision a write of this client (or a client
        ``with_token`` made from it) returned; decisions are made at least
        this fresh."""
        return self._mark.value

    def close(self) -> None:
        """Close idle connections (the client stays usable)."""
        self._t.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"gatehouse.Client({self.base_url!r}, token={'set' if self._token else None})"

    # --- plumbing

    def _call(self, method: str, path: str, *, query: Optional[Dict[str, Any]] = None, body: Any = None,
              idempotent: Optional[bool] = None, public: bool = False) -> Any:
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        status, headers, data = self._t.call(method, path, query=query, body=body,
                                             token=None if public else self._token, idempotent=idempotent)
        if not 200 <= status <= 299:
            raise _problem(method, path, status, headers, data)
        try:
            return json.loads(data) if data else None
        except ValueError as e:
            raise _errors.DecodeError(f"gatehouse: {method} {path}: the answer is not JSON") from e

    def _decide(self, path: str, body: Dict[str, Any], at_least: Optional[int]) -> Any:
        rev = self._fresh(at_least)
        if rev:
            body["consistency"] = {"at_least": rev}
        return self._call("POST", path, body=body, idempotent=True)

    def _fresh(self, at_least: Optional[int]) -> int:
        return max(at_least or 0, self._mark.value if self._ryw else 0)

    def _write(self, cls: Type[Any], method: str, path: str, body: Any = None,
               query: Optional[Dict[str, Any]] = None) -> Any:
        out = self._call(method, path, body=body, query=query)
        _need(out, method, path)
        self._mark.note(out.get("revision"))
        return _decode(cls, out, method, path)

    def _written(self, item: Type[T], method: str, path: str, body: Any = None) -> "Written[T]":
        out = self._call(method, path, body=body)
        _need(out, method, path)
        self._mark.note(out.get("revision"))
        return _decode(Written, out, method, path, (item,))

    def _rev(self, method: str, path: str, body: Any = None, query: Optional[Dict[str, Any]] = None) -> Revision:
        """A write that answers ``{"revision", "warnings"?}``: its revision,
        carrying the warnings (what the write stopped)."""
        out, rev = self._revision_of(method, path, body, query)
        return Revision(rev, _decode_list(WriteWarning, out.get("warnings"), method, path))

    def _revision_of(self, method: str, path: str, body: Any, query: Optional[Dict[str, Any]]) -> Tuple[Any, int]:
        out = self._call(method, path, body=body, query=query)
        _need(out, method, path)
        rev = out.get("revision")
        if not isinstance(rev, int) or isinstance(rev, bool):
            raise _errors.DecodeError(f"gatehouse: {method} {path}: the answer has no revision")
        self._mark.note(rev)
        return out, rev

    def _get(self, cls: Type[Any], path: str, query: Optional[Dict[str, Any]] = None, args: tuple = ()) -> Any:
        out = self._call("GET", path, query=query)
        _need(out, "GET", path)
        return _decode(cls, out, "GET", path, args)

    def _page(self, item: Type[T], path: str, query: Optional[Dict[str, Any]], page_size: int,
              cursor: str) -> "Page[T]":
        q = dict(query or {})
        if page_size:
            q["page_size"] = page_size
        if cursor:
            q["cursor"] = cursor
        return self._get(Page, path, q, (item,))

    @staticmethod
    def pages(list_method: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Every item of a paginated list, fetched page by page as the
        iteration goes: ``for ns in Client.pages(c.list_namespaces, "demo")``
        (also lookup_resources)."""
        kwargs.pop("cursor", None)
        cursor = ""
        while True:
            page = list_method(*args, cursor=cursor, **kwargs)
            yield from page.items
            cursor = page.next_cursor
            if not cursor:
                return

    # --- decisions

    def check(self, org: str, action: str, resource: str = "", *, namespace: str = "", principal: str = "",
              context: Optional[Dict[str, Any]] = None, on_behalf_of: str = "",
              at_least: Optional[int] = None, arguments: Any = _UNSET, approval_id: str = "",
              at_time: Instant = None, at_revision: Optional[int] = None) -> Decision:
        """May ``principal`` (default: the caller) do ``action``
        ("chains:run") on ``resource`` ("chains/<id>"; "" asks about the
        type, as for "chains:create") in ``namespace`` ("" = "default")?

        A deny is a Decision with ``allowed`` False (``reason`` says why);
        an exception means no decision was made — never treat it as an
        allow. Asking about another principal needs bindings:read.

        ``arguments`` (any JSON) are the call's arguments an approval is
        bound to; a Decision with ``approval_required`` carries the
        ``approval`` to wait for (:meth:`wait_for_approval`). Asking again
        with ``approval_id`` of a granted approval of exactly this question
        is allowed once.

        ``at_time`` (RFC 3339 or an aware datetime) or ``at_revision`` asks
        about the past: the decision as it would have been then, rebuilt
        from the changelog. A point in the future, before the org existed
        or outside the retention window raises :class:`InvalidRequest`
        (``field`` names it)."""
        body = _point(_body(principal=principal, action=action, resource=resource, namespace=namespace,
                            context=context, on_behalf_of=on_behalf_of, approval_id=approval_id),
                      at_time, at_revision)
        if arguments is not _UNSET:
            body["arguments"] = _encode(arguments)
        path = _org(org) + "/check"
        return _decode(Decision, self._decide(path, body, at_least), "POST", path)

    def check_batch(self, org: str, checks: Iterable[Union[CheckItem, Dict[str, Any]]], *,
                    at_least: Optional[int] = None) -> Batch:
        """Many checks, answered independently and in order; one request
        per :data:`MAX_BATCH` checks. An item the server could not decide
        has its ``error`` (the problem) set and ``allowed`` False."""
        items = []
        for c in checks:
            if not isinstance(c, (CheckItem, dict)):
                raise TypeError(f"gatehouse: check_batch takes CheckItem or dict items, not {type(c).__name__}")
            items.append({k: v for k, v in (_encode(c) if isinstance(c, CheckItem) else c).items()
                          if v not in ("", None)})
        out = Batch(results=[], revision=0)
        for i in range(0, max(len(items), 1), MAX_BATCH):
            chunk = items[i:i + MAX_BATCH]
            path = _org(org) + "/checks"
            raw = self._decide(path, {"checks": chunk}, at_least)
            b = _decode(Batch, raw, "POST", path)
            if len(b.results) != len(chunk):
                raise _errors.DecodeError(f"gatehouse: POST {path}: {len(b.results)} results for {len(chunk)} checks")
            for r in b.results:
                if r.error is not None:
                    r.allowed = False
            out.results.extend(b.results)
            out.revision = max(out.revision, b.revision)
        return out

    def explain(self, org: str, action: str, resource: str = "", *, namespace: str = "", principal: str = "",
                context: Optional[Dict[str, Any]] = None, on_behalf_of: str = "",
                at_least: Optional[int] = None, at_time: Instant = None,
                at_revision: Optional[int] = None) -> Explanation:
        """A check with the reasons: the bindings, roles, patterns and
        conditions that decided it, or what came closest (an expired grant
        is a near miss "expired at …"). ``at_time`` / ``at_revision`` as
        for :meth:`check` (the summary starts "At revision N")."""
        body = _point(_body(principal=principal, action=action, resource=resource, namespace=namespace,
                            context=context, on_behalf_of=on_behalf_of), at_time, at_revision)
        path = _org(org) + "/explain"
        return _decode(Explanation, self._decide(path, body, at_least), "POST", path)

    def lookup_resources(self, org: str, action: str, *, principal: str = "", namespace: str = "",
                         context: Optional[Dict[str, Any]] = None, on_behalf_of: str = "", page_size: int = 0,
                         cursor: str = "", at_least: Optional[int] = None, at_time: Instant = None,
                         at_revision: Optional[int] = None) -> ResourcePage:
        """One page of the resources ``principal`` (default: the caller)
        may do ``action`` on ("what can Alice run?"); see
        :meth:`iter_resources` for all of them. ``at_time`` /
        ``at_revision`` as for :meth:`check` (a cursor is for the same
        point only: pass the same one with it)."""
        body = _point(_body(principal=principal, action=action, namespace=namespace, context=context,
                            on_behalf_of=on_behalf_of, page_size=page_size or None, cursor=cursor),
                      at_time, at_revision)
        path = _org(org) + "/lookup/resources"
        return _decode(ResourcePage, self._decide(path, body, at_least), "POST", path)

    def iter_resources(self, org: str, action: str, **kwargs: Any) -> Iterator[ResourceRef]:
        """Every resource :meth:`lookup_resources` finds, page by page.
        Every page is asked at the revision of the first (or fresher), so
        the walk is consistent; with ``at_time`` / ``at_revision`` every
        page is asked about that same point."""
        kwargs.pop("cursor", None)
        cursor, at_least = "", kwargs.pop("at_least", None)
        while True:
            page = self.lookup_resources(org, action, cursor=cursor, at_least=at_least, **kwargs)
            yield from page.items
            cursor, at_least = page.next_cursor, max(at_least or 0, page.revision)
            if not cursor:
                return

    def lookup_subjects(self, org: str, action: str, resource: str = "", *, namespace: str = "",
                        context: Optional[Dict[str, Any]] = None, at_least: Optional[int] = None,
                        at_time: Instant = None, at_revision: Optional[int] = None) -> Subjects:
        """Who may do ``action`` on ``resource`` ("who can run this
        chain?"), teams expanded; needs bindings:read. ``at_time`` /
        ``at_revision``: who could have, then (as for :meth:`check`)."""
        body = _point(_body(action=action, resource=resource, namespace=namespace, context=context),
                      at_time, at_revision)
        path = _org(org) + "/lookup/subjects"
        return _decode(Subjects, self._decide(path, body, at_least), "POST", path)

    def permissions(self, org: str, principal: str, *, namespace: str = "",
                    at_least: Optional[int] = None) -> Permissions:
        """What ``principal`` holds in ``namespace`` ("" = "default"), for
        UIs that hide what one cannot do."""
        rev = self._fresh(at_least)
        q = {"namespace": namespace or None, "at_least": rev or None}
        return self._get(Permissions, f"{_org(org)}/principals/{_q(principal)}/permissions", q)

    def me(self, namespace: str = "") -> Me:
        """Who the caller is, its orgs and its permissions in each (in
        ``namespace``, default "default")."""
        return self._get(Me, "/v1/me", {"namespace": namespace or None})

    # --- approvals

    def list_approvals(self, org: str, status: Optional[str] = None) -> List[Approval]:
        """The approvals the caller may see (it asked, it is their subject,
        or it may approve them), newest first, every page; ``status``
        ("pending", "granted", "denied", "expired", "consumed") filters."""
        out: List[Approval] = []
        cursor = ""
        while True:
            page = self._page(Approval, _org(org) + "/approvals", {"status": status or None}, 0, cursor)
            out.extend(page.items)
            cursor = page.next_cursor
            if not cursor:
                return out

    def get_approval(self, org: str, id: str, wait: Optional[float] = None) -> Approval:
        """An approval (:class:`NotFound` unless the caller may see it);
        with ``wait`` (seconds, the server caps it at 60) the server holds
        the answer while it is pending, up to that long."""
        q = {"wait": f"{max(int(wait), 0)}s"} if wait is not None else None
        return self._get(Approval, f"{_org(org)}/approvals/{_q(id)}", q)

    def approve(self, org: str, id: str, comment: str = "") -> Approval:
        """Approve a pending approval (a user holding decisions:approve in
        its namespace, never the requester; once per approver)."""
        return self._approval_answer(org, id, "approve", comment)

    def deny(self, org: str, id: str, comment: str = "") -> Approval:
        """Deny a pending approval; one deny ends it."""
        return self._approval_answer(org, id, "deny", comment)

    def _approval_answer(self, org: str, id: str, verb: str, comment: str) -> Approval:
        path = f"{_org(org)}/approvals/{_q(id)}/{verb}"
        out = self._call("POST", path, body=_body(comment=comment), idempotent=False)
        _need(out, "POST", path)
        return _decode(Approval, out, "POST", path)

    def wait_for_approval(self, org: str, id: str, timeout: float = 300.0) -> Approval:
        """Long-poll an approval until it is no longer pending (granted,
        denied, expired or consumed) or ``timeout`` seconds passed; returns
        the last state read (check ``status``: "pending" after a timeout).
        Each poll waits at most 20 s on the server, under the client's
        request timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            wait = int(min(20.0, max(self._t.timeout - 5.0, 0.0), max(left - 1.0, 0.0)))
            a = self.get_approval(org, id, wait=wait)
            if a.status != "pending" or time.monotonic() >= deadline:
                return a
            if wait == 0:
                time.sleep(min(0.2, max(deadline - time.monotonic(), 0.0)))

    # --- run records

    def start_run(self, org: str, resource: str, *, namespace: str = "", input: Any = _UNSET,
                  approval_id: str = "", issue_token: bool = False, runtime: str = "",
                  on_behalf_of: str = "") -> RunStarted:
        """Start and record a run of ``resource`` ("chains/deploy") in
        ``namespace`` (the caller needs ``<type>:run``). ``input`` (any
        JSON) is what an approval is bound to. ``result`` is "started" with
        the ``run`` (and ``run_token`` with ``issue_token``), or
        "approval_required" with the ``approval`` and nothing recorded:
        start again with ``approval_id`` once granted. Never retried: a
        retry could record the run twice."""
        body = _body(resource=resource, namespace=namespace, approval_id=approval_id,
                     issue_token=issue_token or None, runtime=runtime, on_behalf_of=on_behalf_of)
        if input is not _UNSET:
            body["input"] = _encode(input)
        path = _org(org) + "/runs"
        out = self._call("POST", path, body=body, idempotent=False)
        _need(out, "POST", path)
        return _decode(RunStarted, out, "POST", path)

    def finish_run(self, org: str, id: str, status: str, *, error: str = "", output: str = "") -> Run:
        """Report how a run ended (``status`` "succeeded" or "failed"), by
        the caller that started it or its runtime, once (:class:`Conflict`
        after). Secret values released to the run are redacted from
        ``output`` and ``error`` before anything is stored."""
        path = f"{_org(org)}/runs/{_q(id)}/finish"
        out = self._call("POST", path, body=_body(status=status, error=error, output=output), idempotent=False)
        _need(out, "POST", path)
        return _decode(Run, out, "POST", path)

    def get_run(self, org: str, id: str) -> Run:
        """A run record (results:read in its namespace, or the caller
        started it)."""
        return self._get(Run, f"{_org(org)}/runs/{_q(id)}")

    def list_runs(self, org: str, *, resource: str = "", namespace: str = "", status: str = "") -> List[Run]:
        """The run records the caller may read, every page, filtered by
        ``resource`` ("chains/deploy"), ``namespace`` and ``status``."""
        q = {"resource": resource or None, "namespace": namespace or None, "status": status or None}
        out: List[Run] = []
        cursor = ""
        while True:
            page = self._page(Run, _org(org) + "/runs", q, 0, cursor)
            out.extend(page.items)
            cursor = page.next_cursor
            if not cursor:
                return out

    # --- orgs and namespaces

    def create_org(self, id: str, *, name: str = "", template: str = "") -> "Written[Org]":
        """Create an org from a template ("" = the server's default,
        agent-platform); the caller (a user) becomes its owner."""
        return self._written(Org, "POST", "/v1/orgs", _body(id=id, name=name, template=template))

    def list_orgs(self) -> List[Org]:
        """The orgs the caller is a member of."""
        return self._page(Org, "/v1/orgs", None, 0, "").items

    def get_org(self, org: str) -> Org:
        """An org (any member)."""
        return self._get(Org, _org(org))

    def rename_org(self, org: str, name: str) -> Revision:
        """Change an org's display name; returns the revision."""
        return self._rev("PATCH", _org(org), {"name": name})

    def delete_org(self, org: str) -> Revision:
        """Delete an org and everything in it (an owner only)."""
        return self._rev("DELETE", _org(org))

    def create_namespace(self, org: str, name: str) -> "Written[Namespace]":
        """Create a namespace."""
        return self._written(Namespace, "POST", _org(org) + "/namespaces", {"name": name})

    def list_namespaces(self, org: str, *, page_size: int = 0, cursor: str = "") -> "Page[Namespace]":
        """One page of an org's namespaces."""
        return self._page(Namespace, _org(org) + "/namespaces", None, page_size, cursor)

    def get_namespace(self, org: str, name: str) -> Namespace:
        """A namespace."""
        return self._get(Namespace, f"{_org(org)}/namespaces/{_q(name)}")

    def delete_namespace(self, org: str, name: str, *, cascade: bool = False) -> Revision:
        """Delete a namespace; with ``cascade`` also its resources and
        bindings (409 otherwise when it holds any)."""
        return self._rev("DELETE", f"{_org(org)}/namespaces/{_q(name)}", query={"cascade": "true" if cascade else None})

    # --- members, invitations

    def add_member(self, org: str, user_id: str, role: str) -> "Written[Member]":
        """Add an existing user with a role at org scope (escalation rules
        apply)."""
        return self._written(Member, "POST", _org(org) + "/members", {"user_id": user_id, "role": role})

    def list_members(self, org: str, *, page_size: int = 0, cursor: str = "") -> "Page[Member]":
        """One page of an org's members."""
        return self._page(Member, _org(org) + "/members", None, page_size, cursor)

    def get_member(self, org: str, user_id: str) -> Member:
        """A membership."""
        return self._get(Member, f"{_org(org)}/members/{_q(user_id)}")

    def set_member_role(self, org: str, user_id: str, role: str) -> "Written[Binding]":
        """Replace a member's org-scope role; returns the new binding."""
        return self._written(Binding, "PATCH", f"{_org(org)}/members/{_q(user_id)}", {"role": role})

    def remove_member(self, org: str, user_id: str) -> Revision:
        """Remove a member with its bindings."""
        return self._rev("DELETE", f"{_org(org)}/members/{_q(user_id)}")

    def invite(self, org: str, email: str, role: str) -> InvitationCreated:
        """Invite an email address with a role; the token is in this answer
        only."""
        return self._write(InvitationCreated, "POST", _org(org) + "/invitations", {"email": email, "role": role})

    def list_invitations(self, org: str, *, page_size: int = 0, cursor: str = "") -> "Page[Invitation]":
        """One page of the org's invitations."""
        return self._page(Invitation, _org(org) + "/invitations", None, page_size, cursor)

    def revoke_invitation(self, org: str, id: str) -> Revision:
        """Revoke a pending invitation."""
        return self._rev("DELETE", f"{_org(org)}/invitations/{_q(id)}")

    def accept_invitation(self, token: str, *, user_id: str = "", display_name: str = "") -> Accepted:
        """Redeem an invitation token (without a credential: as a new user,
        and the answer carries its session)."""
        return self._write(Accepted, "POST", "/v1/invitations/accept",
                           _body(token=token, user_id=user_id, display_name=display_name))

    def create_session(self) -> Session:
        """Exchange this client's user API key for a short-lived session
        token."""
        out = self._call("POST", "/v1/sessions")
        _need(out, "POST", "/v1/sessions")
        return _decode(Session, out, "POST", "/v1/sessions")

    # --- teams

    def create_team(self, org: str, slug: str, *, name: str = "", members: Optional[List[str]] = None
                    ) -> "Written[Team]":
        """Create a team with initial members ("user:bob", "agent:X")."""
        return self._written(Team, "POST", _org(org) + "/teams", _body(slug=slug, name=name, members=members or None))

    def list_teams(self, org: str, *, page_size: int = 0, cursor: str = "") -> "Page[Team]":
        """One page of teams (without members)."""
        return self._page(Team, _org(org) + "/teams", None, page_size, cursor)

    def get_team(self, org: str, slug: str) -> Team:
        """A team with its members."""
        return self._get(Team, f"{_org(org)}/teams/{_q(slug)}")

    def add_team_member(self, org: str, slug: str, principal: str) -> Revision:
        """Add a user, agent or service to a team."""
        return self._rev("POST", f"{_org(org)}/teams/{_q(slug)}/members", {"principal": principal})

    def remove_team_member(self, org: str, slug: str, principal: str) -> Revision:
        """Remove a principal from a team."""
        return self._rev("DELETE", f"{_org(org)}/teams/{_q(slug)}/members/{_q(principal)}")

    def delete_team(self, org: str, slug: str) -> Revision:
        """Delete a team and every binding naming it."""
        return self._rev("DELETE", f"{_org(org)}/teams/{_q(slug)}")

    # --- roles and policy

    def list_roles(self, org: str) -> List[Role]:
        """The roles of the org's policy."""
        return self._page(Role, _org(org) + "/roles", None, 0, "").items

    def get_role(self, org: str, name: str) -> Role:
        """One role of the org's policy."""
        return self._get(Role, f"{_org(org)}/roles/{_q(name)}")

    def create_role(self, org: str, name: str, *, level: int, permissions: List[str],
                    parents: Optional[List[str]] = None) -> Revision:
        """Create a custom role (level and permissions at most yours)."""
        return self._rev("POST", _org(org) + "/roles",
                         _body(name=name, level=level, parents=parents, permissions=permissions))

    def update_role(self, org: str, name: str, *, level: int, permissions: List[str],
                    parents: Optional[List[str]] = None) -> Revision:
        """Redefine a custom role."""
        return self._rev("PUT", f"{_org(org)}/roles/{_q(name)}", _body(level=level, parents=parents, permissions=permissions))

    def delete_role(self, org: str, name: str) -> Revision:
        """Delete a custom role (409 while it is bound)."""
        return self._rev("DELETE", f"{_org(org)}/roles/{_q(name)}")

    def get_policy(self, org: str) -> Policy:
        """The org's policy text and version."""
        return self._get(Policy, _org(org) + "/policy")

    def validate_policy(self, org: str, text: str) -> Validation:
        """Compile and lint a policy text without storing it."""
        path = _org(org) + "/policy/validate"
        out = self._call("POST", path, body={"text": text}, idempotent=True)
        _need(out, "POST", path)
        return _decode(Validation, out, "POST", path)

    def put_policy(self, org: str, text: str, *, force: bool = False) -> PolicyRevision:
        """Replace the org's policy text. One that does not compile raises
        :class:`InvalidPolicy` (``diagnostics`` say where); with ``force``,
        bindings and agents of removed roles are dropped instead of a 409.
        Returns the revision (an ``int``) carrying ``warnings``, the API
        keys the new policy stopped, and ``policy_warnings``, what the
        server found about it that needs the org's members."""
        method, path = "PUT", _org(org) + "/policy"
        out, rev = self._revision_of(method, path, {"text": text, "force": force}, None)
        return PolicyRevision(rev, _decode_list(WriteWarning, out.get("write_warnings"), method, path),
                              _decode_list(Diagnostic, out.get("warnings"), method, path))

    # --- bindings and sharing

    def create_binding(self, org: str, principal: str, role: str, *,
                       scope: Union[Scope, Dict[str, str], None] = None, condition: str = "",
                       expires_at: Instant = None, expires_in: str = "") -> "Written[Binding]":
        """Bind ``principal`` to ``role`` at ``scope`` (None or {} = the
        org; {"namespace": "prod"}; or one resource). A grant that ends by
        itself: ``expires_at`` (RFC 3339 or an aware datetime, in the
        future) or ``expires_in`` (a Go duration, "30m", "2h", resolved on
        the server's clock); the answer's ``expires_at`` says when."""
        sc = _encode(scope) if scope is not None else {}
        body = _body(principal=principal, role=role, condition=condition) | {"scope": sc}
        return self._written(Binding, "POST", _org(org) + "/bindings", _lifetime(body, expires_at, expires_in))

    def list_bindings(self, org: str, *, principal: str = "", role: str = "", namespace: str = "",
                      page_size: int = 0, cursor: str = "") -> "Page[Binding]":
        """One page of the bindings matching the filters."""
        q = {"principal": principal or None, "role": role or None, "namespace": namespace or None}
        return self._page(Binding, _org(org) + "/bindings", q, page_size, cursor)

    def get_binding(self, org: str, id: str) -> Binding:
        """A binding."""
        return self._get(Binding, f"{_org(org)}/bindings/{_q(id)}")

    def delete_binding(self, org: str, id: str) -> Revision:
        """Delete a binding."""
        return self._rev("DELETE", f"{_org(org)}/bindings/{_q(id)}")

    def share(self, org: str, namespace: str, type: str, id: str, *, principal: str,
              actions: List[str], expires_at: Instant = None, expires_in: str = "") -> "Written[Binding]":
        """Share one resource with a principal (or "role:<name>") for an
        action list (you must hold each action on it); ``expires_at`` /
        ``expires_in`` as for :meth:`create_binding` ("run on chains/x for
        the next 30 minutes": ``expires_in="30m"``)."""
        body = {"principal": principal, "actions": list(actions)}
        return self._written(Binding, "POST", _res(org, namespace, type, id) + "/shares",
                             _lifetime(body, expires_at, expires_in))

    # --- agents and services

    def create_agent(self, org: str, name: str, role: str, *, namespace: str = "", sponsor: str = "",
                     expires_at: Instant = None, attributes: Optional[Dict[str, Any]] = None,
                     sponsors: Optional[List[str]] = None) -> "Written[Agent]":
        """Create an agent bound to its role (its ceiling) at ``namespace``
        ("" = the org). ``sponsors`` ("user:<id>", "team:<slug>"; at most
        16) are answerable for it; default: ``sponsor`` (a user id), else
        the creating user."""
        return self._written(Agent, "POST", _org(org) + "/agents",
                             _body(name=name, role=role, namespace=namespace, sponsor=sponsor,
                                   expires_at=_instant("expires_at", expires_at), attributes=attributes,
                                   sponsors=list(sponsors) if sponsors else None))

    def list_agents(self, org: str, *, status: str = "", page_size: int = 0, cursor: str = "") -> "Page[Agent]":
        """One page of agents; ``status`` keeps those in it: "active",
        "suspended" (any reason) or one reason ("sponsor_gone",
        "inactive", "attestation_due", "expired")."""
        return self._page(Agent, _org(org) + "/agents", {"status": status or None}, page_size, cursor)

    def get_agent(self, org: str, name: str) -> Agent:
        """An agent."""
        return self._get(Agent, f"{_org(org)}/agents/{_q(name)}")

    def update_agent(self, org: str, name: str, *, role: Optional[str] = None, sponsor: Optional[str] = None,
                     expires_at: Instant = None, attributes: Optional[Dict[str, Any]] = None,
                     sponsors: Optional[List[str]] = None, suspended: Optional[bool] = None
                     ) -> "Written[Agent]":
        """Change an agent; arguments left None keep their value
        (``expires_at=""`` means never). ``sponsors`` replaces the sponsors
        (assigning one lifts ``sponsor_gone``); ``suspended=True`` suspends
        it by hand, ``False`` lifts that."""
        exp = expires_at if expires_at == "" else _instant("expires_at", expires_at)
        body = {k: v for k, v in dict(role=role, sponsor=sponsor, expires_at=exp, attributes=attributes,
                                      sponsors=list(sponsors) if sponsors is not None else None,
                                      suspended=suspended).items() if v is not None}
        return self._written(Agent, "PATCH", f"{_org(org)}/agents/{_q(name)}", body)

    def attest_agent(self, org: str, name: str) -> "Written[Agent]":
        """Vouch for an agent now, as one of its sponsors (a sponsoring
        user, or a member of a sponsoring team; anyone else gets
        :class:`Forbidden`): lifts ``attestation_due`` and ``inactive``."""
        return self._written(Agent, "POST", f"{_org(org)}/agents/{_q(name)}/attest")

    def mint_agent_token(self, org: str, name: str, *, audience: str, on_behalf_of: str = "",
                         ttl: str = "") -> AgentToken:
        """A short-lived token for agent ``name``, accepted only at
        ``audience`` (the absolute URL of one endpoint, e.g. an MCP gateway
        endpoint) and refused by every API route; optionally on behalf of a
        member user (a user may name only itself). ``ttl``: a Go duration,
        default 5m, at most 1h. Shown this once."""
        path = f"{_org(org)}/agents/{_q(name)}/tokens"
        out = self._call("POST", path, body=_body(audience=audience, on_behalf_of=on_behalf_of, ttl=ttl),
                         idempotent=False)
        _need(out, "POST", path)
        self._mark.note(out.get("revision"))
        return _decode(AgentToken, out, "POST", path)

    def get_org_lifecycle(self, org: str) -> OrgLifecycle:
        """The org's suspension rules for agents (all 0: none)."""
        return self.get_org(org).lifecycle or OrgLifecycle()

    def set_org_lifecycle(self, org: str, *, inactive_days: int = 0, attestation_days: int = 0) -> "Written[Org]":
        """Replace the org's suspension rules for agents: those unused for
        ``inactive_days`` become ``inactive``, those no sponsor attested
        for ``attestation_days`` ``attestation_due`` (0: off; needs
        org:update)."""
        return self._written(Org, "PUT", _org(org) + "/lifecycle",
                             {"inactive_days": inactive_days, "attestation_days": attestation_days})

    def reach(self, org: str, principal: str) -> Reach:
        """A principal's blast radius ("agent:Triage", "user:bob",
        "service:ci"): everything it could do if hijacked, per namespace
        and most destructive first, with the approvals it would need, the
        secrets it could cause to be injected and the MCP tools it may call
        (yourself, or bindings:read)."""
        return self._get(Reach, f"{_org(org)}/principals/{_q(principal)}/reach")

    def delete_agent(self, org: str, name: str) -> Revision:
        """Delete an agent with its bindings."""
        return self._rev("DELETE", f"{_org(org)}/agents/{_q(name)}")

    def create_service(self, org: str, name: str, *, role: str = "", namespace: str = "",
                       attributes: Optional[Dict[str, Any]] = None, sponsors: Optional[List[str]] = None,
                       lifecycle: bool = False) -> "Written[Service]":
        """Create a service (a runtime or CI account), optionally bound to
        a role, with optional sponsors ("user:<id>", "team:<slug>");
        ``lifecycle=True`` puts it under the org's inactivity and
        attestation rules (it needs sponsors)."""
        return self._written(Service, "POST", _org(org) + "/services",
                             _body(name=name, role=role, namespace=namespace, attributes=attributes,
                                   sponsors=list(sponsors) if sponsors else None, lifecycle=lifecycle or None))

    def list_services(self, org: str, *, status: str = "", page_size: int = 0, cursor: str = "") -> "Page[Service]":
        """One page of services; ``status`` keeps those in one status
        ("active", "suspended" for any reason, "sponsor_gone", "inactive",
        "attestation_due")."""
        return self._page(Service, _org(org) + "/services", {"status": status} if status else None, page_size, cursor)

    def get_service(self, org: str, name: str) -> Service:
        """A service."""
        return self._get(Service, f"{_org(org)}/services/{_q(name)}")

    def update_service(self, org: str, name: str, *, attributes: Optional[Dict[str, Any]] = None,
                       sponsors: Optional[List[str]] = None, lifecycle: Optional[bool] = None) -> "Written[Service]":
        """Change a service; arguments left None keep their value. New
        sponsors lift sponsor_gone; ``sponsors=[]`` makes it need none."""
        body: Dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = attributes
        if sponsors is not None:
            body["sponsors"] = list(sponsors)
        if lifecycle is not None:
            body["lifecycle"] = lifecycle
        return self._written(Service, "PATCH", f"{_org(org)}/services/{_q(name)}", body)

    def attest_service(self, org: str, name: str) -> "Written[Service]":
        """Vouch, as a sponsor, for a service under the org's rules (lifts
        attestation_due and inactive)."""
        return self._written(Service, "POST", f"{_org(org)}/services/{_q(name)}/attest", None)

    def delete_service(self, org: str, name: str) -> Revision:
        """Delete a service with its bindings."""
        return self._rev("DELETE", f"{_org(org)}/services/{_q(name)}")

    # --- resources

    def create_resource(self, org: str, namespace: str, type: str, id: str, *,
                        labels: Optional[Dict[str, str]] = None, attributes: Optional[Dict[str, Any]] = None,
                        spec: Any = None) -> "Written[Resource]":
        """Create a resource at version 1 with an optional spec (any JSON)."""
        return self._written(Resource, "POST", _org(org) + "/resources",
                             _body(namespace=namespace, type=type, id=id, labels=labels, attributes=attributes,
                                   spec=spec))

    def get_resource(self, org: str, namespace: str, type: str, id: str) -> Resource:
        """A resource with its current spec."""
        return self._get(Resource, _res(org, namespace, type, id))

    def list_resources(self, org: str, *, namespace: str = "", type: str = "", page_size: int = 0,
                       cursor: str = "") -> "Page[Resource]":
        """One page of the resources the caller may read."""
        return self._page(Resource, _org(org) + "/resources", {"namespace": namespace or None, "type": type or None},
                          page_size, cursor)

    def update_resource(self, org: str, namespace: str, type: str, id: str, *,
                        labels: Optional[Dict[str, str]] = None, attributes: Optional[Dict[str, Any]] = None,
                        spec: Any = _UNSET, if_version: int = 0) -> "Written[Resource]":
        """Change a resource, recording a new version; arguments left out
        keep their value (``spec=None`` clears the spec). With
        ``if_version`` it fails with :class:`Conflict` unless that is the
        current version."""
        body: Dict[str, Any] = _body(labels=labels, attributes=attributes, if_version=if_version or None)
        if spec is not _UNSET:
            body["spec"] = spec
        return self._written(Resource, "PATCH", _res(org, namespace, type, id), body)

    def delete_resource(self, org: str, namespace: str, type: str, id: str) -> Revision:
        """Delete a resource with its versions and the bindings scoped to
        it."""
        return self._rev("DELETE", _res(org, namespace, type, id))

    # --- API keys

    def create_key(self, org: str = "", *, principal: str = "", name: str = "",
                   expires_at: str = "") -> KeyCreated:
        """Create an API key: a personal key of the caller when ``org`` is
        "", else one confined to ``org`` for the caller or (apikeys:create)
        for ``principal`` ("service:runtime"). The token is in this answer
        only."""
        path = "/v1/apikeys" if not org else _org(org) + "/apikeys"
        return self._write(KeyCreated, "POST", path, _body(principal=principal, name=name, expires_at=expires_at))

    def list_keys(self, org: str = "", *, principal: str = "", page_size: int = 0,
                  cursor: str = "") -> "Page[APIKey]":
        """One page of API keys: your personal ones (org ""), or the org's."""
        path = "/v1/apikeys" if not org else _org(org) + "/apikeys"
        return self._page(APIKey, path, {"principal": principal or None} if org else None, page_size, cursor)

    def revoke_key(self, org: str, id: str) -> Revision:
        """Revoke an API key (org "" for a personal key); it stops working
        at once."""
        path = "/v1/apikeys" if not org else _org(org) + "/apikeys"
        return self._rev("DELETE", f"{path}/{_q(id)}")

    # --- secrets (values go in, never come back here)

    def create_secret(self, org: str, namespace: str, name: str, value: str, *, description: str = "",
                      referable_by: Optional[List[str]] = None) -> "Written[Secret]":
        """Create a secret with its first value (sealed at once, never
        echoed); resource specs reference it by name."""
        return self._written(Secret, "POST", f"{_org(org)}/namespaces/{_q(namespace)}/secrets",
                             _body(name=name, value=value, description=description, referable_by=referable_by))

    def list_secrets(self, org: str, namespace: str, *, page_size: int = 0, cursor: str = "") -> "Page[Secret]":
        """One page of a namespace's secrets' metadata (never values)."""
        return self._page(Secret, f"{_org(org)}/namespaces/{_q(namespace)}/secrets", None, page_size, cursor)

    def rotate_secret(self, org: str, namespace: str, name: str, value: str, *,
                      if_version: int = 0) -> "Written[Secret]":
        """Replace a secret's value with a new version."""
        return self._written(Secret, "POST", f"{_org(org)}/namespaces/{_q(namespace)}/secrets/{_q(name)}/rotate",
                             _body(value=value, if_version=if_version or None))

    def delete_secret(self, org: str, namespace: str, name: str, *, force: bool = False) -> Revision:
        """Delete a secret and every version (a :class:`Conflict` while a
        resource spec references it, unless ``force``)."""
        return self._rev("DELETE", f"{_org(org)}/namespaces/{_q(namespace)}/secrets/{_q(name)}",
                         query={"force": "true" if force else None})

    # --- runs

    def run_token(self, org: str, namespace: str, type: str, id: str, *, runtime: str = "",
                  ttl_seconds: int = 0) -> RunGrant:
        """A run token for a resource the caller may run: hand ``token`` to
        the runtime, which exchanges it for the spec's secrets."""
        path = _res(org, namespace, type, id) + "/runs"
        out = self._call("POST", path, body=_body(runtime=runtime, ttl_seconds=ttl_seconds or None))
        _need(out, "POST", path)
        return _decode(RunGrant, out, "POST", path)

    def exchange_run_token(self, org: str, token: str) -> Release:
        """Exchange a run token for its secrets' values (a service allowed
        to run the resource; single use, so never retried)."""
        path = _org(org) + "/runs/exchange"
        out = self._call("POST", path, body={"token": token}, idempotent=False)
        _need(out, "POST", path)
        return _decode(Release, out, "POST", path)

    # --- meta

    def healthz(self) -> Health:
        """Liveness."""
        out = self._call("GET", "/healthz", public=True)
        return _decode(Health, out, "GET", "/healthz")

    def openapi(self) -> Dict[str, Any]:
        """The server's OpenAPI 3.1 document."""
        out = self._call("GET", "/v1/openapi.json", public=True)
        _need(out, "GET", "/v1/openapi.json")
        return out


def _need(out: Any, method: str, path: str) -> None:
    if not isinstance(out, dict):
        raise _errors.DecodeError(f"gatehouse: {method} {path}: the answer is not a JSON object")


def _decode(cls: Any, out: Any, method: str, path: str, args: tuple = ()) -> Any:
    try:
        return cls.from_wire(out, args)
    except (TypeError, ValueError) as e:
        raise _errors.DecodeError(f"gatehouse: {method} {path}: malformed answer: {e}") from e


def _decode_list(cls: Any, items: Any, method: str, path: str) -> List[Any]:
    """A list member of an answer (absent or null: empty), each item decoded as cls."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise _errors.DecodeError(f"gatehouse: {method} {path}: malformed answer: want an array of {cls.__name__}")
    return [_decode(cls, x, method, path) for x in items]


def _problem(method: str, path: str, status: int, headers: Dict[str, str], data: bytes) -> _errors.APIError:
    problem: Optional[Dict[str, Any]] = None
    if headers.get("content-type", "").split(";")[0].strip() == "application/problem+json":
        try:
            p = json.loads(data)
            problem = p if isinstance(p, dict) else None
        except ValueError:
            problem = None
    if problem is None:
        snippet = data[:200].decode("utf-8", "replace").strip()
        problem = {"detail": "".join(ch if ch >= " " else " " for ch in snippet)} if snippet else {}
    from ._transport import parse_retry_after
    ra = parse_retry_after(headers.get("retry-after"))
    return _errors.error_for(status, problem, method=method, path=path,
                             request_id=headers.get("x-request-id", ""),
                             retry_after=int(-(-ra // 1)) if ra is not None else 0)
