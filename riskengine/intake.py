"""Model and data intake: load what a declaration's `model:` and `data:` sections point at, safely.

Everything a probe needs (labels, predictions, sensitive features) comes through here, so the checks
live in one place: a file is what its name says, the declared columns exist, the target is binary, the
sensitive features have no gaps, and a model file is only deserialised when that cannot run code the
user did not agree to (ONNX always; skops with an explicit type allow-list; pickle only with
`trust_pickle=True`).

Heavy libraries (pandas, numpy, onnxruntime, skops, joblib) are imported inside functions so that
importing this module costs nothing for `riskengine --help`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from riskengine.errors import ModelLoadError, did_you_mean
from riskengine.model import Declaration, DeclaredData, DeclaredModel

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import pandas as pd

#: A sensitive feature with more distinct values than this is almost certainly continuous (age, income).
MAX_GROUPS_PER_FEATURE = 50
#: Rows scored per model call, so a large evaluation set does not need one huge float32 copy.
PREDICT_CHUNK_ROWS = 200_000

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_CSV_EXTENSIONS = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
_PARQUET_EXTENSIONS = (".parquet", ".pq")

MULTICLASS_NOT_SUPPORTED = (
    "binary target required: column {col!r} in {path} has {k} distinct values ({values}); "
    "multiclass targets are not supported yet"
)


# --------------------------------------------------------------------------------------------- files


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Content hash for the assessment manifest, so a report names exactly the bytes it judged."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _sniff(path: str) -> str:
    """What the bytes are: 'parquet', 'gzip', 'zip', 'text' or 'binary' (an extension can lie)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut at the block boundary
            # Legacy 8-bit text (cp1252, latin-1) is still text if almost every byte is printable.
            control = sum(1 for b in head if b < 9 or 13 < b < 32 or b == 127)
            if control > len(head) // 100:
                return "binary"
            return "text-latin1"
    return "text"


def _declared_kind(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(_PARQUET_EXTENSIONS):
        return "parquet"
    if lower.endswith(_CSV_EXTENSIONS):
        return "csv"
    return None


def _read_table(path: str, source: str) -> pd.DataFrame:
    """Read CSV or Parquet, trusting the content over the extension and refusing when they disagree."""
    import pandas as pd

    if not os.path.isfile(path):
        raise ModelLoadError(f"data file {path} does not exist", source=source, field="data.path")
    sniffed = _sniff(path)
    declared = _declared_kind(path)
    if declared == "parquet" and sniffed != "parquet":
        raise ModelLoadError(
            f"{path} is named as Parquet but is not a Parquet file (no PAR1 header)",
            source=source,
            field="data.path",
        )
    if declared == "csv":
        gz = path.lower().endswith(".gz")
        if sniffed == "parquet":
            raise ModelLoadError(
                f"{path} is named as CSV but holds Parquet data",
                source=source,
                field="data.path",
                hint="rename it to .parquet",
            )
        if (gz and sniffed != "gzip") or (not gz and sniffed not in ("text", "text-latin1")):
            raise ModelLoadError(
                f"{path} is named as CSV but is not a text file (found {sniffed} content)",
                source=source,
                field="data.path",
            )
    if declared is None and sniffed not in ("parquet", "text", "text-latin1", "gzip"):
        raise ModelLoadError(
            f"{path} is neither CSV nor Parquet (found {sniffed} content)",
            source=source,
            field="data.path",
            hint="use a .csv or .parquet file",
        )
    try:
        if sniffed == "parquet":
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if path.lower().endswith((".tsv", ".tsv.gz")) else ","
            frame = pd.read_csv(
                path,
                sep=sep,
                low_memory=False,
                encoding="latin-1" if sniffed == "text-latin1" else "utf-8-sig",
            )
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs the file and the reason
        raise ModelLoadError(
            f"cannot read {path}: {type(exc).__name__}: {exc}", source=source, field="data.path"
        ) from exc
    if len(frame) == 0:
        raise ModelLoadError(f"{path} has no data rows", source=source, field="data.path")
    return frame


# ------------------------------------------------------------------------------------------- labels


def _norm_label(value: Any) -> Any:
    """One spelling per label, so YAML `1`, CSV `1`, `1.0`, `True` and `'1'` compare equal."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return int(f) if f.is_integer() else f
    text = str(value).strip()
    try:
        f = float(text)
    except ValueError:
        return text
    return int(f) if f.is_integer() else f


def _label_codes(values: Any) -> tuple[np.ndarray, list[Any]]:
    """Factorise a label column into codes and the normalised label of each code."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    return codes, [_norm_label(u) for u in uniques]


def _labels_text(labels: Iterable[Any], limit: int = 6) -> str:
    items = sorted({repr(x) for x in labels})
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


# --------------------------------------------------------------------------------------------- data


def _require_columns(frame: pd.DataFrame, names: Sequence[str], field: str, path: str, source: str) -> None:
    for name in names:
        if name not in frame.columns:
            raise ModelLoadError(
                f"column {name!r} not found in {path}",
                source=source,
                field=field,
                hint=did_you_mean(name, [str(c) for c in frame.columns]),
            )


def load_data(data: DeclaredData, source: str, *, model: DeclaredModel | None = None) -> pd.DataFrame:
    """Read the evaluation data and check it against the declaration before any probe trusts it.

    Checks: the file is the CSV or Parquet its name says; the target, sensitive-feature and feature
    columns exist (and the prediction/score columns when `model` is a predictions-only model); the
    target is binary and holds `positive_label`; sensitive features have no missing values and look
    categorical. Multiclass targets are refused with a 'not supported yet' error.
    """
    frame = _read_table(data.path, source)
    frame.columns = [str(c) for c in frame.columns]
    path = data.path

    _require_columns(frame, [data.target], "data.target", path, source)
    _require_columns(frame, list(data.sensitive_features), "data.sensitive_features", path, source)
    if data.features is not None:
        _require_columns(frame, list(data.features), "data.features", path, source)
    if model is not None and model.format == "predictions":
        if not model.prediction_column:
            raise ModelLoadError(
                "format 'predictions' needs model.prediction_column",
                source=source,
                field="model.prediction_column",
            )
        _require_columns(frame, [model.prediction_column], "model.prediction_column", path, source)
        if model.score_column:
            _require_columns(frame, [model.score_column], "model.score_column", path, source)
            import pandas as pd

            if (
                not pd.api.types.is_numeric_dtype(frame[model.score_column])
                or frame[model.score_column].isna().any()
            ):
                raise ModelLoadError(
                    f"column {model.score_column!r} in {path} must be numeric with no missing values",
                    source=source,
                    field="model.score_column",
                )

    target = frame[data.target]
    missing = int(target.isna().sum())
    if missing:
        raise ModelLoadError(
            f"column {data.target!r} in {path} has {missing} missing values; every row needs a label",
            source=source,
            field="data.target",
        )
    _, labels = _label_codes(target)
    distinct = set(labels)
    if len(distinct) > 2:
        raise ModelLoadError(
            MULTICLASS_NOT_SUPPORTED.format(
                col=data.target, path=path, k=len(distinct), values=_labels_text(distinct)
            ),
            source=source,
            field="data.target",
        )
    positive = _norm_label(data.positive_label)
    if positive not in distinct:
        raise ModelLoadError(
            f"positive_label {data.positive_label!r} does not occur in column {data.target!r} of "
            f"{path} (values: {_labels_text(distinct)})",
            source=source,
            field="data.positive_label",
        )
    if (
        data.favorable_label is not None
        and len(distinct) == 2
        and _norm_label(data.favorable_label) not in distinct
    ):
        raise ModelLoadError(
            f"favorable_label {data.favorable_label!r} does not occur in column {data.target!r} of "
            f"{path} (values: {_labels_text(distinct)})",
            source=source,
            field="data.favorable_label",
        )

    for col in data.sensitive_features:
        gaps = int(frame[col].isna().sum())
        if gaps:
            raise ModelLoadError(
                f"sensitive feature {col!r} in {path} has {gaps} missing values; fairness needs every "
                "row's group",
                source=source,
                field="data.sensitive_features",
                hint="fill them with an explicit category such as 'unknown', or drop those rows",
            )
        k = int(frame[col].nunique())
        if k > MAX_GROUPS_PER_FEATURE:
            raise ModelLoadError(
                f"sensitive feature {col!r} in {path} has {k} distinct values (more than "
                f"{MAX_GROUPS_PER_FEATURE}); it looks continuous",
                source=source,
                field="data.sensitive_features",
                hint=f"add a binned column (for example {col}_group) and declare that instead",
            )
    return frame


# -------------------------------------------------------------------------------------------- models


class Predictor(Protocol):
    """What every loaded model offers the probes, whatever file format it came from."""

    kind: str
    """onnx, skops, pickle or predictions."""
    n_features: int | None
    """Input width the model expects, when the file says; None when unknown."""
    feature_names: tuple[str, ...] | None
    """Input column names the model was built with, when the file records them."""
    classes: tuple[Any, ...] | None
    """Class labels in predict_proba column order, when known."""

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, one per row."""
        ...

    def predict_proba(self, X: Any) -> np.ndarray | None:
        """Class probabilities (rows x classes), or None when the model gives none."""
        ...

    def predict_both(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels and probabilities in one call (one pass over an ONNX graph)."""
        ...


_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxPredictor:
    """An ONNX graph run by onnxruntime on the CPU: loading it runs no Python code from the file.

    Two input layouts are supported: one 2-D tensor (every feature, in `data.features` order, cast to
    the tensor's type, float32 for skl2onnx models) or one `[N, 1]` input per column (what skl2onnx
    makes for pipelines with string columns). Probabilities are read from a tensor output
    (`zipmap: False`) or from the list of dicts a ZipMap output gives.
    """

    kind = "onnx"

    def __init__(self, path: str, source: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                path, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelLoadError(
                f"{path} is not a valid ONNX model: {type(exc).__name__}: {str(exc)[:300]}",
                source=source,
                field="model.path",
            ) from exc
        self._inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        self._label_out: str | None = None
        self._proba_out: str | None = None
        for out in outputs:
            if out.type.startswith("seq(map(") or (
                out.type == "tensor(float)" and self._label_out is not None
            ):
                self._proba_out = self._proba_out or out.name
            elif self._label_out is None and out.type in (
                "tensor(int64)",
                "tensor(string)",
                "tensor(int32)",
                "tensor(bool)",
            ):
                self._label_out = out.name
            elif self._proba_out is None and out.type in ("tensor(float)", "tensor(double)"):
                self._proba_out = out.name
        if self._label_out is None and self._proba_out is None:
            raise ModelLoadError(
                f"{path}: cannot find a label or probability output among {[o.name for o in outputs]}",
                source=source,
                field="model.path",
            )
        self.classes: tuple[Any, ...] | None = None
        if len(self._inputs) == 1 and len(self._inputs[0].shape) == 2:
            width = self._inputs[0].shape[1]
            self.n_features = width if isinstance(width, int) else None
            self.feature_names = None
            self._single = True
        else:
            self.n_features = len(self._inputs)
            self.feature_names = tuple(i.name for i in self._inputs)
            self._single = False

    def _feed(self, X: Any) -> dict[str, Any]:
        import numpy as np
        import pandas as pd

        if self._single:
            inp = self._inputs[0]
            dtype = _ORT_DTYPES.get(inp.type, "float32")
            arr = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
            return {inp.name: np.ascontiguousarray(arr.astype(dtype, copy=False))}
        if not isinstance(X, pd.DataFrame):
            raise TypeError("this ONNX model takes one input per column: pass a DataFrame")
        feed = {}
        for inp in self._inputs:
            dtype = _ORT_DTYPES.get(inp.type, "float32")
            col = X[inp.name]
            if dtype == "object":
                arr = col.astype(str).to_numpy(dtype=object)
            else:
                arr = col.to_numpy().astype(dtype, copy=False)
            feed[inp.name] = arr.reshape(-1, 1)
        return feed

    def _run(self, X: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        n = len(X)
        feeds = []
        for start in range(0, max(n, 1), PREDICT_CHUNK_ROWS):
            part = (
                X.iloc[start : start + PREDICT_CHUNK_ROWS]
                if hasattr(X, "iloc")
                else X[start : start + PREDICT_CHUNK_ROWS]
            )
            feeds.append(self._feed(part))
        return self._run_feeds(feeds)

    @property
    def column_inputs(self) -> tuple[tuple[str, str], ...] | None:
        """(name, numpy dtype) of each input of a one-input-per-column model; None for a single matrix input."""
        if self._single:
            return None
        return tuple((i.name, _ORT_DTYPES.get(i.type, "float32")) for i in self._inputs)

    def run_columns(self, columns: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Labels and probabilities for inputs given as one ready `[N, 1]` array per input, in the dtype
        `column_inputs` names. Query attacks call a model thousands of times on a row or two; building a
        DataFrame for each call would cost more than the graph itself."""
        return self._run_feeds([columns])

    def _run_feeds(self, feeds: list[dict[str, Any]]) -> tuple[np.ndarray | None, np.ndarray | None]:
        import numpy as np

        names = [n for n in (self._label_out, self._proba_out) if n]
        labels, probas = [], []
        for feed in feeds:
            result = dict(zip(names, self._session.run(names, feed)))
            if self._label_out:
                labels.append(np.asarray(result[self._label_out]).reshape(-1))
            if self._proba_out:
                raw = result[self._proba_out]
                if isinstance(raw, list):  # ZipMap: one {class: probability} dict per row
                    keys = list(raw[0].keys()) if raw else list(self.classes or ())
                    if self.classes is None and keys:
                        self.classes = tuple(_norm_label(k) for k in keys)
                    probas.append(np.array([[row[k] for k in keys] for row in raw], dtype=np.float64))
                else:
                    p = np.asarray(raw, dtype=np.float64)
                    probas.append(p.reshape(-1, 1) if p.ndim == 1 else p)
        y = np.concatenate(labels) if labels else None
        proba = np.concatenate(probas) if probas else None
        if proba is not None and proba.shape[1] == 1:  # a single sigmoid output: P(class 1)
            proba = np.hstack([1.0 - proba, proba])
        if y is None and proba is not None:
            y = proba.argmax(axis=1)
            self.classes = self.classes or (0, 1)
        return y, proba

    def predict(self, X: Any) -> np.ndarray:
        return self._run(X)[0]

    def predict_proba(self, X: Any) -> np.ndarray | None:
        return self._run(X)[1]

    def predict_both(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels and probabilities from one pass over the graph."""
        y, p = self._run(X)
        return y, p


class SklearnPredictor:
    """A scikit-learn compatible estimator that came out of a skops (or, if trusted, pickle) file."""

    def __init__(self, estimator: Any, kind: str, path: str, source: str):
        if not hasattr(estimator, "predict"):
            raise ModelLoadError(
                f"{path} holds a {type(estimator).__name__}, which has no predict()",
                source=source,
                field="model.path",
            )
        self.estimator = estimator
        self.kind = kind
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names = tuple(str(n) for n in names) if names is not None else None
        width = getattr(estimator, "n_features_in_", None)
        self.n_features = int(width) if width is not None else None
        classes = getattr(estimator, "classes_", None)
        self.classes = tuple(_norm_label(c) for c in classes) if classes is not None else None

    def _x(self, X: Any) -> Any:
        import pandas as pd

        if isinstance(X, pd.DataFrame):
            return X[list(self.feature_names)] if self.feature_names else X.to_numpy()
        return X

    def predict(self, X: Any) -> np.ndarray:
        import numpy as np

        return np.asarray(self.estimator.predict(self._x(X)))

    def predict_proba(self, X: Any) -> np.ndarray | None:
        import numpy as np

        if not hasattr(self.estimator, "predict_proba"):
            return None
        return np.asarray(self.estimator.predict_proba(self._x(X)), dtype=np.float64)

    def predict_both(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        return self.predict(X), self.predict_proba(X)


class ColumnPredictor:
    """No model at all: the predictions (and optionally scores) are columns of the evaluation data."""

    kind = "predictions"
    n_features = None
    feature_names: tuple[str, ...] | None = ()
    classes = None

    def __init__(self, prediction_column: str, score_column: str | None = None):
        self.prediction_column = prediction_column
        self.score_column = score_column

    def predict(self, X: Any) -> np.ndarray:
        return X[self.prediction_column].to_numpy()

    def predict_proba(self, X: Any) -> np.ndarray | None:
        return None

    def predict_both(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        return self.predict(X), None


def skops_untrusted_message(path: str, untrusted: Sequence[str]) -> str:
    """The refusal text, shared with the docs so both say the same thing."""
    return (
        f"{path} contains types that skops does not trust by default: {', '.join(untrusted)}. "
        "Loading them can run their code, so riskengine refuses unless you trust each one explicitly"
    )


def load_model(
    model: DeclaredModel, source: str, *, trust_pickle: bool = False, trusted_types: Iterable[str] = ()
) -> Predictor:
    """Open the declared model without running code nobody agreed to run.

    ONNX is always safe to open. skops is opened only when every type skops does not trust by default
    is listed in `model.trusted_types` or `trusted_types` (from the command line). pickle and joblib
    are refused unless `trust_pickle` is true, because unpickling runs arbitrary code.
    """
    fmt = model.format
    if fmt == "predictions":
        if not model.prediction_column:
            raise ModelLoadError(
                "format 'predictions' needs model.prediction_column",
                source=source,
                field="model.prediction_column",
            )
        return ColumnPredictor(model.prediction_column, model.score_column)
    path = model.path
    if not path:
        raise ModelLoadError(f"format {fmt!r} needs model.path", source=source, field="model.path")
    if not os.path.isfile(path):
        raise ModelLoadError(f"model file {path} does not exist", source=source, field="model.path")
    if fmt == "onnx":
        return OnnxPredictor(path, source)
    if fmt == "skops":
        return _load_skops(path, source, tuple(model.trusted_types) + tuple(trusted_types))
    if fmt in ("pickle", "joblib"):
        if not trust_pickle:
            raise ModelLoadError(
                f"refusing to load {path}: loading a {fmt} file runs arbitrary code from that file",
                source=source,
                field="model.format",
                hint="export the model to ONNX (skl2onnx) or skops instead; if you made the file yourself "
                "and accept the risk, pass --trust-pickle",
            )
        try:
            if fmt == "joblib":
                import joblib

                estimator = joblib.load(path)
            else:
                import pickle

                with open(path, "rb") as fh:
                    estimator = pickle.load(fh)
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load {path} as {fmt}: {type(exc).__name__}: {exc}", source=source, field="model.path"
            ) from exc
        return SklearnPredictor(estimator, "pickle", path, source)
    raise ModelLoadError(
        f"unknown model format {fmt!r}",
        source=source,
        field="model.format",
        hint=did_you_mean(fmt, ["onnx", "skops", "pickle", "joblib", "predictions"]),
    )


def _load_skops(path: str, source: str, trusted: tuple[str, ...]) -> SklearnPredictor:
    import skops.io as sio

    try:
        untrusted = list(sio.get_untrusted_types(file=path))
    except Exception as exc:
        raise ModelLoadError(
            f"{path} is not a readable skops file: {type(exc).__name__}: {exc}",
            source=source,
            field="model.path",
        ) from exc
    refused = [t for t in untrusted if t not in set(trusted)]
    if refused:
        listed = ", ".join(refused)
        raise ModelLoadError(
            skops_untrusted_message(path, refused),
            source=source,
            field="model.trusted_types",
            hint=f"if you trust who made the file and expect these types, list them under "
            f"model.trusted_types in the declaration: {listed}",
        )
    try:
        estimator = sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise ModelLoadError(
            f"cannot load {path} with skops: {type(exc).__name__}: {exc}", source=source, field="model.path"
        ) from exc
    return SklearnPredictor(estimator, "skops", path, source)


# ---------------------------------------------------------------------------------------- evaluation


@dataclass
class Evaluation:
    """Labels, predictions and groups for one declaration: what every model probe starts from."""

    frame: pd.DataFrame
    """The evaluation data as read."""
    X: pd.DataFrame
    """The model's input columns, in the order the model takes them (no columns for predictions-only)."""
    predictor: Predictor
    features: tuple[str, ...]
    y_true: np.ndarray
    """1 where the target equals data.positive_label, else 0 (int8)."""
    y_pred: np.ndarray
    """1 where the prediction equals data.positive_label, else 0 (int8)."""
    y_score: np.ndarray | None
    """Score or probability of the positive label, when the model gives one."""
    sensitive: pd.DataFrame
    """The sensitive-feature columns."""
    positive_is_favorable: bool
    """Whether the positive label is the outcome that benefits the person (credit granted: yes; flagged as
    likely to reoffend: no). Decides which end of a rate is the worse-off group."""
    inputs: dict[str, str]
    """sha256 of the data file and (when there is one) the model file, for the assessment manifest."""


def _resolve(path: str | None, base_dir: str | None) -> str | None:
    if path is None or os.path.isabs(path) or not base_dir:
        return path
    return os.path.normpath(os.path.join(base_dir, path))


def _choose_features(decl: Declaration, frame: pd.DataFrame, predictor: Predictor) -> tuple[str, ...]:
    """The model's input columns: its own recorded names first, else the declared list, else the rest."""
    data, model, source = decl.data, decl.model, decl.source
    assert data is not None and model is not None
    path = data.path
    if predictor.kind == "predictions":
        return ()
    if predictor.feature_names:
        names = list(predictor.feature_names)
        _require_columns(frame, names, "data.features", path, source)
        if data.features is not None and set(data.features) != set(names):
            extra = sorted(set(data.features) - set(names))
            lacking = sorted(set(names) - set(data.features))
            raise ModelLoadError(
                f"data.features does not match the model's input columns (not used by the model: "
                f"{extra or 'none'}; needed by the model but not declared: {lacking or 'none'})",
                source=source,
                field="data.features",
            )
        return tuple(names)
    if data.features is not None:
        features = list(data.features)
    else:
        skip = {data.target, *data.sensitive_features, model.prediction_column, model.score_column}
        features = [c for c in frame.columns if c not in skip]
    if predictor.n_features is not None and len(features) != predictor.n_features:
        raise ModelLoadError(
            f"the model takes {predictor.n_features} input features but {len(features)} columns "
            f"were given ({', '.join(features[:8])}{', ...' if len(features) > 8 else ''})",
            source=source,
            field="data.features",
            hint="list the model's input columns, in order, under data.features",
        )
    return tuple(features)


def _encode_predictions(
    pred: np.ndarray, positive: Any, target_labels: set[Any], field: str, path: str, source: str
) -> np.ndarray:
    import numpy as np

    codes, labels = _label_codes(pred)
    if (codes < 0).any():
        raise ModelLoadError(
            f"the predictions for {path} contain {int((codes < 0).sum())} missing values",
            source=source,
            field=field,
        )
    foreign = set(labels) - target_labels
    if foreign:
        raise ModelLoadError(
            f"the model predicts labels {_labels_text(foreign)} that do not occur in the target "
            f"column of {path} ({_labels_text(target_labels)})",
            source=source,
            field=field,
            hint="predictions and data.target must use the same labels",
        )
    hit = np.array([lab == positive for lab in labels], dtype=bool)
    return hit[codes].astype(np.int8)


def _positive_score(
    proba: np.ndarray | None, classes: tuple[Any, ...] | None, labels: np.ndarray, positive: Any
) -> np.ndarray | None:
    """The probability column of the positive label; the class order is taken from the model or inferred."""
    import numpy as np

    if proba is None or proba.ndim != 2 or proba.shape[1] != 2:
        return None
    if classes is not None and len(classes) == 2 and positive in classes:
        return proba[:, classes.index(positive)]
    # Infer the column order from the labels the model itself gave: the label predicted where column j wins.
    winner = proba.argmax(axis=1)
    codes, norm = _label_codes(labels)
    for j in (0, 1):
        seen = {norm[c] for c in np.unique(codes[winner == j])}
        if len(seen) == 1:
            (label,) = seen
            return proba[:, j] if label == positive else proba[:, 1 - j]
    return None


def load_evaluation(
    decl: Declaration, *, trust_pickle: bool = False, trusted_types: Iterable[str] = ()
) -> Evaluation:
    """Load data and model, run the model once, and encode labels as 0/1 with 1 = positive_label."""
    import numpy as np

    if decl.data is None:
        raise ModelLoadError("no data: section to evaluate the model on", source=decl.source, field="data")
    if decl.model is None:
        raise ModelLoadError("no model: section to evaluate", source=decl.source, field="model")
    data = decl.data
    model = decl.model
    if not os.path.isabs(data.path) or (model.path and not os.path.isabs(model.path)):
        from dataclasses import replace

        data = replace(data, path=_resolve(data.path, decl.base_dir))
        model = replace(model, path=_resolve(model.path, decl.base_dir))
        decl = replace(decl, data=data, model=model)
    source = decl.source
    frame = load_data(data, source, model=model)
    predictor = load_model(model, source, trust_pickle=trust_pickle, trusted_types=trusted_types)
    features = _choose_features(decl, frame, predictor)
    X = frame.loc[:, list(features)]
    if predictor.kind == "onnx" and getattr(predictor, "_single", False):
        import pandas as pd

        bad = [
            c
            for c in features
            if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
        ]
        if bad:
            raise ModelLoadError(
                f"columns {bad} of {data.path} are not numeric, but the ONNX model takes one numeric tensor",
                source=source,
                field="data.features",
                hint="encode them before export, or export the whole pipeline (see docs/models.md)",
            )

    target_codes, target_norm = _label_codes(frame[data.target])
    positive = _norm_label(data.positive_label)
    y_true = (np.array([lab == positive for lab in target_norm], dtype=bool)[target_codes]).astype(np.int8)

    field = "model.prediction_column" if predictor.kind == "predictions" else "model.path"
    try:
        raw_pred, proba = predictor.predict_both(frame if predictor.kind == "predictions" else X)
    except ModelLoadError:
        raise
    except Exception as exc:  # a model that cannot score this data is an input problem, not a crash
        raise ModelLoadError(
            f"the model could not score {data.path}: {type(exc).__name__}: {str(exc)[:300]}",
            source=source,
            field=field,
        ) from exc
    if len(raw_pred) != len(frame):
        raise ModelLoadError(
            f"the model returned {len(raw_pred)} predictions for {len(frame)} rows",
            source=source,
            field=field,
        )
    y_pred = _encode_predictions(raw_pred, positive, set(target_norm), field, data.path, source)
    if predictor.kind == "predictions" and model.score_column:
        y_score = frame[model.score_column].to_numpy(dtype=np.float64)
    else:
        y_score = _positive_score(proba, predictor.classes, raw_pred, positive)

    favorable = positive if data.favorable_label is None else _norm_label(data.favorable_label)
    inputs = {"data": sha256_file(data.path)}
    if model.path and predictor.kind != "predictions":
        inputs["model"] = sha256_file(model.path)
    return Evaluation(
        frame=frame,
        X=X,
        predictor=predictor,
        features=features,
        y_true=y_true,
        y_pred=y_pred,
        y_score=y_score,
        sensitive=frame.loc[:, list(data.sensitive_features)],
        positive_is_favorable=(favorable == positive),
        inputs=inputs,
    )


def predictions_for(
    decl: Declaration, trust_pickle: bool = False, *, trusted_types: Iterable[str] = ()
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray | None, pd.DataFrame]:
    """(data frame, y_true, y_pred, y_score or None, sensitive frame); labels 0/1, 1 = positive_label."""
    ev = load_evaluation(decl, trust_pickle=trust_pickle, trusted_types=trusted_types)
    return ev.frame, ev.y_true, ev.y_pred, ev.y_score, ev.sensitive
