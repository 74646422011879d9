"""A tiny agent loop whose tools are guarded by Gatehouse.

The agent "Triage" works on behalf of carol (a viewer in the demo org).
Its plan calls three tools; each tool is a plain function guarded with
``guard.require``, so the agent can only do what BOTH the agent and carol
may do (DESIGN §1.1 item 5). A denied call comes back to the agent as a
tool error carrying Gatehouse's explanation, as an LLM would see it.

Run it against `gatehouse serve --dev` (the demo org):

    export GATEHOUSE_URL=http://127.0.0.1:8080
    export GATEHOUSE_TOKEN=$ALICE_KEY   # the platform's key (from demo-keys.env)
    python3 examples/python-agent/agent.py
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, List, Tuple

import gatehouse

gh = gatehouse.Client(os.environ.get("GATEHOUSE_URL", "http://127.0.0.1:8080"), token=os.environ["GATEHOUSE_TOKEN"])
guard = gatehouse.Guard(gh, org="demo", namespace="prod", explain_denials=True)


@guard.require("chains:read", resource="chains/{chain}")
def describe_chain(chain: str) -> str:
    """Tool: what a chain does."""
    r = gh.get_resource("demo", "prod", "chains", chain)
    return (r.spec or {}).get("description", "")


@guard.require("chains:run", resource="chains/{chain}")
def run_chain(chain: str, ticket: str) -> str:
    """Tool: run a chain on a ticket."""
    return f"ran {chain} on ticket {ticket}"


TOOLS: Dict[str, Callable[..., str]] = {"describe_chain": describe_chain, "run_chain": run_chain}

# What the model decided to do (a real agent gets this from its LLM).
PLAN: List[Tuple[str, Dict[str, Any]]] = [
    ("describe_chain", {"chain": "escalation-triage"}),
    ("run_chain", {"chain": "escalation-triage", "ticket": "T-1042"}),
    ("run_chain", {"chain": "database-migration", "ticket": "T-1042"}),
]


def main() -> int:
    denied = 0
    with gatehouse.acting_as("agent:Triage", on_behalf_of="user:carol"):
        for name, args in PLAN:
            try:
                result = TOOLS[name](**args)
                print(f"tool {name}({args}) -> {result}")
            except gatehouse.ApprovalRequired as e:
                print(f"tool {name}({args}) -> waiting for approval {e.approval.get('id')}")
            except gatehouse.Denied as e:
                denied += 1
                # The tool error the model sees: what was refused, and why.
                why = e.explanation.summary if e.explanation else e.reason
                print(f"tool {name}({args}) -> DENIED ({e.reason}): {why}")
    print(f"done: {len(PLAN) - denied} tool calls allowed, {denied} denied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
