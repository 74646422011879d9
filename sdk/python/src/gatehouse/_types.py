"""The API's wire types as dataclasses.

Every class names the OpenAPI schema it mirrors (``__schema__``) and its
fields carry the wire names, so ``to_wire()`` renders exactly the JSON the
server sends and the SDK's test suite checks every field against
``/v1/openapi.json`` (drift fails the test). Times are RFC 3339 strings as
the server sends them. Members the server adds later are kept, unread, in
``extra`` so an older SDK neither fails nor drops them.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Generic, Iterable, List, Optional, Tuple, TypeVar

T = TypeVar("T")

_EXTRA = {"wire": False}


class Wire:
    """Mixin: decoding from and rendering to wire JSON."""

    __schema__: ClassVar[str] = ""

    @classmethod
    def from_wire(cls: Any, data: Any, args: tuple = ()) -> Any:
        """Decode a JSON object (a dict) into this type."""
        return _decode(cls, data, args)

    def to_wire(self) -> Dict[str, Any]:
        """Render as the wire JSON object (None fields left out)."""
        return _encode(self)


def _hints(cls: type) -> Dict[str, Any]:
    h = _hint_cache.get(cls)
    if h is None:
        h = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        _hint_cache[cls] = h
    return h


_hint_cache: Dict[type, Dict[str, Any]] = {}

_SCALARS = {bool: "a boolean", int: "an integer", str: "a string"}


def _conv(tp: Any, v: Any, tvars: Dict[Any, Any]) -> Any:
    if v is None:
        return None
    tp = tvars.get(tp, tp)
    origin = typing.get_origin(tp)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _conv(inner[0], v, tvars) if len(inner) == 1 else v
    if origin in (list, List):
        (et,) = typing.get_args(tp)
        if not isinstance(v, list):
            raise TypeError(f"want an array, got {type(v).__name__}")
        return [_conv(et, x, tvars) for x in v]
    if origin in (dict, Dict):
        if not isinstance(v, dict):
            raise TypeError(f"want an object, got {type(v).__name__}")
        return v
    if tp in _SCALARS:
        # A string "true" is not an allow: scalars must have their JSON type.
        if not isinstance(v, tp) or (tp is not bool and isinstance(v, bool)):
            raise TypeError(f"want {_SCALARS[tp]}, got {type(v).__name__}")
        return v
    if origin is not None and isinstance(origin, type) and issubclass(origin, Wire):
        args = tuple(tvars.get(a, a) for a in typing.get_args(tp))
        return _decode(origin, v, args)
    if isinstance(tp, type) and issubclass(tp, Wire):
        return _decode(tp, v, ())
    return v


def _decode(cls: Any, data: Any, args: tuple) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    params = getattr(cls, "__parameters__", ())
    tvars = dict(zip(params, args))
    hints = _hints(cls)
    kw: Dict[str, Any] = {}
    names = set()
    for f in dataclasses.fields(cls):
        if f.metadata.get("wire", True) is False:
            continue
        wn = f.metadata.get("name", f.name)  # a wire name that is a Python keyword ("from")
        names.add(wn)
        if wn in data:
            try:
                kw[f.name] = _conv(hints[f.name], data[wn], tvars)
            except TypeError as e:
                raise TypeError(f"{cls.__name__}.{f.name}: {e}") from None
    obj = cls(**kw)
    extra = {k: v for k, v in data.items() if k not in names}
    if extra:
        object.__setattr__(obj, "extra", extra)
    return obj


def _encode(v: Any) -> Any:
    if isinstance(v, Wire):
        out = {}
        for f in dataclasses.fields(v):  # type: ignore[arg-type]
            if f.metadata.get("wire", True) is False:
                continue
            x = getattr(v, f.name)
            if x is None:
                continue
            out[f.metadata.get("name", f.name)] = _encode(x)
        return out
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        return {k: _encode(x) for k, x in v.items()}
    return v


def _extra() -> Any:
    return field(default_factory=dict, repr=False, compare=False, metadata=_EXTRA)


# --- pages and writes


@dataclass
class Page(Wire, Generic[T]):
    """One page of a list; ``next_cursor`` is "" on the last page."""

    __schema__ = "List_*"
    items: List[T] = field(default_factory=list)
    next_cursor: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class OutrankedCredential(Wire):
    """A minted credential its minter no longer stands behind: ``kind``
    (``"api_key"``, or ``"agent_token"``; empty from a server older than
    agent tokens' naming, which names API keys only), its ``id`` (an API
    key's token starts ``gth_<id>_``; an agent token's id is its
    ``token_id``; never the secret), ``principal`` (a service, or the
    agent), ``minter``, the ``scope`` where the principal outranks the
    minter, and the ``reason`` its next use will be refused with."""

    __schema__ = "OutrankedCredential"
    kind: str = ""
    id: str = ""
    principal: str = ""
    minter: str = ""
    scope: str = ""
    reason: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class WriteWarning(Wire):
    """What a write that succeeded stops: ``code``
    ``credentials-outrank-minter`` — API keys and agent tokens whose
    principal (a service, an agent) now outranks the member that minted
    them (it was raised, or the minter lowered), every use of which is
    refused. ``credentials`` lists them only to a caller
    that may read them (``apikeys:read``); ``count`` always says how many
    (a lower bound when ``truncated``)."""

    __schema__ = "WriteWarning"
    code: str = ""
    org: str = ""  # the keys' org, on a route naming none (DELETE /v1/me)
    message: str = ""
    count: int = 0
    truncated: bool = False
    credentials: Optional[List[OutrankedCredential]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class Written(Wire, Generic[T]):
    """The answer to a write: what it wrote and the revision it committed
    (the client carries it into later decisions by itself), and what the
    write stopped (``warnings``, None when nothing)."""

    __schema__ = "Written_*"
    revision: int = 0
    item: Optional[T] = None
    warnings: Optional[List[WriteWarning]] = None
    extra: Dict[str, Any] = _extra()


class Revision(int):
    """The answer to a write that returns nothing but its revision: an
    ``int`` (it compares, hashes, formats, JSON-encodes and pickles as the
    revision number, so code written when these methods returned ``int``
    works unchanged) that also carries what the write stopped:
    ``warnings``, a tuple of :class:`WriteWarning` (empty when nothing),
    as :attr:`Written.warnings` does for writes that answer an item."""

    warnings: Tuple[WriteWarning, ...]

    def __new__(cls, revision: int, warnings: Iterable[WriteWarning] = ()) -> "Revision":
        r = super().__new__(cls, revision)
        r.warnings = tuple(warnings)
        return r

    def __reduce__(self) -> Any:
        return (type(self), (int(self), self.warnings))


class PolicyRevision(Revision):
    """The answer to :meth:`Client.put_policy`: a :class:`Revision` whose
    ``warnings`` are the keys the new policy stopped (the API's
    ``write_warnings``), with ``policy_warnings``, a tuple of
    :class:`Diagnostic`: what the server found about the applied policy
    that needs the org's members (``quorum-unreachable``: an ask rule
    whose quorum is more than the people who could approve it)."""

    policy_warnings: Tuple[Diagnostic, ...]

    def __new__(cls, revision: int, warnings: Iterable[WriteWarning] = (),
                policy_warnings: Iterable[Diagnostic] = ()) -> "PolicyRevision":
        r = super().__new__(cls, revision, warnings)
        r.policy_warnings = tuple(policy_warnings)
        return r

    def __reduce__(self) -> Any:
        return (type(self), (int(self), self.warnings, self.policy_warnings))


# --- directory


@dataclass
class OrgLifecycle(Wire):
    """An org's suspension rules for agents (docs/agents.md): agents
    unused for ``inactive_days`` are ``inactive``, those no sponsor attested
    for ``attestation_days`` are ``attestation_due`` (0: the rule is off)."""

    __schema__ = "OrgLifecycle"
    inactive_days: int = 0
    attestation_days: int = 0
    extra: Dict[str, Any] = _extra()


@dataclass
class Org(Wire):
    """A tenant; ``lifecycle`` is its suspension rules for agents (None:
    none)."""

    __schema__ = "Org"
    id: str = ""
    name: str = ""
    template: str = ""
    created_at: str = ""
    lifecycle: Optional[OrgLifecycle] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class Namespace(Wire):
    """A partition of an org."""

    __schema__ = "Namespace"
    org: str = ""
    name: str = ""
    created_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class User(Wire):
    """A person, global to the deployment."""

    __schema__ = "User"
    id: str = ""
    email: str = ""
    display_name: str = ""
    created_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Member(Wire):
    """A user's membership of an org (its role is a binding)."""

    __schema__ = "Member"
    org: str = ""
    user_id: str = ""
    attributes: Optional[Dict[str, Any]] = None
    created_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Team(Wire):
    """A set of principals of an org (``members`` only from get_team)."""

    __schema__ = "Team"
    org: str = ""
    slug: str = ""
    name: str = ""
    members: Optional[List[str]] = None
    created_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Role(Wire):
    """One role of an org's policy (permissions flattened, sorted)."""

    __schema__ = "Role"
    name: str = ""
    level: int = 0
    parents: Optional[List[str]] = None
    permissions: List[str] = field(default_factory=list)
    custom: bool = False
    extra: Dict[str, Any] = _extra()


@dataclass
class Pos(Wire):
    """A position in a policy text."""

    __schema__ = "Pos"
    file: str = ""
    offset: int = 0
    line: int = 0
    col: int = 0
    extra: Dict[str, Any] = _extra()


@dataclass
class Diagnostic(Wire):
    """One positioned policy finding."""

    __schema__ = "Diagnostic"
    pos: Optional[Pos] = None
    severity: str = ""
    code: str = ""
    message: str = ""
    hint: str = ""
    extra: Dict[str, Any] = _extra()

    def __str__(self) -> str:
        p = self.pos or Pos()
        where = (p.file + ":" if p.file else "") + (f"{p.line}:{p.col}" if p.line else "")
        s = f"{where or '-'}: {self.severity}: {self.message}"
        return s + (f" ({self.hint})" if self.hint else "")


@dataclass
class Policy(Wire):
    """One version of an org's policy text."""

    __schema__ = "Policy"
    org: str = ""
    version: int = 0
    text: str = ""
    author: str = ""
    created_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Validation(Wire):
    """The outcome of compiling and linting a policy text."""

    __schema__ = "ValidateResponse"
    valid: bool = False
    diagnostics: List[Diagnostic] = field(default_factory=list)
    extra: Dict[str, Any] = _extra()


@dataclass
class Scope(Wire):
    """Where a binding applies: the org (all empty), a namespace, or one
    resource (namespace, type and id)."""

    __schema__ = "Scope"
    namespace: str = ""
    type: str = ""
    id: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class ResourceRef(Wire):
    """A resource's identity."""

    __schema__ = "ResourceRef"
    namespace: str = ""
    type: str = ""
    id: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class BindingCore(Wire):
    """A binding as the engine sees it."""

    __schema__ = "BindingCore"
    id: str = ""
    principal: str = ""
    role: str = ""
    actions: Optional[List[str]] = None
    scope: Optional[Scope] = None
    condition: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Binding(BindingCore):
    """A role (or, on one resource, an action list) granted to a principal
    at a scope, with who made it when."""

    __schema__ = "Binding"
    org: str = ""
    created_by: str = ""
    created_at: str = ""
    #: When the grant stops granting (RFC 3339); empty for a lasting one.
    expires_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Agent(Wire):
    """An AI agent identity of an org."""

    __schema__ = "Agent"
    org: str = ""
    name: str = ""
    role: str = ""
    sponsor: str = ""
    expires_at: str = ""
    attributes: Optional[Dict[str, Any]] = None
    created_at: str = ""
    #: The "user:<id>" members and "team:<slug>" teams answerable for it;
    #: when none is left the agent is suspended (status "sponsor_gone").
    sponsors: Optional[List[str]] = None
    #: Suspended by hand (update_agent(suspended=True)).
    suspended: bool = False
    #: When a sponsor last attested it, and when it last acted (RFC 3339).
    attested_at: str = ""
    last_used_at: str = ""
    #: "active", or why every decision for it is a deny now: "expired",
    #: "suspended", "sponsor_gone", "inactive", "attestation_due".
    status: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Service(Wire):
    """A runtime or CI account of an org."""

    __schema__ = "Service"
    org: str = ""
    name: str = ""
    attributes: Optional[Dict[str, Any]] = None
    created_at: str = ""
    #: "active" or why every decision for it is denied now ("suspended",
    #: "sponsor_gone", "inactive", "attestation_due").
    status: str = ""
    suspended: bool = False
    #: "user:<id>" and "team:<slug>" sponsors; none by default.
    sponsors: Optional[List[str]] = None
    #: Opted in to the org's inactivity and attestation rules.
    lifecycle: bool = False
    attested_at: str = ""
    last_used_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Resource(Wire):
    """A resource with its current spec."""

    __schema__ = "Resource"
    namespace: str = ""
    type: str = ""
    id: str = ""
    labels: Optional[Dict[str, str]] = None
    attributes: Optional[Dict[str, Any]] = None
    org: str = ""
    spec: Any = None
    version: int = 0
    updated_by: str = ""
    created_at: str = ""
    updated_at: str = ""
    extra: Dict[str, Any] = _extra()

    @property
    def ref(self) -> ResourceRef:
        """The resource's identity."""
        return ResourceRef(namespace=self.namespace, type=self.type, id=self.id)


@dataclass
class Invitation(Wire):
    """An invitation of an email address to an org with a role."""

    __schema__ = "Invitation"
    id: str = ""
    org: str = ""
    email: str = ""
    role: str = ""
    invited_by: str = ""
    created_at: str = ""
    expires_at: str = ""
    accepted_at: str = ""
    accepted_by: str = ""
    revoked_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class InvitationCreated(Wire):
    """A new invitation with its token, shown this once."""

    __schema__ = "InvitationCreated"
    revision: int = 0
    item: Optional[Invitation] = None
    token: str = field(default="", repr=False)
    extra: Dict[str, Any] = _extra()


@dataclass
class Session(Wire):
    """A short-lived session token."""

    __schema__ = "SessionResponse"
    token: str = field(default="", repr=False)
    token_type: str = ""
    expires_at: str = ""
    principal: str = ""
    org: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Accepted(Wire):
    """The outcome of accepting an invitation."""

    __schema__ = "AcceptResponse"
    revision: int = 0
    user: Optional[User] = None
    org: str = ""
    role: str = ""
    session: Optional[Session] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class Health(Wire):
    """The answer of /healthz and /readyz."""

    __schema__ = "Health"
    status: str = ""
    version: str = ""
    engine_revision: int = 0
    store_revision: int = 0
    detail: str = ""
    revision_lag_max: int = 0
    follower_healthy: bool = False
    extra: Dict[str, Any] = _extra()


# --- decisions


@dataclass
class Grant(Wire):
    """One effective permission pattern; any one of ``conditions`` must
    hold (none: unconditional)."""

    __schema__ = "GrantOut"
    permission: str = ""
    conditions: Optional[List[str]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class MeOrg(Wire):
    """An org of the caller with what it may do there."""

    __schema__ = "MeOrg"
    id: str = ""
    name: str = ""
    namespace: str = ""
    permissions: List[Grant] = field(default_factory=list)
    extra: Dict[str, Any] = _extra()


@dataclass
class Me(Wire):
    """Who the caller is."""

    __schema__ = "Me"
    principal: str = ""
    org: str = ""
    via: str = ""
    key_id: str = ""
    expires_at: str = ""
    user: Optional[User] = None
    orgs: List[MeOrg] = field(default_factory=list)
    extra: Dict[str, Any] = _extra()


@dataclass
class Rule(Wire):
    """An agent's obligation (kind "must") or advice ("should")."""

    __schema__ = "RuleOut"
    kind: str = ""
    text: str = ""
    action: str = ""
    resource: str = ""
    condition: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class CheckWarning(Wire):
    """A note on a decision for the integrator; it never changes the
    decision. ``code`` is machine-readable: today ``unknown_action`` (the
    org's policy names no such action), given only to callers holding
    ``policy:read``."""

    __schema__ = "CheckWarning"
    code: str = ""
    message: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Decision(Wire):
    """The answer to a check. Branch on ``allowed``; ``reason`` says why a
    deny is a deny (never turns it into anything else)."""

    __schema__ = "CheckResponse"
    allowed: bool = False
    revision: int = 0
    obligations: Optional[List[Rule]] = None
    advice: Optional[List[Rule]] = None
    reason: str = ""
    #: "approval_required" when a person must approve first (else empty).
    result: str = ""
    #: The approval record of an approval_required answer (or the one an
    #: allow consumed).
    approval: Optional[Dict[str, Any]] = None
    #: Notes that never change the decision (``unknown_action``).
    warnings: Optional[List[CheckWarning]] = None
    extra: Dict[str, Any] = _extra()

    def __bool__(self) -> bool:
        return self.allowed is True

    @property
    def approval_required(self) -> bool:
        """The server asks for a person's approval first (DESIGN §1.1 item
        8); the decision is still a deny."""
        return self.result == "approval_required" or self.reason == "approval_required"


@dataclass
class BatchResult(Wire):
    """One answer of a batch; ``error`` (the item's problem) is set iff the
    item could not be decided, and then ``allowed`` is False."""

    __schema__ = "BatchResult"
    allowed: bool = False
    obligations: Optional[List[Rule]] = None
    advice: Optional[List[Rule]] = None
    reason: str = ""
    #: "approval_required" when a person must approve first (else empty).
    result: str = ""
    #: The approval the item waits for (or the one its allow consumed).
    approval: Optional[Dict[str, Any]] = None
    #: Notes that never change the decision, as Decision's.
    warnings: Optional[List[CheckWarning]] = None
    error: Optional[Dict[str, Any]] = None
    extra: Dict[str, Any] = _extra()

    def __bool__(self) -> bool:
        return self.allowed is True and self.error is None

    @property
    def approval_required(self) -> bool:
        """The item needs a person's approval first; still a deny."""
        return self.result == "approval_required"


@dataclass
class Batch(Wire):
    """The answers of a batch of checks, in request order."""

    __schema__ = "BatchCheckResponse"
    results: List[BatchResult] = field(default_factory=list)
    revision: int = 0
    extra: Dict[str, Any] = _extra()


@dataclass
class Trace(Wire):
    """One step of an explanation."""

    __schema__ = "TraceOut"
    binding: Optional[BindingCore] = None
    via: str = ""
    role: str = ""
    pattern: str = ""
    condition: str = ""
    condition_held: bool = False
    condition_error: str = ""
    note: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Explanation(Wire):
    """A decision with the reasons: the grants that decided it, or the
    near misses."""

    __schema__ = "ExplainResponse"
    allowed: bool = False
    revision: int = 0
    reason: str = ""
    summary: str = ""
    grants: List[Trace] = field(default_factory=list)
    near: List[Trace] = field(default_factory=list)
    obligations: Optional[List[Rule]] = None
    advice: Optional[List[Rule]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class ResourcePage(Wire):
    """One page of a resource lookup, in (namespace, type, id) order."""

    __schema__ = "LookupResourcesResponse"
    items: List[ResourceRef] = field(default_factory=list)
    next_cursor: str = ""
    revision: int = 0
    #: With include_conditional: the items allowed only under conditions,
    #: each {"namespace", "type", "id", "conditions"}.
    conditional: Optional[List[Dict[str, Any]]] = None
    #: The items that need a person's approval first.
    approval_required: Optional[List[ResourceRef]] = None
    #: "unknown_namespace" when the lookup names a namespace the org does
    #: not have (items is then empty), as a check of the same question
    #: answers; "" otherwise.
    reason: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Subject(Wire):
    """A principal that may do something, with the teams (or roles) the
    grant came through."""

    __schema__ = "Subject"
    principal: str = ""
    via: Optional[List[str]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class Subjects(Wire):
    """Who may do an action on a resource."""

    __schema__ = "LookupSubjectsResponse"
    items: List[Subject] = field(default_factory=list)
    revision: int = 0
    #: "unknown_namespace" when the lookup names a namespace the org does
    #: not have (items is then empty), as a check answers; "" otherwise.
    reason: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Permissions(Wire):
    """What a principal holds in a namespace."""

    __schema__ = "PermissionsResponse"
    principal: str = ""
    namespace: str = ""
    items: List[Grant] = field(default_factory=list)
    revision: int = 0
    #: "unknown_namespace" when the namespace is not the org's (items is
    #: then empty); "" otherwise.
    reason: str = ""
    extra: Dict[str, Any] = _extra()


# --- keys and secrets


@dataclass
class APIKey(Wire):
    """An API key's metadata (never its secret)."""

    __schema__ = "APIKey"
    id: str = ""
    org: str = ""
    principal: str = ""
    name: str = ""
    created_by: str = ""
    created_at: str = ""
    expires_at: str = ""
    revoked_at: str = ""
    last_used_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class KeyCreated(Wire):
    """A new API key with its token, shown this once (never printed)."""

    __schema__ = "KeyCreated"
    revision: int = 0
    item: Optional[APIKey] = None
    token: str = field(default="", repr=False)
    extra: Dict[str, Any] = _extra()


@dataclass
class Secret(Wire):
    """A secret's metadata; its value never leaves the vault except to
    ``reveal`` (audited) and to a runtime's run-token exchange."""

    __schema__ = "Secret"
    org: str = ""
    namespace: str = ""
    name: str = ""
    description: str = ""
    version: int = 0
    expires_at: str = ""
    referable_by: Optional[List[str]] = None
    created_by: str = ""
    created_at: str = ""
    updated_by: str = ""
    updated_at: str = ""
    rotated_at: str = ""
    last_used_at: str = ""
    extra: Dict[str, Any] = _extra()


# --- runs


@dataclass
class RunGrant(Wire):
    """A run token for a resource (single use, short-lived); hand
    ``token`` to the runtime, which exchanges it for the secrets."""

    __schema__ = "RunGrant"
    token: str = field(default="", repr=False)
    token_id: str = ""
    resource: Optional[ResourceRef] = None
    resource_version: int = 0
    runtime: str = ""
    expires_at: str = ""
    secret_count: int = 0
    secrets: Optional[List[str]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class Released(Wire):
    """One secret value released to a runtime (never printed)."""

    __schema__ = "Released"
    name: str = ""
    version: int = 0
    value: str = field(default="", repr=False)
    extra: Dict[str, Any] = _extra()


@dataclass
class Release(Wire):
    """What a run token exchanged for: the secrets of the run."""

    __schema__ = "Release"
    resource: Optional[ResourceRef] = None
    resource_version: int = 0
    issued_by: str = ""
    secrets: List[Released] = field(default_factory=list)
    extra: Dict[str, Any] = _extra()


@dataclass
class ApprovalVote(Wire):
    """One approver's answer to an approval."""

    __schema__ = "ApprovalVote"
    by: str = ""
    approve: bool = False
    comment: str = ""
    at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class Approval(Wire):
    """A request for people's approval of one exact question (principal,
    action, resource, namespace, spec version and arguments). ``status``
    is pending, granted, denied, expired or consumed; a granted one lets
    one check presenting its ``id`` (``approval_id``) through, once."""

    __schema__ = "Approval"
    id: str = ""
    org: str = ""
    status: str = ""
    principal: str = ""
    on_behalf_of: str = ""
    action: str = ""
    resource: str = ""
    namespace: str = ""
    spec_version: int = 0
    arguments_sha256: str = ""
    quorum: int = 0
    #: Per rule restricting its approvers, the roles of which an approver
    #: must hold one (the wire name is ``from``).
    from_: Optional[List[List[str]]] = field(default=None, metadata={"name": "from"})
    rules: Optional[List[str]] = None
    #: Who may approve now (on reads of one approval).
    approvers: Optional[List[str]] = None
    votes: Optional[List[ApprovalVote]] = None
    requested_by: str = ""
    created_at: str = ""
    expires_at: str = ""
    use_by: str = ""
    consumed_at: str = ""
    extra: Dict[str, Any] = _extra()

    @property
    def pending(self) -> bool:
        """Still waiting for approvers."""
        return self.status == "pending"

    @property
    def granted(self) -> bool:
        """Granted and not yet used: a check presenting it passes once."""
        return self.status == "granted"


@dataclass
class Run(Wire):
    """One recorded execution of a resource: who ran it, at which spec
    version, the input's and output's digest, size and (redacted)
    summary, and how it ended."""

    __schema__ = "Run"
    id: str = ""
    org: str = ""
    namespace: str = ""
    resource: str = ""
    spec_version: int = 0
    principal: str = ""
    on_behalf_of: str = ""
    triggered_by: str = ""
    approval_id: str = ""
    runtime: str = ""
    #: running, succeeded or failed.
    status: str = ""
    input_sha256: str = ""
    input_size: int = 0
    input_summary: str = ""
    error: str = ""
    output_sha256: str = ""
    output_size: int = 0
    output_summary: str = ""
    started_at: str = ""
    finished_at: str = ""
    duration_ms: int = 0
    extra: Dict[str, Any] = _extra()


@dataclass
class RunStarted(Wire):
    """The answer to a run start: ``result`` "started" with the ``run``
    (and its ``run_token`` when asked), or "approval_required" with the
    ``approval`` and no run."""

    __schema__ = "RunStartResponse"
    result: str = ""
    run: Optional[Run] = None
    approval: Optional[Approval] = None
    run_token: Optional[RunGrant] = None
    extra: Dict[str, Any] = _extra()

    @property
    def approval_required(self) -> bool:
        """A person must approve first; nothing was recorded."""
        return self.result == "approval_required"


# --- agents: tokens and blast radius


@dataclass
class AgentToken(Wire):
    """A minted agent token, shown this once: it works only at
    ``audience`` (every API route refuses it) until ``expires_at``."""

    __schema__ = "AgentToken"
    revision: int = 0
    token: str = field(default="", repr=False)
    token_type: str = ""
    token_id: str = ""
    agent: str = ""
    on_behalf_of: str = ""
    audience: str = ""
    expires_at: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class AgentTokenInfo(Wire):
    """A minted agent token's metadata, as listed: never the token.
    ``id`` is the ``token_id`` minting answered; ``revoked_at`` and
    ``revoked_by`` are set once it is revoked."""

    __schema__ = "AgentTokenInfo"
    id: str = ""
    agent: str = ""
    on_behalf_of: str = ""
    audience: str = ""
    created_by: str = ""
    created_at: str = ""
    expires_at: str = ""
    revoked_at: str = ""
    revoked_by: str = ""
    extra: Dict[str, Any] = _extra()


@dataclass
class ReachApproval(Wire):
    """An ``ask before`` rule that applies to a principal: ``permission``
    needs ``quorum`` approvals (from a holder of a role in ``from``) when
    all ``conditions`` hold. ``from`` is ``from_`` in Python."""

    __schema__ = "ReachApproval"
    permission: str = ""
    rule: str = ""
    owner: str = ""
    source: str = ""
    quorum: int = 0
    from_: Optional[List[str]] = field(default=None, metadata={"name": "from"})
    conditions: Optional[List[str]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class ReachEntry(Wire):
    """One permission pattern a principal holds: on every resource it
    covers (``resources`` exist now), or on one ``resource``;
    ``severity`` is "all", "destructive", "change" or "read"."""

    __schema__ = "ReachEntry"
    permission: str = ""
    resource: Optional[ResourceRef] = None
    resources: int = 0
    conditions: Optional[List[str]] = None
    severity: str = ""
    approvals: Optional[List[ReachApproval]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class NamespaceReach(Wire):
    """What a principal reaches in one namespace, most destructive first."""

    __schema__ = "NamespaceReach"
    namespace: str = ""
    entries: List[ReachEntry] = field(default_factory=list)
    extra: Dict[str, Any] = _extra()


@dataclass
class SecretReach(Wire):
    """A secret the principal could cause to be injected, through the
    runnable resources whose specs reference it (``via_approval``: those it
    may run only with a person's approval)."""

    __schema__ = "SecretReach"
    namespace: str = ""
    name: str = ""
    via: List[ResourceRef] = field(default_factory=list)
    via_approval: Optional[List[ResourceRef]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class ToolReach(Wire):
    """An MCP tool the principal may call (``approvals`` set: each call
    needs approval first)."""

    __schema__ = "ToolReach"
    namespace: str = ""
    type: str = ""
    id: str = ""
    approvals: Optional[List[ReachApproval]] = None
    extra: Dict[str, Any] = _extra()


@dataclass
class Reach(Wire):
    """A principal's blast radius: everything it could do if its
    credentials were stolen. ``status`` is "active" or why it can do
    nothing now; ``summary`` says it in a few sentences."""

    __schema__ = "Reach"
    principal: str = ""
    revision: int = 0
    status: str = ""
    namespaces: List[NamespaceReach] = field(default_factory=list)
    secrets: Optional[List[SecretReach]] = None
    hidden_secrets: int = 0
    tools: Optional[List[ToolReach]] = None
    truncated: bool = False
    summary: str = ""
    extra: Dict[str, Any] = _extra()


#: Every wire type of the SDK (the drift test walks this list).
WIRE_TYPES: List[type] = [
    Page, Written, Org, Namespace, User, Member, Team, Role, Pos, Diagnostic, Policy, Validation, Scope,
    ResourceRef, BindingCore, Binding, Agent, Service, Resource, Invitation, InvitationCreated, Session,
    Accepted, Health, Grant, MeOrg, Me, Rule, Decision, BatchResult, Batch, Trace, Explanation,
    ResourcePage, Subject, Subjects, Permissions, APIKey, KeyCreated, Secret, RunGrant, Released, Release,
    ApprovalVote, Approval, Run, RunStarted, OrgLifecycle, AgentToken, AgentTokenInfo, ReachApproval, ReachEntry, NamespaceReach,
    SecretReach, ToolReach, Reach,
]
