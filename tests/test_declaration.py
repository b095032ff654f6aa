"""Declarations: the schema, safe loading, and one clear error per problem naming the file and the field."""

from __future__ import annotations

import copy
import json
import random

import pytest
import yaml

from riskengine import declaration as declaration_module
from riskengine import safeload
from riskengine import schema as schema_module
from riskengine.declaration import check_files, load_declaration, parse_declaration
from riskengine.errors import DeclarationError, DeclarationErrors
from riskengine.safeload import parse_text
from riskengine.schema import _draft_2020_12, _validator, declaration_schema
from riskengine.schemacheck import REFUSED, fast_verdict, surely_valid
from tests.conftest import EXAMPLES, GENERATE, minimal_declaration, shared_paths


def write(tmp_path, name, text, mode="w"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path, doc_or_text, name="app.yaml"):
    text = doc_or_text if isinstance(doc_or_text, (str, bytes)) else yaml.safe_dump(doc_or_text)
    path = write(tmp_path, name, text)
    return [e.format() for e in check_files([str(path)])]


def test_minimal_declaration_gets_documented_defaults(tmp_path):
    path = write(tmp_path, "app.yaml", yaml.safe_dump(minimal_declaration()))
    decl = load_declaration(path)
    app = decl.app
    assert app["use_cases"] == [] and app["practices"] == [] and app["controls"] == []
    assert app["deployer"] == {"sector": "private", "public_authority": False}
    assert app["human_oversight"] == {"in_the_loop": False, "can_override": False, "monitoring": False}
    assert app["third_party_assessment"] == "unknown" and app["product_type"] is None
    assert decl.sha256.startswith("sha256:") and len(decl.sha256) == 71


def test_json_and_yaml_give_the_same_declaration(tmp_path):
    doc = minimal_declaration(practices=["profiling"], controls=["logging"])
    a = load_declaration(write(tmp_path, "a.yaml", yaml.safe_dump(doc)))
    b = load_declaration(write(tmp_path, "b.json", json.dumps(doc)))
    assert a.raw == b.raw


def test_spec_example_error_text(tmp_path):
    errs = errors_of(tmp_path, minimal_declaration(autonomy_level="high"))
    assert errs == [f"{tmp_path / 'app.yaml'}: application.autonomy_level: must be an integer from 0 to 5, got 'high'"]


@pytest.mark.parametrize("application, field, text", [
    ({"autonomy_level": 7}, "application.autonomy_level", "must be an integer from 0 to 5, got 7"),
    ({"autonomy_level": True}, "application.autonomy_level", "must be an integer from 0 to 5, got true"),
    ({"scenario": "medic"}, "application.scenario", "did you mean 'medical'?"),
    ({"decision_role": "automatic"}, "application.decision_role", "must be one of informational, advisory"),
    ({"controls": ["logging", "loging"]}, "application.controls[1]", "got 'loging'"),
    ({"practices": "profiling"}, "application.practices", "must be a list, got 'profiling'"),
    ({"id": "../../etc/passwd"}, "application.id", "must be a slug"),
    ({"id": "/abs/path"}, "application.id", "must be a slug"),
    ({"id": "Upper"}, "application.id", "must be a slug"),
    ({"deployer": {"sector": "govt"}}, "application.deployer.sector", "got 'govt'"),
    ({"human_oversight": {"in_the_loop": "yes"}}, "application.human_oversight.in_the_loop", "must be true or false"),
    ({"product_type": "car"}, "application.product_type", "got 'car'"),
    ({"decison_role": "advisory"}, "application.decison_role", "did you mean 'decision_role'?"),
    ({"version": 1.1}, "application.version", "quote version numbers"),
    ({"name": ""}, "application.name", "must be a non-empty text"),
])
def test_wrong_values_name_the_field(tmp_path, application, field, text):
    errs = errors_of(tmp_path, minimal_declaration(**application))
    assert any(f": {field}: " in e and text in e for e in errs), errs


def test_missing_fields_are_each_reported(tmp_path):
    doc = minimal_declaration()
    del doc["application"]["name"], doc["application"]["scenario"]
    errs = errors_of(tmp_path, doc)
    assert any("application.name: is required but missing" in e for e in errs)
    assert any("application.scenario: is required but missing" in e for e in errs)


def test_every_error_is_reported_not_just_the_first(tmp_path):
    errs = errors_of(tmp_path, minimal_declaration(autonomy_level=9, scenario="x", controls=["nope"]))
    assert len(errs) == 3


def test_wrong_schema_version(tmp_path):
    doc = minimal_declaration()
    doc["schema"] = "riskengine/v2"
    assert any("schema: must be 'riskengine/v1', got 'riskengine/v2'" in e for e in errors_of(tmp_path, doc))


def test_model_section_rules(tmp_path):
    doc = minimal_declaration()
    doc["model"] = {"format": "onnx"}
    assert any("model.path: is required" in e for e in errors_of(tmp_path, doc))
    doc["model"] = {"format": "predictions"}
    assert any("model.prediction_column: is required" in e for e in errors_of(tmp_path, doc))
    doc["model"] = {"format": "predictions", "prediction_column": "pred"}
    assert any(": data: is required" in e for e in errors_of(tmp_path, doc))


@pytest.mark.parametrize("name, content, text", [
    ("empty.yaml", "", "the file is empty"),
    ("blank.yaml", "   \n\n", "the file is empty"),
    ("notyaml.yaml", "application: [unclosed\n  - x: {", "not valid YAML"),
    ("list.yaml", "- a\n- b\n", "the document must be a mapping of fields, got list"),
    ("scalar.yaml", "just a string\n", "the document must be a mapping of fields, got str"),
    ("alias.yaml", "a: &x [1, 2]\nb: *x\n", "anchors (&name) are not allowed"),
    ("bomb.yaml", "a: &a ['x','x']\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\n", "not allowed"),
    ("tag.yaml", "schema: !!python/object/apply:os.system ['echo hacked']\n", "YAML tag"),
    ("tag2.yaml", "schema: !!python/name:os.system\n", "YAML tag"),
    ("dup.yaml", "schema: riskengine/v1\nschema: riskengine/v1\n", "duplicate key 'schema'"),
    ("utf.yaml", b"schema: riskengine/v1\nname: \xff\xfe\n", "not valid UTF-8"),
    ("deep.yaml", "a: " + "[" * 40 + "]" * 40 + "\n", "nested deeper than"),
    ("deep.json", "{\"a\": " + "[" * 40 + "]" * 40 + "}", "nested deeper than"),
    ("dup.json", '{"schema": "riskengine/v1", "schema": "x"}', "duplicate key 'schema'"),
    ("nan.json", '{"schema": NaN}', "not valid JSON"),
    ("bad.json", '{"schema": ', "not valid JSON"),
])
def test_malformed_files(tmp_path, name, content, text):
    errs = errors_of(tmp_path, content, name)
    assert errs and text in errs[0], errs
    assert str(tmp_path / name) in errs[0]


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    path = write(tmp_path, "big.yaml", "a: " + "x" * 2_000_000 + "\n")
    errs = [e.format() for e in check_files([str(path)])]
    assert "larger than 1024 KiB" in errs[0]


def test_missing_file(tmp_path):
    errs = [e.format() for e in check_files([str(tmp_path / "nope.yaml")])]
    assert errs == [f"{tmp_path / 'nope.yaml'}: no such file"]


def test_parse_declaration_raises_all_errors():
    with pytest.raises(DeclarationErrors) as info:
        parse_declaration({"schema": "riskengine/v1", "application": {}}, source="mem", sha256="sha256:" + "0" * 64)
    fields = {e.field for e in info.value.errors}
    assert {"application.id", "application.name", "application.provider", "application.scenario",
            "application.purpose", "application.decision_role"} <= fields
    assert isinstance(info.value, DeclarationError)


def test_relative_paths_resolve_against_the_declaration_folder(tmp_path):
    doc = minimal_declaration()
    doc["model"] = {"format": "onnx", "path": "m/model.onnx"}
    doc["data"] = {"path": "test.csv", "target": "y"}
    sub = tmp_path / "sub"
    sub.mkdir()
    decl = load_declaration(write(sub, "app.yaml", yaml.safe_dump(doc)))
    assert decl.model.path == str(sub / "m" / "model.onnx")
    assert decl.data.path == str(sub / "test.csv")
    assert decl.data.favorable_label == 1


def test_every_example_is_valid():
    files = sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("models/*.yaml"))
    assert len(files) >= 12
    assert check_files([str(f) for f in files]) == []


def test_schema_vocabularies_match_the_spec():
    app = declaration_schema()["properties"]["application"]["properties"]
    assert app["scenario"]["enum"][:5] == ["medical", "driving", "emergency", "robotics", "public_services"]
    assert len(app["use_cases"]["items"]["enum"]) == 25
    assert len(app["controls"]["items"]["enum"]) == 12
    assert "fully_automated" in app["decision_role"]["enum"]


def test_product_type_none_may_be_written_as_null_or_none(tmp_path):
    from riskengine.rules.conditions import build_fact

    for value in (None, "none"):
        decl = load_declaration(write(tmp_path, "app.yaml", yaml.safe_dump(minimal_declaration(product_type=value))))
        fact = build_fact(decl.raw)
        assert fact["product_type"] == "none" and fact["product_annex_i_section"] == "none"


# ---------------------------------------------------------------- the fast paths, held to their references


SHA0 = "sha256:" + "0" * 64


def _outcome(text, **options):
    """What parse_text makes of a text: the document (repr tells 1 from 1.0 and True, and keeps key order) or
    the error."""
    try:
        return repr(parse_text(text, "t.json", **options))
    except DeclarationError as exc:
        return "error: " + exc.format()


@pytest.fixture()
def reference(monkeypatch):
    """parse_text as it is without orjson: the standard parser for every document."""
    def outcome(text, **options):
        with monkeypatch.context() as patch:
            patch.setattr(safeload, "orjson", None)
            return _outcome(text, **options)

    return outcome


def _texts(n, seed):
    """Generated declarations as JSON texts; some with non-ASCII names (raw and escaped), colons in a text, indented."""
    out = []
    for i, doc in enumerate(GENERATE(n, seed=seed)):
        if i % 10 == 0:
            doc["application"]["name"] = "Ünïcødé 😀 / \"quoted\" \\ back\tslash"
        if i % 10 == 1:
            doc["application"]["purpose"] = "Note: from 08:00 to 17:30, see https://example.org/a?b=c:d."
        out.append(json.dumps(doc, ensure_ascii=i % 20 == 0, indent=2 if i % 30 == 2 else None))
    return out


def test_fast_json_gives_the_standard_parsers_document_on_generated_records(reference):
    pytest.importorskip("orjson")
    texts = _texts(1500, seed=3)
    assert all(safeload._fast_json(t, safeload.MAX_DEPTH) is not safeload._SLOW for t in texts)  # the common case
    for text in texts:
        assert _outcome(text, json_only=True) == reference(text, json_only=True)


HOSTILE_JSON = [
    # duplicate keys at every depth, and keys that are the same once their escapes are read
    '{"a": 1, "a": 1}', '{"a": {"b": 1, "b": 2}}', '{"a": {"b": {"c": [{"d": 1, "d": 1}]}}}',
    '[{"x": 1}, {"y": 1, "y": 2}]', '{"ab": 1, "a\\u0062": 2}', '{"a\\u0062": 1, "ab": 2}', '{"\\u0061": 1, "a": 1}',
    '{"": 1, "": 2}', '{"a" : 1 , "a" : 2}', '{"a":1,"b":{"a":1},"a":3}',
    '{"a": {"k": 1}, "b": {"k": 1}}', '{}', '[]', '{"": {}}',
    # colons inside texts (a second count, of `":`, then decides), also next to duplicate keys and spaces
    '{"a": "b:c", "d": "e"}', '{"a:b": 1}', '{"a\\":": 1}', '{"a": 1, "a": 2, "b": "::"}', '{"a": "\\u003a"}',
    '{"a": "\\u003a", "a": 1}', '{"a":"x:y","a":1}', '{"a":1,"a":2,"b":"12:30"}', '{"a" :1,"b":"x:y"}',
    '{"a" :1,"a":"x:y"}', '{"a"\r\n:1,"a":"x:y"}', '{"a":"\\":","b":1}', '{"a":1,"a":"\\":"}', '{"a":\n"x:y"}',
    '{"a"\t:"x:y"}', '{"a":"x:y","b":{"c":"d:"}}',
    # depth: the document is level 1; 16 levels may hold values, the 17th may not exist
    "[" * 15 + "1" + "]" * 15, "[" * 16 + "1" + "]" * 16, "[" * 16 + "]" * 16, "[" * 17 + "]" * 17,
    '{"a": ' * 15 + "1" + "}" * 15, '{"a": ' * 16 + "1" + "}" * 16, '{"a": ' * 16 + "{}" + "}" * 16,
    "[" * 40 + "]" * 40, "[" * 2000 + "]" * 2000, "[" * 100000,
    # lists of texts (judged at once) at the depth limit, and lists that mix texts with other values
    '{"a": ' * 14 + '["x", "y"]' + "}" * 14, '{"a": ' * 15 + '["x", "y"]' + "}" * 15, '{"a": ' * 15 + "[]" + "}" * 15,
    "[" * 15 + '"x", "y"' + "]" * 15, "[" * 16 + '"x"' + "]" * 16, '["a", 1.5]', '["a", 1e400]',
    '["a", 10000000000000000000000]', '["a", {"b": 1, "b": 2}]', '["a", ["b", "b"]]', '["a", null, true, 3]',
    '{"a": ["x"], "a": ["x"]}',
    '[["a", "b"], ["c", 2.0]]', '{"l": ["x:y", "z"], "l": []}',
    # numbers the standard parser reads differently from orjson, or refuses
    '{"a": NaN}', "[Infinity]", "[-Infinity]", '{"a": 1e400}', "[-1e400]",
    "[12345678901234567890123]", "[9223372036854775807, 9223372036854775808, 18446744073709551615]",
    "[18446744073709551616]", "[-9223372036854775809]", "[" + "9" * 5000 + "]",
    "[-0, -0.0, 0.1, 1E5, 2.5e-3, 1.7976931348623157e308, 5e-324, 0.30000000000000004]", "[01]", "[1.]", "[.5]",
    # texts: escapes, lone surrogates, control characters
    '["\\ud800"]', '["\\udc00\\ud800"]', '["\\ud83d\\ude00"]', '["\\u0000"]', '["a\\/b"]', '["\\x"]', '["\\u12"]',
    '["tab\there"]', '["\ud800"]', '{"\ud800": 1}', '["\u2028"]',
    # framing
    '\ufeff{"a": 1}', ' \n\t{"a": 1}\n ', '{"a": 1} x', '{"a": 1}{"b": 2}', '{"a": 1,}', '[1,]', '{"a" 1}',
    "5", '"x"', "null", "true", "1.5", "", "   ",
    # YAML flow mappings, which look like JSON
    "{a: 1}", "{a: 1, a: 2}", "[a, b]", "{a: &x 1, b: *x}",
]


@pytest.mark.parametrize("text", HOSTILE_JSON, ids=range(len(HOSTILE_JSON)))
def test_fast_json_equals_the_standard_parser_on_hostile_input(reference, text):
    for json_only in (True, False):
        assert _outcome(text, json_only=json_only) == reference(text, json_only=json_only)


def test_fast_json_equals_the_standard_parser_when_deep_nesting_is_allowed(reference):
    for depth in (900, 1000, 1023, 1100):
        text = '{"a": ' * depth + "[]" + "}" * depth
        assert _outcome(text, max_depth=5000) == reference(text, max_depth=5000)


@pytest.mark.parametrize("text, message", [
    ('{"a": {"b": 1, "b": 2}}', "duplicate key 'b'"),
    ('{"ab": 1, "a\\u0062": 2}', "duplicate key 'ab'"),
    ('[{"x": 1}, {"y": 1, "y": 2}]', "duplicate key 'y'"),
    ("[" * 17 + "]" * 17, "nested deeper than 16 levels"),
    ('{"a": NaN}', "not valid JSON: NaN is not a valid JSON number"),
])
def test_hostile_json_is_refused(text, message):
    assert message in _outcome(text, json_only=True)


def test_fast_json_equals_the_standard_parser_on_mangled_records(reference):
    """Random edits of a declaration's text (brackets, quotes, colons, escapes, digits, repeated members)."""
    rng = random.Random(11)
    base = _texts(20, seed=4)
    alphabet = '{}[]":,\\ /aNIu0123456789e.-+\ufeff\u00e9'
    for _ in range(3000):
        text = rng.choice(base)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            kind = rng.random()
            if kind < 0.4:
                text = text[:at] + rng.choice(alphabet) * rng.randint(1, 3) + text[at:]
            elif kind < 0.6:
                text = text[:at] + text[at + rng.randint(1, 4):]
            elif kind < 0.8:  # repeat one member: a duplicate key, unless it lands elsewhere
                start = text.find('"', at)
                end = text.find(",", start)
                if start > 0 and end > start:
                    text = text[:end + 1] + text[start:end + 1] + text[end + 1:]
            else:
                text = text[:at] + rng.choice(["1" * 25, "1e999", "NaN", "\\u0061", "\\ud800", "[" * 20]) + text[at:]
        assert _outcome(text, json_only=True) == reference(text, json_only=True), text
        if rng.random() < 0.05:
            assert _outcome(text) == reference(text), text


def _places(node):
    """(mapping, key) for every key of every mapping in a document."""
    for key, value in node.items():
        yield node, key
        if isinstance(value, dict):
            yield from _places(value)


def _mutated(doc, rng):
    """The declaration with one to three values replaced, removed or added, anywhere in it."""
    out = copy.deepcopy(doc)
    out.setdefault(rng.choice(["model", "data", "probes"]), rng.choice([
        {"format": "onnx", "path": "m.onnx"}, {"format": "predictions", "prediction_column": "p"},
        {"format": "predictions"}, {"path": "d.csv", "target": "y", "positive_label": "yes"},
        {"fairness": {"max_rows": 10, "time_budget_s": 1.5}, "robustness": {"seed": 1.0}}]))
    values = [1, 1.0, 2.5, -1, 7, True, False, None, "", "x", "Upper", "medical", "health", "a" * 300, [], {},
              {"a": 1}, ["a", "a"], [1, "a"], [1, True], [1.0], [["health"]], [{"a": 1}], ["health", "health"],
              ["health"], ["health", 1], "riskengine/v2", {"sector": "public"}]
    for _ in range(rng.randint(1, 3)):
        node, key = rng.choice(list(_places(out)))
        kind = rng.random()
        if kind < 0.6:
            node[key] = rng.choice(values)
        elif kind < 0.8:
            del node[key]
        else:
            node[rng.choice(["extra", "x-note", "nmae"])] = rng.choice(values)
    return out


def test_compiled_check_and_pruned_jsonschema_agree_with_jsonschema():
    """The compiled check's True and False are jsonschema's; the validator that skips valid properties
    reports exactly the errors, in the order, that plain jsonschema does."""
    from jsonschema import Draft202012Validator

    schema = declaration_schema()
    plain = _validator(json.dumps(schema, sort_keys=True), Draft202012Validator)
    pruned = _draft_2020_12(schema)
    rng = random.Random(5)
    docs = list(GENERATE(150, seed=9))
    verdicts = {True: 0, False: 0, None: 0}
    for doc in docs + [_mutated(d, rng) for d in docs for _ in range(6)]:
        verdict = fast_verdict(schema, doc)
        verdicts[verdict] += 1
        assert verdict is None or verdict == plain.is_valid(doc), json.dumps(doc)
        # the generated check vouches only for what jsonschema finds valid, and for all the closures find valid
        assert surely_valid(schema, doc) == (verdict is True), json.dumps(doc)
        expected = [(list(e.absolute_path), e.validator, e.message) for e in plain.iter_errors(doc)]
        assert [(list(e.absolute_path), e.validator, e.message) for e in pruned.iter_errors(doc)] == expected
    assert verdicts[True] > 150 and verdicts[False] > 500


def _reference_fill(schema):
    """The default filling as it was first written: every mapping copied, every default deep-copied."""
    if schema.get("type") != "object":
        return lambda doc: doc
    steps = []
    for name, sub in schema.get("properties", {}).items():
        default = sub.get("default", KeyError)
        steps.append((name, default, _reference_fill(sub) if sub.get("type") == "object" else None))

    def fill(doc):
        if not isinstance(doc, dict):
            return doc
        out = dict(doc)
        for name, default, inner in steps:
            if name not in out:
                if default is KeyError:
                    continue
                out[name] = copy.deepcopy(default)
            if inner is not None:
                out[name] = inner(out[name])
        return out

    return fill


def test_defaults_are_filled_as_the_reference_fills_them():
    schema = declaration_schema()
    fill = _reference_fill(schema)
    rng = random.Random(8)
    docs = list(GENERATE(300, seed=2)) + [minimal_declaration()]
    docs += [_mutated(d, rng) for d in docs[:200]]
    checked = 0
    for doc in docs:
        before = copy.deepcopy(doc)
        try:
            raw = parse_declaration(doc, source="t", sha256=SHA0).raw
        except DeclarationError:
            continue
        assert repr(raw) == repr(fill(doc))  # the same values, types and key order
        assert repr(doc) == repr(before)  # the document itself is left alone
        checked += 1
    assert checked > 300


def test_each_declaration_gets_its_own_defaults():
    first, second = (parse_declaration(minimal_declaration(), source="t", sha256=SHA0).raw for _ in range(2))
    first["application"]["controls"].append("logging")
    first["application"]["deployer"]["sector"] = "public"
    assert second["application"]["controls"] == [] and second["application"]["deployer"]["sector"] == "private"
    defaults = declaration_schema()["properties"]["application"]["properties"]
    assert defaults["controls"]["default"] == [] and defaults["deployer"]["default"]["sector"] == "private"


def _outcome_of_declaration(doc):
    """Everything parse_declaration makes of a document: the Declaration (repr tells 1 from True and keeps key
    order), which of its mappings and lists are the document's own objects, or each error with its type."""
    try:
        decl = parse_declaration(doc, source="t.json", sha256=SHA0, base_dir="/base")
    except DeclarationError as exc:
        errors = exc.errors if isinstance(exc, DeclarationErrors) else [exc]
        return type(exc).__name__, [(type(e).__name__, e.source, e.field, e.message, e.hint) for e in errors]
    except Exception as exc:  # noqa: BLE001 - jsonschema's own TypeError on a key that is not a text, say
        return type(exc).__name__, str(exc)
    return repr(decl), shared_paths(decl.raw, doc)


@pytest.fixture()
def reference_declaration(monkeypatch):
    """parse_declaration as it is without generated code: jsonschema judges every document, in full, and the
    defaults are filled by schemacheck.default_filler."""
    def outcome(doc):
        calls = []

        def validation_errors(*args):
            calls.append(args)
            return schema_module.validation_errors(*args)

        with monkeypatch.context() as patch:
            patch.setattr(declaration_module, "_accept_declaration", lambda: lambda doc: REFUSED)
            patch.setattr(declaration_module, "validation_errors", validation_errors)
            patch.setattr(schema_module, "surely_valid", lambda schema, doc: False)
            got = _outcome_of_declaration(doc)
        assert len(calls) == 1  # the reference path was taken
        return got

    return outcome


class _Text(str):
    pass


def _hostile_declarations():
    """Documents at the edges of what the generated check vouches for (Python values a loader never makes too)."""
    from collections import OrderedDict

    base = minimal_declaration(practices=["profiling"], controls=["logging", "risk_management"],
                               deployer={"sector": "public"}, human_oversight={"monitoring": True})
    app_edits = {
        "autonomy_level": [1.0, True, 2 ** 70, -1, None],
        "id": ["a\n", "Upper", _Text("text-subclass"), ""],
        "name": ["", "x" * 200, "x" * 201, 7],
        "version": [1.1, None, "1" * 65],
        "description": ["d" * 10000, "d" * 10001],
        "practices": [("profiling",), ["profiling", "profiling"], [{"a": 1}], [["profiling"]], [_Text("profiling")],
                      ["profiling", 1], []],
        "product_type": [None, "none", "toy", 0, "boat"],
        "scenario": ["medicine", ["medical"], None],
        "deployer": [{"sector": "public", "x-a": 1}, {"sector": "public", "other": 1}, OrderedDict(), {}, None],
        "human_oversight": [{"monitoring": 1}, {"in_the_loop": False, "x-why": "audit"}],
        "safety_component": [0, "false"],
        "x-note": [{"a": [1.5]}], "nmae": ["typo"], 1: ["a key that is not a text"],
    }
    top_edits = {
        "schema": ["riskengine/v2", None],
        "application": [[], OrderedDict(base["application"])],
        "x-top": [[1, {"b": None}]], "extra": [1],
        "model": [{"format": "onnx", "path": "m.onnx"}, {"format": "onnx"}, {"format": "predictions"},
                  {"format": "predictions", "prediction_column": "p"}, {"format": 1.0, "path": "m"}, {"path": "m"},
                  {"format": "skops", "path": "m", "trusted_types": ["a", "a"]},
                  {"format": "skops", "path": "m", "trusted_types": ["a", 1]}, {"format": "onnx", "path": ""}],
        "data": [{"path": "d.csv", "target": "y"}, {"path": "d.csv"}, {"path": "d.csv", "target": "y", "x-a": 1},
                 {"path": "d.csv", "target": "y", "positive_label": 1.5},
                 {"path": "d.csv", "target": "y", "positive_label": None},
                 {"path": "d.csv", "target": "y", "features": ["a", "b"], "favorable_label": False},
                 {"path": "d.csv", "target": "y", "sensitive_features": ["s", "s"]}],
        "probes": [{"fairness": {"max_rows": 10, "time_budget_s": 1.5, "custom": "x"}},
                   {"fairness": {"time_budget_s": float("nan")}}, {"fairness": {"time_budget_s": 0}},
                   {"robustness": {"seed": 1.0}}, {"robustness": {"custom": [1]}},
                   {"robustness": {"custom": None}}, {"other": {}}, {"x-a": 1}, []],
    }
    docs = [copy.deepcopy(base), OrderedDict(base), [], "text", None, {}]
    for where, edits in ((base["application"], app_edits), (base, top_edits)):
        for key, values in edits.items():
            for value in values:
                original = where.get(key, KeyError)
                where[key] = value
                docs.append(copy.deepcopy(base))
                if original is KeyError:
                    del where[key]
                else:
                    where[key] = original
    for key in ("deployer", "human_oversight", "autonomy_level", "name"):  # one property absent at a time
        doc = copy.deepcopy(base)
        del doc["application"][key]
        docs.append(doc)
    return docs


def test_generated_check_gives_the_reference_declaration(reference_declaration):
    """The generated check (and defaults filled in the same pass) gives the Declaration, errors and sharing of
    objects that jsonschema and default_filler give, on generated, mutated and hostile documents."""
    rng = random.Random(21)
    docs = list(GENERATE(300, seed=12)) + [minimal_declaration()] + _hostile_declarations()
    docs += [_mutated(d, rng) for d in docs[:300] for _ in range(2)]
    accept = declaration_module._accept_declaration()
    accepted = refused_invalid = 0
    for doc in docs:
        before = repr(doc)
        got = _outcome_of_declaration(doc)
        assert repr(doc) == before  # the document itself is left alone
        assert got == reference_declaration(doc), repr(doc)
        if accept(doc) is not REFUSED:
            accepted += 1
        elif got[0] == "DeclarationErrors":
            refused_invalid += 1
    assert accepted > 320 and refused_invalid > 250, (accepted, refused_invalid)


def test_hints_are_remembered_as_did_you_mean_gives_them():
    from riskengine.errors import did_you_mean
    from riskengine.schema import _hint

    choices = ("medical", "driving", "general")
    for word in ["medicine", "medicine", "genral", "x", "medical" * 10, 7, None]:
        assert _hint(word, choices) == did_you_mean(word, choices)
    assert _hint("medicine", choices) == "did you mean 'medical'?"
