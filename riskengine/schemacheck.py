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

`compile_accept(schema)` goes further for the valid case of a batch: Python
source generated from the schema, one inline `if` per value, that returns the
document (with `defaults`, the copy `default_filler` makes, in the same pass)
or REFUSED when it is not sure; jsonschema then decides, and names the errors.
tests/test_schemacheck.py holds it to jsonschema and default_filler keyword by
keyword, tests/test_declaration.py to the whole slow path on declarations.
"""

from __future__ import annotations

import copy
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


def _keywords(schema: Any) -> set[str]:
    """The keywords of a schema object that check something; Unsupported when one is not handled here."""
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    keys = set(schema) - _ANNOTATIONS
    if keys - _HANDLED:
        raise Unsupported(", ".join(sorted(keys - _HANDLED)))
    return keys


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
    keys = _keywords(schema)
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


# ---------------------------------------------------------------- defaults


def _copier(default: Any) -> Callable[[], Any] | None:
    """How to give each declaration its own copy of a default: none for a scalar, `.copy` for a flat list or mapping."""
    scalar = (str, int, float, bool, type(None))
    if isinstance(default, scalar):
        return None
    if isinstance(default, (list, dict)) and all(
            isinstance(v, scalar) for v in (default.values() if isinstance(default, dict) else default)):
        return default.copy
    return lambda: copy.deepcopy(default)


def default_filler(schema: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """A copy of a document with every missing property that has a schema default filled in, recursively; None
    when the schema has no default.

    The walk of the schema is done once. Only the mappings whose schema has a default somewhere below are
    copied; the others are shared with the document, as lists always were.
    """
    if schema.get("type") != "object":
        return None
    defaults, inner = [], []
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub:
            defaults.append((name, sub["default"], _copier(sub["default"])))
        fill_sub = default_filler(sub)
        if fill_sub is not None:
            inner.append((name, fill_sub))
    if not defaults and not inner:
        return None

    def fill(doc: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(doc, dict):
            return doc
        out = dict(doc)
        for name, default, copier in defaults:  # in schema order, as they were always appended
            if name not in out:
                out[name] = default if copier is None else copier()
        for name, fill_sub in inner:
            if name in out:
                out[name] = fill_sub(out[name])
        return out

    return fill


# ---------------------------------------------------------------- generated acceptance


class _Refused:
    """The type of REFUSED, for a readable repr."""

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED: Any = _Refused()
"""What an accept function returns for a document it does not vouch for: invalid, or beyond what it checks."""

_EXACT = {"object": "dict", "array": "list", "string": "str", "integer": "int"}


class _Source:
    """The lines of one generated function, and the objects its code names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"REFUSED": REFUSED}
        self.indent = 2
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: Any) -> str:
        """A name for `value` in the generated code (a literal for a plain integer)."""
        if type(value) is int:
            return repr(value)
        name = self.name("_c")
        self.env[name] = value
        return name

    def add(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def refuse_if(self, conditions: list[str]) -> None:
        if conditions:
            self.add(f"if {' or '.join(conditions)}: return REFUSED")
            conditions.clear()

    def block(self, head: str, body: Callable[[], Any]) -> Any:
        """`head:` followed by what `body()` emits, indented (`pass` when that is nothing)."""
        self.add(head)
        self.indent += 1
        before = len(self.lines)
        got = body()
        if len(self.lines) == before:
            self.add("pass")
        self.indent -= 1
        return got


def _is_type(name: str, x: str) -> str:
    """An exact test: only plain JSON values pass (a subclass or a float for an integer is refused, not judged)."""
    if name in _EXACT:
        return f"type({x}) is {_EXACT[name]}"
    if name == "number":
        return f"(type({x}) is int or type({x}) is float)"
    if name == "boolean":
        return f"{x} is True or {x} is False"
    if name == "null":
        return f"{x} is None"
    raise Unsupported(f"type {name}")


def _literal(value: Any) -> str | None:
    """Python source that builds a fresh copy of a JSON value (None for floats and anything else)."""
    if value is None or type(value) in (bool, int, str):
        return repr(value)
    if type(value) is list:
        items = [_literal(v) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    if type(value) is dict and all(type(k) is str for k in value):
        pairs = [(repr(k), _literal(v)) for k, v in value.items()]
        return None if any(v is None for _, v in pairs) else "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return None


def _emit(src: _Source, schema: Any, x: str, known: str | None, fill: bool) -> str:
    """Code that returns REFUSED unless the value named `x` surely holds `schema`; returns the name of the value
    accepted (with `fill`, a filled copy when the schema has defaults below). `known` is the JSON type `x` is
    already known to have."""
    if schema is True or schema == {}:
        return x
    if schema is False:
        src.add("return REFUSED")
        return x
    keys = _keywords(schema)
    refuse: list[str] = []
    accepted = x
    if "type" in keys:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not (known in names or (known == "integer" and "number" in names)):
            refuse.append(f"not ({' or '.join(dict.fromkeys(_is_type(n, x) for n in names))})")
            known = names[0] if len(names) == 1 else None
    for key in ("enum", "const"):
        if key in keys:
            values = list(schema[key]) if key == "enum" else [schema[key]]
            texts = frozenset(v for v in values if isinstance(v, str))
            ok = [f"{x} in {src.const(texts)}" if known == "string" else f"(type({x}) is str and {x} in "
                  f"{src.const(texts)})"] if texts else []
            ok += [f"{x} is None"] if any(v is None for v in values) else []
            refuse.append(f"not ({' or '.join(ok)})" if ok else "True")  # numbers and such: jsonschema's equality
    for kind, words in (("string", ("minLength", "maxLength", "pattern")), ("number", _BOUNDS),
                        ("object", ("properties", "patternProperties", "additionalProperties", "required")),
                        ("array", ("items", "uniqueItems"))):
        if not keys.intersection(words):
            continue
        if known is None:
            raise Unsupported(f"{', '.join(sorted(keys.intersection(words)))} without a single type")
        if known != kind and not (kind == "number" and known == "integer"):
            continue  # the keywords say nothing about a value of another type
        if kind == "string":
            refuse += _string_conditions(src, schema, x)
        elif kind == "number":
            refuse += [f"not ({x} {op} {src.const(schema[key])})" for key, op in zip(_BOUNDS, (">=", "<=", ">", "<"))
                       if key in schema]
        elif kind == "object":
            src.refuse_if(refuse)
            accepted = _emit_object(src, schema, x, fill)
        else:
            src.refuse_if(refuse)
            _emit_array(src, schema, x)
    src.refuse_if(refuse)
    for sub in schema.get("allOf", ()):
        _emit(src, sub, x, known, fill=False)
    if "if" in keys:
        condition = src.name("c")
        src.add(f"{condition} = {src.const(_verdict_of(schema['if']))}({x})")
        src.add(f"if {condition} is None: return REFUSED")
        src.block(f"if {condition}:", lambda: _emit(src, schema.get("then", True), x, known, fill=False))
        src.block("else:", lambda: _emit(src, schema.get("else", True), x, known, fill=False))
    return accepted


def _string_conditions(src: _Source, schema: dict[str, Any], x: str) -> list[str]:
    out = []
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if low and high is not None:
        out.append(f"not ({src.const(low)} <= len({x}) <= {src.const(high)})")
    elif low:
        out.append(f"len({x}) < {src.const(low)}")
    elif high is not None:
        out.append(f"len({x}) > {src.const(high)}")
    if "pattern" in schema:
        out.append(f"{src.const(re.compile(schema['pattern']).search)}({x}) is None")
    return out


def _verdict_of(schema: Any) -> Callable[[Any], bool | None]:
    """An `if` must be decided exactly, not just vouched for: the closures' True, False or None (unsure)."""
    check = compile_check(schema)
    return lambda doc: verdict(check, doc)


def _emit_object(src: _Source, schema: dict[str, Any], x: str, fill: bool) -> str:
    properties = schema.get("properties", {})
    patterns = [(re.compile(p).search, sub) for p, sub in schema.get("patternProperties", {}).items()]
    extra = schema.get("additionalProperties", True)
    required = schema.get("required", [])
    refuse = [f"{name!r} not in {x}" for name in required if name not in properties]
    src.refuse_if(refuse)
    fills = fill and default_filler(schema) is not None
    out = x
    if fills:  # the copy default_filler makes: the document's keys in order, then the missing defaults
        out = src.name("out")
        src.add(f"{out} = {x}.copy()")
    closed = bool(patterns) or extra is not True  # keys beyond the properties are judged too
    counted = closed and any(name not in required for name in properties)
    missing = src.name("m")  # how many properties are absent, to tell whether any key is not a property
    if counted:
        src.add(f"{missing} = 0")
    for name, sub in properties.items():
        value = src.name("v")
        if name in required:
            _emit_property(src, name, sub, x, value, out, fills, patterns)  # a KeyError when absent: refused
            continue

        def absent(name: str = name, sub: Any = sub) -> None:
            if counted:
                src.add(f"{missing} += 1")
            if fills and "default" in sub:
                src.add(f"{out}[{name!r}] = {_default(src, sub)}")

        src.block(f"if {name!r} in {x}:", lambda name=name, sub=sub, value=value: _emit_property(
            src, name, sub, x, value, out, fills, patterns))
        src.block("else:", absent)
    if closed:
        expected = f"{len(properties)} - {missing}" if counted else str(len(properties))
        src.block(f"if len({x}) != {expected}:", lambda: _emit_extra(src, x, frozenset(properties), patterns, extra))
    return out


def _emit_property(src: _Source, name: str, sub: Any, x: str, value: str, out: str, fills: bool,
                   patterns: list[tuple[Any, Any]]) -> None:
    """One property of the mapping `x`, taken into `value`; with `fills`, its filled copy put into `out`."""
    src.add(f"{value} = {x}[{name!r}]")
    got = _emit(src, sub, value, None, fills)
    for search, also in patterns:  # a property that a pattern matches must hold both
        if search(name) is not None:
            _emit(src, also, value, None, fill=False)
    if got != value:
        src.add(f"{out}[{name!r}] = {got}")


def _emit_extra(src: _Source, x: str, names: frozenset[str], patterns: list[tuple[Any, Any]], extra: Any) -> None:
    """The keys that are not properties: each must match a pattern and hold its schema, or hold the extra one."""
    key, value, matched = src.name("k"), src.name("v"), src.name("p")

    def each() -> None:
        src.add(f"if {key} in {src.const(names)}: continue")
        src.add(f"if type({key}) is not str: return REFUSED")
        if extra is not True:
            src.add(f"{matched} = False")
        for search, sub in patterns:
            def matching(sub: Any = sub) -> None:
                if extra is not True:
                    src.add(f"{matched} = True")
                _emit(src, sub, value, None, fill=False)

            src.block(f"if {src.const(search)}({key}) is not None:", matching)
        if extra is not True:
            src.block(f"if not {matched}:", lambda: _emit(src, extra, value, None, fill=False))

    src.block(f"for {key}, {value} in {x}.items():", each)


def _default(src: _Source, schema: dict[str, Any]) -> str:
    """An expression for what default_filler puts in place of a missing property: a fresh copy of the default,
    filled in turn when it is a mapping whose schema has defaults."""
    fill = default_filler(schema)
    value = schema["default"] if fill is None else fill(copy.deepcopy(schema["default"]))
    if not isinstance(value, (list, dict)):
        return src.const(value)  # the schema's own object, as default_filler shares it
    literal = _literal(value)
    return literal if literal is not None else f"{src.const(copy.deepcopy)}({src.const(value)})"


def _emit_array(src: _Source, schema: dict[str, Any], x: str) -> None:
    items = schema.get("items", True)
    unique = bool(schema.get("uniqueItems"))
    texts = _texts_only(items)
    if texts is not None:  # a list of vocabulary words: looked up in the vocabulary at once, a set only to count
        src.refuse_if([f"not {src.const(texts)}.issuperset({x})",  # TypeError (a mapping among the items): refused
                       *([f"(len({x}) > 1 and len(set({x})) != len({x}))"] if unique else [])])
        return
    if items is not True and items != {}:
        item = src.name("i")
        src.block(f"for {item} in {x}:", lambda: _emit(src, items, item, None, fill=False))
    if unique:  # texts or whole numbers are equal as jsonschema counts them equal; other items it judges
        if not (isinstance(items, dict) and items.get("type") in ("string", "integer")):
            item = src.name("i")
            src.block(f"for {item} in {x}:", lambda: src.refuse_if([f"type({item}) is not str"]))
        src.refuse_if([f"len(set({x})) != len({x})"])


def compile_accept(schema: Any, *, defaults: bool = False) -> Callable[[Any], Any]:
    """The schema as one generated Python function: doc -> doc (with `defaults`, the copy default_filler would
    make of it) when it is surely valid, REFUSED otherwise. Raises Unsupported as compile_check does.

    The closures cost a call per keyword, about 6 µs a declaration; inline code walks it in a fraction of
    that, and fills the defaults in the same pass.
    """
    src = _Source()
    try:
        got = _emit(src, schema, "doc", None, defaults)
    except RecursionError:  # a schema that holds itself, or nests beyond reason
        raise Unsupported("too deep") from None
    src.add(f"return {got}")
    text = "\n".join(["def accept(doc):", "    try:", *src.lines, "    except (KeyError, TypeError):  # a required "
                      "property missing, an unhashable item among texts", "        return REFUSED", ""])
    try:
        code = compile(text, "<schemacheck.compile_accept>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:  # nested deeper than Python's compiler takes
        raise Unsupported(f"too deep to compile: {exc}") from None
    exec(code, src.env)  # noqa: S102 - our own code, written from the schema above
    accept = src.env["accept"]
    accept.source = text
    return accept


def _refuse_all(doc: Any) -> Any:
    return REFUSED


def plain_accept(schema: Any, *, defaults: bool = False) -> Callable[[Any], Any]:
    """compile_accept(schema), or a function that refuses every document when the schema is Unsupported."""
    try:
        return compile_accept(schema, defaults=defaults)
    except Unsupported:
        return _refuse_all


def filling_accept(schema: Any) -> Callable[[Any], Any]:
    """plain_accept with the defaults filled in (a `make` of its own for per_schema)."""
    return plain_accept(schema, defaults=True)


def surely_valid(schema: dict[str, Any], doc: Any) -> bool:
    """Whether the generated check vouches for `doc` (made once per schema); False means invalid or not sure."""
    return per_schema(schema, plain_accept)(doc) is not REFUSED
