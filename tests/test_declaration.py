"""Declarations: the schema, safe loading, and one clear error per problem naming the file and the field."""

from __future__ import annotations

import json

import pytest
import yaml

from riskengine.declaration import check_files, load_declaration, parse_declaration
from riskengine.errors import DeclarationError, DeclarationErrors
from riskengine.schema import declaration_schema
from tests.conftest import EXAMPLES, minimal_declaration


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
