"""Load and validate declarations: the first stage, declaration -> Declaration."""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from riskengine.errors import DeclarationError, DeclarationErrors
from riskengine.model import Declaration, DeclaredData, DeclaredModel
from riskengine.safeload import load_document
from riskengine.schema import declaration_schema, validation_errors
from riskengine.schemacheck import REFUSED, default_filler, filling_accept, per_schema


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _fill_defaults(doc: Any, schema: dict[str, Any]) -> Any:
    """Copy `doc` with every missing property that has a schema default filled in, recursively."""
    fill = per_schema(schema, default_filler)
    return doc if fill is None else fill(doc)


@lru_cache(maxsize=1)
def _accept_declaration() -> Callable[[Any], Any]:
    """The declaration schema's generated check, which fills the defaults too (schemacheck.compile_accept); kept
    here, as the schema itself is, so that a record does not pay for looking it up."""
    return per_schema(declaration_schema(), filling_accept)


def _resolve(path: str, base_dir: str | None) -> str:
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded) or base_dir is None:
        return os.path.normpath(expanded)
    return os.path.normpath(os.path.join(base_dir, expanded))


def parse_declaration(doc: Any, *, source: str, sha256: str, base_dir: str | None = None) -> Declaration:
    """Validate a parsed document and build the Declaration; raises DeclarationErrors listing every problem."""
    raw = _accept_declaration()(doc)
    if raw is REFUSED:  # invalid, or beyond what the generated check vouches for: jsonschema decides
        schema = declaration_schema()
        errors = validation_errors(doc, schema, source)
        if errors:
            raise DeclarationErrors(errors)
        raw = _fill_defaults(doc, schema)
    model = data = None
    if "model" in raw:
        m = raw["model"]
        model = DeclaredModel(
            format=m["format"],
            path=_resolve(m["path"], base_dir) if m.get("path") else None,
            prediction_column=m.get("prediction_column"),
            score_column=m.get("score_column"),
            trusted_types=tuple(m.get("trusted_types", ())),
        )
    if "data" in raw:
        d = raw["data"]
        data = DeclaredData(
            path=_resolve(d["path"], base_dir),
            target=d["target"],
            positive_label=d.get("positive_label", 1),
            favorable_label=d.get("favorable_label", d.get("positive_label", 1)),
            sensitive_features=tuple(d.get("sensitive_features", ())),
            features=tuple(d["features"]) if "features" in d else None,
        )
    if model is not None and model.format == "predictions" and data is None:
        raise DeclarationErrors([DeclarationError("is required when model.format is 'predictions' (the predictions "
                                                  "are a column of the data file)", source=source, field="data")])
    return Declaration(source=source, raw=raw, sha256=sha256, base_dir=base_dir, model=model, data=data)


def load_declaration(path: str | os.PathLike[str]) -> Declaration:
    """Read, parse and validate one declaration file."""
    p = Path(path)
    source = str(path)
    doc, data = load_document(p, source)
    return parse_declaration(doc, source=source, sha256=sha256_bytes(data), base_dir=str(p.resolve().parent))


def check_files(paths: list[str]) -> list[DeclarationError]:
    """Every error in every file, for `riskengine validate`."""
    problems: list[DeclarationError] = []
    for path in paths:
        try:
            load_declaration(path)
        except DeclarationErrors as many:
            problems.extend(many.errors)
        except DeclarationError as one:
            problems.append(one)
    return problems


_MODEL_FORMATS_BY_SUFFIX = {".onnx": "onnx", ".skops": "skops", ".pkl": "pickle", ".pickle": "pickle",
                            ".joblib": "joblib"}


def with_overrides(decl: Declaration, *, model_path: str | None, data_path: str | None) -> Declaration:
    """The declaration with --model / --data applied (paths relative to the working folder)."""
    doc = copy.deepcopy(decl.raw)
    if model_path:
        model = doc.setdefault("model", {})
        model["path"] = os.path.abspath(model_path)
        if "format" not in model:
            suffix = Path(model_path).suffix.lower()
            if suffix not in _MODEL_FORMATS_BY_SUFFIX:
                raise DeclarationError(f"cannot tell the model format from '{suffix or 'no extension'}'; "
                                       "declare model.format", source=decl.source, field="--model")
            model["format"] = _MODEL_FORMATS_BY_SUFFIX[suffix]
    if data_path:
        if "data" not in doc:
            raise DeclarationError("--data needs a data: section in the declaration naming at least the target "
                                   "column", source=decl.source, field="data")
        doc["data"]["path"] = os.path.abspath(data_path)
    return parse_declaration(doc, source=decl.source, sha256=decl.sha256, base_dir=decl.base_dir)
