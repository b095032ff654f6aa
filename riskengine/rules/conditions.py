"""The condition language of rule packs: parse, type-check, normalise, compile to durable-rules JSON.

A condition is parsed into a small tree, checked against the declaration's
vocabularies (a misspelled field or value fails when the pack loads, with a
"did you mean"), then put into disjunctive normal form. Each disjunct becomes
one durable-rules rule made only of `$and` and comparisons: durable-rules'
`$or` fires twice when both branches match and `$nex` hangs when it stands
alone (shared/notes/dependencies.md §1.2), so neither is ever emitted.
The facts hold every field of the vocabulary explicitly (a list field becomes
one true/false key per value), so negation is exact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from riskengine import vocab
from riskengine.errors import RulePackError, did_you_mean

MAX_DISJUNCTS = 256
"""A rule whose condition expands to more alternatives than this should be split."""

ALWAYS_KEY = "always"
"""A key that is true in every fact, so that an empty `all: []` condition still compiles."""


@dataclass(frozen=True)
class FieldSpec:
    """One condition field: its kind and vocabulary."""

    name: str
    kind: str
    """enum, list, int or bool."""
    values: tuple[Any, ...] = ()
    low: int = 0
    high: int = 0
    obligation_only: bool = False
    """Fields such as `tier` exist only once the classification has run."""

    @property
    def key(self) -> str:
        return self.name.replace(".", "__")


def _fields() -> dict[str, FieldSpec]:
    specs = [
        FieldSpec("scenario", "enum", vocab.SCENARIOS),
        FieldSpec("decision_role", "enum", vocab.DECISION_ROLES),
        FieldSpec("deployer.sector", "enum", vocab.DEPLOYER_SECTORS),
        FieldSpec("third_party_assessment", "enum", vocab.THIRD_PARTY_ASSESSMENT),
        FieldSpec("product_type", "enum", (*vocab.PRODUCT_TYPES, "none")),
        FieldSpec("product_annex_i_section", "enum", ("A", "B", "none")),
        FieldSpec("model.format", "enum", (*vocab.MODEL_FORMATS, "none")),
        FieldSpec("autonomy_level", "int", low=0, high=5),
        FieldSpec("safety_component", "bool", (True, False)),
        FieldSpec("deployer.public_authority", "bool", (True, False)),
        FieldSpec("human_oversight.in_the_loop", "bool", (True, False)),
        FieldSpec("human_oversight.can_override", "bool", (True, False)),
        FieldSpec("human_oversight.monitoring", "bool", (True, False)),
        FieldSpec("use_cases", "list", tuple(vocab.USE_CASES)),
        FieldSpec("practices", "list", vocab.PRACTICES),
        FieldSpec("controls", "list", vocab.CONTROLS),
        FieldSpec("data_categories", "list", vocab.DATA_CATEGORIES),
        FieldSpec("affected_persons", "list", vocab.AFFECTED_PERSONS),
        FieldSpec("tier", "enum", vocab.TIERS, obligation_only=True),
    ]
    return {s.name: s for s in specs}


FIELDS = _fields()
_LIST_KEYS = tuple((s.name, {v: f"{s.key}__{v}" for v in s.values}) for s in FIELDS.values() if s.kind == "list")
"""Each list field with the fact key of each of its values: a list becomes one true/false key per value."""
_FACT_TEMPLATE: dict[str, Any] = {
    ALWAYS_KEY: True,
    **dict.fromkeys(("scenario", "decision_role", "deployer__sector", "third_party_assessment", "product_type",
                     "product_annex_i_section", "model__format", "autonomy_level", "safety_component",
                     "deployer__public_authority", "human_oversight__in_the_loop", "human_oversight__can_override",
                     "human_oversight__monitoring")),
    **{key: False for _, keys in _LIST_KEYS for key in keys.values()},
}
"""Every key of a fact, in order, with each list value absent: copying it is cheaper than building 103 keys."""


def build_fact(raw: dict[str, Any], tier: str | None = None) -> dict[str, Any]:
    """The flat durable-rules fact for a validated declaration (defaults already filled in)."""
    app = raw["application"]
    deployer = app["deployer"]
    oversight = app["human_oversight"]
    product = app.get("product_type") or "none"
    model = raw.get("model")
    fact = _FACT_TEMPLATE.copy()
    fact["scenario"] = app["scenario"]
    fact["decision_role"] = app["decision_role"]
    fact["deployer__sector"] = deployer["sector"]
    fact["third_party_assessment"] = app["third_party_assessment"]
    fact["product_type"] = product
    fact["product_annex_i_section"] = vocab.PRODUCT_TYPES.get(product, "none")
    fact["model__format"] = model.get("format", "none") if model else "none"
    fact["autonomy_level"] = app["autonomy_level"]
    fact["safety_component"] = app["safety_component"]
    fact["deployer__public_authority"] = deployer["public_authority"]
    fact["human_oversight__in_the_loop"] = oversight["in_the_loop"]
    fact["human_oversight__can_override"] = oversight["can_override"]
    fact["human_oversight__monitoring"] = oversight["monitoring"]
    for name, keys in _LIST_KEYS:
        for value in app.get(name, ()):
            fact[keys.get(value, ALWAYS_KEY)] = True  # a value outside the vocabulary sets the key that is true anyway
    if tier is not None:
        fact["tier"] = tier
    return fact


# ------------------------------------------------------------------ parse and check

# A parsed condition: ("all", [..]) | ("any", [..]) | ("not", node) | ("cmp", key, op, value, field)
Node = tuple

_SCALAR_OPS = {"eq", "ne", "in", "not_in"}
_INT_OPS = {"gt", "gte", "lt", "lte"}
_LIST_OPS = {"has", "lacks", "has_any", "has_all", "has_none"}
_NEGATE = {"eq": "ne", "ne": "eq", "gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}


class ConditionContext:
    """What a condition may refer to: the named definitions, and where errors should point."""

    def __init__(self, definitions: dict[str, Any], source: str):
        self.definitions = definitions
        self.source = source
        self._resolving: list[str] = []
        self.parsed: dict[str, Node] = {}

    def error(self, where: str, message: str, hint: str | None = None) -> RulePackError:
        return RulePackError(message, source=self.source, field=where, hint=hint)

    def definition(self, name: str, where: str) -> Node:
        if name in self.parsed:
            return self.parsed[name]
        if name not in self.definitions:
            raise self.error(where, f"unknown definition '{name}'", did_you_mean(name, self.definitions))
        if name in self._resolving:
            raise self.error(where, "definitions refer to each other in a loop: "
                             + " -> ".join([*self._resolving, name]))
        self._resolving.append(name)
        try:
            node = parse(self.definitions[name], self, f"definitions.{name}")
        finally:
            self._resolving.pop()
        self.parsed[name] = node
        return node


def _value(spec: FieldSpec, value: Any, ctx: ConditionContext, where: str) -> Any:
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not spec.low <= value <= spec.high:
            raise ctx.error(where, f"'{spec.name}' compares with an integer from {spec.low} to {spec.high}, "
                                   f"got {value!r}")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ctx.error(where, f"'{spec.name}' is true or false, got {value!r}")
        return value
    if value not in spec.values:
        raise ctx.error(where, f"'{value}' is not a value of '{spec.name}'",
                        did_you_mean(str(value), [str(v) for v in spec.values]))
    return value


def _values(spec: FieldSpec, value: Any, ctx: ConditionContext, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ctx.error(where, f"expects a non-empty list of values of '{spec.name}', got {value!r}")
    return [_value(spec, v, ctx, f"{where}[{i}]") for i, v in enumerate(value)]


def _leaf(spec: FieldSpec, op: str, value: Any, ctx: ConditionContext, where: str) -> Node:
    def cmp(key: str, o: str, v: Any) -> Node:
        return ("cmp", key, o, v, spec.name)

    if spec.kind == "list":
        if op not in _LIST_OPS:
            raise ctx.error(where, f"'{spec.name}' is a list: use one of {', '.join(sorted(_LIST_OPS))}",
                            did_you_mean(op, _LIST_OPS))
        if op in ("has", "lacks"):
            v = _value(spec, value, ctx, where)
            return cmp(f"{spec.key}__{v}", "eq", op == "has")
        vs = _values(spec, value, ctx, where)
        wanted = op != "has_none"
        nodes = [cmp(f"{spec.key}__{v}", "eq", wanted) for v in vs]
        return ("any", nodes) if op == "has_any" else ("all", nodes)
    allowed = _SCALAR_OPS | (_INT_OPS if spec.kind == "int" else set())
    if op not in allowed:
        raise ctx.error(where, f"operator '{op}' does not apply to '{spec.name}' ({spec.kind}); use one of "
                               f"{', '.join(sorted(allowed))}", did_you_mean(op, allowed))
    if op in ("in", "not_in"):
        vs = _values(spec, value, ctx, where)
        if op == "in":
            return ("any", [cmp(spec.key, "eq", v) for v in vs])
        return ("all", [cmp(spec.key, "ne", v) for v in vs])
    return cmp(spec.key, op, _value(spec, value, ctx, where))


def parse(cond: Any, ctx: ConditionContext, where: str = "when") -> Node:
    """Parse and type-check one condition."""
    if not isinstance(cond, dict) or not cond:
        raise ctx.error(where, f"a condition is a non-empty mapping, got {cond!r}")
    parts: list[Node] = []
    for key, value in cond.items():
        here = f"{where}.{key}"
        if key in ("all", "any"):
            if not isinstance(value, list):
                raise ctx.error(here, f"'{key}' takes a list of conditions")
            parts.append((key, [parse(c, ctx, f"{here}[{i}]") for i, c in enumerate(value)]))
        elif key == "not":
            parts.append(("not", parse(value, ctx, here)))
        elif key == "ref":
            parts.append(ctx.definition(str(value), here))
        elif key in FIELDS:
            spec = FIELDS[key]
            if isinstance(value, dict):
                if len(value) != 1:
                    raise ctx.error(here, "give exactly one operator, e.g. {has: value}")
                ((op, arg),) = value.items()
                parts.append(_leaf(spec, str(op), arg, ctx, f"{here}.{op}"))
            elif spec.kind == "list":
                raise ctx.error(here, f"'{key}' is a list: write {{{key}: {{has: {value}}}}}")
            else:
                parts.append(_leaf(spec, "eq", value, ctx, here))
        else:
            known = [*FIELDS, "all", "any", "not", "ref"]
            raise ctx.error(here, f"unknown field '{key}'", did_you_mean(key, known)
                            or "see docs/rule-format.md for the fields")
    return parts[0] if len(parts) == 1 else ("all", parts)


def mentions(node: Node, field: str) -> bool:
    if node[0] == "cmp":
        return node[4] == field
    if node[0] == "not":
        return mentions(node[1], field)
    return any(mentions(n, field) for n in node[1])


# ------------------------------------------------------------------ normal forms and compilation

Leaf = tuple  # (key, op, value)


def _nnf(node: Node, negate: bool = False) -> Node:
    kind = node[0]
    if kind == "cmp":
        _, key, op, value, _field = node
        if negate:
            if isinstance(value, bool) and op in ("eq", "ne"):
                return ("cmp", key, "eq", (not value) if op == "eq" else value, _field)
            op = _NEGATE[op]
        return ("cmp", key, op, value, _field)
    if kind == "not":
        return _nnf(node[1], not negate)
    flip = {"all": "any", "any": "all"}
    return (flip[kind] if negate else kind, [_nnf(n, negate) for n in node[1]])


def _dnf(node: Node, where: str, source: str) -> list[frozenset[Leaf]]:
    kind = node[0]
    if kind == "cmp":
        return [frozenset({(node[1], node[2], node[3])})]
    if kind == "any":
        out: list[frozenset[Leaf]] = []
        for child in node[1]:
            out.extend(_dnf(child, where, source))
    else:  # all
        out = [frozenset()]
        for child in node[1]:
            out = [a | b for a, b in itertools.product(out, _dnf(child, where, source))]
            if len(out) > MAX_DISJUNCTS * 4:
                break
    out = [c for c in dict.fromkeys(out) if not _contradictory(c)]
    if len(out) > MAX_DISJUNCTS:
        raise RulePackError(f"condition expands to more than {MAX_DISJUNCTS} alternatives; split the rule",
                            source=source, field=where)
    return out


def _contradictory(conj: frozenset[Leaf]) -> bool:
    eq: dict[str, Any] = {}
    for key, op, value in conj:
        if op == "eq":
            if key in eq and eq[key] != value:
                return True
            eq[key] = value
    return any(op == "ne" and eq.get(key, object()) == value for key, op, value in conj)


def _leaf_json(leaf: Leaf) -> dict[str, Any]:
    key, op, value = leaf
    if op == "eq":
        return {key: value}
    return {f"${op}" if op != "ne" else "$neq": {key: value}}


def compile_condition(node: Node, where: str, source: str) -> list[dict[str, Any]]:
    """durable-rules conditions (one per disjunct) for a parsed condition; [] means it can never hold."""
    out = []
    for conj in _dnf(_nnf(node), where, source):
        leaves = [_leaf_json(leaf) for leaf in sorted(conj, key=repr)] or [{ALWAYS_KEY: True}]
        out.append({"all": [{"m": leaves[0] if len(leaves) == 1 else {"$and": leaves}}]})
    return out


def evaluate(node: Node, fact: dict[str, Any]) -> bool:
    """Evaluate a parsed condition in Python: the independent reference the tests hold durable-rules to."""
    kind = node[0]
    if kind == "cmp":
        _, key, op, value, _ = node
        got = fact[key]
        return {"eq": got == value, "ne": got != value, "gt": got > value, "gte": got >= value,
                "lt": got < value, "lte": got <= value}[op]
    if kind == "not":
        return not evaluate(node[1], fact)
    results = (evaluate(n, fact) for n in node[1])
    return all(results) if kind == "all" else any(results)
