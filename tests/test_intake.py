"""Model and data intake: real files, real models, and one test per way the input can be wrong."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskengine.errors import ModelLoadError
from riskengine.intake import (
    MULTICLASS_NOT_SUPPORTED,
    load_data,
    load_evaluation,
    load_model,
    predictions_for,
    sha256_file,
)
from riskengine.model import Declaration, DeclaredData, DeclaredModel

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "models"


def declaration(tmp: Path, model: DeclaredModel | None, data: DeclaredData | None) -> Declaration:
    return Declaration(
        source="decl.yaml",
        raw={"application": {"id": "t"}},
        sha256="sha256:0",
        base_dir=str(tmp),
        model=model,
        data=data,
    )


@pytest.fixture(scope="module")
def numeric(tmp_path_factory):
    """A real scikit-learn model on 5 numeric features, exported to ONNX (zipmap on and off) and skops."""
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    tmp = tmp_path_factory.mktemp("numeric")
    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    cols = [f"f{i}" for i in range(5)]
    frame = pd.DataFrame(X, columns=cols)
    frame["label"] = y
    frame["group"] = np.where(np.arange(600) % 3 == 0, "a", "b")
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X.astype(np.float32), y)
    paths = {
        "csv": tmp / "eval.csv",
        "onnx": tmp / "m.onnx",
        "onnx_zipmap": tmp / "m_zipmap.onnx",
        "skops": tmp / "m.skops",
    }
    frame.to_csv(paths["csv"], index=False)
    sample = X[:1].astype(np.float32)
    paths["onnx"].write_bytes(
        to_onnx(model, sample, options={"zipmap": False}, target_opset=17).SerializeToString()
    )
    paths["onnx_zipmap"].write_bytes(to_onnx(model, sample, target_opset=17).SerializeToString())
    sio.dump(model, paths["skops"])
    return {"tmp": tmp, "frame": frame, "cols": cols, "model": model, "X": X, "y": y, **paths}


def data_for(numeric, **kw) -> DeclaredData:
    args = {
        "path": str(numeric["csv"]),
        "target": "label",
        "sensitive_features": ("group",),
        "features": tuple(numeric["cols"]),
    }
    args.update(kw)
    return DeclaredData(**args)


@contextmanager
def raises(field: str, *needles: str) -> Iterator[pytest.ExceptionInfo]:
    """pytest.raises for ModelLoadError, then check the field and fragments of the message."""
    with pytest.raises(ModelLoadError) as info:
        yield info
    err = info.value
    assert err.field == field, (err.field, str(err))
    for needle in needles:
        assert needle in str(err), (needle, str(err))


# ----------------------------------------------------------------------------------------------- data


def test_sha256_file(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"riskengine" * 1000)
    assert sha256_file(p) == "sha256:" + hashlib.sha256(b"riskengine" * 1000).hexdigest()


def test_csv_and_parquet_load_the_same(numeric, tmp_path):
    pq = tmp_path / "eval.parquet"
    numeric["frame"].to_parquet(pq)
    a = load_data(data_for(numeric), "decl.yaml")
    b = load_data(data_for(numeric, path=str(pq)), "decl.yaml")
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    odd = tmp_path / "eval.data"  # unknown extension: the content decides
    odd.write_bytes(pq.read_bytes())
    assert len(load_data(data_for(numeric, path=str(odd)), "decl.yaml")) == 600


def test_binary_garbage_named_csv(numeric, tmp_path):
    bad = tmp_path / "garbage.csv"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with raises("data.path", str(bad), "not a text file"):
        load_data(data_for(numeric, path=str(bad)), "decl.yaml")


def test_parquet_named_csv_and_csv_named_parquet(numeric, tmp_path):
    pq_as_csv = tmp_path / "really_parquet.csv"
    numeric["frame"].to_parquet(pq_as_csv)
    with raises("data.path", str(pq_as_csv), "holds Parquet data"):
        load_data(data_for(numeric, path=str(pq_as_csv)), "decl.yaml")
    csv_as_pq = tmp_path / "really_csv.parquet"
    csv_as_pq.write_bytes(numeric["csv"].read_bytes())
    with raises("data.path", str(csv_as_pq), "not a Parquet file"):
        load_data(data_for(numeric, path=str(csv_as_pq)), "decl.yaml")


def test_missing_file(numeric, tmp_path):
    with raises("data.path", "does not exist"):
        load_data(data_for(numeric, path=str(tmp_path / "nope.csv")), "decl.yaml")


@pytest.mark.parametrize(
    "kw,field,column",
    [
        ({"target": "lable"}, "data.target", "lable"),
        ({"sensitive_features": ("gruop",)}, "data.sensitive_features", "gruop"),
        ({"features": ("f0", "f1", "f9")}, "data.features", "f9"),
    ],
)
def test_missing_columns_name_the_field_and_suggest(numeric, kw, field, column):
    with raises(field, f"'{column}'", str(numeric["csv"])) as info:
        load_data(data_for(numeric, **kw), "decl.yaml")
    assert str(info.value).startswith("decl.yaml: " + field)
    if column != "f9":
        assert "did you mean" in str(info.value)


def test_nan_in_sensitive_feature(numeric, tmp_path):
    frame = numeric["frame"].copy()
    frame.loc[[3, 7], "group"] = np.nan
    p = tmp_path / "gaps.csv"
    frame.to_csv(p, index=False)
    with raises("data.sensitive_features", "'group'", "2 missing values", str(p)):
        load_data(data_for(numeric, path=str(p)), "decl.yaml")


def test_non_binary_target(numeric, tmp_path):
    frame = numeric["frame"].copy()
    frame["label"] = np.arange(600) % 3
    p = tmp_path / "multi.csv"
    frame.to_csv(p, index=False)
    with raises("data.target", "binary target required", "not supported yet", str(p)):
        load_data(data_for(numeric, path=str(p)), "decl.yaml")
    assert "binary target required" in MULTICLASS_NOT_SUPPORTED


def test_positive_label_must_occur(numeric):
    with raises("data.positive_label", "'yes'"):
        load_data(data_for(numeric, positive_label="yes"), "decl.yaml")


def test_continuous_sensitive_feature_asks_for_bins(numeric):
    with raises("data.sensitive_features", "'f0'", "continuous"):
        load_data(data_for(numeric, sensitive_features=("f0",)), "decl.yaml")


def test_labels_compare_across_spellings(tmp_path):
    p = tmp_path / "s.csv"
    pd.DataFrame({"y": ["1", "0", "1", "0"], "p": [1.0, 0.0, 0.0, 0.0], "g": list("aabb")}).to_csv(
        p, index=False
    )
    decl = declaration(
        tmp_path,
        DeclaredModel(format="predictions", prediction_column="p"),
        DeclaredData(path=str(p), target="y", positive_label=True, sensitive_features=("g",)),
    )
    frame, y_true, y_pred, y_score, sf = predictions_for(decl)
    assert y_true.tolist() == [1, 0, 1, 0] and y_pred.tolist() == [1, 0, 0, 0] and y_score is None
    assert sf.columns.tolist() == ["g"] and len(frame) == 4


# --------------------------------------------------------------------------------------------- models


@pytest.mark.parametrize("which", ["onnx", "onnx_zipmap", "skops"])
def test_exported_models_predict_like_sklearn(numeric, which):
    fmt = "skops" if which == "skops" else "onnx"
    pred = load_model(DeclaredModel(format=fmt, path=str(numeric[which])), "decl.yaml")
    assert pred.kind == fmt and pred.n_features == 5
    X = numeric["frame"][numeric["cols"]]
    sk = numeric["model"]
    Xf = numeric["X"].astype(np.float32)
    np.testing.assert_array_equal(pred.predict(X), sk.predict(Xf))
    np.testing.assert_allclose(pred.predict_proba(X), sk.predict_proba(Xf), atol=1e-6)
    decl = declaration(numeric["tmp"], DeclaredModel(format=fmt, path=str(numeric[which])), data_for(numeric))
    ev = load_evaluation(decl)
    np.testing.assert_array_equal(ev.y_pred, sk.predict(Xf))
    np.testing.assert_array_equal(ev.y_true, numeric["y"])
    np.testing.assert_allclose(ev.y_score, sk.predict_proba(Xf)[:, 1], atol=1e-6)
    assert ev.inputs["model"] == sha256_file(numeric[which]) and ev.inputs["data"] == sha256_file(
        numeric["csv"]
    )


def test_wrong_feature_count(numeric):
    decl = declaration(
        numeric["tmp"],
        DeclaredModel(format="onnx", path=str(numeric["onnx"])),
        data_for(numeric, features=("f0", "f1", "f2", "f3")),
    )
    with raises("data.features", "takes 5 input features but 4"):
        load_evaluation(decl)
    # no features declared: every other column is used, here 5 numeric columns + none extra -> fine
    ok = declaration(
        numeric["tmp"],
        DeclaredModel(format="onnx", path=str(numeric["onnx"])),
        data_for(numeric, features=None),
    )
    assert load_evaluation(ok).features == tuple(numeric["cols"])


def test_skops_with_names_rejects_a_different_feature_list(numeric, tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = numeric["frame"]
    est = LogisticRegression().fit(frame[numeric["cols"]], frame["label"])  # remembers feature_names_in_
    p = tmp_path / "named.skops"
    sio.dump(est, p)
    decl = declaration(
        tmp_path, DeclaredModel(format="skops", path=str(p)), data_for(numeric, features=("f0", "f1"))
    )
    with raises("data.features", "f2"):
        load_evaluation(decl)


def test_text_column_into_numeric_onnx(numeric, tmp_path):
    frame = numeric["frame"].copy()
    frame["f4"] = np.where(frame["f4"] > 0, "hi", "lo")
    p = tmp_path / "text.csv"
    frame.to_csv(p, index=False)
    decl = declaration(
        tmp_path, DeclaredModel(format="onnx", path=str(numeric["onnx"])), data_for(numeric, path=str(p))
    )
    with raises("data.features", "f4", "not numeric"):
        load_evaluation(decl)


def test_garbage_onnx_and_skops_files(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07garbage" * 100)
    with raises("model.path", str(junk), "not a valid ONNX model"):
        load_model(DeclaredModel(format="onnx", path=str(junk)), "decl.yaml")
    junk_skops = tmp_path / "junk.skops"
    junk_skops.write_bytes(b"not a zip")
    with raises("model.path", str(junk_skops)):
        load_model(DeclaredModel(format="skops", path=str(junk_skops)), "decl.yaml")
    with raises("model.path", "does not exist"):
        load_model(DeclaredModel(format="onnx", path=str(tmp_path / "missing.onnx")), "decl.yaml")


class _Payload:
    """Unpickling this writes a file: proof that a refused pickle was never opened."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (Path(self.target), "pickle ran"))


def test_pickle_refused_without_trust_and_never_opened(tmp_path):
    marker = tmp_path / "pwned.txt"
    p = tmp_path / "model.pkl"
    p.write_bytes(pickle.dumps(_Payload(str(marker))))
    for fmt in ("pickle", "joblib"):
        with raises("model.format", "arbitrary code", str(p)) as info:
            load_model(DeclaredModel(format=fmt, path=str(p)), "decl.yaml")
        assert (
            "ONNX" in str(info.value) and "skops" in str(info.value) and "--trust-pickle" in str(info.value)
        )
    assert not marker.exists()


def test_pickle_loads_with_explicit_trust(numeric, tmp_path):
    p = tmp_path / "model.pkl"
    p.write_bytes(pickle.dumps(numeric["model"]))
    pred = load_model(DeclaredModel(format="pickle", path=str(p)), "decl.yaml", trust_pickle=True)
    assert pred.kind == "pickle"
    np.testing.assert_array_equal(pred.predict(numeric["X"]), numeric["model"].predict(numeric["X"]))


def test_skops_untrusted_type_refused_until_trusted(numeric, tmp_path):
    import skops.io as sio
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(numeric["X"], numeric["y"])
    p = tmp_path / "tree.skops"
    sio.dump(tree, p)
    with raises(
        "model.trusted_types", "sklearn.tree._tree.Tree", str(p), "list them under model.trusted_types"
    ):
        load_model(DeclaredModel(format="skops", path=str(p)), "decl.yaml")
    with raises("model.trusted_types", "sklearn.tree._tree.Tree"):
        load_model(
            DeclaredModel(format="skops", path=str(p), trusted_types=("some.other.Type",)), "decl.yaml"
        )
    via_declaration = load_model(
        DeclaredModel(format="skops", path=str(p), trusted_types=("sklearn.tree._tree.Tree",)), "decl.yaml"
    )
    via_cli = load_model(
        DeclaredModel(format="skops", path=str(p)), "decl.yaml", trusted_types=["sklearn.tree._tree.Tree"]
    )
    for pred in (via_declaration, via_cli):
        np.testing.assert_array_equal(pred.predict(numeric["X"]), tree.predict(numeric["X"]))


def test_predictions_format_checks_its_columns(numeric, tmp_path):
    decl = declaration(
        numeric["tmp"], DeclaredModel(format="predictions", prediction_column="pred"), data_for(numeric)
    )
    with raises("model.prediction_column", "'pred'"):
        load_evaluation(decl)
    frame = numeric["frame"].copy()
    frame["pred"] = np.where(frame["label"] == 1, "yes", "no")
    p = tmp_path / "p.csv"
    frame.to_csv(p, index=False)
    decl = declaration(
        tmp_path,
        DeclaredModel(format="predictions", prediction_column="pred"),
        data_for(numeric, path=str(p)),
    )
    with raises("model.prediction_column", "do not occur in the target"):
        load_evaluation(decl)


def test_predictions_for_counts_by_hand(tmp_path):
    p = tmp_path / "h.csv"
    pd.DataFrame(
        {
            "y": ["bad", "good", "good", "bad", "good"],
            "p": ["good", "good", "bad", "bad", "good"],
            "s": [0.6, 0.9, 0.2, 0.1, 0.7],
            "sex": list("FMFMF"),
        }
    ).to_csv(p, index=False)
    decl = declaration(
        tmp_path,
        DeclaredModel(format="predictions", prediction_column="p", score_column="s"),
        DeclaredData(path=str(p), target="y", positive_label="good", sensitive_features=("sex",)),
    )
    _frame, y_true, y_pred, y_score, sf = predictions_for(decl)
    assert y_true.tolist() == [0, 1, 1, 0, 1]
    assert y_pred.tolist() == [1, 1, 0, 0, 1]
    assert y_score.tolist() == [0.6, 0.9, 0.2, 0.1, 0.7]
    assert sf["sex"].tolist() == list("FMFMF")


def test_relative_paths_resolve_against_the_declaration(numeric):
    decl = declaration(
        numeric["tmp"], DeclaredModel(format="onnx", path="m.onnx"), data_for(numeric, path="eval.csv")
    )
    assert len(load_evaluation(decl).y_pred) == 600


# ------------------------------------------------------------------------------------ shipped examples


def test_shipped_artefacts_agree(tmp_path):
    """The committed ONNX and skops files of each example model give the same labels on its eval data."""
    for stem, eval_csv, target, trusted in (
        ("german_credit", "german_credit_eval.csv", "good_credit", ("sklearn.tree._tree.Tree",)),
        ("adult_income", "adult_eval.csv", "income", ()),
    ):
        frame = pd.read_csv(EXAMPLES / eval_csv, keep_default_na=False)
        onnx = load_model(DeclaredModel(format="onnx", path=str(EXAMPLES / f"{stem}.onnx")), "t")
        skops = load_model(
            DeclaredModel(format="skops", path=str(EXAMPLES / f"{stem}.skops"), trusted_types=trusted), "t"
        )
        assert set(onnx.feature_names) == set(skops.feature_names)
        X = frame[list(skops.feature_names)]
        a, b = onnx.predict(X), skops.predict(X)
        assert np.array_equal(a.astype(str), b.astype(str)), stem
        np.testing.assert_allclose(onnx.predict_proba(X), skops.predict_proba(X), atol=1e-5)
        assert set(map(str, np.unique(b))) <= set(map(str, frame[target].unique()))


def test_importing_intake_and_probes_stays_light():
    code = (
        "import sys, riskengine.intake, riskengine.probes, riskengine.probes.fairness; "
        "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'fairlearn', 'onnxruntime', 'skops') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_latin1_csv_is_read_as_text(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes("y,p,city\n1,1,Münster\n0,0,Köln\n1,0,Zürich\n".encode("latin-1"))
    frame = load_data(DeclaredData(path=str(p), target="y"), "decl.yaml")
    assert frame["city"].tolist() == ["Münster", "Köln", "Zürich"]
