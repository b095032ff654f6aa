"""Fairness probe: group rates, disparity metrics and bootstrap intervals from collapsed confusion counts.

How it stays fast on a million rows: the rows are collapsed once into counts per
(sensitive groups, y_true, y_pred) cell (fairlearn's weighted fast path, `dependencies.md` section 2).
Every rate a group has (selection rate, TPR, FPR, FNR, precision, accuracy) is a ratio of sums of those
counts, so the single-feature views and the intersection are read from the same cells. fairlearn's
MetricFrame on the same rows gives exactly the same numbers (tests/test_fairness.py checks it, with and
without sample weights), but costs 60-90 ms fixed per call and 1.9 s to import; this arithmetic costs
well under a millisecond. One deliberate difference: a rate whose denominator is zero (TPR in a
group with no positives) is undefined here (None in JSON) where sklearn's confusion matrix gives 0.

Confidence intervals (the bootstrap): fairlearn's MetricFrame(n_boot, ci_quantiles, random_state)
resamples the rows with replacement and takes `numpy.nanquantile` of each metric. Resampling N rows
with replacement from N rows puts Multinomial(N, counts / N) rows in the cells, so drawing that
multinomial directly is the same bootstrap (the same distribution of resampled data sets, not the same
random numbers) at a cost that does not depend on N. Group eligibility (min_group_size) is decided once on
the original data, as comparisons are. The tests check each replicate against MetricFrame on the
replicate's counts and check the intervals against MetricFrame's own bootstrap on the rows.

This module imports only the standard library at the top; numpy and pandas load when the probe runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riskengine.errors import RulePackError, did_you_mean
from riskengine.i18n import name as metric_name
from riskengine.model import Finding, ProbeResult
from riskengine.probes import ProbeContext, register

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

#: The founding standard's item for algorithm fairness, cited by every fairness finding.
SHANGHAI_CLAUSE = "Shanghai AI standard system item 110"

RATES = ("selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy")

#: metric -> (difference or ratio, the group rates it compares). Two rates: worst case of the two,
#: as fairlearn's equalized_odds_* with agg='worst_case'.
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "demographic_parity_difference": ("difference", ("selection_rate",)),
    "demographic_parity_ratio": ("ratio", ("selection_rate",)),
    "equalized_odds_difference": ("difference", ("tpr", "fpr")),
    "equalized_odds_ratio": ("ratio", ("tpr", "fpr")),
    "equal_opportunity_difference": ("difference", ("tpr",)),
    "equal_opportunity_ratio": ("ratio", ("tpr",)),
    "fpr_difference": ("difference", ("fpr",)),
    "fnr_difference": ("difference", ("fnr",)),
    "accuracy_difference": ("difference", ("accuracy",)),
}

DEFAULTS: dict[str, Any] = {
    "min_group_size": 30,
    "confidence_level": 0.95,
    "n_boot": 1000,
    "seed": 0,
    "limits": [],
}
_SETTING_KEYS = set(DEFAULTS) | {"description"}
_BOOT_CHUNK_CELLS = 2_000_000  # replicate x cell entries per bootstrap batch (bounds memory)

_RATE_NAMES = {
    "selection_rate": ("selection rate", "选择率"),
    "tpr": ("true positive rate", "真阳性率"),
    "fpr": ("false positive rate", "假阳性率"),
    "fnr": ("false negative rate", "假阴性率"),
    "precision": ("precision", "精确率"),
    "accuracy": ("accuracy", "准确率"),
}


#: Finding texts; kept as data so each language says the same thing.
_WORDS = {
    "en": {
        "breach": "{title} over {key} is {observed:.3f}, {side} of {limit:.3f}; the worst-off group is "
        "{worst} ({rate} {worst_v:.3f} vs {best_v:.3f} for {best}).{ci}",
        "uncertain": "{title} over {key} is {observed:.3f}, which meets the {side} of {limit:.3f} on the "
        "point estimate, but the interval crosses the limit, so the data cannot show it holds; the "
        "worst-off group is {worst}.{ci}",
        "breach_max": "above the maximum",
        "breach_min": "below the minimum",
        "uncertain_max": "maximum",
        "uncertain_min": "minimum",
        "ci": " {cl:.0%} interval [{lo:.3f}, {hi:.3f}].",
        "title_breach": "Fairness limit breached: {title} ({key})",
        "title_uncertain": "Fairness limit uncertain: {title} ({key})",
        "remediation": "Find where the disparity comes from (features, labels, threshold), mitigate it "
        "(reweighting, group-aware thresholds, constrained training such as fairlearn's "
        "ExponentiatedGradient) and re-assess; record the analysis in the risk management file.",
    },
    "zh": {
        "breach": "{key} 的{title}为 {observed:.3f}，{side} {limit:.3f}；处境最差的群体是 {worst}"
        "（{rate} {worst_v:.3f}，对比 {best} 的 {best_v:.3f}）。{ci}",
        "uncertain": "{key} 的{title}点估计为 {observed:.3f}，满足{side} {limit:.3f}，但置信区间跨越该限值，"
        "证据不足以判定合格；最差群体为 {worst}。{ci}",
        "breach_max": "超过上限",
        "breach_min": "低于下限",
        "uncertain_max": "上限",
        "uncertain_min": "下限",
        "ci": "{cl:.0%} 置信区间 [{lo:.3f}, {hi:.3f}]。",
        "title_breach": "公平性限值未满足：{title}（{key}）",
        "title_uncertain": "公平性限值存疑：{title}（{key}）",
        "remediation": "调查差异来源（特征、标签、阈值），采用重加权、分组阈值或约束训练等缓解措施后"
        "重新评估，并记录于风险管理文件。",
    },
}


def rule_id(metric: str) -> str:
    """FAIR-<METRIC-UPPER-KEBAB>: the stable id findings, suppressions and SARIF use."""
    return "FAIR-" + metric.upper().replace("_", "-")


# ------------------------------------------------------------------------------------------ settings


def validate_settings(settings: Mapping[str, Any] | None, where: str = "probes.fairness") -> dict[str, Any]:
    """Check a scenario's fairness block and fill defaults; a typo fails loudly instead of never firing."""
    raw = dict(settings or {})
    for key in raw:
        if key not in _SETTING_KEYS:
            raise RulePackError(
                f"unknown key {key!r}", field=f"{where}.{key}", hint=did_you_mean(key, sorted(_SETTING_KEYS))
            )
    out = {**DEFAULTS, **raw}
    mgs = out["min_group_size"]
    if isinstance(mgs, bool) or not isinstance(mgs, int) or mgs < 1:
        raise RulePackError(f"must be a positive integer, got {mgs!r}", field=f"{where}.min_group_size")
    cl = out["confidence_level"]
    if isinstance(cl, bool) or not isinstance(cl, (int, float)) or not 0 < cl < 1:
        raise RulePackError(
            f"must be a number between 0 and 1, got {cl!r}", field=f"{where}.confidence_level"
        )
    nb = out["n_boot"]
    if isinstance(nb, bool) or not isinstance(nb, int) or nb < 0:
        raise RulePackError(
            f"must be an integer >= 0 (0 turns the bootstrap off), got {nb!r}", field=f"{where}.n_boot"
        )
    if isinstance(out["seed"], bool) or not isinstance(out["seed"], int):
        raise RulePackError(f"must be an integer, got {out['seed']!r}", field=f"{where}.seed")
    limits = out["limits"] or []
    if not isinstance(limits, list):
        raise RulePackError(
            "must be a list of {metric, min|max, rationale, clauses}", field=f"{where}.limits"
        )
    checked = []
    for i, lim in enumerate(limits):
        at = f"{where}.limits[{i}]"
        if not isinstance(lim, Mapping):
            raise RulePackError("must be a mapping with metric and min or max", field=at)
        metric = lim.get("metric")
        if metric not in METRICS:
            raise RulePackError(
                f"unknown fairness metric {metric!r}",
                field=f"{at}.metric",
                hint=did_you_mean(str(metric), METRICS) or f"one of {', '.join(METRICS)}",
            )
        bounds = [b for b in ("min", "max") if b in lim]
        if len(bounds) != 1:
            raise RulePackError("needs exactly one of min or max", field=at)
        value = lim[bounds[0]]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RulePackError(f"must be a number, got {value!r}", field=f"{at}.{bounds[0]}")
        unknown = set(lim) - {"metric", "min", "max", "rationale", "clauses", "title"}
        if unknown:
            key = min(unknown)
            raise RulePackError(
                f"unknown key {key!r}",
                field=f"{at}.{key}",
                hint=did_you_mean(key, ["metric", "min", "max", "rationale", "clauses", "title"]),
            )
        rationale = lim.get("rationale") or {}
        if isinstance(rationale, str):
            rationale = {"en": rationale}
        checked.append(
            {
                "metric": metric,
                "bound": bounds[0],
                "limit": float(value),
                "rationale": dict(rationale),
                "clauses": list(lim.get("clauses") or []),
            }
        )
    out["limits"] = checked
    return out


# ------------------------------------------------------------------------------------------ counting


@dataclass
class Cells:
    """The data collapsed to its non-empty (group..., y_true, y_pred) cells: all the probe ever needs."""

    features: tuple[str, ...]
    levels: list[Any]
    """Per feature, its sorted distinct values (pandas Index); a code is a position in it."""
    codes: np.ndarray
    """(n_features, n_cells) group code of each cell per feature."""
    y_true: np.ndarray
    y_pred: np.ndarray
    weight: np.ndarray
    """Rows in each cell (int64)."""


def collapse(y_true: Any, y_pred: Any, sensitive: pd.DataFrame) -> Cells:
    """Count rows per (sensitive values, y_true, y_pred): one pass over the data, O(rows)."""
    import numpy as np
    import pandas as pd

    yt = np.asarray(y_true).astype(np.int64, copy=False)
    yp = np.asarray(y_pred).astype(np.int64, copy=False)
    features = tuple(str(c) for c in sensitive.columns)
    cell = np.zeros(len(yt), dtype=np.int64)
    sizes, levels = [], []
    for col in sensitive.columns:
        codes, uniques = pd.factorize(sensitive[col], sort=True)
        if (codes < 0).any():
            raise ValueError(f"sensitive feature {col!r} has missing values")
        cell *= len(uniques)
        cell += codes
        sizes.append(len(uniques))
        levels.append(uniques)
    cell *= 4
    cell += yt * 2 + yp
    grid = math.prod(sizes) * 4
    if grid <= 1 << 22:
        counts = np.bincount(cell, minlength=grid)
        ids = np.flatnonzero(counts)
        weight = counts[ids]
    else:
        ids, weight = np.unique(cell, return_counts=True)
    parts = np.unravel_index(ids, tuple(sizes) + (2, 2))
    return Cells(
        features=features,
        levels=levels,
        codes=np.vstack(parts[:-2]) if sizes else np.empty((0, len(ids))),
        y_true=parts[-2].astype(np.int8),
        y_pred=parts[-1].astype(np.int8),
        weight=weight.astype(np.int64),
    )


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def rates_from_counts(tn: Any, fp: Any, fn: Any, tp: Any) -> dict[str, np.ndarray]:
    """The six group rates from confusion counts (any array shape); undefined rates are NaN."""
    import numpy as np

    tn, fp, fn, tp = (np.asarray(a, dtype=np.float64) for a in (tn, fp, fn, tp))
    n = tn + fp + fn + tp
    return {
        "selection_rate": _divide(fp + tp, n),
        "tpr": _divide(tp, tp + fn),
        "fpr": _divide(fp, fp + tn),
        "fnr": _divide(fn, tp + fn),
        "precision": _divide(tp, tp + fp),
        "accuracy": _divide(tp + tn, n),
    }


@dataclass
class View:
    """One way of grouping people: a single sensitive feature, or the intersection of all of them."""

    key: str
    features: tuple[str, ...]
    groups: list[dict[str, Any]]
    """Each group as a mapping feature -> value, in sorted order."""
    cell_group: np.ndarray
    """Group index of each cell."""


def _native(v: Any) -> Any:
    item = getattr(v, "item", None)
    return item() if callable(item) else v


def build_views(cells: Cells) -> list[View]:
    """Single-feature views, then the intersection when there are two or more sensitive features."""
    import numpy as np

    combos = [(i,) for i in range(len(cells.features))]
    if len(cells.features) > 1:
        combos.append(tuple(range(len(cells.features))))
    views = []
    for combo in combos:
        sub = cells.codes[list(combo)]
        shape = tuple(len(cells.levels[i]) for i in combo)
        keys = np.ravel_multi_index(tuple(sub), shape)
        uniq, inverse = np.unique(keys, return_inverse=True)
        groups = []
        for flat in uniq:
            idx = np.unravel_index(int(flat), shape)
            groups.append({cells.features[i]: _native(cells.levels[i][int(j)]) for i, j in zip(combo, idx)})
        views.append(
            View(
                key="+".join(cells.features[i] for i in combo),
                features=tuple(cells.features[i] for i in combo),
                groups=groups,
                cell_group=inverse.reshape(-1),
            )
        )
    return views


def group_counts(weights: np.ndarray, cells: Cells, view: View) -> dict[str, np.ndarray]:
    """tn/fp/fn/tp per group for one or many count vectors: weights is (cells,) or (replicates, cells)."""
    import numpy as np

    w = np.atleast_2d(weights)
    order = np.argsort(view.cell_group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(view.cell_group[order]) != 0])
    out = {}
    for name, (t, p) in {"tn": (0, 0), "fp": (0, 1), "fn": (1, 0), "tp": (1, 1)}.items():
        mask = ((cells.y_true == t) & (cells.y_pred == p))[order]
        out[name] = np.add.reduceat(w[:, order] * mask, starts, axis=1)
    return out


def _aggregate(rates: dict[str, np.ndarray], eligible: np.ndarray) -> dict[str, np.ndarray]:
    """Every limit metric over the eligible groups; rates are (replicates, groups) arrays."""
    import numpy as np

    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = {}
        for r in ("selection_rate", "tpr", "fpr", "fnr", "accuracy"):
            x = rates[r][:, eligible]
            enough = np.sum(~np.isnan(x), axis=1) >= 2
            hi, lo = (
                np.nanmax(x, axis=1) if x.shape[1] else np.full(len(x), np.nan),
                np.nanmin(x, axis=1) if x.shape[1] else np.full(len(x), np.nan),
            )
            diff = np.where(enough, hi - lo, np.nan)
            ratio = np.where(enough & (hi > 0), lo / np.where(hi > 0, hi, 1.0), np.nan)
            spread[r] = (diff, ratio)
        for metric, (kind, parts) in METRICS.items():
            idx = 0 if kind == "difference" else 1
            values = np.vstack([spread[r][idx] for r in parts])
            out[metric] = (
                (np.nanmax(values, axis=0) if kind == "difference" else np.nanmin(values, axis=0))
                if len(parts) > 1
                else values[0]
            )
    return out


def bootstrap_counts(weight: np.ndarray, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap replicates of the cell counts, in batches of (replicates, cells).

    Each replicate is Multinomial(N, weight / N): the cell counts of N rows drawn with replacement
    from the N rows, which is what MetricFrame's bootstrap resamples, without touching the rows.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    total = int(weight.sum())
    p = weight / total
    chunk = max(1, _BOOT_CHUNK_CELLS // max(1, len(p)))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        yield rng.multinomial(total, p, size=b)
        done += b


def _quantiles(samples: np.ndarray, q: Sequence[float]) -> np.ndarray:
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(samples, q, axis=0)


# ------------------------------------------------------------------------------------------ measuring


def _num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _pair(lo: Any, hi: Any) -> list[float | None] | None:
    a, b = _num(lo), _num(hi)
    return None if a is None or b is None else [a, b]


def _group_text(group: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def measure(
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    *,
    min_group_size: int = 30,
    confidence_level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    positive_is_favorable: bool = True,
) -> dict[str, Any]:
    """Group rates, disparity metrics and their bootstrap intervals for every view; JSON-ready."""
    import numpy as np

    cells = collapse(y_true, y_pred, sensitive)
    views = build_views(cells)
    total = int(cells.weight.sum())
    alpha = (1.0 - confidence_level) / 2.0
    q = (alpha, 1.0 - alpha)

    overall_counts = {
        k: float(cells.weight[(cells.y_true == t) & (cells.y_pred == p)].sum())
        for k, (t, p) in {"tn": (0, 0), "fp": (0, 1), "fn": (1, 0), "tp": (1, 1)}.items()
    }
    overall_rates = rates_from_counts(**overall_counts)
    overall = {"n": total, **{r: _num(v) for r, v in overall_rates.items()}}

    by_group: list[dict[str, Any]] = []
    insufficient: list[dict[str, Any]] = []
    metrics: dict[str, dict[str, Any]] = {}
    per_view: dict[str, dict[str, Any]] = {}
    for view in views:
        c = group_counts(cells.weight, cells, view)
        n = (c["tn"] + c["fp"] + c["fn"] + c["tp"])[0]
        rates = rates_from_counts(**c)
        eligible = n >= min_group_size
        agg = _aggregate(rates, eligible)
        metrics[view.key] = {m: _num(v[0]) for m, v in agg.items()}
        metrics[view.key]["groups_compared"] = int(eligible.sum())
        per_view[view.key] = {"view": view, "rates": rates, "eligible": eligible, "agg": agg, "n": n}
        for g, group in enumerate(view.groups):
            row = {
                "view": view.key,
                "group": group,
                "n": int(n[g]),
                "sufficient": bool(eligible[g]),
                **{r: _num(rates[r][0, g]) for r in RATES},
                "counts": {k: int(c[k][0, g]) for k in ("tp", "fp", "tn", "fn")},
            }
            by_group.append(row)
            if not eligible[g]:
                insufficient.append({"view": view.key, "group": group, "n": int(n[g])})

    intervals: dict[str, Any] = {
        "confidence_level": confidence_level,
        "n_boot": n_boot,
        "seed": seed,
        "method": "multinomial bootstrap over (group, y_true, y_pred) cell counts, "
        "equivalent to resampling rows with replacement",
        "metrics": {},
        "by_group": [],
    }
    if n_boot > 0 and total > 0:
        metric_samples: dict[str, dict[str, list[np.ndarray]]] = {
            k: {m: [] for m in METRICS} for k in per_view
        }
        rate_samples: dict[str, dict[str, list[np.ndarray]]] = {k: {r: [] for r in RATES} for k in per_view}
        for draws in bootstrap_counts(cells.weight, n_boot, seed):
            for key, pv in per_view.items():
                rates = rates_from_counts(**group_counts(draws, cells, pv["view"]))
                for r in RATES:
                    rate_samples[key][r].append(rates[r])
                for m, v in _aggregate(rates, pv["eligible"]).items():
                    metric_samples[key][m].append(v)
        for key, pv in per_view.items():
            intervals["metrics"][key] = {}
            for m in METRICS:
                lo, hi = _quantiles(np.concatenate(metric_samples[key][m]), q)
                intervals["metrics"][key][m] = _pair(lo, hi)
            group_q = {r: _quantiles(np.vstack(rate_samples[key][r]), q) for r in RATES}
            for g, group in enumerate(pv["view"].groups):
                intervals["by_group"].append(
                    {
                        "view": key,
                        "group": group,
                        **{r: _pair(group_q[r][0][g], group_q[r][1][g]) for r in RATES},
                    }
                )

    return {
        "overall": overall,
        "views": [{"key": v.key, "features": list(v.features)} for v in views],
        "by_group": by_group,
        "metrics": metrics,
        "intervals": intervals,
        "insufficient_groups": insufficient,
        "_per_view": per_view,
        "_positive_is_favorable": positive_is_favorable,
    }


# ------------------------------------------------------------------------------------------- judging


def _worse_is_lower(rate: str, positive_is_favorable: bool) -> bool:
    """Which end of a rate is the disadvantaged group: fewer favourable outcomes is worse."""
    if rate == "accuracy":
        return True
    if rate == "fnr":  # 1 - TPR
        return not positive_is_favorable
    return positive_is_favorable  # selection rate, TPR, FPR all count positive predictions


def _extremes(
    pv: dict[str, Any], metric: str, positive_is_favorable: bool
) -> tuple[str, dict, dict, float, float]:
    """(deciding rate, worst-off group, best-off group, worst value, best value) for one metric and view."""
    import numpy as np

    kind, parts = METRICS[metric]
    rates, eligible, groups = pv["rates"], pv["eligible"], pv["view"].groups
    best_part, best_spread = parts[0], -1.0
    for r in parts:  # for equalized odds: the component that sets the worst case
        x = rates[r][0][eligible]
        x = x[~np.isnan(x)]
        if len(x) < 2:
            continue
        spread = (
            (x.max() - x.min()) if kind == "difference" else (1 - x.min() / x.max() if x.max() > 0 else 0.0)
        )
        if spread > best_spread:
            best_part, best_spread = r, spread
    x = np.where(eligible, rates[best_part][0], np.nan)
    lower_is_worse = _worse_is_lower(best_part, positive_is_favorable)
    worst = int(np.nanargmin(x) if lower_is_worse else np.nanargmax(x))
    best = int(np.nanargmax(x) if lower_is_worse else np.nanargmin(x))
    return best_part, groups[worst], groups[best], float(x[worst]), float(x[best])


def _severity(tier: str) -> str:
    return "high" if tier in ("high", "prohibited") else "medium"


def judge(
    measured: dict[str, Any], limits: list[dict[str, Any]], *, tier: str, lang: str = "en"
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Check each limit on each view: pass, breach, uncertain (the interval crosses it) or insufficient."""
    zh = lang == "zh"
    favorable = measured["_positive_is_favorable"]
    cl = measured["intervals"]["confidence_level"]
    statuses: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for lim in limits:
        metric, bound, limit = lim["metric"], lim["bound"], lim["limit"]
        clauses = tuple(dict.fromkeys([*lim["clauses"], SHANGHAI_CLAUSE]))
        rationale = lim["rationale"].get(lang) or lim["rationale"].get("en", "")
        title = metric_name("metric", metric, lang)
        for vinfo in measured["views"]:
            key = vinfo["key"]
            pv = measured["_per_view"][key]
            observed = measured["metrics"][key][metric]
            interval = (measured["intervals"]["metrics"].get(key) or {}).get(metric)
            entry: dict[str, Any] = {
                "metric": metric,
                "rule_id": rule_id(metric),
                "view": key,
                "features": vinfo["features"],
                "bound": bound,
                "limit": limit,
                "observed": observed,
                "interval": interval,
                "clauses": list(clauses),
            }
            if observed is None:
                entry.update(
                    status="insufficient",
                    worst_group=None,
                    best_group=None,
                    reason=f"fewer than two groups of at least the minimum size with {metric} defined",
                )
                statuses.append(entry)
                continue
            rate, worst, best, worst_v, best_v = _extremes(pv, metric, favorable)
            entry.update(worst_group=worst, best_group=best, deciding_rate=rate)
            violated = observed > limit if bound == "max" else observed < limit
            edge = None if interval is None else (interval[1] if bound == "max" else interval[0])
            crosses = edge is not None and (edge > limit if bound == "max" else edge < limit)
            if violated:
                status = "breach"
            elif crosses:
                status = "uncertain"
            else:
                status = "pass"
            entry["status"] = status
            statuses.append(entry)
            if status == "pass":
                continue
            beyond = interval is not None and (interval[0] > limit if bound == "max" else interval[1] < limit)
            words = _WORDS["zh" if zh else "en"]
            fields = {
                "title": title,
                "key": key,
                "observed": observed,
                "limit": limit,
                "side": words[f"{status}_{bound}"],
                "worst": _group_text(worst),
                "best": _group_text(best),
                "rate": _RATE_NAMES[rate][1 if zh else 0],
                "worst_v": worst_v,
                "best_v": best_v,
                "ci": "" if interval is None else words["ci"].format(cl=cl, lo=interval[0], hi=interval[1]),
            }
            if status == "breach":
                severity, confidence = _severity(tier), ("high" if beyond or interval is None else "medium")
            else:
                severity, confidence = "medium", "low"
            findings.append(
                Finding(
                    rule_id=rule_id(metric),
                    severity=severity,
                    category="fairness",
                    clauses=clauses,
                    message=words[status].format(**fields),
                    title=words[f"title_{status}"].format(**fields),
                    remediation=words["remediation"],
                    rationale=rationale,
                    confidence=confidence,
                    evidence={
                        "metric": metric,
                        "status": status,
                        "observed": observed,
                        "limit": limit,
                        "bound": bound,
                        "view": key,
                        "features": vinfo["features"],
                        "worst_group": worst,
                        "best_group": best,
                        "deciding_rate": rate,
                        "worst_value": worst_v,
                        "best_value": best_v,
                        "interval": interval,
                        "confidence_level": cl,
                    },
                )
            )
    return statuses, findings


def _insufficient_finding(
    measured: dict[str, Any], statuses: list[dict[str, Any]], min_group_size: int, tier: str, lang: str
) -> Finding | None:
    groups = measured["insufficient_groups"]
    blocked = [s for s in statuses if s["status"] == "insufficient"]
    if not groups and not blocked:
        return None
    zh = lang == "zh"
    listed = "; ".join(f"{_group_text(g['group'])} (n={g['n']})" for g in groups[:12])
    if len(groups) > 12:
        listed += f"; ... ({len(groups)} in all)"
    parts = []
    if groups:
        parts.append(
            f"{len(groups)} 个群体样本量低于 {min_group_size}，未参与比较，不能视为合格：{listed}。"
            if zh
            else f"{len(groups)} group(s) have fewer than {min_group_size} rows and were left out of the "
            f"comparisons, so nothing is shown about them: {listed}."
        )
    if blocked:
        names = ", ".join(sorted({f"{s['metric']} ({s['view']})" for s in blocked}))
        parts.append(f"无法计算的限值：{names}。" if zh else f" Limits that could not be checked: {names}.")
    return Finding(
        rule_id="FAIR-INSUFFICIENT-EVIDENCE",
        severity="low" if tier in ("high", "prohibited") else "info",
        category="fairness",
        message="".join(parts).strip(),
        clauses=(SHANGHAI_CLAUSE,),
        title="公平性证据不足" if zh else "Insufficient evidence for some groups",
        remediation=(
            "为这些群体收集更多带标签的评估数据，或合并过细的类别后重新评估。"
            if zh
            else "Collect more labelled evaluation data for these groups, or merge categories that are too "
            "fine, and re-assess."
        ),
        confidence="high",
        evidence={
            "min_group_size": min_group_size,
            "groups": groups,
            "limits": [{"metric": s["metric"], "view": s["view"]} for s in blocked],
        },
    )


def assess_fairness(
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    *,
    settings: Mapping[str, Any] | None,
    tier: str,
    positive_is_favorable: bool = True,
    lang: str = "en",
    where: str = "probes.fairness",
) -> ProbeResult:
    """The whole probe on arrays (what the benchmark times): measure, judge, and package the result."""
    s = validate_settings(settings, where=where)
    measured = measure(
        y_true,
        y_pred,
        sensitive,
        min_group_size=s["min_group_size"],
        confidence_level=s["confidence_level"],
        n_boot=s["n_boot"],
        seed=s["seed"],
        positive_is_favorable=positive_is_favorable,
    )
    statuses, findings = judge(measured, s["limits"], tier=tier, lang=lang)
    extra = _insufficient_finding(measured, statuses, s["min_group_size"], tier, lang)
    if extra is not None:
        findings.append(extra)
    details = {k: v for k, v in measured.items() if not k.startswith("_") and k != "metrics"}
    details.update(
        limits=statuses,
        positive_is_favorable=positive_is_favorable,
        settings={
            "min_group_size": s["min_group_size"],
            "confidence_level": s["confidence_level"],
            "n_boot": s["n_boot"],
            "seed": s["seed"],
        },
    )
    return ProbeResult(
        name="fairness", status="ok", metrics=measured["metrics"], details=details, findings=tuple(findings)
    )


@register("fairness", validate=validate_settings)
def fairness_probe(ctx: ProbeContext) -> ProbeResult:
    """Group fairness of the declared model on the declared data, judged against the scenario's limits."""
    missing = ctx.missing_inputs()
    if missing:
        return ProbeResult(name="fairness", status="skipped", reason=missing)
    assert ctx.decl.data is not None
    if not ctx.decl.data.sensitive_features:
        return ProbeResult(
            name="fairness",
            status="skipped",
            reason="no data.sensitive_features declared, so there are no groups to compare",
        )
    where = f"probes.{ctx.tier}.fairness"
    validate_settings(ctx.settings, where=where)  # a bad scenario block fails before any model is loaded
    ev = ctx.evaluation()
    result = assess_fairness(
        ev.y_true,
        ev.y_pred,
        ev.sensitive,
        settings=ctx.settings,
        tier=ctx.tier,
        positive_is_favorable=ev.positive_is_favorable,
        lang=ctx.lang,
        where=where,
    )
    data = ctx.decl.data
    result.details["labels"] = {
        "target": data.target,
        "positive_label": data.positive_label,
        "favorable_label": data.positive_label if data.favorable_label is None else data.favorable_label,
    }
    result.details["model_kind"] = ev.predictor.kind
    result.details["inputs"] = dict(ev.inputs)
    return result
