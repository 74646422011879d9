"""Gatehouse: the Python SDK of the Gatehouse access-control server.

Standard library only. One thread-safe :class:`Client` for decisions
(check, batch, explain, lookups, permissions, me) and for what a platform
automates (orgs, namespaces, members, teams, bindings, sharing, agents,
resources, policy, run tokens); typed exceptions carrying the RFC 9457
problem document; and guards for agent tool calls and web back ends
(:func:`require`, :class:`ASGIMiddleware`, :class:`WSGIMiddleware`).

Invariants: fail closed — nothing here reports an allow it did not decode
from a 2xx answer; every error, timeout or malformed answer raises (a guard
turns it into a refusal, never a pass-through). The API token never appears
in an exception message or a repr.

Quickstart::

    import gatehouse
    gh = gatehouse.Client("http://127.0.0.1:8080", token=os.environ["GATEHOUSE_TOKEN"])
    if gh.check("demo", "chains:run", "chains/escalation-triage", namespace="prod").allowed:
        ...
"""

from ._client import MAX_BATCH, CheckItem, Client
from ._errors import (APIError, ApprovalRequired, Conflict, DecodeError, Denied, Escalation, Forbidden,
                      GatehouseError, Gone, InvalidPolicy, InvalidRequest, NotCaughtUp, NotFound, RateLimited,
                      ServerError, Timeout, TransportError, Unauthenticated, Unavailable)
from ._guard import ASGIMiddleware, Guard, Rule as GuardRule, WSGIMiddleware, acting_as, configure, require
from ._transport import RetryPolicy
from ._types import (AgentToken, NamespaceReach, OrgLifecycle, Reach, ReachApproval, ReachEntry, SecretReach,
                     ToolReach, Approval, ApprovalVote, Run, RunStarted, APIKey, KeyCreated, Secret, Accepted, Agent, Batch, BatchResult, Binding, BindingCore, CheckWarning, OutrankedCredential, WriteWarning, Decision, Diagnostic, Explanation,
                     Grant, Health, Invitation, InvitationCreated, Me, MeOrg, Member, Namespace, Org, Page,
                     Permissions, Policy, Pos, Release, Released, Resource, ResourcePage, ResourceRef, Role, Rule,
                     RunGrant, Scope, Service, Session, Subject, Subjects, Team, Trace, User, Validation, Wire,
                     Written, Revision, PolicyRevision)

__version__ = "0.1.0"

__all__ = [
    "Client", "CheckItem", "MAX_BATCH", "RetryPolicy",
    "Guard", "GuardRule", "require", "configure", "acting_as", "ASGIMiddleware", "WSGIMiddleware",
    "GatehouseError", "TransportError", "Timeout", "DecodeError", "APIError", "Unauthenticated", "Forbidden",
    "Escalation", "NotFound", "Conflict", "Gone", "InvalidRequest", "InvalidPolicy", "RateLimited", "Unavailable",
    "NotCaughtUp", "ServerError", "Denied", "ApprovalRequired",
    "APIKey", "KeyCreated", "Secret", "Accepted", "Agent", "Batch", "BatchResult", "Binding", "BindingCore", "CheckWarning", "OutrankedCredential", "WriteWarning", "Decision", "Diagnostic", "Explanation",
    "Grant", "Health", "Invitation", "InvitationCreated", "Me", "MeOrg", "Member", "Namespace", "Org", "Page",
    "Permissions", "Policy", "Pos", "Release", "Released", "Resource", "ResourcePage", "ResourceRef", "Role", "Rule",
    "RunGrant", "Scope", "Service", "Session", "Subject", "Subjects", "Team", "Trace", "User", "Validation", "Wire",
    "Written", "Revision", "PolicyRevision", "Approval", "ApprovalVote", "Run", "RunStarted",
    "AgentToken", "NamespaceReach", "OrgLifecycle", "Reach", "ReachApproval", "ReachEntry", "SecretReach", "ToolReach",
]
