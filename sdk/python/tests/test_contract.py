"""The language-neutral contract suite (sdk/contract/cases.json) through
the Python SDK, against a real gatehouse serve."""

from __future__ import annotations

import json
import os
import unittest
from typing import Any, Callable, Dict, List, Optional

from gh_server import REPO, server  # noqa: E402  (puts ../src on the path when gatehouse is not installed)

import gatehouse  # noqa: E402

CASES = os.environ.get("GATEHOUSE_CONTRACT_CASES") or os.path.join(REPO, "sdk", "contract", "cases.json")
INVALID_KEY = "gth_0000000000000000_invalidinvalidinvalidinvalidinvalidinvalidinvalid0"


def match(expected: Any, actual: Any, where: str = "$") -> List[str]:
    """The mismatches of actual against the expected subset (README)."""
    if expected == "$any":
        return [] if actual is not None else [f"{where}: missing"]
    if isinstance(expected, dict) and set(expected) == {"$contains"}:
        if not isinstance(actual, list):
            return [f"{where}: want an array, got {actual!r}"]
        out = []
        for i, e in enumerate(expected["$contains"]):
            if not any(not match(e, a) for a in actual):
                out.append(f"{where}: no element matches {json.dumps(e)}")
        return out
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: want an object, got {actual!r}"]
        out = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{where}.{k}: missing")
            else:
                out += match(v, actual[k], f"{where}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: want {json.dumps(expected)}, got {json.dumps(actual)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += match(e, a, f"{where}[{i}]")
        return out
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return [f"{where}: want {json.dumps(expected)}, got {json.dumps(actual)}"]
    return []


def _pop(a: Dict[str, Any], *names: str) -> List[Any]:
    return [a.pop(n) for n in names]


def _kinded(b: Dict[str, Any]) -> Dict[str, Any]:
    """A batch answer with each item's problem type as its kind (README)."""
    for r in b.get("results", []):
        e = r.get("error")
        if isinstance(e, dict) and isinstance(e.get("type"), str):
            e["type"] = e["type"].removeprefix(gatehouse._errors.PROBLEM_BASE)
    return b


def run_op(c: gatehouse.Client, op: str, args: Dict[str, Any]) -> Any:
    """Runs one op through the SDK's public methods; returns wire JSON."""
    a = dict(args)
    ops: Dict[str, Callable[[], Any]] = {
        "me": lambda: c.me(**a),
        "check": lambda: c.check(a.pop("org"), a.pop("action"), **a),
        "check_batch": lambda: _kinded(c.check_batch(a["org"], [gatehouse.CheckItem(**x) for x in a["checks"]]).to_wire()),
        "explain": lambda: c.explain(a.pop("org"), a.pop("action"), **a),
        "lookup_resources": lambda: c.lookup_resources(a.pop("org"), a.pop("action"), **a),
        "lookup_resources_all": lambda: {"items": [r.to_wire() for r in c.iter_resources(a.pop("org"), a.pop("action"), **a)]},
        "lookup_subjects": lambda: c.lookup_subjects(a.pop("org"), a.pop("action"), **a),
        "principal_permissions": lambda: c.permissions(a.pop("org"), a.pop("principal"), **a),
        "policy_get": lambda: c.get_policy(a["org"]),
        "policy_validate": lambda: c.validate_policy(a["org"], a["text"]),
        "create_org": lambda: c.create_org(a.pop("id"), **a),
        "create_namespace": lambda: c.create_namespace(a["org"], a["name"]),
        "list_namespaces": lambda: c.list_namespaces(a.pop("org"), **a),
        "add_member": lambda: c.add_member(a["org"], a["user_id"], a["role"]),
        "list_members": lambda: c.list_members(a.pop("org"), **a),
        "invite": lambda: c.invite(a["org"], a["email"], a["role"]),
        "create_team": lambda: c.create_team(a.pop("org"), a.pop("slug"), **a),
        "create_binding": lambda: c.create_binding(*_pop(a, "org", "principal", "role"), **a),
        "create_resource": lambda: c.create_resource(*_pop(a, "org", "namespace", "type", "id"), **a),
        "get_resource": lambda: c.get_resource(a["org"], a["namespace"], a["type"], a["id"]),
        "share": lambda: c.share(*_pop(a, "org", "namespace", "type", "id"), **a),
        "create_agent": lambda: c.create_agent(*_pop(a, "org", "name", "role"), **a),
        "get_agent": lambda: c.get_agent(a["org"], a["name"]),
        "update_agent": lambda: c.update_agent(*_pop(a, "org", "name"), **a),
        "attest_agent": lambda: c.attest_agent(a["org"], a["name"]),
        "list_agents": lambda: c.list_agents(a.pop("org"), **a),
        "set_lifecycle": lambda: c.set_org_lifecycle(a.pop("org"), **a),
        "reach": lambda: c.reach(a["org"], a["principal"]),
        "mint_agent_token": lambda: c.mint_agent_token(*_pop(a, "org", "name"), **a),
    }
    if op not in ops:
        raise KeyError(f"unknown op {op!r} (sdk/contract/README.md lists them)")
    out = ops[op]()
    return out.to_wire() if isinstance(out, gatehouse.Wire) else out


def run_case(clients: Callable[[Optional[str]], gatehouse.Client], case: Dict[str, Any]) -> List[str]:
    """The mismatches of one case."""
    exp = case["expect"]
    try:
        got = run_op(clients(case["as"]), case["op"], case["args"])
    except gatehouse.APIError as e:
        if "error" not in exp:
            return [f"raised {e!r}"]
        actual = dict(e.problem)
        actual["status"], actual["type"] = e.status, e.kind
        return match(exp["error"], actual, "error")
    if "error" in exp:
        return [f"want error {json.dumps(exp['error'])}, got {json.dumps(got)[:300]}"]
    if "result" in exp:
        return match(exp["result"], got, "result")
    return match(exp, got, "result")


class ContractTest(unittest.TestCase):
    def test_cases(self) -> None:
        with open(CASES) as f:
            doc = json.load(f)
        self.assertEqual(doc["version"], 1)
        srv = server()
        root = gatehouse.Client(srv.url)

        def clients(name: Optional[str]) -> gatehouse.Client:
            if name is None:
                return root.with_token(None)
            return root.with_token(srv.keys.get(name, INVALID_KEY))

        names = [c["name"] for c in doc["cases"]]
        self.assertEqual(len(names), len(set(names)), "case names must be unique")
        failures = []
        for case in doc["cases"]:
            with self.subTest(case=case["name"]):
                problems = run_case(clients, case)
                if problems:
                    failures.append(case["name"])
                self.assertEqual(problems, [], case["name"])
        root.close()


if __name__ == "__main__":
    unittest.main()
