"""Shared parts of the model-querying probes (robustness, explainability).

Why a separate module: both probes need the same answers to the same questions. Which columns may
be perturbed and how (a tabular row is not an image: a category can only become another category seen
in the data, an integer stays an integer, an age stays within the ages seen), how to turn the model's
labels into 0/1, how to keep to a time budget, how to validate and judge a scenario's `limits:` list,
and how to show progress. Keeping one copy keeps the two probes consistent with each other and with
the fairness probe's limit format.

Only the standard library is imported at module level; numpy and pandas load when a probe runs.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from riskengine.errors import RulePackError, did_you_mean
from riskengine.model import Finding

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd


# ------------------------------------------------------------------------------------------- budget


class OutOfBudget(Exception):
    """Raised inside a model call when the probe's time (or a step's query) budget is spent."""


@dataclass
class Budget:
    """Wall-clock budget of one probe run: every step asks before it starts, loops ask between items.

    The clock starts when the probe starts measuring (after the shared model and data load, which
    every probe uses and no probe should be charged for twice).
    """

    seconds: float
    started: float = field(default_factory=time.perf_counter)
    cut: list[dict[str, Any]] = field(default_factory=list)
    """What was left out because the budget ran out: step, reason, planned and done counts."""

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def deadline(self, reserve: float = 0.0) -> float:
        """perf_counter() value after which a step must stop, keeping `reserve` seconds for what follows."""
        return self.started + self.seconds - reserve

    def allows(self, estimate: float = 0.0) -> bool:
        """Whether a step expected to take `estimate` seconds still fits."""
        return self.remaining() > estimate

    def record_cut(self, step: str, reason: str, planned: int | None = None, done: int | None = None) -> None:
        entry: dict[str, Any] = {"step": step, "reason": reason}
        if planned is not None:
            entry["planned"] = int(planned)
        if done is not None:
            entry["done"] = int(done)
        self.cut.append(entry)

    def summary(self) -> dict[str, Any]:
        """JSON-safe and free of timings (timings would make reruns differ; the benchmark reports them)."""
        return {"time_budget_s": self.seconds, "cut": list(self.cut), "complete": not self.cut}


class Progress:
    """A one-line progress bar on stderr for the long loops, drawn only when stderr is a terminal.

    Probes never format report output; this is terminal feedback while they run, and it writes
    nothing at all in pipelines, tests and redirected runs.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None = None, enabled: bool | None = None):
        self.label = label
        self.total = max(int(total), 1)
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._last = 0.0
        self._t0 = time.perf_counter()
        self._drawn = False

    def update(self, done: int, note: str = "") -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        width = 24
        filled = int(width * min(done, self.total) / self.total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r  {self.label:<14} [{bar}] {done}/{self.total} {now - self._t0:5.1f}s {note}".ljust(78)
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()


# ------------------------------------------------------------------------------------------ numbers


def num(value: Any, digits: int = 6) -> float | None:
    """A float for JSON: rounded (stable across platforms), None for NaN or infinity."""
    if value is None:
        return None
    f = float(value)
    if math.isnan(f) or math.isinf(f):
        return None
    return round(f, digits)


def native(value: Any) -> Any:
    """numpy scalars to Python scalars, so details stay JSON-safe."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


# ------------------------------------------------------------------------------------------- labels


def to01(raw: Any, positive: Any) -> np.ndarray:
    """Model labels (any spelling) to 1 where they equal the positive label, else 0 (int8)."""
    import numpy as np

    from riskengine.intake import _label_codes

    codes, labels = _label_codes(np.asarray(raw).reshape(-1))
    hit = np.array([lab == positive for lab in labels] + [False], dtype=bool)
    return hit[codes].astype(np.int8)  # code -1 (a missing label) reads the trailing False


def sample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    """Seeded sample of row positions (sorted, so the same seed gives the same rows in the same order)."""
    import numpy as np

    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


# ------------------------------------------------------------------------------------ tabular space


@dataclass
class FeatureInfo:
    """How one input column may change under a perturbation that keeps the row a possible row."""

    name: str
    kind: str
    """numeric (continuous or integer, perturbed with noise and attacks), categorical (text, bool or
    a 0/1 indicator: only ever replaced by a value seen in the data) or constant."""
    sensitive: bool
    """A declared sensitive feature: never perturbed (a perturbation must not change who the person is)."""
    integer: bool = False
    lo: float = 0.0
    hi: float = 0.0
    center: float = 0.0
    spread: float = 0.0
    """Standard deviation on the evaluation data: the unit every perturbation size is given in."""
    levels: list[Any] = field(default_factory=list)
    """Seen values of a categorical column, most frequent first."""
    weights: list[float] = field(default_factory=list)
    has_missing: bool = False
    group: str | None = None
    """For a 0/1 indicator that belongs to a one-hot block: the block's name (changed as one category)."""

    @property
    def perturbable(self) -> bool:
        return self.kind == "numeric" and not self.sensitive and self.spread > 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "sensitive": self.sensitive,
                               "perturbed": self.perturbable or (self.kind == "categorical" and not self.sensitive)}
        if self.kind == "numeric":
            out.update(integer=self.integer, min=num(self.lo), max=num(self.hi), spread=num(self.spread))
        elif self.kind == "categorical":
            out["levels"] = len(self.levels)
            if self.group:
                out["one_hot_group"] = self.group
        return out


@dataclass
class TabularSpace:
    """The model's input columns, typed from the evaluation data, and the attack space built on them.

    The attack space holds only the perturbable numeric columns, each as a z-score (value minus mean,
    divided by standard deviation), so that a distance in it reads "standard deviations of the
    feature", whatever the feature's unit. Categorical and sensitive columns stay as they are in the
    row being attacked.
    """

    features: tuple[str, ...]
    info: list[FeatureInfo]

    @property
    def numeric_idx(self) -> list[int]:
        return [i for i, f in enumerate(self.info) if f.perturbable]

    @property
    def categorical_units(self) -> list[list[int]]:
        """Non-sensitive categorical columns, one-hot blocks joined into one unit."""
        units: dict[str, list[int]] = {}
        for i, f in enumerate(self.info):
            if f.kind == "categorical" and not f.sensitive:
                units.setdefault(f.group or f.name, []).append(i)
        return list(units.values())

    def center(self) -> np.ndarray:
        import numpy as np

        return np.array([self.info[i].center for i in self.numeric_idx], dtype=np.float64)

    def spread(self) -> np.ndarray:
        import numpy as np

        return np.array([self.info[i].spread for i in self.numeric_idx], dtype=np.float64)

    def bounds_z(self) -> tuple[np.ndarray, np.ndarray]:
        """Per attack-space column, the data's min and max as z-scores (the box attacks stay inside)."""
        import numpy as np

        idx = self.numeric_idx
        c, s = self.center(), self.spread()
        lo = (np.array([self.info[i].lo for i in idx]) - c) / s
        hi = (np.array([self.info[i].hi for i in idx]) - c) / s
        return lo, np.maximum(hi, lo + 1e-9)

    def to_z(self, X: pd.DataFrame) -> np.ndarray:
        import numpy as np

        cols = [self.features[i] for i in self.numeric_idx]
        raw = X[cols].to_numpy(dtype=np.float64) if cols else np.empty((len(X), 0))
        return (raw - self.center()) / self.spread()

    def from_z(self, Z: np.ndarray) -> np.ndarray:
        return Z * self.spread() + self.center()

    def describe(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.info]


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def build_space(X: pd.DataFrame, sensitive: Sequence[str]) -> TabularSpace:
    """Type every input column from the data: numeric, categorical (text, bool, 0/1) or constant."""
    import numpy as np

    sens = set(sensitive)
    info: list[FeatureInfo] = []
    for name in X.columns:
        col = X[name]
        missing = bool(col.isna().any())
        present = col.dropna()
        if _is_numeric(col):
            values = present.to_numpy(dtype=np.float64)
            distinct = np.unique(values) if len(values) else np.array([])
            if len(distinct) <= 1:
                info.append(FeatureInfo(str(name), "constant", name in sens, has_missing=missing))
                continue
            if len(distinct) == 2 and set(distinct.tolist()) <= {0.0, 1.0}:
                counts = present.value_counts()
                info.append(FeatureInfo(str(name), "categorical", name in sens, levels=[native(v) for v in counts.index],
                                        weights=(counts / counts.sum()).tolist(), has_missing=missing))
                continue
            info.append(
                FeatureInfo(
                    str(name), "numeric", name in sens,
                    integer=bool(np.all(np.mod(values, 1.0) == 0.0)),
                    lo=float(values.min()), hi=float(values.max()),
                    center=float(values.mean()), spread=float(values.std()),
                    has_missing=missing,
                )
            )
        else:
            counts = present.astype(object).value_counts()
            kind = "categorical" if len(counts) > 1 else "constant"
            info.append(FeatureInfo(str(name), kind, name in sens, levels=[native(v) for v in counts.index],
                                    weights=(counts / counts.sum()).tolist(), has_missing=missing))
    _mark_one_hot_blocks(X, info)
    return TabularSpace(tuple(str(c) for c in X.columns), info)


def _mark_one_hot_blocks(X: pd.DataFrame, info: list[FeatureInfo]) -> None:
    """0/1 columns sharing a prefix (`colour_red`, `colour_blue`) whose row sums are always 1 are one
    category spread over several columns: a swap must move the 1, not add a second one."""
    import numpy as np

    by_prefix: dict[str, list[int]] = {}
    for i, f in enumerate(info):
        if f.kind == "categorical" and not f.has_missing and _is_numeric(X[f.name]):
            for sep in ("=", "_"):
                if sep in f.name:
                    by_prefix.setdefault(f.name.rsplit(sep, 1)[0], []).append(i)
                    break
    for prefix, idx in by_prefix.items():
        if len(idx) < 2:
            continue
        block = X[[info[i].name for i in idx]].to_numpy(dtype=np.float64)
        if np.all(block.sum(axis=1) == 1.0):
            for i in idx:
                info[i].group = prefix


# ---------------------------------------------------------------------------------- natural noise


def gaussian_noise(X: pd.DataFrame, space: TabularSpace, level: float, rng: np.random.Generator) -> pd.DataFrame:
    """Each perturbable numeric value plus N(0, (level x its column's std)^2), kept in the seen range and
    rounded back to an integer where the column holds integers. Missing values stay missing."""
    import numpy as np

    out = X.copy()
    for i in space.numeric_idx:
        f = space.info[i]
        col = X[f.name].to_numpy(dtype=np.float64)
        noisy = col + rng.normal(0.0, level * f.spread, size=len(col))
        noisy = np.clip(noisy, f.lo, f.hi)
        if f.integer:
            noisy = np.round(noisy)
        out[f.name] = noisy.astype(X[f.name].dtype, copy=False) if not f.has_missing else noisy
    return out


def categorical_swap(X: pd.DataFrame, space: TabularSpace, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """With probability `rate`, each non-sensitive categorical value becomes another value seen in that
    column (drawn by its frequency); a one-hot block moves its single 1 to another column of the block."""
    import numpy as np

    out = X.copy()
    n = len(X)
    for unit in space.categorical_units:
        hit = rng.random(n) < rate
        if not hit.any():
            continue
        if len(unit) > 1:  # one-hot block
            names = [space.info[i].name for i in unit]
            block = X[names].to_numpy(dtype=np.float64).copy()
            current = block.argmax(axis=1)
            freq = block.mean(axis=0)
            for r in np.flatnonzero(hit):
                p = freq.copy()
                p[current[r]] = 0.0
                if p.sum() <= 0:
                    continue
                new = rng.choice(len(unit), p=p / p.sum())
                block[r] = 0.0
                block[r, new] = 1.0
            for j, name in enumerate(names):
                out[name] = block[:, j].astype(X[name].dtype, copy=False)
            continue
        f = space.info[unit[0]]
        if len(f.levels) < 2:
            continue
        levels = np.array(f.levels, dtype=object)
        weights = np.array(f.weights, dtype=np.float64)
        col = X[f.name].to_numpy(dtype=object).copy()
        rows = np.flatnonzero(hit)
        draws = rng.choice(len(levels), size=len(rows), p=weights)
        # a draw equal to the current value moves to the next level: every hit changes the value
        same = levels[draws] == col[rows]
        draws[same] = (draws[same] + 1 + rng.integers(0, len(levels) - 1, size=int(same.sum()))) % len(levels)
        col[rows] = levels[draws]
        if _is_numeric(X[f.name]):
            out[f.name] = col.astype(np.float64).astype(X[f.name].dtype, copy=False)
        else:
            out[f.name] = col
            out[f.name] = out[f.name].astype(X[f.name].dtype)
    return out


def inject_missing(X: pd.DataFrame, space: TabularSpace, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """With probability `rate`, each perturbable numeric value becomes missing (NaN)."""
    import numpy as np

    out = X.copy()
    for i in space.numeric_idx:
        name = space.info[i].name
        col = X[name].to_numpy(dtype=np.float64).copy()
        col[rng.random(len(col)) < rate] = np.nan
        out[name] = col
    return out


def accepts_missing(predict01: Callable[[Any], np.ndarray], predict_proba: Callable[[Any], Any],
                    X: pd.DataFrame, space: TabularSpace) -> tuple[bool, str]:
    """Whether the model scores rows with missing numeric values (without error and with finite scores)."""
    import numpy as np

    idx = space.numeric_idx
    if not idx:
        return False, "no numeric feature to leave empty"
    probe = X.iloc[: min(len(X), 20)].copy()
    for i in idx:
        probe[space.info[i].name] = np.nan
    try:
        pred = predict01(probe)
        proba = predict_proba(probe)
    except Exception as exc:  # noqa: BLE001 - any failure means "does not accept missing values"
        return False, f"the model refuses missing values ({type(exc).__name__})"
    if len(pred) != len(probe):
        return False, "the model returned the wrong number of predictions for rows with missing values"
    if proba is not None and not np.all(np.isfinite(np.asarray(proba, dtype=np.float64))):
        return False, "the model returns undefined scores for missing values"
    return True, ""


# ------------------------------------------------------------------------------------ limit checking


@dataclass(frozen=True)
class MetricSpec:
    """One metric a scenario may put a limit on."""

    bound: str
    """The bound that makes sense: max (lower is better) or min (higher is better)."""
    title: tuple[str, str]
    """(en, zh) title."""


def check_number(value: Any, where: str, *, lo: float | None = None, hi: float | None = None,
                 integer: bool = False, lo_open: bool = False) -> None:
    """Raise a RulePackError unless value is a number (an int when `integer`) within [lo, hi]."""
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value <= hi
    if not ok:
        kind = "an integer" if integer else "a number"
        rng = ""
        if lo is not None and hi is not None:
            rng = f" in [{lo}, {hi}]" if not lo_open else f" in ({lo}, {hi}]"
        elif lo is not None:
            rng = f" {'>' if lo_open else '>='} {lo}"
        raise RulePackError(f"must be {kind}{rng}, got {value!r}", field=where)


def validate_block(
    settings: Mapping[str, Any] | None,
    where: str,
    defaults: Mapping[str, Any],
    numbers: Mapping[str, dict[str, Any]],
    metrics: Mapping[str, MetricSpec],
    extra_checks: Callable[[dict[str, Any], str], None] | None = None,
) -> dict[str, Any]:
    """Validate a probe block: known keys only, numbers in range, and a `limits` list like fairness's.

    `numbers[key]` holds the keyword arguments of `check_number` for that key. Unknown keys fail with a
    did-you-mean, so a misspelt limit fails when the norms load instead of silently never firing.
    """
    raw = dict(settings or {})
    allowed = set(defaults) | {"description"}
    for key in raw:
        if key not in allowed:
            raise RulePackError(f"unknown key {key!r}", field=f"{where}.{key}",
                                hint=did_you_mean(key, sorted(allowed)))
    out = {**defaults, **raw}
    for key, spec in numbers.items():
        value = out[key]
        if isinstance(value, list):
            if not value:
                raise RulePackError("must list at least one value", field=f"{where}.{key}")
            for j, v in enumerate(value):
                check_number(v, f"{where}.{key}[{j}]", **spec)
        else:
            check_number(value, f"{where}.{key}", **spec)
    if extra_checks is not None:
        extra_checks(out, where)
    limits = out.get("limits") or []
    if not isinstance(limits, list):
        raise RulePackError("must be a list of {metric, min|max, rationale, clauses}", field=f"{where}.limits")
    keys = ["metric", "min", "max", "rationale", "clauses", "title", "severity"]
    checked = []
    for i, lim in enumerate(limits):
        at = f"{where}.limits[{i}]"
        if not isinstance(lim, Mapping):
            raise RulePackError("must be a mapping with metric and min or max", field=at)
        if "bound" in lim and "limit" in lim and not ({"min", "max"} & set(lim)):  # already checked once
            lim = {**{k: v for k, v in lim.items() if k not in ("bound", "limit")}, lim["bound"]: lim["limit"]}
        metric = lim.get("metric")
        if metric not in metrics:
            raise RulePackError(f"unknown metric {metric!r}", field=f"{at}.metric",
                                hint=did_you_mean(str(metric), metrics) or f"one of {', '.join(metrics)}")
        unknown = set(lim) - set(keys)
        if unknown:
            key = min(unknown)
            raise RulePackError(f"unknown key {key!r}", field=f"{at}.{key}", hint=did_you_mean(key, keys))
        bounds = [b for b in ("min", "max") if b in lim]
        if len(bounds) != 1:
            raise RulePackError("needs exactly one of min or max", field=at)
        if bounds[0] != metrics[metric].bound:
            raise RulePackError(
                f"{metric} takes a {metrics[metric].bound} limit (it is better when "
                f"{'lower' if metrics[metric].bound == 'max' else 'higher'}), not a {bounds[0]}",
                field=f"{at}.{bounds[0]}",
            )
        check_number(lim[bounds[0]], f"{at}.{bounds[0]}")
        severity = lim.get("severity")
        if severity is not None and severity not in ("critical", "high", "medium", "low", "info"):
            raise RulePackError(f"unknown severity {severity!r}", field=f"{at}.severity",
                                hint="one of critical, high, medium, low, info")
        rationale = lim.get("rationale") or {}
        if isinstance(rationale, str):
            rationale = {"en": rationale}
        checked.append({"metric": metric, "bound": bounds[0], "limit": float(lim[bounds[0]]),
                        "rationale": dict(rationale), "clauses": list(lim.get("clauses") or []),
                        "severity": severity})
    out["limits"] = checked
    return out


def rule_id(prefix: str, metric: str) -> str:
    """<PREFIX>-<METRIC-UPPER-KEBAB>, the stable id findings, suppressions and SARIF use."""
    return f"{prefix}-" + metric.upper().replace("_", "-")


def default_severity(tier: str) -> str:
    return "high" if tier in ("high", "prohibited") else "medium"


@dataclass
class Observation:
    """One measured metric, ready to be judged: its value and the words and numbers behind it."""

    value: float | None
    evidence: dict[str, Any] = field(default_factory=dict)
    detail: tuple[str, str] = ("", "")
    """(en, zh) sentence that explains the number (which perturbation, which attack, which features)."""
    reason: str = ""
    """Why the value is None (not measured)."""


def judge_limits(
    *,
    prefix: str,
    category: str,
    observed: Mapping[str, Observation],
    limits: list[dict[str, Any]],
    metrics: Mapping[str, MetricSpec],
    tier: str,
    lang: str,
    base_clause: str,
    remediation: Mapping[str, tuple[str, str]],
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Each limit as pass, breach or not_measured; a breach becomes a finding with its evidence and clauses.

    The status list is chart-ready: every entry has `name`, `value` and `limit`.
    """
    zh = lang == "zh"
    statuses: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for lim in limits:
        metric, bound, limit = lim["metric"], lim["bound"], lim["limit"]
        spec = metrics[metric]
        obs = observed.get(metric) or Observation(None, reason="not measured")
        clauses = tuple(dict.fromkeys([*lim["clauses"], base_clause]))
        rid = rule_id(prefix, metric)
        shown = num(obs.value) if obs.value is not None else None  # infinity (never flipped) shows as null
        entry: dict[str, Any] = {"name": metric, "metric": metric, "rule_id": rid, "value": shown,
                                 "observed": shown, "bound": bound, "limit": limit, "clauses": list(clauses),
                                 "view": str(obs.evidence.get("view") or obs.evidence.get("attack")
                                             or obs.evidence.get("perturbation") or ""),
                                 "interval": obs.evidence.get("interval"),
                                 "worst_group": obs.evidence.get("worst_group")}
        if obs.value is None:
            entry.update(status="not_measured", reason=obs.reason)
            statuses.append(entry)
            continue
        breach = obs.value > limit if bound == "max" else obs.value < limit
        entry["status"] = "breach" if breach else "pass"
        statuses.append(entry)
        if not breach:
            continue
        title = spec.title[1 if zh else 0]
        if zh:
            side = "超过上限" if bound == "max" else "低于下限"
            message = f"{title}为 {obs.value:.3f}，{side} {limit:.3f}。{obs.detail[1]}".strip()
            head = f"{'稳健性' if category == 'robustness' else '可解释性'}限值未满足：{title}"
        else:
            side = "above the maximum" if bound == "max" else "below the minimum"
            message = f"{title} is {obs.value:.3f}, {side} of {limit:.3f}. {obs.detail[0]}".strip()
            head = f"{category.capitalize()} limit breached: {title}"
        rem = remediation.get(metric, ("", ""))
        findings.append(
            Finding(
                rule_id=rid,
                severity=lim.get("severity") or default_severity(tier),
                category=category,
                message=message,
                clauses=clauses,
                title=head,
                remediation=rem[1 if zh else 0],
                rationale=lim["rationale"].get(lang) or lim["rationale"].get("en", ""),
                confidence=obs.evidence.get("confidence", "high"),
                evidence={"metric": metric, "observed": shown, "limit": limit, "bound": bound,
                          **{k: v for k, v in obs.evidence.items() if k != "confidence"}},
            )
        )
    return statuses, findings


# ------------------------------------------------------------------------------------------- shared results


def model_query_skip(ctx: Any, name: str, why: str) -> Any:
    """The `skipped` result when a model-querying probe cannot run (no model or data, predictions only)."""
    from riskengine.model import ProbeResult

    missing = ctx.missing_inputs()
    if missing:
        return ProbeResult(name=name, status="skipped", reason=missing)
    if ctx.decl.model.format == "predictions":
        return ProbeResult(name=name, status="skipped",
                           reason=f"predictions-only submission: {why}; submit the model (ONNX or skops) to "
                                  "measure it")
    return None


def incomplete_finding(details: Mapping[str, Any], statuses: list[dict[str, Any]], tier: str, lang: str, *,
                       rule_id: str, category: str, clause: str, title: tuple[str, str],
                       remediation: tuple[str, str]) -> Finding | None:
    """A finding when limits could not be checked or the time budget cut a step: missing evidence is said."""
    blocked = [st for st in statuses if st["status"] == "not_measured"]
    cut = details["budget"]["cut"]
    if not blocked and not cut:
        return None
    zh = lang == "zh"
    names = ", ".join(f"{st['metric']} ({st.get('reason', '')})" for st in blocked)
    cuts = ", ".join(c["step"] + (f" {c.get('done', 0)}/{c['planned']}" if "planned" in c else "") for c in cut)
    parts = []
    if blocked:
        parts.append(f"未能检查的限值：{names}。" if zh else f"Limits that could not be checked: {names}.")
    if cut:
        parts.append(f"因时间预算而缩减的步骤：{cuts}。" if zh else f" Steps cut by the time budget: {cuts}.")
    return Finding(
        rule_id=rule_id,
        severity="low" if tier in ("high", "prohibited") else "info",
        category=category,
        message="".join(parts).strip(),
        clauses=(clause,),
        title=title[1] if zh else title[0],
        remediation=remediation[1] if zh else remediation[0],
        confidence="high",
        evidence={"not_measured": [{"metric": st["metric"], "reason": st.get("reason", "")} for st in blocked],
                  "cut": cut},
    )


def judged_details(observed: Mapping[str, Observation], details: Mapping[str, Any], settings: Mapping[str, Any], *,
                   prefix: str, category: str, metrics: Mapping[str, MetricSpec], tier: str, lang: str,
                   base_clause: str, remediation: Mapping[str, tuple[str, str]],
                   incomplete: tuple[tuple[str, str], tuple[str, str]]) -> tuple[dict[str, Any], list[Finding]]:
    """A measured probe judged against its limits: the details to report and the findings.

    `incomplete` is the (title, remediation) pair, each (en, zh), of the finding that says evidence is missing.
    """
    statuses, findings = judge_limits(prefix=prefix, category=category, observed=observed,
                                      limits=settings["limits"], metrics=metrics, tier=tier, lang=lang,
                                      base_clause=base_clause, remediation=remediation)
    extra = incomplete_finding(details, statuses, tier, lang, rule_id=f"{prefix}-INCOMPLETE", category=category,
                               clause=base_clause, title=incomplete[0], remediation=incomplete[1])
    if extra is not None:
        findings.append(extra)
    out = dict(details)
    out["limits"] = statuses
    out["settings"] = {k: v for k, v in settings.items() if k != "limits"}
    return out, findings
