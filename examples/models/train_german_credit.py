"""Train the example credit-scoring model on German Credit and export it to skops and ONNX (seeded).

    python examples/models/train_german_credit.py          # the shipped examples/data/german_credit.csv
    python examples/models/train_german_credit.py --full   # decode ../shared/data/german-credit/german.data
    python examples/models/train_german_credit.py --data my.csv --out /tmp/german

Writes to --out (default: this folder): german_credit.skops, german_credit.onnx (skl2onnx, zipmap
off, one input per column) and german_credit_eval.csv (the held-out rows the declaration
german-credit-skops.yaml evaluates on), then checks that both files predict exactly what the
scikit-learn pipeline predicts.

The classifier is a GradientBoostingClassifier, whose tree objects skops does not trust by default:
the declaration lists those types under model.trusted_types, which is the point of the example (see
docs/models.md). (HistGradientBoostingClassifier would be the modern choice, but skl2onnx 1.20 fails
to convert it under scikit-learn 1.9.) Like many real scorecards, it uses personal status (which encodes sex)
and age as inputs.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

SEED = 0
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLE = REPO / "examples" / "data" / "german_credit.csv"
FULL = REPO.parent / "shared" / "data" / "german-credit"

NUMERIC = [
    "duration_months",
    "credit_amount",
    "installment_rate_pct",
    "residence_since",
    "age",
    "existing_credits",
    "num_dependents",
]
CATEGORICAL = [
    "checking_status",
    "credit_history",
    "purpose",
    "savings",
    "employment_since",
    "personal_status_sex",
    "other_debtors",
    "property",
    "other_installment_plans",
    "housing",
    "job",
    "telephone",
    "foreign_worker",
]
FEATURES = NUMERIC + CATEGORICAL  # the derived sex and age_group columns are for the audit, not the model
TARGET = "good_credit"


def read_german(path: Path, full: bool):
    import pandas as pd

    if full:
        sys.path.insert(0, str(REPO / "examples" / "data"))
        from make_samples import german  # the same decoding that produced the shipped CSV

        frame = german(path.parent.parent)
    else:
        frame = pd.read_csv(path)
    for col in NUMERIC:
        frame[col] = frame[col].astype("float64")
    return frame


def build_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = ColumnTransformer(
        [
            ("num", "passthrough", NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
        ]
    )
    clf = GradientBoostingClassifier(n_estimators=60, max_depth=3, learning_rate=0.1, random_state=SEED)
    return Pipeline([("pre", pre), ("clf", clf)])


def main(argv: list[str] | None = None) -> dict:
    import skops.io as sio
    from sklearn.model_selection import train_test_split

    sys.path.insert(0, str(HERE))
    from train_adult import export_onnx, verify_exports

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SAMPLE, help=f"training data (default {SAMPLE.name})")
    parser.add_argument("--full", action="store_true", help=f"decode the original file in {FULL}")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    frame = read_german(FULL / "german.data" if args.full else args.data, args.full)
    train, test = train_test_split(frame, test_size=0.3, random_state=SEED, stratify=frame[TARGET])
    pipe = build_pipeline().fit(train[FEATURES], train[TARGET])

    skops_path, onnx_path = args.out / "german_credit.skops", args.out / "german_credit.onnx"
    sio.dump(pipe, skops_path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    export_onnx(pipe, onnx_path, NUMERIC, CATEGORICAL)
    eval_path = args.out / "german_credit_eval.csv"
    test[FEATURES + ["sex", "age_group", TARGET]].to_csv(eval_path, index=False, lineterminator="\n")

    return verify_exports("german credit", pipe, len(train), test, FEATURES, TARGET, onnx_path, skops_path)

if __name__ == "__main__":
    main()
