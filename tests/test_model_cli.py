"""Model assessments through the CLI: bad model or data inputs end in exit 2 with nothing written."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import yaml

from tests.conftest import EXAMPLES, run_cli

MODELS = EXAMPLES / "models"


def _copy_example(tmp_path, name="adult-income-onnx.yaml"):
    """The Adult ONNX example with its files, in a scratch folder we may damage."""
    work = tmp_path / "in"
    shutil.copytree(MODELS, work, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    doc = yaml.safe_load((work / name).read_text(encoding="utf-8"))
    return work, doc


def _assess(tmp_path, work, doc, *extra):
    path = work / "decl.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return run_cli("assess", str(path), "--out", str(tmp_path / "out"), *extra)


def _assert_refused(proc, tmp_path, *needles):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_model_example_writes_fairness_with_hashes(tmp_path):
    work, doc = _copy_example(tmp_path)
    proc = _assess(tmp_path, work, doc, "--json")
    assert proc.returncode == 0, proc.stderr
    a = json.loads(proc.stdout)
    assert a["probes"]["fairness"]["status"] == "ok"
    inputs = a["manifest"]["inputs"]
    assert set(inputs) == {"declaration", "model", "data"}
    import hashlib
    assert inputs["model"] == "sha256:" + hashlib.sha256((work / doc["model"]["path"]).read_bytes()).hexdigest()


def test_missing_column_names_the_field(tmp_path):
    work, doc = _copy_example(tmp_path)
    doc["data"]["sensitive_features"] = ["sex", "ethnicity"]
    _assert_refused(_assess(tmp_path, work, doc), tmp_path, "data.sensitive_features", "ethnicity")


def test_missing_data_file(tmp_path):
    work, doc = _copy_example(tmp_path)
    doc["data"]["path"] = "nowhere.csv"
    _assert_refused(_assess(tmp_path, work, doc), tmp_path, "nowhere.csv")


def test_file_that_is_not_its_format(tmp_path):
    work, doc = _copy_example(tmp_path)
    (work / doc["model"]["path"]).write_bytes(b"\x00\x01 definitely not onnx")
    _assert_refused(_assess(tmp_path, work, doc), tmp_path, "model")


class _Boom:
    def __reduce__(self):
        return (open, (str(_Boom.target), "w"))


def test_pickle_is_refused_without_trust_and_never_opened(tmp_path):
    work, doc = _copy_example(tmp_path)
    _Boom.target = tmp_path / "pwned"
    (work / "model.pkl").write_bytes(pickle.dumps(_Boom()))
    doc["model"] = {"format": "pickle", "path": "model.pkl"}
    _assert_refused(_assess(tmp_path, work, doc), tmp_path, "model.format", "--trust-pickle")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("target_values", [[0, 1, 2]])
def test_non_binary_target(tmp_path, target_values):
    import pandas as pd

    work, doc = _copy_example(tmp_path)
    data = pd.read_csv(work / doc["data"]["path"])
    data[doc["data"]["target"]] = [target_values[i % 3] for i in range(len(data))]
    data.to_csv(work / doc["data"]["path"], index=False)
    _assert_refused(_assess(tmp_path, work, doc), tmp_path, "data.target")
