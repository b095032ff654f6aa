"""Train the example income model on UCI Adult and export it to ONNX and skops (seeded, reproducible).

    python examples/models/train_adult.py                 # the shipped 4,000-row sample
    python examples/models/train_adult.py --full          # all of ../shared/data/adult/adult.data
    python examples/models/train_adult.py --data my.csv --out /tmp/adult

Writes to --out (default: this folder): adult_income.onnx (skl2onnx, zipmap off, one input per
column), adult_income.skops, and adult_eval.csv (the held-out rows the declaration
adult-income-onnx.yaml evaluates on). It then checks that the ONNX graph and the skops file predict
exactly what the scikit-learn pipeline predicts, and stops with an error if not.

The model deliberately uses `sex` and `race` as inputs, as many real income models do: the fairness
probe should see, and does see, the disparity that follows.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

SEED = 0
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLE = REPO / "examples" / "data" / "adult_sample.csv"
FULL = REPO.parent / "shared" / "data" / "adult" / "adult.data"

COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]
NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
FEATURES = NUMERIC + CATEGORICAL  # fnlwgt is a census sampling weight, not a fact about the person
TARGET = "income"


def read_adult(path: Path):
    """The shipped CSV (with header) or the raw UCI file (no header, ', ' separators)."""
    import pandas as pd

    with open(path, encoding="utf-8") as fh:
        has_header = fh.readline().startswith("age,")
    if has_header:
        frame = pd.read_csv(path, keep_default_na=False)
    else:
        frame = pd.read_csv(path, header=None, names=COLUMNS, skipinitialspace=True, keep_default_na=False)
        frame = frame[frame["age"].astype(str) != ""]
    frame[TARGET] = frame[TARGET].str.rstrip(".")
    for col in NUMERIC:
        frame[col] = frame[col].astype("float64")
    return frame.reset_index(drop=True)


def build_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer(
        [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=2000, C=1.0))])


def export_onnx(pipe, path: Path, numeric: list[str], categorical: list[str]) -> None:
    """One ONNX input per column (float or string), probabilities as a plain tensor (zipmap off)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial = [(c, FloatTensorType([None, 1])) for c in numeric] + [
        (c, StringTensorType([None, 1])) for c in categorical
    ]
    onx = convert_sklearn(pipe, initial_types=initial, options={id(pipe): {"zipmap": False}}, target_opset=17)
    path.write_bytes(onx.SerializeToString())


def onnx_predict(path: Path, frame):
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {}
    for inp in sess.get_inputs():
        col = frame[inp.name]
        feed[inp.name] = (
            col.astype(str).to_numpy(dtype=object)
            if inp.type == "tensor(string)"
            else col.to_numpy(dtype=np.float32)
        ).reshape(-1, 1)
    label, proba = sess.run(None, feed)
    return np.asarray(label), np.asarray(proba)


def main(argv: list[str] | None = None) -> dict:
    import skops.io as sio
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SAMPLE, help=f"training data (default {SAMPLE.name})")
    parser.add_argument("--full", action="store_true", help=f"use the full UCI file {FULL}")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    args = parser.parse_args(argv)
    data = FULL if args.full else args.data
    args.out.mkdir(parents=True, exist_ok=True)

    frame = read_adult(data)
    train, test = train_test_split(frame, test_size=0.3, random_state=SEED, stratify=frame[TARGET])
    pipe = build_pipeline().fit(train[FEATURES], train[TARGET])

    onnx_path, skops_path = args.out / "adult_income.onnx", args.out / "adult_income.skops"
    export_onnx(pipe, onnx_path, NUMERIC, CATEGORICAL)
    sio.dump(pipe, skops_path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    eval_path = args.out / "adult_eval.csv"
    test[FEATURES + ["fnlwgt", TARGET]].to_csv(eval_path, index=False, lineterminator="\n")

    return verify_exports("adult", pipe, len(train), test, FEATURES, TARGET, onnx_path, skops_path)


def verify_exports(name: str, pipe, n_train: int, test, features: list[str], target: str, onnx_path: Path,
                   skops_path: Path) -> dict:
    """The exported ONNX and skops files must predict exactly what the scikit-learn pipeline predicts."""
    import numpy as np
    import skops.io as sio

    expected = pipe.predict(test[features])
    label, proba = onnx_predict(onnx_path, test)
    untrusted = sio.get_untrusted_types(file=str(skops_path))
    restored = sio.load(skops_path, trusted=untrusted)  # our own file, just written
    same_skops = np.array_equal(restored.predict(test[features]), expected)
    same_onnx = np.array_equal(label.astype(str), expected.astype(str))
    max_diff = float(np.abs(proba - pipe.predict_proba(test[features])).max())
    accuracy = float((expected == test[target].to_numpy()).mean())
    print(f"{name}: trained on {n_train} rows, evaluated on {len(test)}; accuracy {accuracy:.3f}")
    print(f"  {onnx_path.name}: {onnx_path.stat().st_size / 1e3:.0f} kB, labels equal sklearn: {same_onnx}, "
          f"max |proba diff| {max_diff:.1e}")
    print(f"  {skops_path.name}: {skops_path.stat().st_size / 1e3:.0f} kB, labels equal sklearn: {same_skops}, "
          f"types outside skops' defaults: {untrusted or 'none'}")
    if not (same_onnx and same_skops) or max_diff > 1e-4:
        raise SystemExit("exported models do not reproduce the scikit-learn pipeline")
    return {"accuracy": accuracy, "onnx_max_proba_diff": max_diff, "untrusted_types": untrusted}

if __name__ == "__main__":
    main()
