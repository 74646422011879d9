"""Typed exceptions carrying the server's RFC 9457 problem document."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

PROBLEM_BASE = "https://gatehouse.dev/problems/"


class GatehouseError(Exception):
    """Base class of every exception the SDK raises."""


class TransportError(GatehouseError):
    """No answer: the server could not be reached, the connection broke, or
    the call timed out (after the client's retries, for idempotent calls).
    Never treat it as an allow."""


class Timeout(TransportError):
    """The call did not complete within the client's timeout."""


class DecodeError(GatehouseError):
    """A 2xx answer that is not the JSON the API documents (fail closed)."""


class APIError(GatehouseError):
    """A non-2xx answer, with the server's problem document.

    Branch on the subclass or on :attr:`kind` (the problem type URI's last
    segment, e.g. ``"forbidden"``), never on ``title`` or ``detail`` text.
    """

    status: int
    type: str
    title: str
    detail: str
    method: str
    path: str
    request_id: str
    field: str
    missing_permission: str
    scope: str
    reason: str
    role: str
    missing_permissions: List[str]
    target: str
    diagnostics: List[Dict[str, Any]]
    retry_after: int
    problem: Dict[str, Any]

    def __init__(self, status: int, problem: Optional[Dict[str, Any]] = None, *, method: str = "",
                 path: str = "", request_id: str = "", retry_after: int = 0) -> None:
        p = dict(problem or {})
        self.problem = p
        self.status = status  # the status line is the truth, not the body
        self.type = _str(p.get("type"))
        self.title = _str(p.get("title"))
        self.detail = _str(p.get("detail"))
        self.instance = _str(p.get("instance"))
        self.method, self.path = method, path
        self.request_id = _str(p.get("request_id")) or request_id
        self.field = _str(p.get("field"))
        self.missing_permission = _str(p.get("missing_permission"))
        self.scope = _str(p.get("scope"))
        self.reason = _str(p.get("reason"))
        self.role = _str(p.get("role"))
        mp = p.get("missing_permissions")
        self.missing_permissions = [str(x) for x in mp] if isinstance(mp, list) else []
        self.target = _str(p.get("target"))
        errs = p.get("errors")
        self.diagnostics = [e for e in errs if isinstance(e, dict)] if isinstance(errs, list) else []
        ra = p.get("retry_after")
        self.retry_after = retry_after or (ra if isinstance(ra, int) and not isinstance(ra, bool) else 0)
        super().__init__(self._message())

    @property
    def kind(self) -> str:
        """The problem type's last segment ("forbidden", "not-found"...), or
        "" when the answer was not a Gatehouse problem document."""
        return self.type[len(PROBLEM_BASE):] if self.type.startswith(PROBLEM_BASE) else ""

    def _message(self) -> str:
        s = "gatehouse: "
        if self.method:
            s += f"{self.method} {self.path}: "
        s += str(self.status)
        if self.kind:
            s += " " + self.kind
        elif self.title:
            s += " " + self.title
        if self.detail:
            s += ": " + self.detail
        if self.missing_permission and self.missing_permission not in self.detail:
            s += f" (missing {self.missing_permission})"
        if self.request_id:
            s += f" [request {self.request_id}]"
        return s


class Unauthenticated(APIError):
    """401: missing, invalid or expired credentials."""


class Forbidden(APIError):
    """403: authenticated but not allowed; :attr:`missing_permission` and
    :attr:`scope` say what was needed where."""


class Escalation(Forbidden):
    """403 refusing a privilege escalation: :attr:`reason`, :attr:`role`,
    :attr:`missing_permissions` and :attr:`target` say why."""


class NotFound(APIError):
    """404: absent, or belonging to another org."""


class Conflict(APIError):
    """409 (including last-owner)."""


class Gone(APIError):
    """410: a used, revoked or expired invitation."""


class InvalidRequest(APIError):
    """400, 413 or 415: the request is malformed; :attr:`field` names the
    offending field."""


class InvalidPolicy(InvalidRequest):
    """422: a policy text that does not compile; :attr:`diagnostics` say
    where."""


class RateLimited(APIError):
    """429: slow down for :attr:`retry_after` seconds."""


class Unavailable(APIError):
    """503, after the client's retries."""


class NotCaughtUp(Unavailable):
    """503: the server did not reach the revision asked for (``at_least``)
    in time. The decision was not made; it is not a deny."""


class ServerError(APIError):
    """A 5xx other than 503."""


class Denied(GatehouseError):
    """A guard's decision was a deny. It carries the decision
    (:attr:`decision`, with its ``reason``), what was asked, and, when the
    guard was asked to explain denials, the :attr:`explanation`."""

    def __init__(self, permission: str, resource: str, namespace: str, decision: Any,
                 explanation: Any = None, status: int = 403) -> None:
        self.permission, self.resource, self.namespace = permission, resource, namespace
        self.decision, self.explanation, self.status = decision, explanation, status
        self.reason = getattr(decision, "reason", "") or ""
        what = permission + (f" on {resource}" if resource else "") + f" in {namespace or 'default'}"
        msg = f"gatehouse: denied {what}"
        if self.reason:
            msg += f" ({self.reason})"
        summary = getattr(explanation, "summary", "")
        if summary:
            msg += ": " + summary
        super().__init__(msg)


class ApprovalRequired(Denied):
    """The decision needs a person's approval first (DESIGN §1.1 item 8):
    the server answered ``result: approval_required``. :attr:`approval` is
    the approval record the server created (its ``id``, status, expiry) —
    ask an approver to grant it, then repeat the same call."""

    def __init__(self, permission: str, resource: str, namespace: str, decision: Any,
                 approval: Optional[Dict[str, Any]]) -> None:
        self.approval: Dict[str, Any] = dict(approval or {})
        super().__init__(permission, resource, namespace, decision)
        self.args = (f"gatehouse: approval required for {permission}"
                     + (f" on {resource}" if resource else "")
                     + (f" (approval {self.approval.get('id')})" if self.approval.get("id") else ""),)


_BY_STATUS = {
    401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone,
    400: InvalidRequest, 413: InvalidRequest, 415: InvalidRequest, 422: InvalidPolicy,
    429: RateLimited, 503: Unavailable,
}


def error_for(status: int, problem: Optional[Dict[str, Any]], **kw: Any) -> APIError:
    """The typed exception of a non-2xx answer."""
    kind = ""
    if problem and isinstance(problem.get("type"), str) and problem["type"].startswith(PROBLEM_BASE):
        kind = problem["type"][len(PROBLEM_BASE):]
    cls = _BY_STATUS.get(status)
    if status == 403 and kind == "escalation":
        cls = Escalation
    elif status == 503 and kind == "not-caught-up":
        cls = NotCaughtUp
    elif cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(status, problem, **kw)


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""
