"""The generated schema check (schemacheck.compile_accept), held to jsonschema and default_filler on every
keyword it handles, with values a loader makes and values it never makes."""

from __future__ import annotations

import copy
import math
import random
from collections import OrderedDict

import pytest
from jsonschema import Draft202012Validator

from riskengine.schemacheck import (
    REFUSED,
    Unsupported,
    compile_accept,
    default_filler,
    filling_accept,
    plain_accept,
)
from tests.conftest import shared_paths


class _Text(str):
    pass


OBJECT = {"type": "object", "additionalProperties": False, "patternProperties": {"^x-": {}},
          "properties": {"a": {"type": "integer", "minimum": 1}, "b": {"type": "string", "enum": ["p", "q"]},
                         "c": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
          "required": ["a"]}
FILLED = {
    "type": "object", "additionalProperties": False, "patternProperties": {"^x-": {"type": "integer"}},
    "required": ["s"],
    "properties": {
        "s": {"type": "string"},
        "n": {"type": "integer", "default": 0},
        "t": {"type": ["string", "null"], "enum": ["p", None], "default": None},
        "l": {"type": "array", "items": {"type": "string", "enum": ["p", "q"]}, "uniqueItems": True, "default": []},
        "o": {"type": "object", "default": {"a": 1}, "additionalProperties": False,
              "properties": {"a": {"type": "integer"}, "b": {"type": "boolean", "default": False}}},
        "d": {"type": "object", "default": {"nested": {"x": [1.5]}}},
        "f": {"type": "number", "default": 1.5},
    },
}
SCHEMAS = [  # each with values it must vouch for: the fast path may refuse what it is unsure of, but not everything
    (True, [1, {"a": [1.5]}]), (False, []), ({}, [None]), ({"type": "boolean"}, [True, False]),
    ({"type": "null"}, [None]), ({"type": "string", "minLength": 2, "maxLength": 4}, ["ab", "abcd"]),
    ({"type": "string", "pattern": "^[a-z]+$"}, ["ab", "p\n"]), ({"type": "string", "maxLength": 3, "title": "t"}, [""]),
    ({"type": ["string", "null"], "enum": ["p", "q", None]}, ["p", None]), ({"enum": ["p", 1, True, None, [1]]}, ["p"]),
    ({"const": "p"}, ["p"]), ({"const": 1}, []), ({"const": None}, [None]), ({"const": {"a": 1}}, []),
    ({"type": "string", "enum": ["p", "q"]}, ["q"]), ({"type": "integer", "minimum": 0, "maximum": 5}, [0, 5]),
    ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 2.5}, [0.5, 2]),
    ({"type": "number", "minimum": 0.5}, [0.5, 1, math.inf]),
    ({"type": ["number", "integer", "boolean", "string"]}, [1.5, 1, True, ""]),
    ({"type": "array", "items": {"type": "string", "enum": ["p", "q"]}, "uniqueItems": True}, [[], ["q", "p"]]),
    ({"type": "array", "items": {"type": "string", "enum": ["p", "q"]}}, [["p", "p"]]),
    ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, [[1, 2]]),
    ({"type": "array", "uniqueItems": True}, [["p", "q"], []]), ({"type": "array", "items": OBJECT}, [[{"a": 1}]]),
    ({"type": "array", "items": False}, [[]]), ({"type": "array", "items": {}}, [[1, [2]]]),
    (OBJECT, [{"a": 2, "x-b": [1.5]}, {"a": 1, "b": "p", "c": ["p", "q"]}]),
    (FILLED, [{"s": "", "x-a": 1}, {"s": "s", "o": {"b": True}, "l": ["p"]}]),
    ({"type": "object", "additionalProperties": {"type": "integer"}}, [{"z": 1}, {}]),
    ({"type": "object", "properties": {"a": {"type": "integer"}}}, [{"a": 1, "z": 2.5}]),
    ({"type": "object", "required": ["a", "z"], "properties": {"a": {}}}, [{"a": 1, "z": 2}]),
    ({"type": "object", "properties": {"x-a": {"type": "integer"}},
      "patternProperties": {"^x-": {"type": "integer", "minimum": 3}, "b$": {"type": "string"}}},
     [{"x-a": 4, "ab": "t"}, {"x-c": 3}]),
    ({"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"],
      "allOf": [{"if": {"properties": {"k": {"const": "p"}}, "required": ["k"]},
                 "then": {"required": ["v"]}, "else": {"required": ["w"]}}]}, [{"k": "p", "v": 1}, {"k": "q", "w": 1}]),
    ({"type": "object", "if": {"properties": {"k": {"type": "integer"}}}, "then": {"required": ["v"]}},
     [{"k": 1, "v": 1}, {"k": "p"}]),
    ({"allOf": [{"type": "string"}, {"type": "string", "maxLength": 2}]}, ["ab"]),
]


def _values(rng, depth=0):
    """A random value: what JSON and YAML give, and Python values they never give."""
    leaves = [0, 1, 2, 3, 5, 6, -1, 2 ** 70, 0.5, 1.0, 2.5, 3.0, float("nan"), float("inf"), True, False, None, "",
              "p", "q", "ab", "abc", "abcde", "A1", "p\n", _Text("p"), b"p", (1,), "x-a", "x-b"]
    kind = rng.random()
    if depth > 2 or kind < 0.5:
        return rng.choice(leaves)
    keys = ["a", "b", "c", "s", "n", "t", "l", "o", "d", "f", "k", "v", "w", "z", "x-a", "x-b", "ab", 1]
    if kind < 0.75:
        out = {}
        for _ in range(rng.randint(0, 4)):
            out[rng.choice(keys)] = _values(rng, depth + 1)
        return OrderedDict(out) if rng.random() < 0.05 else out
    items = [_values(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.3:
        items = [rng.choice(["p", "q", 1, 1, 2])] * rng.randint(1, 3) + items[:1]
    return tuple(items) if rng.random() < 0.05 else items


def _valid(validator, value):
    try:
        return validator.is_valid(value)
    except TypeError:  # jsonschema's own error on a key that is not a text
        return None


@pytest.mark.parametrize("number", range(len(SCHEMAS)))
def test_generated_check_vouches_only_for_what_jsonschema_finds_valid(number):
    schema, vouched = SCHEMAS[number]
    validator = Draft202012Validator(schema)
    accept, filling = compile_accept(schema), compile_accept(schema, defaults=True)
    fill = default_filler(schema) if isinstance(schema, dict) else None
    rng = random.Random(number)
    accepted = 0
    for value in [_values(rng) for _ in range(600)] + copy.deepcopy(vouched):
        before = repr(value)
        got = accept(value)
        if got is REFUSED:
            assert filling(value) is REFUSED
            continue
        accepted += 1
        assert _valid(validator, value) is True, repr(value)
        assert got is value
        filled = filling(value)
        expected = value if fill is None else fill(value)
        assert repr(filled) == repr(expected)  # the same values, types and key order
        assert shared_paths(filled, value) == shared_paths(expected, value)  # and the same objects shared with the value
        assert repr(value) == before  # the value itself is left alone
    for value in vouched:
        assert validator.is_valid(value) and accept(value) is value
    assert accepted >= len(vouched)


def test_defaults_are_fresh_copies_filled_in_turn():
    filling = compile_accept(FILLED, defaults=True)
    first, second = filling({"s": "x"}), filling({"s": "x"})
    assert repr(first) == repr(default_filler(FILLED)({"s": "x"}))
    assert first == {"s": "x", "n": 0, "t": None, "l": [], "o": {"a": 1, "b": False}, "d": {"nested": {"x": [1.5]}},
                     "f": 1.5}
    for key in ("l", "o", "d"):
        assert first[key] is not second[key] and first[key] is not FILLED["properties"][key]["default"]
    assert first["d"]["nested"]["x"] is not second["d"]["nested"]["x"]
    given = {"o": {"a": 5}, "s": "y", "l": ["p"]}
    got = filling(given)
    assert got is not given and got["l"] is given["l"] and list(got) == ["o", "s", "l", "n", "t", "d", "f"]
    assert filling({"s": "y", "o": {"b": True}})["o"] == {"b": True}  # a present mapping is filled, not replaced
    assert filling({"s": "y", "o": {"x": 1}}) is REFUSED and filling({"s": "y", "x-q": "no"}) is REFUSED


def test_numbers_the_check_leaves_to_jsonschema():
    """Floats that are whole numbers, NaN and bounds: refused (jsonschema decides), never wrongly vouched for."""
    integer = compile_accept({"type": "integer", "minimum": 0})
    assert integer(1.0) is REFUSED and integer(True) is REFUSED and integer(3) == 3 and integer(-1) is REFUSED
    positive = compile_accept({"type": "number", "exclusiveMinimum": 0})
    assert positive(float("nan")) is REFUSED and positive(0) is REFUSED and positive(math.inf) == math.inf


@pytest.mark.parametrize("schema", [
    {"type": "string", "format": "email"}, {"minLength": 1}, {"type": ["string", "integer"], "minimum": 1},
    {"type": "array", "prefixItems": [{}]}, {"type": "color"}, {"oneOf": [{}]}, {"type": "array", "items": [{}]},
])
def test_unsupported_schemas_get_no_generated_check(schema):
    with pytest.raises(Unsupported):
        compile_accept(schema)
    assert plain_accept(schema)("anything") is REFUSED and filling_accept(schema)({}) is REFUSED


def test_a_schema_that_holds_itself_gets_no_generated_check():
    schema: dict = {"type": "object", "properties": {}}
    schema["properties"]["again"] = schema
    with pytest.raises(Unsupported):
        compile_accept(schema)
    deep: dict = {}
    node = deep
    for _ in range(60):  # deeper than Python's compiler nests blocks
        node.update({"type": "array", "items": {}})
        node = node["items"]
    node.update({"type": "integer"})
    check = plain_accept(deep)
    assert check([]) in ([], REFUSED) and check(copy.deepcopy([[[1.5]]])) is REFUSED
