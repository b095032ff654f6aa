"""A compiled yes for valid documents: the JSON Schema turned into nested Python checks.

jsonschema walks a declaration in about 0.25-0.45 ms, which dominates a batch
of a million. `compile_check(schema)` turns the same schema (the keywords the
published schemas use) into closures that answer in a few microseconds:

- True: the document is valid; jsonschema would report nothing.
- False: it is not; `schema.validation_errors` then asks jsonschema, which
  names every field that is wrong (the only source of error messages).
- None: the check is unsure (a float where an integer is expected, a list
  of mixed values under uniqueItems ...), and jsonschema decides.

A schema using a keyword not handled here gets no compiled check at all, so
the fast path can never accept what jsonschema would refuse.
tests/test_batch.py and tests/test_declaration.py hold the verdicts equal to
jsonschema's on generated valid and mutated declarations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "x-message", "examples", "$comment"}
_TYPES: dict[str, Any] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}


class Unsure(Exception):
    """Raised inside a check when only jsonschema can tell."""


class Unsupported(Exception):
    """The schema uses something the compiler does not handle: no compiled check for it."""


def _type_check(wanted: Any) -> Check:
    names = wanted if isinstance(wanted, list) else [wanted]

    def one(name: str) -> Check:
        if name in _TYPES:
            cls = _TYPES[name]
            if cls is bool:
                return lambda x: x is True or x is False
            return lambda x: isinstance(x, cls)
        if name == "integer":
            def integer(x: Any) -> bool:
                if isinstance(x, bool):
                    return False
                if isinstance(x, int):
                    return True
                if isinstance(x, float) and x.is_integer():
                    raise Unsure  # jsonschema counts 1.0 as an integer
                return False
            return integer
        if name == "number":
            return lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
        raise Unsupported(f"type {name}")

    checks = [one(n) for n in names]
    if len(checks) == 1:
        return checks[0]
    return lambda x: any(c(x) for c in checks)


def _equal_to_one_of(values: list[Any]) -> Check:
    strings = {v for v in values if isinstance(v, str)}
    has_none = None in values
    others = [v for v in values if v is not None and not isinstance(v, str)]

    def check(x: Any) -> bool:
        if isinstance(x, str):
            return x in strings
        if x is None:
            return has_none
        if others:
            raise Unsure  # jsonschema's equality (1 vs True, 1 vs 1.0, nested values) decides
        return False  # only texts (and null) are allowed: nothing else equals one

    return check


def _all(checks: list[Check]) -> Check:
    """One check that holds when every check holds (no generator: this runs millions of times)."""
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)

    def every(x: Any) -> bool:
        for check in checks:
            if not check(x):
                return False
        return True

    return every


_HANDLED = {"type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum", "properties", "patternProperties", "additionalProperties", "required", "items",
            "uniqueItems", "allOf", "if", "then", "else"}
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_KEYWORDS_OF_TYPE = {
    "string": {"pattern", "minLength", "maxLength"},
    "number": set(_BOUNDS),
    "integer": set(_BOUNDS),
    "object": {"properties", "patternProperties", "additionalProperties", "required"},
    "array": {"items", "uniqueItems"},
}
"""The keywords that constrain one type: a single `type` with some of them is enforced by their own check."""


def compile_check(schema: Any) -> Check:
    """Compile a schema into a check (raises Unsupported when it cannot)."""
    if schema is True or schema == {}:
        return lambda x: True
    if schema is False:
        return lambda x: False
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    keys = set(schema) - _ANNOTATIONS
    if keys - _HANDLED:
        raise Unsupported(", ".join(sorted(keys - _HANDLED)))
    checks: list[Check] = []
    for key in ("enum", "const"):
        if key in keys:
            values = list(schema[key]) if key == "enum" else [schema[key]]
            checks.append(_equal_to_one_of(values))
    # one call instead of two: a single type with its own keywords present is enforced by their check
    wanted = schema.get("type")
    fused = wanted if isinstance(wanted, str) and keys & _KEYWORDS_OF_TYPE.get(wanted, set()) else None
    if "type" in keys and fused is None and not ("enum" in keys and _enum_implies_type(list(schema["enum"]), wanted)):
        checks.insert(0, _type_check(wanted))
    if keys & _KEYWORDS_OF_TYPE["string"]:
        checks.append(_string_check(schema, strict=fused == "string"))
    if keys & _KEYWORDS_OF_TYPE["number"]:
        checks.append(_number_check(schema, fused if fused in ("number", "integer") else None))
    if keys & _KEYWORDS_OF_TYPE["object"]:
        checks.append(_object_check(schema, strict=fused == "object"))
    if keys & _KEYWORDS_OF_TYPE["array"]:
        checks.append(_array_check(schema, strict=fused == "array"))
    if "allOf" in keys:
        checks.extend(compile_check(s) for s in schema["allOf"])
    if "if" in keys:
        checks.append(_conditional(schema))
    return _all(checks)


def _enum_implies_type(values: list[Any], wanted: Any) -> bool:
    """An enum of texts (and null) admits only what `type` admits, so the type need not be checked again."""
    names = set(wanted if isinstance(wanted, list) else [wanted])
    return all((isinstance(v, str) and "string" in names) or (v is None and "null" in names) for v in values)


def _string_check(schema: dict[str, Any], strict: bool) -> Check:
    """pattern, minLength and maxLength; `strict` when the schema's type is "string" (else other types pass)."""
    search = re.compile(schema["pattern"]).search if "pattern" in schema else None
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")

    def check(x: Any) -> bool:
        if not isinstance(x, str):
            return not strict
        n = len(x)
        if n < low or (high is not None and n > high):
            return False
        return search is None or search(x) is not None

    return check


def _number_check(schema: dict[str, Any], wanted: str | None) -> Check:
    """The four bounds in one check; with `wanted` ("number" or "integer") it enforces that type as well."""
    low, high, above, below = (schema.get(key) for key in _BOUNDS)
    integer = wanted == "integer"

    def check(x: Any) -> bool:
        if x.__class__ is bool or not isinstance(x, (int, float)):
            return wanted is None  # the bounds say nothing about what is not a number
        if integer and not isinstance(x, int):
            if x.is_integer():
                raise Unsure  # jsonschema counts 1.0 as an integer
            return False
        return ((low is None or x >= low) and (high is None or x <= high) and (above is None or x > above)
                and (below is None or x < below))

    return check


def _object_check(schema: dict[str, Any], strict: bool) -> Check:
    properties = {name: compile_check(sub) for name, sub in schema.get("properties", {}).items()}
    patterns = [(re.compile(p).search, compile_check(sub)) for p, sub in schema.get("patternProperties", {}).items()]
    # a known property that a pattern matches must hold both: fold the pattern's check into it, once, here
    for name in list(properties):
        also = [sub for search, sub in patterns if search(name) is not None]
        if also:
            properties[name] = _all([properties[name], *also])
    extra = schema.get("additionalProperties", True)
    extra_check = None if extra is True else compile_check(extra)
    required = frozenset(schema.get("required", ()))

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return not strict
        if not x.keys() >= required:
            return False
        for key, value in x.items():
            known = properties.get(key)
            if known is not None:
                if not known(value):
                    return False
                continue
            matched = False
            for search, sub in patterns:
                if search(key) is not None:
                    matched = True
                    if not sub(value):
                        return False
            if not matched and extra_check is not None and not extra_check(value):
                return False
        return True

    return check


def _array_check(schema: dict[str, Any], strict: bool) -> Check:
    items = compile_check(schema["items"]) if "items" in schema else None
    texts = _texts_only(schema.get("items"))
    unique = bool(schema.get("uniqueItems"))

    def check(x: Any) -> bool:
        if not isinstance(x, list):
            return not strict
        if texts is not None:  # the common list of vocabulary words, judged by one set
            try:
                distinct: set[Any] | None = set(x)
            except TypeError:  # a mapping or a list among the items: judged one by one below
                distinct = None
            if distinct is not None and distinct <= texts:
                return not unique or len(distinct) == len(x)
        if items is not None:
            for item in x:
                if not items(item):
                    return False
        if unique and len(x) > 1:
            for item in x:
                if not isinstance(item, str):
                    raise Unsure
            if len(set(x)) != len(x):
                return False
        return True

    return check


def _texts_only(schema: Any) -> frozenset[str] | None:
    """The texts an items schema admits when it admits nothing but those (an enum of texts), else None."""
    if not isinstance(schema, dict) or not isinstance(schema.get("enum"), list) or set(schema) - _ANNOTATIONS - {
            "type", "enum"}:
        return None
    wanted = schema.get("type", "string")
    if "string" not in (wanted if isinstance(wanted, list) else [wanted]):
        return None
    values = schema["enum"]
    return frozenset(values) if all(isinstance(v, str) for v in values) else None


def _conditional(schema: dict[str, Any]) -> Check:
    condition = compile_check(schema["if"])
    then = compile_check(schema.get("then", True))
    otherwise = compile_check(schema.get("else", True))
    return lambda x: then(x) if condition(x) else otherwise(x)


def verdict(check: Check, doc: Any) -> bool | None:
    """True (valid), False (invalid) or None (ask jsonschema)."""
    try:
        return bool(check(doc))
    except Unsure:
        return None
    except RecursionError:
        return None


_PER_SCHEMA: dict[tuple[int, Callable[[Any], Any]], tuple[Any, Any]] = {}


def per_schema(schema: dict[str, Any], make: Callable[[dict[str, Any]], Any]) -> Any:
    """`make(schema)`, made once per schema object (a dict cannot key a cache, and its JSON text is slow to make)."""
    key = (id(schema), make)
    entry = _PER_SCHEMA.get(key)
    if entry is None or entry[0] is not schema:
        entry = _PER_SCHEMA[key] = (schema, make(schema))
    return entry[1]


def _compiled(schema: dict[str, Any]) -> Check | None:
    try:
        return compile_check(schema)
    except Unsupported:
        return None


def fast_verdict(schema: dict[str, Any], doc: Any) -> bool | None:
    """The compiled check's verdict on `doc` (None when there is none, or it is unsure)."""
    check = per_schema(schema, _compiled)
    return None if check is None else verdict(check, doc)
