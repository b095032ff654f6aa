"""Shared test helpers: run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "riskengine", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture()
def cli():
    return run_cli


def minimal_declaration(**application) -> dict:
    app = {"id": "test-app", "name": "Test application", "provider": "Test provider", "scenario": "general",
           "purpose": "Testing.", "decision_role": "advisory", "autonomy_level": 0}
    app.update(application)
    return {"schema": "riskengine/v1", "application": app}


@pytest.fixture(scope="session", autouse=True)
def every_written_assessment_matches_the_schema(tmp_path_factory):
    """After the whole run, every assessment.json any test wrote under pytest's temporary folders must validate
    against the published schema (`riskengine schema assessment`) and carry its own content hash."""
    yield
    import json as _json

    from jsonschema import Draft202012Validator

    from riskengine.integrity import check
    from riskengine.schema import assessment_schema

    validator = Draft202012Validator(assessment_schema())
    problems = []
    for path in sorted(tmp_path_factory.getbasetemp().rglob("assessment.json")):
        try:
            doc = _json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # a test that corrupts a file on purpose
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            problems.append(f"{path}: {'.'.join(map(str, errors[0].absolute_path))}: {errors[0].message[:200]}")
        stored, actual = check(doc)
        if stored != actual and "tampered" not in path.parts[-2]:
            problems.append(f"{path}: content hash {stored} does not match {actual}")
    assert not problems, "\n".join(problems)


def _bench_generate():
    """benchmarks/bench_batch.py's seeded declarations (the benchmarks folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "benchmarks" / "bench_batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


GENERATE = _bench_generate()
"""GENERATE(n, seed=..., bad_every=...): seeded declarations as a regulator's intake would hold them."""


def shared_paths(got, value, path=()):
    """The paths at which `got` holds the very mapping or list that `value` holds (what a copy shares)."""
    out = [path] if got is value and isinstance(got, (dict, list)) else []
    if isinstance(got, dict) and isinstance(value, dict):
        for key, item in got.items():
            if key in value:
                out += shared_paths(item, value[key], (*path, key))
    return out
