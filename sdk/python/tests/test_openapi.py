"""Drift: every SDK wire type and field exists in the server's
/v1/openapi.json with a compatible JSON type, and every Client method calls
a route the document has, with its method."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
import unittest
from typing import Any, Dict, List, Tuple

from gh_server import server

import gatehouse
from gatehouse import _types
from gatehouse._client import CheckItem

# Python annotation → the JSON types it accepts.
_SCALARS = {str: {"string"}, int: {"integer"}, bool: {"boolean"}, float: {"number", "integer"}}


def _json_types(tp: Any) -> set:
    """The OpenAPI types a field annotation can hold (empty: anything)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        out: set = set()
        for a in typing.get_args(tp):
            if a is not type(None):
                out |= _json_types(a)
        return out
    if origin in (list, List):
        return {"array"}
    if origin in (dict, Dict):
        return {"object"}
    if tp in _SCALARS:
        return _SCALARS[tp]
    if isinstance(tp, type) and issubclass(tp, _types.Wire):
        return {"object", "$ref"}
    if isinstance(tp, typing.TypeVar):
        return set()
    return set()  # Any


def _schema_types(prop: Dict[str, Any]) -> set:
    if "$ref" in prop:
        return {"$ref", "object"}
    t = prop.get("type")
    if isinstance(t, list):
        return set(t) - {"null"}
    return {t} if t else set()


class OpenAPIDriftTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        srv = server()
        cls.doc = gatehouse.Client(srv.url).openapi()
        cls.schemas = cls.doc["components"]["schemas"]

    def schemas_of(self, t: type) -> List[Tuple[str, Dict[str, Any]]]:
        name = t.__schema__
        if name.endswith("*"):
            found = [(k, v) for k, v in self.schemas.items() if k.startswith(name[:-1])]
            self.assertTrue(found, f"{t.__name__}: no schema {name}")
            return found
        self.assertIn(name, self.schemas, f"{t.__name__}: no schema {name} in /v1/openapi.json")
        return [(name, self.schemas[name])]

    def test_types_and_fields_exist(self) -> None:
        for t in _types.WIRE_TYPES + [CheckItem]:
            hints = typing.get_type_hints(t, vars(_types))
            for sname, schema in self.schemas_of(t):
                props = schema.get("properties", {})
                for f in dataclasses.fields(t):
                    if f.metadata.get("wire", True) is False:
                        continue
                    wn = f.metadata.get("name", f.name)
                    with self.subTest(type=t.__name__, schema=sname, field=wn):
                        self.assertIn(wn, props, f"{t.__name__}.{f.name} is not in {sname}")
                        want = _json_types(hints[f.name])
                        have = _schema_types(props[wn])
                        if want and have:
                            self.assertTrue(want & have, f"{t.__name__}.{f.name}: SDK {want}, API {have}")

    def test_every_schema_field_is_read(self) -> None:
        """The other direction for the decision types, which the SDK must
        not silently drop: every member the API documents has a field."""
        for t in [_types.Decision, _types.Explanation, _types.Batch, _types.BatchResult, _types.Me,
                  _types.Permissions, _types.Subjects, _types.ResourcePage, _types.Binding, _types.Resource,
                  _types.Approval, _types.ApprovalVote, _types.Run, _types.RunStarted, _types.Agent,
                  _types.OrgLifecycle, _types.AgentToken, _types.Reach, _types.NamespaceReach, _types.ReachEntry,
                  _types.ReachApproval, _types.SecretReach, _types.ToolReach]:
            names = {f.metadata.get("name", f.name) for f in dataclasses.fields(t)}
            for sname, schema in self.schemas_of(t):
                for p in schema.get("properties", {}):
                    with self.subTest(type=t.__name__, field=p):
                        self.assertIn(p, names, f"{sname}.{p} has no field in {t.__name__}")

    def test_methods_call_documented_routes(self) -> None:
        routes = []
        for path, ops in self.doc["paths"].items():
            rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            for m in ops:
                routes.append((m.upper(), rx))
        calls: List[Tuple[str, str]] = []

        class Stop(Exception):
            pass

        c = gatehouse.Client("http://127.0.0.1:1")

        def record(method: str, path: str, **kw: Any) -> Any:
            calls.append((method, path))
            raise Stop()

        c._t.call = record  # type: ignore[method-assign]
        methods = [(n, m) for n, m in inspect.getmembers(gatehouse.Client, inspect.isfunction)
                   if not n.startswith("_") and n not in ("with_token", "close", "pages")]
        self.assertGreater(len(methods), 50)
        for name, fn in methods:
            with self.subTest(method=name):
                self.assertTrue(fn.__doc__, f"Client.{name} has no docstring")
                args, kwargs = [], {}
                for p in list(inspect.signature(fn).parameters.values())[1:]:
                    if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                        continue
                    ann = str(p.annotation)
                    v: Any = (1 if ann == "int" else [{"action": "a:b"}] if "Iterable" in ann
                              else ["x"] if "List" in ann else "x")
                    if p.kind == p.KEYWORD_ONLY and p.default is p.empty:
                        kwargs[p.name] = v
                    elif p.default is p.empty:
                        args.append(v)
                calls.clear()
                try:
                    out = getattr(c, name)(*args, **kwargs)
                    if inspect.isgenerator(out):
                        next(out)
                except Stop:
                    pass
                self.assertTrue(calls, f"Client.{name} made no request")
                method, path = calls[0]
                path = path.split("?")[0]
                self.assertTrue(any(m == method and rx.match(path) for m, rx in routes),
                                f"Client.{name}: {method} {path} is not in /v1/openapi.json")

    def test_public_names_documented(self) -> None:
        for name in gatehouse.__all__:
            obj = getattr(gatehouse, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                with self.subTest(name=name):
                    self.assertTrue(obj.__doc__ and not obj.__doc__.startswith(obj.__name__ + "("),
                                    f"gatehouse.{name} has no docstring")


if __name__ == "__main__":
    unittest.main()
