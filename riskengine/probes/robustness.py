"""Robustness probe: how the model's decisions hold up under natural noise and under attack.

What it measures, on a seeded sample of the evaluation data (`max_rows` rows):

* **Natural perturbations that keep a row a possible row.** Gaussian noise on each numeric feature,
  scaled to that feature's standard deviation, clipped to the range seen in the data and rounded where
  the feature holds integers; categorical values (text, bool, 0/1 indicators, one-hot blocks) swapped
  only for other values seen in that column; missing values injected only when the model accepts
  them. Sensitive features are never changed: noise must not change who the person is. Reported:
  clean accuracy, accuracy and prediction flip rate under each perturbation, and both per group of each
  sensitive feature (does noise hurt one group more?).
* **A decision-based attack on any model** (ART's HopSkipJump through a BlackBoxClassifier), with a
  bounded query budget per row, on `attack_rows` rows. It works in a space of z-scores of the numeric
  features, so its distances read "standard deviations of the feature" (L-infinity: the largest
  change to any one feature). HopSkipJump's own random start is not seeded in ART 1.20, so the probe
  starts it itself, deterministically, from the nearest row of the sample that the model decides the
  other way; every model call goes through a wrapper that counts queries, stops at the budget and
  keeps the closest adversarial point seen, so an attack cut short still counts what it found.
* **Gradient attacks (FGSM, PGD) where the model has gradients**: a scikit-learn
  LogisticRegression, SVC or LinearSVC, bare or at the end of a Pipeline whose preprocessing is affine
  on the numeric columns (StandardScaler, MinMaxScaler, or a ColumnTransformer of those, passthrough
  and OneHotEncoder). ART's SklearnClassifier gives no gradients for a Pipeline, so the probe hands
  ART the final estimator and the preprocessed matrix, and only the numeric columns are attacked
  (ART's `mask`), each within its own budget (ART's per-feature `eps`). The same affine view also
  scores attack queries without pandas, which makes HopSkipJump on such a pipeline ~30x cheaper.

Every adversarial point is checked again through the model's own `predict` before it counts, and the
attack success rate is the share of attacked rows whose decision changes within `attack_eps` standard
deviations. Budgets: the probe checks its clock between steps, HopSkipJump between rows and inside
every model call; what was cut is recorded. ART costs ~2 s to import, so it is imported only here,
only when an attack runs, and never for a predictions-only submission.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskengine.model import ProbeResult
from riskengine.probes import ProbeContext, register
from riskengine.probes._common import (
    Budget,
    MetricSpec,
    Observation,
    OutOfBudget,
    Progress,
    TabularSpace,
    accepts_missing,
    build_space,
    categorical_swap,
    gaussian_noise,
    inject_missing,
    judged_details,
    model_query_skip,
    num,
    sample_rows,
    to01,
    validate_block,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from riskengine.intake import Evaluation

NAME = "robustness"
PREFIX = "ROB"
#: The founding standard's item for model security (robustness), cited by every robustness finding.
BASE_CLAUSE = "Shanghai AI standard system item 110"

#: The finding that says evidence is missing: its title and remediation, each (en, zh).
_INCOMPLETE = (
    ('Robustness evidence incomplete', '稳健性证据不完整'),
    ('Raise time_budget_s, or submit an ONNX export (much faster per query), and re-assess.',
     '提高 time_budget_s，或提供 ONNX 模型（单行查询快得多），然后重新评估。'),
)

DEFAULTS: dict[str, Any] = {
    "max_rows": 500,
    "attack_rows": 100,
    "time_budget_s": 30.0,
    "seed": 0,
    "noise_levels": [0.05, 0.1, 0.25, 0.5],
    "noise_level": 0.1,
    "noise_copies": 5,
    "swap_rate": 0.05,
    "missing_rate": 0.05,
    "attack_eps": 0.1,
    "hsj_max_iter": 20,
    "hsj_max_eval": 100,
    "hsj_init_eval": 10,
    "max_queries_per_row": 4000,
    "pgd_steps": 10,
    "min_group_size": 30,
    "limits": [],
}
_NUMBERS: dict[str, dict[str, Any]] = {
    "max_rows": {"lo": 1, "integer": True},
    "attack_rows": {"lo": 0, "integer": True},
    "time_budget_s": {"lo": 0, "lo_open": True},
    "seed": {"lo": 0, "integer": True},
    "noise_levels": {"lo": 0, "lo_open": True, "hi": 10},
    "noise_level": {"lo": 0, "lo_open": True, "hi": 10},
    "noise_copies": {"lo": 1, "hi": 100, "integer": True},
    "swap_rate": {"lo": 0, "hi": 1},
    "missing_rate": {"lo": 0, "hi": 1},
    "attack_eps": {"lo": 0, "lo_open": True, "hi": 10},
    "hsj_max_iter": {"lo": 1, "hi": 1000, "integer": True},
    "hsj_max_eval": {"lo": 1, "hi": 100000, "integer": True},
    "hsj_init_eval": {"lo": 1, "hi": 10000, "integer": True},
    "max_queries_per_row": {"lo": 10, "integer": True},
    "pgd_steps": {"lo": 1, "hi": 1000, "integer": True},
    "min_group_size": {"lo": 1, "integer": True},
}

METRICS: dict[str, MetricSpec] = {
    "accuracy_drop": MetricSpec("max", ("Accuracy drop under natural perturbation", "自然扰动下的准确率下降")),
    "flip_rate": MetricSpec("max", ("Prediction flip rate under natural perturbation", "自然扰动下的预测翻转率")),
    "attack_success_rate": MetricSpec("max", ("Adversarial attack success rate", "对抗攻击成功率")),
    "median_flip_distance": MetricSpec("min", ("Median perturbation needed to flip a decision",
                                               "翻转决策所需扰动的中位数")),
    "group_accuracy_drop_gap": MetricSpec("max", ("Gap between groups in accuracy drop under noise",
                                                  "噪声下各群体准确率下降之差")),
}

_REMEDIATION = {
    "accuracy_drop": (
        ("Train with noise or data augmentation that matches the measurement noise of the deployment, "
        "check the features whose small changes move the decision most, and document the accuracy the "
        "system keeps under realistic input noise in the instructions for use."),
        ("使用与部署环境测量噪声相符的噪声或数据增强进行训练，检查微小变化即可改变决策的特征，并在使用说明中"
        "记录系统在真实输入噪声下保持的准确率。"),
    ),
    "flip_rate": (
        ("Decisions that change under small, realistic noise are arbitrary for the people near the "
        "threshold: smooth the model, add a margin or an abstain/refer band around the threshold, and "
        "re-assess."),
        ("在微小、真实的噪声下改变的决策对阈值附近的人是任意的：平滑模型，在阈值附近设置余量或弃权/转人工区间，"
        "然后重新评估。"),
    ),
    "attack_success_rate": (
        ("Harden the model against evasion (regularisation, adversarial training, monotonic or bounded "
        "features, input validation against the seen ranges) and limit what an attacker can query; "
        "record the tested attack budget in the technical documentation."),
        ("加强模型的抗规避能力（正则化、对抗训练、单调或有界特征、按已见范围校验输入），限制攻击者可进行的查询，"
        "并在技术文档中记录所测试的攻击预算。"),
    ),
    "median_flip_distance": (
        ("Most decisions sit very close to the threshold: widen the margin (regularisation, calibrated "
        "thresholds, a refer-to-human band) and re-assess."),
        "多数决策非常接近阈值：扩大余量（正则化、校准阈值、转人工区间）后重新评估。",
    ),
    "group_accuracy_drop_gap": (
        ("Noise hurts one group more than another: check data quality and feature reliability for that "
        "group, and rebalance or augment its training data."),
        "噪声对某一群体的影响明显更大：检查该群体的数据质量和特征可靠性，并对其训练数据进行重新平衡或增强。",
    ),
}


def _extra_checks(out: dict[str, Any], where: str) -> None:
    from riskengine.errors import RulePackError

    if not isinstance(out["noise_levels"], list):
        raise RulePackError("must be a list of noise levels (standard deviations)", field=f"{where}.noise_levels")


def validate_settings(settings: Mapping[str, Any] | None, where: str = "probes.robustness") -> dict[str, Any]:
    """Check a scenario's (or a declaration-tuned) robustness block and fill defaults."""
    return validate_block(settings, where, DEFAULTS, _NUMBERS, METRICS, _extra_checks)


# ------------------------------------------------------------------------------------ model access


@dataclass
class AffineView:
    """A scikit-learn model seen as `final(transform(X))`, where each attacked raw numeric column k
    lands in model column `cols[k]` as `(x - mu[k]) / sigma[k]`. Exact (checked on the sample)."""

    final: Any
    transform: Callable[[Any], Any]
    cols: Any
    mu: Any
    sigma: Any
    gradients: bool
    reason: str = ""


_GRADIENT_MODELS = ("LogisticRegression", "SVC", "LinearSVC")


def _affine_params(trans: Any, n: int) -> tuple[Any, Any] | None:
    """(mu, sigma) per column so that trans(x) = (x - mu) / sigma, for the affine scalers we know."""
    import numpy as np

    kind = type(trans).__name__
    if (isinstance(trans, str) and trans == "passthrough") or (
        kind == "FunctionTransformer" and getattr(trans, "func", None) is None  # a fitted 'passthrough'
    ):
        return np.zeros(n), np.ones(n)
    if kind == "StandardScaler":
        mu = trans.mean_ if getattr(trans, "mean_", None) is not None and trans.with_mean else np.zeros(n)
        sigma = trans.scale_ if getattr(trans, "scale_", None) is not None and trans.with_std else np.ones(n)
        return np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    if kind == "MinMaxScaler" and not getattr(trans, "clip", False):
        scale = np.asarray(trans.scale_, dtype=np.float64)
        if np.any(scale == 0):
            return None
        return -np.asarray(trans.min_, dtype=np.float64) / scale, 1.0 / scale
    return None


def build_affine_view(estimator: Any, features: tuple[str, ...], space: TabularSpace,
                      X_check: pd.DataFrame) -> AffineView | None:
    """The affine view of a scikit-learn model, or None when its preprocessing is not one we can read.

    The view is verified on `X_check` (predictions equal, and a shift of every attacked column lands
    where the view says), so a pipeline we misread falls back to the slow generic path, never to a
    wrong answer.
    """
    import numpy as np

    try:
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
    except ImportError:  # pragma: no cover
        return None
    steps = list(estimator.steps) if isinstance(estimator, Pipeline) else [("model", estimator)]
    final = steps[-1][1]
    pre = [s for _, s in steps[:-1] if not (isinstance(s, str) and s == "passthrough") and s is not None]
    if len(pre) > 1 or not hasattr(final, "predict"):
        return None
    attacked = [features[i] for i in space.numeric_idx]
    pos = {name: j for j, name in enumerate(features)}
    n_att = len(attacked)
    cols = np.zeros(n_att, dtype=np.int64)
    mu = np.zeros(n_att)
    sigma = np.ones(n_att)
    if not pre:
        if any(not np.issubdtype(X_check[c].dtype, np.number) for c in features):
            return None

        def transform(X: Any) -> Any:
            return X[list(features)].to_numpy(dtype=np.float64)

        cols[:] = [pos[c] for c in attacked]
    elif type(pre[0]).__name__ in ("StandardScaler", "MinMaxScaler"):
        params = _affine_params(pre[0], len(features))
        if params is None:
            return None
        scaler = pre[0]

        def transform(X: Any) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return np.asarray(scaler.transform(X[list(features)]), dtype=np.float64)

        for k, c in enumerate(attacked):
            cols[k], mu[k], sigma[k] = pos[c], params[0][pos[c]], params[1][pos[c]]
    elif isinstance(pre[0], ColumnTransformer):
        ct = pre[0]
        where: dict[str, tuple[int, float, float]] = {}
        for name, trans, columns in ct.transformers_:
            if isinstance(trans, str) and trans == "drop":
                continue
            if name not in ct.output_indices_:
                continue
            names = _column_names(columns, features)
            if names is None:
                return None
            start = ct.output_indices_[name].start
            kind = type(trans).__name__
            if kind == "OneHotEncoder":
                if any(c in attacked for c in names):
                    return None
                continue
            params = _affine_params(trans, len(names))
            if params is None:
                if any(c in attacked for c in names):
                    return None
                continue
            for j, c in enumerate(names):
                where[c] = (start + j, float(params[0][j]), float(params[1][j]))
        if any(c not in where for c in attacked):
            return None
        for k, c in enumerate(attacked):
            cols[k], mu[k], sigma[k] = where[c]

        def transform(X: Any) -> Any:
            out = ct.transform(X)
            return np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)
    else:
        return None
    view = AffineView(final, transform, cols, mu, sigma, gradients=False)
    if not _verify_view(view, estimator, space, X_check):
        return None
    name = type(final).__name__
    n_classes = len(getattr(final, "classes_", ()))
    if name not in _GRADIENT_MODELS:
        view.reason = f"{name} offers no gradients (ART's scikit-learn wrappers have them for " \
                      f"{', '.join(_GRADIENT_MODELS)})"
    elif n_classes != 2:
        view.reason = "gradient attacks are run on binary models only"
    elif name == "SVC" and not hasattr(final, "predict_proba"):
        view.reason = "SVC without probability=True has no predict_proba, which ART's SVC wrapper needs"
    else:
        view.gradients = True
    return view


def _column_names(columns: Any, features: tuple[str, ...]) -> list[str] | None:
    import numpy as np

    if isinstance(columns, str):
        return [columns]
    try:
        items = list(columns)
    except TypeError:
        return None
    if items and all(isinstance(c, (bool, np.bool_)) for c in items):
        return [features[i] for i, keep in enumerate(items) if keep]
    out = []
    for c in items:
        if isinstance(c, (int, np.integer)):
            out.append(features[int(c)])
        elif isinstance(c, str):
            out.append(c)
        else:
            return None
    return out


def _verify_view(view: AffineView, estimator: Any, space: TabularSpace, X: pd.DataFrame) -> bool:
    import numpy as np

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Z = view.transform(X)
            if hasattr(estimator, "predict_proba") and hasattr(view.final, "predict_proba"):
                same = np.allclose(view.final.predict_proba(Z), estimator.predict_proba(X), atol=1e-9, rtol=0)
            else:
                same = np.array_equal(view.final.predict(Z), estimator.predict(X))
            if not same:
                return False
            if len(view.cols):
                shifted = X.copy()
                names = [space.features[i] for i in space.numeric_idx]
                for k, c in enumerate(names):
                    shifted[c] = X[c].to_numpy(dtype=np.float64) + space.info[space.numeric_idx[k]].spread
                Z2 = view.transform(shifted)
                raw = shifted[names].to_numpy(dtype=np.float64)
                if not np.allclose(Z2[:, view.cols], (raw - view.mu) / view.sigma, atol=1e-9, rtol=1e-9):
                    return False
    except Exception:  # noqa: BLE001 - a view we cannot check is a view we do not use
        return False
    return True


class ModelAccess:
    """The declared model as the attacks need it: batch labels, and fast scores of attack-space points
    with the rest of one row held fixed."""

    def __init__(self, ev: Evaluation, positive: Any, space: TabularSpace, X_check: pd.DataFrame):
        self.predictor = ev.predictor
        self.features = tuple(ev.features)
        self.positive = positive
        self.space = space
        self.view: AffineView | None = None
        estimator = getattr(self.predictor, "estimator", None)
        if estimator is not None:
            self.view = build_affine_view(estimator, self.features, space, X_check)
        if self.view is not None:
            self.mode = "affine"
        elif getattr(self.predictor, "column_inputs", None):
            self.mode = "onnx_columns"
        elif self.predictor.kind == "onnx" or (estimator is not None and self.predictor.feature_names is None
                                               and all(X_check[c].dtype.kind in "fiub" for c in self.features)):
            self.mode = "matrix"
        else:
            self.mode = "frame"

    def predict01(self, X: pd.DataFrame) -> np.ndarray:
        return to01(self.predictor.predict(X), self.positive)

    def predict_proba(self, X: pd.DataFrame) -> Any:
        return self.predictor.predict_proba(X)

    def gradient_status(self) -> tuple[bool, str]:
        if self.view is not None:
            return self.view.gradients, self.view.reason
        if getattr(self.predictor, "estimator", None) is None:
            return False, (f"a {self.predictor.kind.upper()} model gives no gradients; only the decision-based " \
                          "attack applies")
        return False, ("the model's preprocessing is not affine on its numeric columns, so its gradients " \
                      "cannot be reached through ART's scikit-learn wrappers")


class RowScorer:
    """f(z) -> class scores for attack-space points z (z-scores of the attacked columns), with every other
    input column taken from one row of `rows`. The hot loop of HopSkipJump: no pandas per call where the
    model allows it."""

    def __init__(self, access: ModelAccess, rows: pd.DataFrame):
        import numpy as np

        self.access = access
        self.rows = rows
        self.space = access.space
        self.att_names = [self.space.features[i] for i in self.space.numeric_idx]
        self.att_pos = np.array([access.features.index(c) for c in self.att_names], dtype=np.int64)
        self.mode = access.mode
        self.i = 0
        if self.mode == "affine":
            assert access.view is not None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._Z = access.view.transform(rows)
        elif self.mode == "onnx_columns":
            layout = access.predictor.column_inputs
            self._layout = layout
            self._ctx: dict[str, Any] = {}
            for name, dtype in layout:
                col = rows[name]
                if dtype == "object":
                    arr = col.astype(str).to_numpy(dtype=object)
                else:
                    arr = col.to_numpy().astype(dtype, copy=False)
                self._ctx[name] = arr.reshape(-1, 1)
            self._dtypes = dict(layout)
        elif self.mode == "matrix":
            self._M = rows[list(access.features)].to_numpy(dtype=np.float64)

    def set_row(self, i: int) -> None:
        self.i = i

    def __call__(self, z: np.ndarray) -> np.ndarray:
        import numpy as np

        z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
        raw = self.space.from_z(z)
        n = len(z)
        proba: Any = None
        labels: Any = None
        if self.mode == "affine":
            view = self.access.view
            Zb = np.repeat(self._Z[self.i : self.i + 1], n, axis=0)
            Zb[:, view.cols] = (raw - view.mu) / view.sigma
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if hasattr(view.final, "predict_proba"):
                    proba = view.final.predict_proba(Zb)
                else:
                    labels = view.final.predict(Zb)
                    return self._onehot(to01(labels, self.access.positive))
        elif self.mode == "onnx_columns":
            feed = {name: np.repeat(arr[self.i : self.i + 1], n, axis=0) for name, arr in self._ctx.items()}
            for k, name in enumerate(self.att_names):
                feed[name] = raw[:, k].astype(self._dtypes[name]).reshape(-1, 1)
            labels, proba = self.access.predictor.run_columns(feed)
        elif self.mode == "matrix":
            M = np.repeat(self._M[self.i : self.i + 1], n, axis=0)
            M[:, self.att_pos] = raw
            labels, proba = self.access.predictor.predict_both(M)
        else:
            frame = self.rows.iloc[np.repeat(self.i, n)].reset_index(drop=True)
            for k, name in enumerate(self.att_names):
                frame[name] = raw[:, k]
            labels, proba = self.access.predictor.predict_both(frame)
        if proba is None or np.asarray(proba).ndim != 2 or np.asarray(proba).shape[1] != 2:
            return self._onehot(to01(labels, self.access.positive))
        return np.asarray(proba, dtype=np.float64)

    @staticmethod
    def _onehot(y01: np.ndarray) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(y01), 2))
        out[np.arange(len(y01)), y01.astype(int)] = 1.0
        return out


# -------------------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    """Everything the probe measured, before judging."""

    details: dict[str, Any]
    observed: dict[str, Observation]
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step (for the benchmark only; kept out of assessment.json so reruns are identical)."""


def _import_art() -> Any:
    """ART, imported on first use with its PyTorch warning silenced (it imports ~2 s of modules)."""
    warnings.filterwarnings("ignore", message="PyTorch not found")
    import art

    return art


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    import numpy as np

    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def measure(
    ev: Evaluation,
    positive: Any,
    settings: Mapping[str, Any],
    *,
    progress: bool | None = None,
) -> Measured:
    """Run every robustness measurement within the settings' time budget; no judging, no formatting."""
    import numpy as np

    s = settings
    budget = Budget(float(s["time_budget_s"]))
    timings: dict[str, float] = {}
    seed = int(s["seed"])
    sensitive = list(ev.sensitive.columns)
    space = build_space(ev.X, sensitive)
    idx = sample_rows(len(ev.X), int(s["max_rows"]), seed)
    X = ev.X.iloc[idx].reset_index(drop=True)
    y_true = np.asarray(ev.y_true)[idx].astype(np.int8)
    y_clean = np.asarray(ev.y_pred)[idx].astype(np.int8)
    groups = ev.sensitive.iloc[idx].reset_index(drop=True)

    t0 = time.perf_counter()
    access = ModelAccess(ev, positive, space, X.iloc[: min(len(X), 200)])
    timings["prepare"] = time.perf_counter() - t0

    clean_acc = _accuracy(y_true, y_clean)
    details: dict[str, Any] = {
        "sample": {"rows": len(X), "of": len(ev.X), "seed": seed},
        "features": space.describe(),
        "clean_accuracy": num(clean_acc),
        "perturbations": [],
        "attacks": [],
        "by_group": [],
        "scoring_path": access.mode,
    }
    observed: dict[str, Observation] = {}

    # ---- natural perturbations: one batched model call per perturbation
    t0 = time.perf_counter()
    copies = int(s["noise_copies"])
    levels = sorted({float(v) for v in s["noise_levels"]} | {float(s["noise_level"])})
    Xrep = X.loc[np.tile(np.arange(len(X)), copies)].reset_index(drop=True)
    yt_rep = np.tile(y_true, copies)
    yc_rep = np.tile(y_clean, copies)
    judged_rows: np.ndarray | None = None
    missing_ok, missing_reason = accepts_missing(access.predict01, access.predict_proba, X, space)
    details["missing_values"] = {"accepted": missing_ok, "reason": missing_reason}
    plans: list[tuple[str, float, Callable[[np.random.Generator], pd.DataFrame], bool]] = []
    if space.numeric_idx:
        for level in levels:
            plans.append(("gaussian_noise", level,
                          lambda rng, lv=level: gaussian_noise(Xrep, space, lv, rng),
                          level == float(s["noise_level"])))
    if space.categorical_units and s["swap_rate"] > 0:
        plans.append(("categorical_swap", float(s["swap_rate"]),
                      lambda rng: categorical_swap(Xrep, space, float(s["swap_rate"]), rng), True))
    if missing_ok and s["missing_rate"] > 0:
        plans.append(("missing_values", float(s["missing_rate"]),
                      lambda rng: inject_missing(Xrep, space, float(s["missing_rate"]), rng), True))
    for j, (kind, level, make, judged) in enumerate(plans):
        if not budget.allows():
            budget.record_cut("natural_perturbations", "time budget spent", planned=len(plans), done=j)
            break
        rng = np.random.default_rng([seed, j])
        pred = access.predict01(make(rng))
        acc = _accuracy(yt_rep, pred)
        flips = pred != yc_rep
        entry = {
            "name": kind, "level": level, "unit": "std" if kind == "gaussian_noise" else "share of values",
            "judged": judged, "rows": len(X), "copies": copies,
            "accuracy": num(acc), "accuracy_drop": num(clean_acc - acc), "flip_rate": num(flips.mean()),
        }
        details["perturbations"].append(entry)
        if kind == "gaussian_noise" and judged:
            judged_rows = pred.reshape(copies, len(X))
    timings["natural"] = time.perf_counter() - t0
    judged_entries = [p for p in details["perturbations"] if p["judged"]]
    if judged_entries:
        worst = max(judged_entries, key=lambda p: p["accuracy_drop"])
        observed["accuracy_drop"] = Observation(
            worst["accuracy_drop"],
            {"perturbation": worst["name"], "level": worst["level"], "clean_accuracy": num(clean_acc),
             "perturbed_accuracy": worst["accuracy"], "rows": worst["rows"], "copies": copies},
            ((f"Worst case: {_pert_text(worst, 'en')}; accuracy {clean_acc:.3f} clean, {worst['accuracy']:.3f} "
             f"perturbed, on {worst['rows']} rows x {copies} draws."),
             (f"最差情形：{_pert_text(worst, 'zh')}；准确率由 {clean_acc:.3f} 降至 {worst['accuracy']:.3f}"
             f"（{worst['rows']} 行 x {copies} 次抽样）。")),
        )
        worst_f = max(judged_entries, key=lambda p: p["flip_rate"])
        observed["flip_rate"] = Observation(
            worst_f["flip_rate"], {"perturbation": worst_f["name"], "level": worst_f["level"],
                                   "rows": worst_f["rows"], "copies": copies},
            (f"Worst case: {_pert_text(worst_f, 'en')}.", f"最差情形：{_pert_text(worst_f, 'zh')}。"),
        )
    else:
        reason = "no perturbable feature" if not plans else "time budget spent before any perturbation"
        observed["accuracy_drop"] = Observation(None, reason=reason)
        observed["flip_rate"] = Observation(None, reason=reason)

    # ---- attacks
    attack_rows: dict[str, dict[str, np.ndarray]] = {}
    eps = float(s["attack_eps"])
    grad_ok, grad_reason = access.gradient_status()
    details["gradients"] = {"available": grad_ok, "reason": grad_reason}
    usable = ~np.isnan(space.to_z(X)).any(axis=1) if space.numeric_idx else np.zeros(len(X), dtype=bool)
    if not space.numeric_idx:
        details["attacks_skipped"] = "the model has no numeric input that may be perturbed"
    else:
        reserve = min(1.0, 0.05 * budget.seconds)
        art_cost = 0.0 if "art" in sys.modules else 2.5
        if not budget.allows(reserve + art_cost):
            budget.record_cut("attacks", "time budget spent before the attacks (importing ART alone takes ~2 s)")
        else:
            t0 = time.perf_counter()
            _import_art()
            timings["import_art"] = time.perf_counter() - t0
            if grad_ok:
                t0 = time.perf_counter()
                rows = np.flatnonzero(usable)
                for name, result in _gradient_attacks(access, X.iloc[rows].reset_index(drop=True),
                                                      y_clean[rows], s, budget).items():
                    result["positions"] = rows
                    attack_rows[name] = result
                timings["gradient"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            n_att = int(s["attack_rows"])
            if n_att > 0:
                order = np.random.default_rng([seed, 99]).permutation(np.flatnonzero(usable))[:n_att]
                order = np.sort(order)
                res = _hop_skip_jump(access, X, idx, order, y_clean, s, budget, reserve, progress)
                res["positions"] = order[: len(res["flipped"])]
                attack_rows["hop_skip_jump"] = res
            timings["hop_skip_jump"] = time.perf_counter() - t0

    for name, res in attack_rows.items():
        dist = res["distance"]
        n = len(dist)
        success = res["flipped"] & (dist <= eps + 1e-6)
        # distances for the median: the attack's own, or (FGSM) those of its minimal-step search
        dist_m = res.get("distance_minimal", dist)
        lo_ci, hi_ci = _wilson(int(success.sum()), n)
        entry = {
            "name": name,
            "kind": "decision" if name == "hop_skip_jump" else "gradient",
            "norm": "inf",
            "eps": eps,
            "unit": "std",
            "rows": int(n),
            "success_rate": num(success.mean()) if n else None,
            "success_interval": [num(lo_ci), num(hi_ci)] if n else None,
            "flipped_anywhere": num(np.isfinite(dist_m).mean()) if n else None,
            "median_flip_distance": _median_or_none(dist_m),
            "flip_distance_quantiles": [
                {"name": f"p{int(q * 100)}",
                 "value": num(np.quantile(dist_m, q, method="lower")) if n else None}
                for q in (0.1, 0.25, 0.5, 0.75, 0.9)
            ],
        }
        entry.update({k: v for k, v in res.get("info", {}).items()})
        details["attacks"].append(entry)
        res["success"] = success

    # the share of decisions an attacker flips within each perturbation size: one line per attack
    details["curves"] = [
        {"attack": name, "name": _ATTACK_NAMES[name][0], "x_label": _CURVE_LABELS["x"][0],
         "y_label": _CURVE_LABELS["y"][0],
         "points": [[d, num(np.mean(res.get("distance_minimal", res["distance"]) <= d + 1e-9))]
                    for d in _CURVE_STEPS]}
        for name, res in attack_rows.items() if len(res["distance"])
    ]
    measured_attacks = [a for a in details["attacks"] if a["rows"]]
    if measured_attacks:
        worst = max(measured_attacks, key=lambda a: a["success_rate"])
        limit = next((lim["limit"] for lim in s["limits"] if lim["metric"] == "attack_success_rate"), None)
        ci = worst["success_interval"]
        # a breach whose 95 % interval still reaches below the limit rests on few rows: say so
        confident = limit is None or ci[0] is None or ci[0] > limit
        observed["attack_success_rate"] = Observation(
            worst["success_rate"],
            {"attack": worst["name"], "eps": eps, "norm": "inf", "unit": "std", "rows": worst["rows"],
             "interval": ci, "confidence": "high" if confident else "medium",
             "attacks": [{"name": a["name"], "value": a["success_rate"], "rows": a["rows"]} for a in measured_attacks]},
            ((f"{_ATTACK_NAMES[worst['name']][0]} changed {worst['success_rate']:.0%} of {worst['rows']} decisions "
             f"moving no feature by more than {eps:g} standard deviations."),
             (f"{_ATTACK_NAMES[worst['name']][1]}在任一特征变化不超过 {eps:g} 个标准差的条件下改变了 {worst['rows']} "
             f"个决策中的 {worst['success_rate']:.0%}。")),
            )
        # every attack's distances over-estimate the true minimal ones: the attack with the smallest median
        # is the tightest estimate (FGSM's minimal search on a linear model is exact up to its step)
        with_dist = [a for a in measured_attacks if "distance_minimal" in attack_rows[a["name"]]
                     or a["name"] == "hop_skip_jump"] or measured_attacks
        dist_src = min(with_dist, key=lambda a: float(np.sort(attack_rows[a["name"]].get(
            "distance_minimal", attack_rows[a["name"]]["distance"]))[(a["rows"] - 1) // 2]))
        res = attack_rows[dist_src["name"]]
        dist = np.sort(res.get("distance_minimal", res["distance"]))
        med = float(dist[(len(dist) - 1) // 2])
        observed["median_flip_distance"] = Observation(
            med, {"attack": dist_src["name"], "rows": dist_src["rows"], "unit": "std", "norm": "inf"},
            (f"Measured with {_ATTACK_NAMES[dist_src['name']][0]} on {dist_src['rows']} rows.",
             f"由{_ATTACK_NAMES[dist_src['name']][1]}在 {dist_src['rows']} 行上测得。"),
        )
    else:
        reason = details.get("attacks_skipped") or "no attack could run within the time budget"
        observed["attack_success_rate"] = Observation(None, reason=reason)
        observed["median_flip_distance"] = Observation(None, reason=reason)

    # ---- robustness by group
    gap: Observation = Observation(None, reason="no sensitive feature declared")
    if sensitive:
        rows_out, gap = _by_group(groups, y_true, y_clean, judged_rows, attack_rows, int(s["min_group_size"]))
        details["by_group"] = rows_out
    observed["group_accuracy_drop_gap"] = gap

    details["budget"] = budget.summary()
    return Measured(details=details, observed=observed, timings=timings)


_CURVE_STEPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
_CURVE_LABELS = {
    "x": ("largest change to one feature (standard deviations)", "单个特征的最大变化（标准差）"),
    "y": ("share of decisions flipped", "被翻转的决策比例"),
}

_ATTACK_NAMES = {
    "hop_skip_jump": ("HopSkipJump (decision-based)", "HopSkipJump（基于决策的攻击）"),
    "fgsm": ("FGSM (gradient)", "FGSM（梯度攻击）"),
    "pgd": ("PGD (gradient)", "PGD（梯度攻击）"),
}


def _pert_text(p: Mapping[str, Any], lang: str) -> str:
    if p["name"] == "gaussian_noise":
        return (f"Gaussian noise of {p['level']:g} standard deviations on every numeric feature" if lang == "en"
                else f"对每个数值特征加入 {p['level']:g} 个标准差的高斯噪声")
    if p["name"] == "categorical_swap":
        return (f"{p['level']:.0%} of categorical values swapped for other values seen in the data" if lang == "en"
                else f"{p['level']:.0%} 的类别值被替换为数据中出现过的其他值")
    return (f"{p['level']:.0%} of numeric values missing" if lang == "en" else f"{p['level']:.0%} 的数值缺失")


def _verify(access: ModelAccess, X: pd.DataFrame, Z_adv: np.ndarray, y_clean: np.ndarray) -> np.ndarray:
    """Whether each adversarial point really changes the model's own `predict` (one batched call)."""

    space = access.space
    frame = X.copy()
    raw = space.from_z(Z_adv)
    for k, i in enumerate(space.numeric_idx):
        frame[space.features[i]] = raw[:, k]
    return access.predict01(frame) != y_clean


def _gradient_attacks(access: ModelAccess, X: pd.DataFrame, y_clean: np.ndarray, s: Mapping[str, Any],
                      budget: Budget) -> dict[str, dict[str, Any]]:
    """FGSM and PGD through ART on the model's final estimator, attacking only the numeric columns."""
    import numpy as np
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import SklearnClassifier

    view = access.view
    assert view is not None
    space = access.space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Zm = view.transform(X).astype(np.float32)
    spread = space.spread()
    lo_z, hi_z = space.bounds_z()
    center = space.center()
    clip_lo = Zm.min(axis=0).astype(np.float64)
    clip_hi = Zm.max(axis=0).astype(np.float64)
    raw_lo, raw_hi = lo_z * spread + center, hi_z * spread + center
    clip_lo[view.cols] = (raw_lo - view.mu) / view.sigma
    clip_hi[view.cols] = (raw_hi - view.mu) / view.sigma
    swap = clip_lo > clip_hi  # a negative sigma would flip the box
    clip_lo[swap], clip_hi[swap] = clip_hi[swap], clip_lo[swap]
    clip_hi = np.maximum(clip_hi, clip_lo + 1e-6)
    mask = np.zeros(Zm.shape[1], dtype=np.float32)
    mask[view.cols] = 1.0
    per_std = np.full(Zm.shape[1], 1e-12)
    per_std[view.cols] = spread / np.abs(view.sigma)  # one standard deviation, in model columns
    eps = float(s["attack_eps"])
    out: dict[str, dict[str, Any]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SklearnClassifier(view.final, clip_values=(clip_lo.astype(np.float32), clip_hi.astype(np.float32)))
        attacks = {
            "fgsm": lambda: FastGradientMethod(clf, norm=np.inf, eps=(eps * per_std).astype(np.float32),
                                               eps_step=(eps * per_std).astype(np.float32), targeted=False,
                                               batch_size=1024),
            "pgd": lambda: ProjectedGradientDescent(
                clf, norm=np.inf, eps=(eps * per_std).astype(np.float32),
                eps_step=(eps * per_std / 4).astype(np.float32), max_iter=int(s["pgd_steps"]), targeted=False,
                num_random_init=0, batch_size=1024, verbose=False),
        }
        for name, make in attacks.items():
            if not budget.allows(0.5):
                budget.record_cut(name, "time budget spent")
                continue
            adv = make().generate(Zm, mask=mask)
            Z_att = (np.asarray(adv, dtype=np.float64)[:, view.cols] * view.sigma + view.mu - center) / spread
            Z0 = space.to_z(X)
            dist = np.abs(Z_att - Z0).max(axis=1)
            flipped = _verify(access, X, Z_att, y_clean)
            dist = np.where(flipped, dist, np.inf)
            out[name] = {"flipped": flipped, "distance": dist, "info": {"gradient_source": type(view.final).__name__}}
        # the minimal FGSM step along the gradient that flips each row: the distance gradient models report
        if "fgsm" in out and budget.allows(0.5):
            search = max(4 * eps, 1.0)
            atk = FastGradientMethod(clf, norm=np.inf, eps=(search * per_std).astype(np.float32),
                                     eps_step=(eps / 5 * per_std).astype(np.float32), targeted=False,
                                     minimal=True, batch_size=1024)
            adv = atk.generate(Zm, mask=mask)
            Z_att = (np.asarray(adv, dtype=np.float64)[:, view.cols] * view.sigma + view.mu - center) / spread
            flipped = _verify(access, X, Z_att, y_clean)
            dist = np.where(flipped, np.abs(Z_att - space.to_z(X)).max(axis=1), np.inf)
            out["fgsm"]["distance_minimal"] = dist
            out["fgsm"]["info"]["minimal_search"] = {"max_eps": search, "step": eps / 5}
    return out


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95 % by default); (nan, nan) for n = 0."""
    import math

    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _median_or_none(dist: np.ndarray) -> float | None:
    import numpy as np

    if not len(dist):
        return None
    m = float(np.sort(dist)[(len(dist) - 1) // 2])
    return num(m) if np.isfinite(m) else None


def _hop_skip_jump(access: ModelAccess, X: pd.DataFrame, data_rows: np.ndarray, order: np.ndarray,
                   y_clean: np.ndarray, s: Mapping[str, Any], budget: Budget, reserve: float,
                   progress: bool | None) -> dict[str, Any]:
    """HopSkipJump (L-inf, untargeted) one row at a time, seeded per row, inside the time budget."""
    import numpy as np
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import BlackBoxClassifier

    space = access.space
    lo, hi = space.bounds_z()
    Z = space.to_z(X)
    scorer = RowScorer(access, X)
    seed = int(s["seed"])
    cap = int(s["max_queries_per_row"])
    deadline = budget.deadline(reserve)
    state: dict[str, Any] = {}

    def predict_fn(z: np.ndarray) -> np.ndarray:
        if time.perf_counter() > deadline or state["queries"] >= cap:
            raise OutOfBudget
        scores = scorer(z)
        state["queries"] += len(z)
        state["calls"] += 1
        other = scores.argmax(axis=1) != state["label"]
        if other.any():
            zz = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
            d = np.abs(zz[other] - state["z0"]).max(axis=1)
            j = int(d.argmin())
            if d[j] < state["best_d"]:
                state["best_d"], state["best"] = float(d[j]), zz[other][j].copy()
        return scores

    blackbox = BlackBoxClassifier(predict_fn, input_shape=(Z.shape[1],), nb_classes=2,
                                  clip_values=(lo.astype(np.float32), hi.astype(np.float32)))
    attack = HopSkipJump(blackbox, targeted=False, norm=np.inf, max_iter=int(s["hsj_max_iter"]),
                         max_eval=int(s["hsj_max_eval"]), init_eval=int(s["hsj_init_eval"]), init_size=100,
                         batch_size=256, verbose=False)
    pool = Z[~np.isnan(Z).any(axis=1)]
    dist, best_pts, queries = [], [], []
    stopped = {"queries": 0, "time": 0}
    bar = Progress("robustness", len(order), enabled=progress)
    for done, i in enumerate(order):
        if time.perf_counter() > deadline:
            budget.record_cut("hop_skip_jump", "time budget spent", planned=len(order), done=done)
            break
        scorer.set_row(int(i))
        z0 = Z[i]
        state.update(queries=0, calls=0, best=None, best_d=float("inf"), z0=z0)
        try:
            base = scorer(z0[None])
            state["label"] = int(base.argmax(axis=1)[0])
            init = _initial_point(scorer, z0, pool, lo, hi, state["label"], np.random.default_rng([seed, int(data_rows[i])]))
            if init is not None:
                d0 = float(np.abs(init - z0).max())
                if d0 < state["best_d"]:
                    state["best_d"], state["best"] = d0, init.copy()
                saved = np.random.get_state()
                np.random.seed((seed * 1_000_003 + int(data_rows[i])) % (2**32))
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        attack.generate(z0[None].astype(np.float32), x_adv_init=init[None].astype(np.float32))
                finally:
                    np.random.set_state(saved)
        except OutOfBudget:
            stopped["queries" if state["queries"] >= cap else "time"] += 1
        best_pts.append(state["best"] if state["best"] is not None else z0.copy())
        dist.append(state["best_d"])
        queries.append(state["queries"])
        bar.update(done + 1)
    bar.close()
    n = len(best_pts)
    if n:
        ver = _verify(access, X.iloc[order[:n]].reset_index(drop=True), np.vstack(best_pts), y_clean[order[:n]])
        found = np.isfinite(np.array(dist))
        flipped_arr = ver & found
    else:
        flipped_arr = np.zeros(0, dtype=bool)
    dist_arr = np.where(flipped_arr, np.array(dist, dtype=np.float64), np.inf) if n else np.zeros(0)
    return {
        "flipped": flipped_arr,
        "distance": dist_arr,
        "info": {
            "planned_rows": len(order),
            "queries_per_row_median": int(np.median(queries)) if queries else 0,
            "max_queries_per_row": cap,
            "rows_stopped_by_query_cap": stopped["queries"],
            "rows_stopped_by_time": stopped["time"],
            "max_iter": int(s["hsj_max_iter"]),
            "max_eval": int(s["hsj_max_eval"]),
            "init": "nearest sample row decided the other way, else a seeded random point in the data box",
        },
    }


def _initial_point(scorer: RowScorer, z0: np.ndarray, pool: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   label: int, rng: np.random.Generator) -> np.ndarray | None:
    """A deterministic adversarial starting point for HopSkipJump: the closest (L-inf) candidate the model
    decides the other way, among the sample's own numeric values and then seeded random points."""
    import numpy as np

    for cands in (pool[: 256], rng.uniform(lo, hi, size=(128, len(z0)))):
        if not len(cands):
            continue
        other = scorer(cands).argmax(axis=1) != label
        if other.any():
            c = cands[other]
            return c[np.abs(c - z0).max(axis=1).argmin()].astype(np.float64)
    return None


def _by_group(groups: pd.DataFrame, y_true: np.ndarray, y_clean: np.ndarray, noisy: np.ndarray | None,
              attacks: Mapping[str, Mapping[str, Any]], min_n: int) -> tuple[list[dict[str, Any]], Observation]:
    """Clean and noisy accuracy, flip rate and attack success per group of each sensitive feature."""
    import numpy as np

    from riskengine.probes._common import native

    rows: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any]] | None = None
    for col in groups.columns:
        values = groups[col].to_numpy()
        drops = []
        for g in sorted(set(values.tolist()), key=str):
            m = values == g
            n = int(m.sum())
            clean = _accuracy(y_true[m], y_clean[m])
            entry: dict[str, Any] = {"view": str(col), "group": {str(col): native(g)}, "n": n,
                                     "sufficient": n >= min_n, "clean_accuracy": num(clean)}
            if noisy is not None:
                acc = float(np.mean(noisy[:, m] == y_true[m])) if n else float("nan")
                entry.update(noisy_accuracy=num(acc), accuracy_drop=num(clean - acc),
                             flip_rate=num(np.mean(noisy[:, m] != y_clean[m])) if n else None)
                if n >= min_n:
                    drops.append((clean - acc, entry))
            entry["attacks"] = []
            for name, res in attacks.items():
                pos = res["positions"]
                hit = m[pos]
                k = int(hit.sum())
                entry["attacks"].append({"name": name, "rows": k,
                                         "success_rate": num(res["success"][hit].mean()) if k else None})
            if entry["attacks"]:  # flat copy of the attack with the most rows, for per-group charts
                main = max(entry["attacks"], key=lambda a: a["rows"])
                entry["attack_success_rate"] = main["success_rate"]
            rows.append(entry)
        if len(drops) >= 2:
            hi_d = max(drops, key=lambda t: t[0])
            lo_d = min(drops, key=lambda t: t[0])
            gap = hi_d[0] - lo_d[0]
            if best is None or gap > best[0]:
                best = (gap, {"view": str(col), "worst_group": hi_d[1]["group"], "worst_drop": num(hi_d[0]),
                              "best_group": lo_d[1]["group"], "best_drop": num(lo_d[0]), "min_group_size": min_n})
    if noisy is None:
        return rows, Observation(None, reason="Gaussian noise was not measured")
    if best is None:
        return rows, Observation(None, reason=f"fewer than two groups with at least {min_n} sampled rows")
    ev = best[1]
    return rows, Observation(
        num(best[0]), ev,
        ((f"Over {ev['view']}: accuracy falls by {ev['worst_drop']:.3f} for {_gtext(ev['worst_group'])} and by "
         f"{ev['best_drop']:.3f} for {_gtext(ev['best_group'])}."),
         (f"按 {ev['view']}：{_gtext(ev['worst_group'])} 的准确率下降 {ev['worst_drop']:.3f}，"
         f"{_gtext(ev['best_group'])} 下降 {ev['best_drop']:.3f}。")),
    )


def _gtext(group: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


# --------------------------------------------------------------------------------------- the probe


def assess_robustness(ev: Evaluation, positive: Any, *, settings: Mapping[str, Any] | None, tier: str,
                      lang: str = "en", where: str = "probes.robustness",
                      progress: bool | None = None) -> tuple[ProbeResult, Measured]:
    """Measure and judge (what the benchmark times); returns the result and the raw measurement."""
    s = validate_settings(settings, where=where)
    m = measure(ev, positive, s, progress=progress)
    details, findings = judged_details(
        m.observed, m.details, s, prefix=PREFIX, category=NAME, metrics=METRICS, tier=tier, lang=lang,
        base_clause=BASE_CLAUSE, remediation=_REMEDIATION, incomplete=_INCOMPLETE)
    if lang == "zh":  # chart labels are data, in the assessment's language
        details["curves"] = [{**c, "name": _ATTACK_NAMES[c["attack"]][1], "x_label": _CURVE_LABELS["x"][1],
                              "y_label": _CURVE_LABELS["y"][1]} for c in details["curves"]]
    metrics = {k: (o.value if o.value is None or o.value != float("inf") else None) for k, o in m.observed.items()}
    metrics["clean_accuracy"] = details["clean_accuracy"]
    return ProbeResult(name=NAME, status="ok", metrics=metrics, details=details, findings=tuple(findings)), m


@register(NAME, validate=validate_settings)
def robustness_probe(ctx: ProbeContext) -> ProbeResult:
    """Robustness of the declared model on the declared data, judged against the scenario's limits."""
    skipped = model_query_skip(ctx, NAME, 'robustness needs to query the model on perturbed inputs')
    if skipped is not None:
        return skipped
    assert ctx.decl.model is not None and ctx.decl.data is not None
    where = f"probes.{ctx.tier}.{NAME}"
    validate_settings(ctx.settings, where=where)  # a bad block fails before the model is loaded
    ev = ctx.evaluation()
    from riskengine.intake import _norm_label

    result, _ = assess_robustness(ev, _norm_label(ctx.decl.data.positive_label), settings=ctx.settings,
                                  tier=ctx.tier, lang=ctx.lang, where=where)
    result.details["model_kind"] = ev.predictor.kind
    result.details["inputs"] = dict(ev.inputs)
    return result
