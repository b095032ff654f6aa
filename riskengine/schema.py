"""The published JSON Schemas and the friendly error messages drawn from them.

The declaration schema is built from `vocab`, so the vocabularies live in one
place. `x-message` on a property is the sentence a user sees when that
property is wrong ("must be an integer from 0 to 5"), with the value found
appended; the schema stays standard JSON Schema (2020-12) for everyone else.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from riskengine import vocab
from riskengine.errors import DeclarationError, did_you_mean
from riskengine.schemacheck import per_schema, surely_valid

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SLUG = r"^[a-z0-9][a-z0-9._-]{0,63}$"
SLUG_MESSAGE = ("must be a slug of lower-case letters, digits, '.', '_' or '-' that starts with a letter or "
                "digit, at most 64 characters")


def _enum(values: Any, description: str, default: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "enum": list(values), "description": description}
    if default is not None:
        out["default"] = default
    return out


def _list_of(values: Any, description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string", "enum": list(values)}, "uniqueItems": True,
            "default": [], "description": description}


def _text(description: str, max_length: int = 200, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "description": description,
            "x-message": f"must be a non-empty text of at most {max_length} characters", **extra}


def _bool(description: str) -> dict[str, Any]:
    return {"type": "boolean", "default": False, "description": description,
            "x-message": "must be true or false"}


def _closed(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False,
                           "patternProperties": {"^x-": {}}, **extra}
    if required:
        out["required"] = required
    return out


_PROBE_SETTINGS = {
    "type": "object",
    "description": "Settings that override the scenario's defaults for this probe.",
    "properties": {
        "enabled": {"type": "boolean"},
        "max_rows": {"type": "integer", "minimum": 1, "x-message": "must be a positive integer"},
        "time_budget_s": {"type": "number", "exclusiveMinimum": 0, "x-message": "must be a positive number"},
        "seed": {"type": "integer", "minimum": 0, "x-message": "must be a non-negative integer"},
        "n_boot": {"type": "integer", "minimum": 0, "x-message": "must be a non-negative integer"},
    },
    "additionalProperties": {"type": ["number", "integer", "boolean", "string"]},
}


@lru_cache(maxsize=1)
def declaration_schema() -> dict[str, Any]:
    """JSON Schema of a `riskengine/v1` declaration, as `riskengine schema declaration` prints it."""
    application = _closed(
        {
            "id": {"type": "string", "pattern": SLUG, "description": "Slug, unique within a batch.",
                   "x-message": SLUG_MESSAGE},
            "name": _text("Human-readable name of the application."),
            "provider": _text("Who provides (develops or places on the market) the system."),
            "version": {"type": "string", "maxLength": 64, "description": "Version of the application.",
                        "x-message": "must be a text of at most 64 characters; quote version numbers such as "
                                     "'1.10'"},
            "scenario": _enum(vocab.SCENARIOS, "Application scenario; see `riskengine scenarios list`."),
            "purpose": _text("Intended purpose, in one or two sentences.", 2000),
            "description": _text("Longer description.", 10000),
            "use_cases": _list_of(vocab.USE_CASES, "EU AI Act Annex III use cases the system serves."),
            "product_type": {"type": ["string", "null"], "enum": [*vocab.PRODUCT_TYPES, "none", None],
                             "default": None,
                             "description": "The Annex I regulated product the system is, or is a safety "
                                            "component of; null or 'none' when there is none."},
            "third_party_assessment": _enum(
                vocab.THIRD_PARTY_ASSESSMENT,
                "Extension: whether the product law behind product_type requires a third-party (notified body) "
                "conformity assessment, the condition of EU AI Act Art. 6(1)(b).", "unknown"),
            "decision_role": _enum(vocab.DECISION_ROLES, "How far the system decides by itself."),
            "autonomy_level": {"type": "integer", "minimum": 0, "maximum": 5, "default": 0,
                               "description": "0..5, SAE-J3016-like (0 none, 5 full autonomy).",
                               "x-message": "must be an integer from 0 to 5"},
            "affected_persons": _list_of(vocab.AFFECTED_PERSONS, "Who is affected by the system's outputs."),
            "deployer": _closed({
                "sector": _enum(vocab.DEPLOYER_SECTORS, "Who deploys the system.", "private"),
                "public_authority": _bool("The deployer is a public authority."),
            }, default={"sector": "private", "public_authority": False}),
            "safety_component": _bool("A safety component of a product under sectoral product law."),
            "data_categories": _list_of(vocab.DATA_CATEGORIES, "Categories of data the system processes."),
            "practices": _list_of(vocab.PRACTICES, "Declared practices and legal facts."),
            "human_oversight": _closed({
                "in_the_loop": _bool("A human confirms each decision."),
                "can_override": _bool("A human can override or stop the system."),
                "monitoring": _bool("A human monitors the system in operation."),
            }, default={"in_the_loop": False, "can_override": False, "monitoring": False}),
            "controls": _list_of(vocab.CONTROLS, "Controls in place."),
        },
        required=["id", "name", "provider", "scenario", "purpose", "decision_role"],
    )
    model = _closed(
        {
            "format": _enum(vocab.MODEL_FORMATS, "How the model is stored; pickle and joblib need --trust-pickle."),
            "path": _text("Model file, relative to the declaration's folder.", 4096),
            "prediction_column": _text("format=predictions: the data column holding predictions.", 200),
            "score_column": _text("format=predictions: optional column of scores for the positive label.", 200),
            "trusted_types": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                              "description": "skops: types to trust beyond skops' defaults."},
        },
        required=["format"],
        allOf=[
            {"if": {"properties": {"format": {"const": "predictions"}}, "required": ["format"]},
             "then": {"required": ["prediction_column"]},
             "else": {"required": ["path"]}},
        ],
    )
    label = {"type": ["string", "integer", "number", "boolean"], "x-message": "must be a label value"}
    data = _closed(
        {
            "path": _text("CSV or Parquet file, relative to the declaration's folder.", 4096),
            "target": _text("Column of true labels."),
            "positive_label": {**label, "default": 1, "description": "The class TPR/FPR/FNR count."},
            "favorable_label": {**label, "description": "The outcome that benefits the person."},
            "sensitive_features": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                                   "default": []},
            "features": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
        required=["path", "target"],
    )
    probes = {
        "type": "object",
        "properties": {name: _PROBE_SETTINGS for name in ("fairness", "robustness", "explainability")},
        "additionalProperties": False,
        "patternProperties": {"^x-": {}},
    }
    return {
        "$schema": DRAFT,
        "$id": "urn:riskengine:schema:declaration-v1",
        "title": "riskengine declaration (riskengine/v1)",
        "description": "What a product team or provider states about one AI application.",
        **_closed(
            {
                "schema": {"const": vocab.SCHEMA_ID, "x-message": f"must be '{vocab.SCHEMA_ID}'"},
                "application": application,
                "model": model,
                "data": data,
                "probes": probes,
            },
            required=["schema", "application"],
        ),
    }


@lru_cache(maxsize=1)
def assessment_schema() -> dict[str, Any]:
    """JSON Schema of `assessment.json` (`riskengine/assessment-v1`): exactly what `Assessment.to_dict` writes.

    Closed wherever riskengine owns the shape (a new key must be added here, and the tests validate every
    assessment they write); open inside a probe, where each probe adds its own tables. The keys the report
    draws from a probe (`limits`, `by_group`, `perturbations`, `importance`, `curves`) are described.
    """
    from riskengine.grading import GRADES

    strings = {"type": "array", "items": {"type": "string"}}
    number_or_null = {"type": ["number", "null"]}
    sha = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}
    clause_list = {**strings, "description": "Clause references, each a key of `clauses`."}
    finding = {
        "type": "object",
        "additionalProperties": False,
        "required": ["rule_id", "severity", "category", "title", "message", "clauses", "remediation", "rationale",
                     "confidence", "evidence"],
        "properties": {
            "rule_id": {"type": "string", "minLength": 1, "description": "Stable id of the rule, norm or probe limit."},
            "severity": {"enum": list(vocab.SEVERITIES)},
            "category": {"enum": list(vocab.FINDING_CATEGORIES)},
            "title": {"type": "string"},
            "message": {"type": "string", "description": "What was observed and what was expected."},
            "clauses": clause_list,
            "remediation": {"type": "string"},
            "rationale": {"type": "string"},
            "confidence": {"enum": ["high", "medium", "low"]},
            "evidence": {"type": "object", "description": "Numbers behind the finding: metric, observed, limit..."},
        },
    }
    reason = {
        "type": "object",
        "additionalProperties": False,
        "required": ["rule_id", "stage", "stage_title", "framework", "tier", "message", "clauses"],
        "properties": {"rule_id": {"type": "string"}, "stage": {"type": "string"},
                       "stage_title": {"type": "string"}, "framework": {"type": "string"},
                       "tier": {"enum": list(vocab.TIERS)}, "message": {"type": "string"}, "clauses": clause_list},
    }
    deduction = {
        "type": "object",
        "additionalProperties": False,
        "required": ["rule_id", "title", "severity", "category", "confidence", "occurrences", "points"],
        "properties": {"rule_id": {"type": "string"}, "title": {"type": "string"},
                       "severity": {"enum": list(vocab.SEVERITIES)}, "category": {"enum": list(vocab.FINDING_CATEGORIES)},
                       "confidence": {"enum": ["high", "medium", "low"]},
                       "occurrences": {"type": "integer", "minimum": 1},
                       "points": {"type": "number", "exclusiveMinimum": 0}},
    }
    limit = {
        "type": "object",
        "description": "One limit checked on one grouping (view): the report draws it against its limit.",
        "required": ["metric", "status"],
        "properties": {
            "metric": {"type": "string"}, "rule_id": {"type": "string"}, "view": {"type": "string"},
            "features": strings, "bound": {"enum": ["min", "max"]}, "limit": {"type": "number"},
            "observed": number_or_null,
            "interval": {"oneOf": [{"type": "null"}, {"type": "array", "items": {"type": "number"},
                                                      "minItems": 2, "maxItems": 2}]},
            "status": {"enum": ["pass", "breach", "uncertain", "insufficient"]},
            "clauses": clause_list, "worst_group": {"type": ["object", "null"]},
            "best_group": {"type": ["object", "null"]}, "deciding_rate": {"type": "string"},
            "reason": {"type": "string"},
        },
    }
    group_row = {
        "type": "object",
        "description": "Rates of one group: the report charts the numeric keys.",
        "required": ["group", "n"],
        "properties": {"view": {"type": "string"}, "group": {"type": "object"},
                       "n": {"type": "integer", "minimum": 0}, "sufficient": {"type": "boolean"},
                       **{r: number_or_null for r in ("selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy")},
                       "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}},
    }
    probe = {
        "type": "object",
        "required": ["status", "reason", "metrics"],
        "properties": {
            "status": {"enum": ["ok", "skipped", "error"]},
            "reason": {"type": "string", "description": "Why it was skipped, or what went wrong; empty when ok."},
            "metrics": {"type": "object", "description": "Numbers, or per grouping a mapping of numbers."},
            "limits": {"type": "array", "items": limit},
            "by_group": {"type": "array", "items": group_row},
            "perturbations": {"type": "array", "items": {
                "type": "object", "required": ["name", "accuracy"],
                "properties": {"name": {"type": "string"}, "accuracy": number_or_null}}},
            "importance": {"oneOf": [
                {"type": "object", "additionalProperties": {"type": "number"}},
                {"type": "array", "items": {"type": "object", "required": ["feature", "importance"],
                                            "properties": {"feature": {"type": "string"},
                                                           "importance": {"type": "number"}}}}]},
            "curves": {"type": "array", "items": {
                "type": "object", "required": ["name", "points"],
                "properties": {"name": {"type": "string"}, "x_label": {"type": "string"},
                               "y_label": {"type": "string"},
                               "points": {"type": "array", "items": {"type": "array", "items": {"type": "number"},
                                                                     "minItems": 2, "maxItems": 2}}}}},
            "inputs": {"type": "object", "additionalProperties": sha},
        },
    }
    return {
        "$schema": DRAFT,
        "$id": "urn:riskengine:schema:assessment-v1",
        "title": "riskengine assessment (riskengine/assessment-v1)",
        "description": "The canonical result of `riskengine assess`; every report format is built from it.",
        "type": "object",
        "additionalProperties": False,
        "required": ["schema", "application", "tier", "in_scope", "tier_framework", "tier_reasons", "grade", "score",
                     "grade_meaning", "grade_cap", "grade_deductions", "required_controls", "declared_controls",
                     "missing_controls", "control_titles", "finding_counts", "findings", "probes", "clauses", "lang",
                     "manifest"],
        "properties": {
            "schema": {"const": vocab.ASSESSMENT_SCHEMA_ID},
            "application": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "name", "provider", "version", "scenario", "scenario_name", "founding_scenario",
                             "purpose", "decision_role", "use_cases", "practices"],
                "properties": {
                    "id": {"type": "string", "pattern": SLUG}, "name": {"type": "string"},
                    "provider": {"type": "string"}, "version": {"type": "string"},
                    "scenario": {"enum": list(vocab.SCENARIOS)}, "scenario_name": {"type": "string"},
                    "founding_scenario": {"type": "boolean"}, "purpose": {"type": "string"},
                    "decision_role": {"enum": list(vocab.DECISION_ROLES)},
                    "use_cases": {"type": "array", "items": {"enum": list(vocab.USE_CASES)}},
                    "practices": {"type": "array", "items": {"enum": list(vocab.PRACTICES)}},
                },
            },
            "tier": {"enum": list(vocab.TIERS), "description": "The inherent risk, from the declaration by rules."},
            "in_scope": {"type": "boolean", "description": "false when an EU AI Act Art. 2 exclusion applies."},
            "tier_framework": {"type": "string", "description": "Framework of the first rule that set the tier."},
            "tier_reasons": {"type": "array", "items": reason, "description": "The rules that set the tier."},
            "grade": {"enum": list(GRADES), "description": "How well the application meets what its tier demands."},
            "score": {"type": "number", "minimum": 0, "maximum": 100},
            "grade_meaning": {"type": "string"},
            "grade_cap": {"type": ["string", "null"],
                          "description": "Rule id whose severity capped the grade below what the score gives."},
            "grade_deductions": {"type": "array", "items": deduction,
                                 "description": "One entry per rule id, largest first."},
            "required_controls": {"type": "array", "items": {"enum": list(vocab.CONTROLS)}},
            "declared_controls": {"type": "array", "items": {"enum": list(vocab.CONTROLS)}},
            "missing_controls": {"type": "array", "items": {"enum": list(vocab.CONTROLS)}},
            "control_titles": {"type": "object", "propertyNames": {"enum": list(vocab.CONTROLS)},
                               "additionalProperties": {"type": "string"}},
            "finding_counts": {"type": "object", "additionalProperties": False,
                               "required": list(vocab.SEVERITIES),
                               "properties": {s: {"type": "integer", "minimum": 0} for s in vocab.SEVERITIES}},
            "findings": {"type": "array", "items": finding, "description": "Most severe first."},
            "probes": {"type": "object", "additionalProperties": probe,
                       "description": "Probe name -> what it measured (fairness, robustness, explainability)."},
            "clauses": {"type": "object", "description": "Every clause cited, with its title.",
                        "additionalProperties": {
                            "type": "object", "additionalProperties": False,
                            "required": ["framework", "title", "verified"],
                            "properties": {"framework": {"type": "string"}, "title": {"type": "string"},
                                           "verified": {"enum": ["primary", "secondary"]}}}},
            "lang": {"enum": ["en", "zh"], "description": "Language of the texts the assessment carries."},
            "manifest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["riskengine_version", "rulepack_version", "rulepacks", "inputs", "source", "python",
                             "grading_model", "generated_at", "content_sha256"],
                "properties": {
                    "riskengine_version": {"type": "string"},
                    "rulepack_version": {"type": "string"},
                    "rulepacks": {"type": "object", "additionalProperties": {"type": "string"}},
                    "inputs": {"type": "object", "required": ["declaration"], "additionalProperties": sha},
                    "source": {"type": "string", "description": "File name of the declaration."},
                    "python": {"type": "string"},
                    "grading_model": {"type": "string"},
                    "generated_at": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$",
                                     "description": "UTC; SOURCE_DATE_EPOCH when set."},
                    "content_sha256": {**sha, "description": "sha256 over the canonical JSON of everything but "
                                                              "generated_at and this hash (riskengine verify)."},
                },
            },
        },
    }


# ---------------------------------------------------------------- friendly validation


def _show(value: Any) -> str:
    text = f"'{value}'" if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _hint(word: Any, choices: tuple[Any, ...]) -> str | None:
    """did_you_mean, remembered for short words: a batch repeats its misspellings, and difflib takes ~50 µs."""
    return _short_hint(word, choices) if isinstance(word, str) and len(word) <= 64 else did_you_mean(word, choices)


@lru_cache(maxsize=1024)
def _short_hint(word: str, choices: tuple[Any, ...]) -> str | None:
    return did_you_mean(word, choices)


def _messages(error: Any) -> list[tuple[str, str, str | None]]:
    """(field path, message, hint) for one jsonschema error."""
    where = _path(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return [(_join(where, name), "is required but missing", None) for name in missing]
    if kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in schema.get("properties", {}) and not k.startswith("x-")]
        return [(_join(where, key), "is not a known field", _hint(key, tuple(known))
                 or f"known fields: {', '.join(known)}") for key in extra]
    if kind == "enum":
        allowed = [v for v in error.validator_value if v is not None]
        hint = _hint(error.instance, tuple(allowed)) if isinstance(error.instance, str) else None
        if len(allowed) <= 14:
            listed = "one of " + ", ".join(str(v) for v in allowed)
        else:
            listed = "a value from the vocabulary (see `riskengine schema declaration`)"
        return [(where, f"must be {listed}, got {_show(error.instance)}", hint)]
    if "x-message" in schema:
        return [(where, f"{schema['x-message']}, got {_show(error.instance)}", None)]
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        noun = {"object": "mapping", "array": "list", "string": "text"}.get(str(wanted), str(wanted))
        article = "an" if noun[0] in "aeiou" else "a"
        return [(where, f"must be {article} {noun}, got {_show(error.instance)}", None)]
    if kind == "uniqueItems":
        return [(where, "lists the same value more than once", None)]
    if kind == "const":
        return [(where, f"must be {_show(error.validator_value)}, got {_show(error.instance)}", None)]
    return [(where, error.message, None)]


def validation_errors(doc: Any, schema: dict[str, Any], source: str) -> list[DeclarationError]:
    """Every problem with `doc`, each naming the file and the field path, in a stable order."""
    if not isinstance(doc, dict):
        return [DeclarationError(f"the document must be a mapping of fields, got {type(doc).__name__}",
                                 source=source)]
    if surely_valid(schema, doc):  # the same schema compiled to Python (riskengine/schemacheck.py)
        return []
    validator = per_schema(schema, _draft_2020_12)
    out: dict[tuple[str, str], DeclarationError] = {}
    for error in validator.iter_errors(doc):
        for field, message, hint in _messages(error):
            if any(key[0] == field for key in out):  # one message per field is enough
                continue
            out[(field, message)] = DeclarationError(message, source=source, field=field or None, hint=hint)
    return [out[k] for k in sorted(out)]


def _draft_2020_12(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator  # not needed by --help

    return _validator(json.dumps(schema, sort_keys=True), _skipping_valid_properties(Draft202012Validator))


@lru_cache(maxsize=2)
def _skipping_valid_properties(cls: Any) -> Any:
    """`cls` that does not descend into a property the compiled check finds valid, where it would report nothing.

    The same errors in the same order, at a fraction of the cost: jsonschema spends ~0.3 ms on a declaration
    with one wrong field, almost all of it walking the right ones.
    """
    from jsonschema import validators

    descend_into = cls.VALIDATORS["properties"]

    def properties(validator: Any, properties: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Any:
        if isinstance(instance, dict):
            properties = {name: sub for name, sub in properties.items()
                          if name in instance and not surely_valid(sub, instance[name])}
        yield from descend_into(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": properties})


@lru_cache(maxsize=4)
def _validator(schema_json: str, cls: Any) -> Any:
    return cls(json.loads(schema_json))
