"""Explainability probe: which inputs drive the model, how stable that picture is, whether a simple
model can stand in for it, and whether it leans on sensitive features or their proxies.

What it measures, on a seeded sample of the evaluation data (`max_rows` rows):

* **Permutation importance**: the drop in accuracy when one input column is shuffled, `n_repeats`
  times. The shuffles follow scikit-learn's `permutation_importance` exactly (the same seeds and the
  same cumulative in-place shuffles), so its numbers equal scikit-learn's on the same rows; the
  difference is that all columns of one repeat are scored in one batched model call, which is what
  makes it cheap on an ONNX model. Beside the accuracy drop the probe records each column's
  *reliance*: the share of the model's own decisions that change when it is shuffled, which needs no
  labels.
* **Stability of the ranking** across `n_boot` bootstrap resamples of the rows: Kendall's tau between
  each resample's importances and the full sample's, and the overlap of the top-k features. A ranking
  that reshuffles under resampling is not an explanation anyone should rely on.
* **A global surrogate**: a decision tree of depth `surrogate_max_depth` trained on half of the sample
  to mimic the model's decisions, and its fidelity (agreement with the model) on the other half. Its
  leaves are returned as plain rules (feature, operator, value), for the report to show.
* **Proxy detection**: for each sensitive feature, how well each other input predicts it on its own
  (cross-fitted balanced accuracy of the best per-value guess, rescaled so that 0 is chance and 1 is
  perfect), and how well all of them together do (a shallow tree). A model that "does not use race"
  can still use a column that predicts race. The probe then measures the model's reliance on the
  sensitive inputs and, separately, on their proxies, by shuffling each set jointly.

The clock is checked between steps, between permutation repeats and between bootstrap resamples; what
was cut is recorded. Nothing here needs ART; scikit-learn is imported only when the probe runs.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskengine.model import ProbeResult
from riskengine.probes import ProbeContext, register
from riskengine.probes._common import (
    Budget,
    MetricSpec,
    Observation,
    Progress,
    TabularSpace,
    build_space,
    judged_details,
    model_query_skip,
    native,
    num,
    sample_rows,
    to01,
    validate_block,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from riskengine.intake import Evaluation

NAME = "explainability"
PREFIX = "EXPL"
#: The founding standard's item for algorithm and model security (explainability, fairness).
BASE_CLAUSE = "Shanghai AI standard system item 110"

#: The finding that says evidence is missing: its title and remediation, each (en, zh).
_INCOMPLETE = (
    ('Explainability evidence incomplete', '可解释性证据不完整'),
    ('Raise time_budget_s or provide more labelled evaluation data, and re-assess.',
     '提高 time_budget_s 或提供更多带标签的评估数据后重新评估。'),
)

DEFAULTS: dict[str, Any] = {
    "max_rows": 2000,
    "time_budget_s": 20.0,
    "seed": 0,
    "n_repeats": 5,
    "n_boot": 10,
    "top_k": 5,
    "surrogate_max_depth": 4,
    "proxy_min_strength": 0.5,
    "min_group_size": 30,
    "limits": [],
}
_NUMBERS: dict[str, dict[str, Any]] = {
    "max_rows": {"lo": 10, "integer": True},
    "time_budget_s": {"lo": 0, "lo_open": True},
    "seed": {"lo": 0, "integer": True},
    "n_repeats": {"lo": 1, "hi": 100, "integer": True},
    "n_boot": {"lo": 0, "hi": 1000, "integer": True},
    "top_k": {"lo": 1, "integer": True},
    "surrogate_max_depth": {"lo": 1, "hi": 12, "integer": True},
    "proxy_min_strength": {"lo": 0, "hi": 1},
    "min_group_size": {"lo": 1, "integer": True},
}

METRICS: dict[str, MetricSpec] = {
    "surrogate_fidelity": MetricSpec("min", ("Fidelity of the global surrogate", "全局代理模型的保真度")),
    "rank_stability": MetricSpec("min", ("Stability of the importance ranking (Kendall's tau)",
                                         "重要性排序的稳定性（Kendall tau）")),
    "top_k_stability": MetricSpec("min", ("Stability of the top features", "最重要特征的稳定性")),
    "sensitive_reliance": MetricSpec("max", ("Reliance on sensitive features", "对敏感特征的依赖")),
    "proxy_reliance": MetricSpec("max", ("Reliance on proxies of sensitive features", "对敏感特征代理变量的依赖")),
    "proxy_strength": MetricSpec("max", ("Strongest proxy of a sensitive feature among the inputs",
                                         "输入中敏感特征的最强代理变量")),
}

_REMEDIATION = {
    "surrogate_fidelity": (
        ("No simple model reproduces this model's decisions. Provide explanations another way (per-decision "
        "explanations validated for faithfulness, or an inherently interpretable model), and document how "
        "deployers can interpret the output (EU AI Act Art. 13)."),
        ("没有简单模型能够复现该模型的决策。请以其他方式提供解释（经忠实度验证的逐项决策解释，或本身可解释的模型），"
        "并说明部署者如何解读输出（欧盟《人工智能法》第13条）。"),
    ),
    "rank_stability": (
        ("Which features matter changes with the sample: collect more evaluation data, remove redundant or "
        "highly correlated inputs, and do not publish a feature ranking as the explanation until it is stable."),
        "哪些特征重要会随样本而变化：收集更多评估数据，去除冗余或高度相关的输入，在排序稳定之前不要将其作为解释发布。",
    ),
    "top_k_stability": (
        ("The most important features change with the sample: collect more evaluation data and reduce "
        "redundant inputs before presenting the top features as the explanation."),
        "最重要的特征随样本而变化：在将其作为解释呈现之前，收集更多评估数据并减少冗余输入。",
    ),
    "sensitive_reliance": (
        ("The model's decisions depend on sensitive features directly. Justify each use in the data "
        "governance record (EU AI Act Art. 10(2)(f)), or remove the feature and re-check the proxies."),
        ("模型决策直接依赖敏感特征。请在数据治理记录中说明每项使用的正当性（欧盟《人工智能法》第10条第2款(f)项），"
        "或移除该特征并重新检查代理变量。"),
    ),
    "proxy_reliance": (
        ("The model relies on inputs that stand in for a sensitive feature, so leaving that feature out "
        "does not keep it out of the decisions. Justify these inputs, or remove or decorrelate them, and "
        "check the fairness probe's results."),
        ("模型依赖可替代敏感特征的输入，因此剔除该特征并不能使其不影响决策。请说明这些输入的正当性，或移除、"
        "去相关处理，并核对公平性探测的结果。"),
    ),
    "proxy_strength": (
        ("An input predicts a sensitive feature almost perfectly: treat it as that feature for data "
        "governance and fairness purposes."),
        "某输入几乎可以完全预测敏感特征：在数据治理和公平性方面应将其视同该敏感特征。",
    ),
}


def validate_settings(settings: Mapping[str, Any] | None, where: str = "probes.explainability") -> dict[str, Any]:
    """Check a scenario's (or a declaration-tuned) explainability block and fill defaults."""
    return validate_block(settings, where, DEFAULTS, _NUMBERS, METRICS)


# ------------------------------------------------------------------------------ permutation scoring


def sklearn_shuffles(n: int, n_repeats: int, seed: int) -> list[np.ndarray]:
    """The row order of a shuffled column after each repeat, as scikit-learn's permutation_importance
    makes it: one seed drawn from RandomState(seed), the same for every column, and each repeat shuffles
    the index in place and re-indexes the already shuffled column."""
    import numpy as np

    random_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    rs = np.random.RandomState(random_seed)
    idx = np.arange(n)
    current = np.arange(n)
    out = []
    for _ in range(n_repeats):
        rs.shuffle(idx)
        current = current[idx]
        out.append(current.copy())
    return out


def _stacked(X: pd.DataFrame, blocks: list[tuple[list[str], np.ndarray]]) -> pd.DataFrame:
    """One frame of len(blocks) copies of X, block b with its columns re-ordered by its permutation."""
    import numpy as np
    import pandas as pd

    n = len(X)
    k = len(blocks)
    data = {}
    for c in X.columns:
        values = X[c].to_numpy()
        tiled = np.tile(values, k)
        for b, (cols, perm) in enumerate(blocks):
            if c in cols:
                tiled[b * n : (b + 1) * n] = values[perm]
        data[c] = tiled
    frame = pd.DataFrame(data)
    for c in X.columns:
        if frame[c].dtype != X[c].dtype:
            try:
                frame[c] = frame[c].astype(X[c].dtype)
            except (TypeError, ValueError):
                pass
    return frame


@dataclass
class Scorer:
    """Batched 0/1 decisions of the declared model."""

    ev: Evaluation
    positive: Any
    calls: int = 0
    rows: int = 0

    def __call__(self, X: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        self.rows += len(X)
        return to01(self.ev.predictor.predict(X), self.positive)


def permutation_scores(score: Scorer, X: pd.DataFrame, y_true: np.ndarray, y_model: np.ndarray,
                       sets: list[list[str]], shuffles: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy, share of changed decisions) for each column set under each shuffle: (repeats, sets).

    Each repeat is one model call over len(sets) stacked copies of X."""
    import numpy as np

    n = len(X)
    acc = np.zeros((len(shuffles), len(sets)))
    changed = np.zeros((len(shuffles), len(sets)))
    for r, perm in enumerate(shuffles):
        pred = score(_stacked(X, [(cols, perm) for cols in sets])).reshape(len(sets), n)
        acc[r] = (pred == y_true[None, :]).mean(axis=1)
        changed[r] = (pred != y_model[None, :]).mean(axis=1)
    return acc, changed


# ------------------------------------------------------------------------------------------ encoding


def encode(X: pd.DataFrame, space: TabularSpace, columns: list[str], max_levels: int = 30
           ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """A numeric matrix for trees: numbers as they are (gaps filled with the median), categories one-hot
    (the most frequent `max_levels` values). Each output column says which input and value it stands for."""
    import numpy as np

    blocks, meta = [], []
    info = {f.name: f for f in space.info}
    for c in columns:
        f = info[c]
        col = X[c]
        if f.kind in ("numeric", "constant") and f.levels == []:
            v = col.to_numpy(dtype=np.float64)
            if np.isnan(v).any():
                fill = np.nanmedian(v) if (~np.isnan(v)).any() else 0.0
                v = np.where(np.isnan(v), fill, v)
            blocks.append(v[:, None])
            meta.append({"feature": c, "value": None})
        else:
            values = col.astype(object).to_numpy()
            for level in f.levels[:max_levels]:
                blocks.append((values == level).astype(np.float64)[:, None])
                meta.append({"feature": c, "value": level})
    if not blocks:
        return np.zeros((len(X), 0)), []
    return np.hstack(blocks), meta


def surrogate_tree(X: pd.DataFrame, y_model: np.ndarray, space: TabularSpace, depth: int, seed: int
                   ) -> dict[str, Any]:
    """A depth-limited tree fitted on half the rows to mimic the model; fidelity on the other half."""
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    columns = list(space.features)
    M, meta = encode(X, space, columns)
    n = len(X)
    order = np.random.default_rng([seed, 7]).permutation(n)
    train, test = order[: n // 2], order[n // 2 :]
    tree = DecisionTreeClassifier(max_depth=depth, random_state=seed)
    tree.fit(M[train], y_model[train])
    fidelity = float((tree.predict(M[test]) == y_model[test]).mean()) if len(test) else float("nan")
    fidelity_train = float((tree.predict(M[train]) == y_model[train]).mean())
    weight: dict[str, float] = {}
    for j, w in enumerate(tree.feature_importances_):
        weight[meta[j]["feature"]] = weight.get(meta[j]["feature"], 0.0) + float(w)
    return {
        "max_depth": depth,
        "fidelity": num(fidelity),
        "fidelity_train": num(fidelity_train),
        "train_rows": len(train),
        "test_rows": len(test),
        "leaves": int(tree.get_n_leaves()),
        "features": sorted(({"name": k, "value": num(v)} for k, v in weight.items() if v > 0),
                           key=lambda d: -d["value"]),
        "rules": _tree_rules(tree, meta, len(train)),
    }


def _tree_rules(tree: Any, meta: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Each leaf as the conditions on the path to it and the decision it gives (data, not text)."""
    t = tree.tree_
    classes = [native(c) for c in tree.classes_]
    out: list[dict[str, Any]] = []

    def walk(node: int, conds: list[dict[str, Any]]) -> None:
        if t.children_left[node] == t.children_right[node]:  # a leaf
            counts = t.value[node][0]
            total = float(counts.sum()) or 1.0
            k = int(counts.argmax())
            out.append({"conditions": conds, "decision": classes[k], "share": num(t.n_node_samples[node] / n),
                        "purity": num(counts[k] / total)})
            return
        m = meta[t.feature[node]]
        thr = float(t.threshold[node])
        if m["value"] is None:
            left = {"feature": m["feature"], "op": "<=", "value": num(thr)}
            right = {"feature": m["feature"], "op": ">", "value": num(thr)}
        else:
            left = {"feature": m["feature"], "op": "!=", "value": native(m["value"])}
            right = {"feature": m["feature"], "op": "==", "value": native(m["value"])}
        walk(t.children_left[node], [*conds, left])
        walk(t.children_right[node], [*conds, right])

    walk(0, [])
    return sorted(out, key=lambda r: -(r["share"] or 0))


# ------------------------------------------------------------------------------------------ proxies


def _codes(col: pd.Series, numeric: bool, bins: int = 10) -> np.ndarray:
    """Integer codes of a column: its values, or its quantile bins when numeric; a gap is a code too."""
    import numpy as np
    import pandas as pd

    if numeric:
        v = col.to_numpy(dtype=np.float64)
        ok = ~np.isnan(v)
        edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, bins + 1)[1:-1])) if ok.any() else np.array([])
        codes = np.searchsorted(edges, v, side="right")
        codes[~ok] = len(edges) + 1
        return codes.astype(np.int64)
    codes, _ = pd.factorize(col.astype(object), use_na_sentinel=False)
    return codes.astype(np.int64)


def _balanced_accuracy(truth: np.ndarray, guess: np.ndarray, k: int) -> float:
    import numpy as np

    recalls = [float((guess[truth == g] == g).mean()) for g in range(k) if (truth == g).any()]
    return float(np.mean(recalls)) if recalls else float("nan")


def single_feature_proxy(codes: np.ndarray, target: np.ndarray, k: int, folds: np.ndarray) -> float:
    """Cross-fitted balanced accuracy of guessing the sensitive group from one column's value alone.

    On each training fold, every value of the column guesses the group it is most typical of (largest
    share of that group's rows, which is what maximises balanced accuracy); the guesses are scored on
    the other fold, so a column with many rare values cannot look predictive by memorising them."""
    import numpy as np

    scores = []
    n_codes = int(codes.max()) + 1 if len(codes) else 1
    for f in (0, 1):
        tr, te = folds != f, folds == f
        table = np.zeros((n_codes, k))
        np.add.at(table, (codes[tr], target[tr]), 1.0)
        sizes = table.sum(axis=0)
        share = np.divide(table, sizes, out=np.zeros_like(table), where=sizes > 0)
        guess_for = share.argmax(axis=1)
        unseen = table.sum(axis=1) == 0
        guess_for[unseen] = int(sizes.argmax())
        scores.append(_balanced_accuracy(target[te], guess_for[codes[te]], k))
    return float(np.nanmean(scores))


def strength(bacc: float, k: int) -> float:
    """Balanced accuracy rescaled: 0 at chance (1/k), 1 when every row's group is guessed right."""
    return max(0.0, (bacc - 1.0 / k) / (1.0 - 1.0 / k)) if k > 1 else 0.0


def find_proxies(X: pd.DataFrame, sensitive: pd.DataFrame, space: TabularSpace, *, min_group_size: int,
                 threshold: float, seed: int) -> list[dict[str, Any]]:
    """For each sensitive feature: every non-sensitive input's proxy strength, the combined strength of
    all of them (a depth-4 tree), and the inputs at or above `threshold`."""
    import numpy as np
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    info = {f.name: f for f in space.info}
    candidates = [c for c in space.features if not info[c].sensitive and info[c].kind != "constant"]
    out = []
    for s_col in sensitive.columns:
        codes, levels = pd.factorize(sensitive[s_col], sort=True)
        counts = np.bincount(codes, minlength=len(levels))
        keep_groups = np.flatnonzero(counts >= min_group_size)
        entry: dict[str, Any] = {"sensitive": str(s_col), "groups": [native(levels[g]) for g in keep_groups]}
        if len(keep_groups) < 2:
            entry.update(status="insufficient",
                         reason=f"fewer than two groups with at least {min_group_size} sampled rows",
                         candidates=[], proxies=[])
            out.append(entry)
            continue
        rows = np.isin(codes, keep_groups)
        remap = {int(g): j for j, g in enumerate(keep_groups)}
        target = np.array([remap[int(c)] for c in codes[rows]], dtype=np.int64)
        k = len(keep_groups)
        folds = np.random.default_rng([seed, 11]).permutation(np.arange(int(rows.sum())) % 2)
        cands = []
        for c in candidates:
            col = X.loc[rows, c]
            bacc = single_feature_proxy(_codes(col, info[c].kind == "numeric"), target, k, folds)
            cands.append({"name": c, "balanced_accuracy": num(bacc), "strength": num(strength(bacc, k))})
        cands.sort(key=lambda d: -(d["strength"] or 0))
        combined = None
        if candidates:
            M, _ = encode(X.loc[rows].reset_index(drop=True), space, candidates)
            guesses = np.zeros(len(target), dtype=np.int64)
            for f in (0, 1):
                tr, te = folds != f, folds == f
                tree = DecisionTreeClassifier(max_depth=4, class_weight="balanced", random_state=seed)
                tree.fit(M[tr], target[tr])
                guesses[te] = tree.predict(M[te])
            combined = _balanced_accuracy(target, guesses, k)
        entry.update(
            status="ok",
            chance=num(1.0 / k),
            candidates=cands,
            combined={"balanced_accuracy": num(combined), "strength": num(strength(combined, k))}
            if combined is not None else None,
            proxies=[d["name"] for d in cands if (d["strength"] or 0) >= threshold],
            rows=int(rows.sum()),
        )
        out.append(entry)
    return out


# -------------------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    details: dict[str, Any]
    observed: dict[str, Observation]
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step (benchmark only; kept out of assessment.json so reruns are identical)."""


def measure(ev: Evaluation, positive: Any, settings: Mapping[str, Any], *, progress: bool | None = None) -> Measured:
    """Every explainability measurement within the time budget; no judging, no formatting."""
    import numpy as np
    from scipy.stats import kendalltau

    s = settings
    budget = Budget(float(s["time_budget_s"]))
    timings: dict[str, float] = {}
    seed = int(s["seed"])
    sens_cols = [str(c) for c in ev.sensitive.columns]
    space = build_space(ev.X, sens_cols)
    idx = sample_rows(len(ev.X), int(s["max_rows"]), seed)
    X = ev.X.iloc[idx].reset_index(drop=True)
    y_true = np.asarray(ev.y_true)[idx].astype(np.int8)
    y_model = np.asarray(ev.y_pred)[idx].astype(np.int8)
    sensitive = ev.sensitive.iloc[idx].reset_index(drop=True)
    features = list(space.features)
    score = Scorer(ev, positive)
    details: dict[str, Any] = {"sample": {"rows": len(X), "of": len(ev.X), "seed": seed},
                               "baseline_accuracy": num((y_true == y_model).mean())}
    observed: dict[str, Observation] = {}

    # ---- permutation importance (scikit-learn's shuffles; one model call per repeat)
    t0 = time.perf_counter()
    shuffles = sklearn_shuffles(len(X), int(s["n_repeats"]), seed)
    acc_rows, chg_rows = [], []
    for r, perm in enumerate(shuffles):
        if r > 0 and not budget.allows():
            budget.record_cut("permutation_importance", "time budget spent", planned=len(shuffles), done=r)
            break
        a, c = permutation_scores(score, X, y_true, y_model, [[f] for f in features], [perm])
        acc_rows.append(a[0])
        chg_rows.append(c[0])
    acc = np.vstack(acc_rows)
    chg = np.vstack(chg_rows)
    base_acc = float((y_true == y_model).mean())
    imp = base_acc - acc
    imp_mean = imp.mean(axis=0)
    order = np.argsort(-imp_mean, kind="stable")
    ranks = np.empty(len(features), dtype=np.int64)
    ranks[order] = np.arange(1, len(features) + 1)
    info = {f.name: f for f in space.info}
    importance = [
        {"feature": features[j], "importance": num(imp_mean[j]), "std": num(imp[:, j].std()),
         "reliance": num(chg[:, j].mean()), "rank": int(ranks[j]), "sensitive": info[features[j]].sensitive}
        for j in order
    ]
    details["importance"] = importance
    details["importance_method"] = {"kind": "permutation", "n_repeats": len(acc_rows), "scoring": "accuracy",
                                    "reliance": "share of the model's decisions that change"}
    timings["permutation_importance"] = time.perf_counter() - t0

    # ---- global surrogate
    t0 = time.perf_counter()
    if budget.allows():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sur = surrogate_tree(X, y_model, space, int(s["surrogate_max_depth"]), seed)
        details["surrogate"] = sur
        observed["surrogate_fidelity"] = Observation(
            sur["fidelity"],
            {"max_depth": sur["max_depth"], "test_rows": sur["test_rows"], "leaves": sur["leaves"]},
            ((f"A decision tree of depth {sur['max_depth']} ({sur['leaves']} leaves) agrees with the model on "
             f"{sur['fidelity']:.1%} of {sur['test_rows']} held-out rows."),
             (f"深度为 {sur['max_depth']} 的决策树（{sur['leaves']} 个叶节点）在 {sur['test_rows']} 个留出样本上与模型"
             f"一致的比例为 {sur['fidelity']:.1%}。")),
        )
    else:
        budget.record_cut("surrogate", "time budget spent")
        observed["surrogate_fidelity"] = Observation(None, reason="time budget spent")
    timings["surrogate"] = time.perf_counter() - t0

    # ---- proxies and reliance on sensitive features and proxies
    t0 = time.perf_counter()
    proxies: list[dict[str, Any]] = []
    if sens_cols and budget.allows():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proxies = find_proxies(X, sensitive, space, min_group_size=int(s["min_group_size"]),
                                   threshold=float(s["proxy_min_strength"]), seed=seed)
    elif sens_cols:
        budget.record_cut("proxies", "time budget spent")
    details["proxies"] = proxies
    proxy_set = sorted({p for e in proxies for p in e.get("proxies", [])}, key=features.index)
    direct = [c for c in features if info[c].sensitive]
    reliance: dict[str, Any] = {"sensitive_inputs": direct, "proxy_inputs": proxy_set}
    joint_sets = [cols for cols in (direct, proxy_set) if cols]
    joint: dict[str, float] = {}
    if joint_sets and budget.allows():
        _, c = permutation_scores(score, X, y_true, y_model, joint_sets, shuffles[: len(acc_rows)])
        for cols, v in zip(joint_sets, c.mean(axis=0)):
            joint["sensitive" if cols is direct else "proxy"] = float(v)
    elif joint_sets:
        budget.record_cut("reliance", "time budget spent")
    reliance["sensitive_reliance"] = num(joint.get("sensitive", 0.0)) if direct else 0.0
    reliance["proxy_reliance"] = num(joint.get("proxy", 0.0)) if proxy_set else 0.0
    details["reliance"] = reliance
    timings["proxies"] = time.perf_counter() - t0
    if not sens_cols:
        for m in ("sensitive_reliance", "proxy_reliance", "proxy_strength"):
            observed[m] = Observation(None, reason="no sensitive feature declared")
    else:
        observed.update(_reliance_observations(proxies, importance, direct, proxy_set, joint, sens_cols))

    # ---- stability of the ranking over bootstrap resamples (one model call each)
    t0 = time.perf_counter()
    n_boot = int(s["n_boot"]) if len(features) >= 2 else 0  # one input has one possible ranking
    k = min(int(s["top_k"]), max(1, len(features) // 2))
    top_full = set(order[:k].tolist())
    taus, overlaps = [], []
    bar = Progress("explainability", n_boot, enabled=progress)
    for b in range(n_boot):
        if not budget.allows():
            budget.record_cut("stability", "time budget spent", planned=n_boot, done=b)
            break
        rng = np.random.default_rng([seed, 1000 + b])
        rows = rng.integers(0, len(X), size=len(X))
        Xb = X.iloc[rows].reset_index(drop=True)
        perm = rng.permutation(len(X))
        a, _ = permutation_scores(score, Xb, y_true[rows], y_model[rows], [[f] for f in features], [perm])
        imp_b = float((y_true[rows] == y_model[rows]).mean()) - a[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tau = kendalltau(imp_mean, imp_b).statistic
        taus.append(0.0 if math.isnan(tau) else float(tau))  # no variation at all: no agreement shown
        top_b = set(np.argsort(-imp_b, kind="stable")[:k].tolist())
        overlaps.append(len(top_full & top_b) / k)
        bar.update(b + 1)
    bar.close()
    timings["stability"] = time.perf_counter() - t0
    details["stability"] = {
        "n_boot": n_boot, "done": len(taus), "top_k": k,
        "kendall_tau_mean": num(np.mean(taus)) if taus else None,
        "kendall_tau_min": num(np.min(taus)) if taus else None,
        "top_k_overlap_mean": num(np.mean(overlaps)) if overlaps else None,
        "top_k_overlap_min": num(np.min(overlaps)) if overlaps else None,
        "replicates": [{"name": f"b{b}", "kendall_tau": num(t), "top_k_overlap": num(o)}
                       for b, (t, o) in enumerate(zip(taus, overlaps))],
        "method": "rows resampled with replacement, one permutation each; Kendall's tau-b against the "
                  "full sample's importances, and the share of the full sample's top-k features kept",
    }
    if taus:
        observed["rank_stability"] = Observation(
            num(np.mean(taus)), {"n_boot": len(taus), "min": num(np.min(taus))},
            (f"Mean over {len(taus)} bootstrap resamples (lowest {np.min(taus):.2f}).",
             f"{len(taus)} 次自助重抽样的平均值（最低 {np.min(taus):.2f}）。"),
        )
        observed["top_k_stability"] = Observation(
            num(np.mean(overlaps)), {"n_boot": len(taus), "top_k": k, "min": num(np.min(overlaps))},
            ((f"On average {np.mean(overlaps):.0%} of the top {k} features stay in the top {k} across "
             f"{len(taus)} bootstrap resamples."),
             f"在 {len(taus)} 次自助重抽样中，前 {k} 个特征平均有 {np.mean(overlaps):.0%} 保持在前 {k} 位。"),
        )
    else:
        reason = ("the model has a single input" if len(features) < 2 else "n_boot is 0" if n_boot == 0
                  else "time budget spent")
        observed["rank_stability"] = Observation(None, reason=reason)
        observed["top_k_stability"] = Observation(None, reason=reason)

    details["model_calls"] = {"calls": score.calls, "rows_scored": score.rows}
    details["budget"] = budget.summary()
    return Measured(details=details, observed=observed, timings=timings)


def _reliance_observations(proxies: list[dict[str, Any]], importance: list[dict[str, Any]], direct: list[str],
                           proxy_set: list[str], joint: dict[str, float], sens_cols: list[str]
                           ) -> dict[str, Observation]:
    rel = {d["feature"]: d for d in importance}
    out: dict[str, Observation] = {}
    if direct and "sensitive" not in joint:
        out["sensitive_reliance"] = Observation(None, reason="time budget spent")
    else:
        v = joint.get("sensitive", 0.0)
        names = ", ".join(direct)
        out["sensitive_reliance"] = Observation(
            num(v),
            {"sensitive_inputs": direct, "per_feature": [{"name": c, "value": rel[c]["reliance"]} for c in direct]},
            (f"Shuffling the sensitive inputs ({names}) together changes {v:.1%} of the model's decisions."
             if direct else "No sensitive feature is a model input.",
             f"同时打乱敏感输入（{names}）会改变模型 {v:.1%} 的决策。" if direct else "敏感特征均不是模型输入。"),
        )
    ok = [e for e in proxies if e.get("status") == "ok"]
    if not ok:
        reason = proxies[0]["reason"] if proxies else "proxies were not measured within the time budget"
        out["proxy_reliance"] = Observation(None, reason=reason)
        out["proxy_strength"] = Observation(None, reason=reason)
        return out
    listed = []
    for e in ok:
        for d in e["candidates"]:
            if d["name"] in e["proxies"]:
                listed.append({"feature": d["name"], "sensitive": e["sensitive"], "strength": d["strength"],
                               "balanced_accuracy": d["balanced_accuracy"], "reliance": rel[d["name"]]["reliance"],
                               "rank": rel[d["name"]]["rank"]})
    if proxy_set and "proxy" not in joint:
        out["proxy_reliance"] = Observation(None, reason="time budget spent")
    else:
        v = joint.get("proxy", 0.0)
        text_en = "; ".join(f"{p['feature']} predicts {p['sensitive']} (balanced accuracy "
                            f"{p['balanced_accuracy']:.2f})" for p in listed)
        text_zh = "；".join(f"{p['feature']} 可预测 {p['sensitive']}（平衡准确率 {p['balanced_accuracy']:.2f}）"
                           for p in listed)
        out["proxy_reliance"] = Observation(
            num(v), {"proxies": listed, "sensitive_features": sens_cols},
            (f"{text_en}. Shuffling these inputs together changes {v:.1%} of the model's decisions." if listed
             else "No input is a strong proxy of a sensitive feature.",
             f"{text_zh}。同时打乱这些输入会改变模型 {v:.1%} 的决策。" if listed else "没有输入是敏感特征的强代理变量。"),
        )
    best = max(((d, e["sensitive"]) for e in ok for d in e["candidates"]), key=lambda t: t[0]["strength"] or 0,
               default=None)
    if best is None:
        out["proxy_strength"] = Observation(0.0, {}, ("The model has no non-sensitive input.", "模型没有非敏感输入。"))
    else:
        d, sname = best
        out["proxy_strength"] = Observation(
            d["strength"], {"feature": d["name"], "sensitive": sname, "balanced_accuracy": d["balanced_accuracy"]},
            (f"{d['name']} alone predicts {sname} with balanced accuracy {d['balanced_accuracy']:.2f}.",
             f"仅凭 {d['name']} 即可以 {d['balanced_accuracy']:.2f} 的平衡准确率预测 {sname}。"),
        )
    return out


# --------------------------------------------------------------------------------------- the probe


def assess_explainability(ev: Evaluation, positive: Any, *, settings: Mapping[str, Any] | None, tier: str,
                          lang: str = "en", where: str = "probes.explainability",
                          progress: bool | None = None) -> tuple[ProbeResult, Measured]:
    """Measure and judge; returns the result and the raw measurement (with timings, for the benchmark)."""
    s = validate_settings(settings, where=where)
    m = measure(ev, positive, s, progress=progress)
    details, findings = judged_details(
        m.observed, m.details, s, prefix=PREFIX, category=NAME, metrics=METRICS, tier=tier, lang=lang,
        base_clause=BASE_CLAUSE, remediation=_REMEDIATION, incomplete=_INCOMPLETE)
    metrics = {k: o.value for k, o in m.observed.items()}
    metrics["baseline_accuracy"] = details["baseline_accuracy"]
    return ProbeResult(name=NAME, status="ok", metrics=metrics, details=details, findings=tuple(findings)), m


@register(NAME, validate=validate_settings)
def explainability_probe(ctx: ProbeContext) -> ProbeResult:
    """Explainability of the declared model on the declared data, judged against the scenario's limits."""
    skipped = model_query_skip(ctx, NAME, 'importance, surrogate fidelity and reliance need the model itself')
    if skipped is not None:
        return skipped
    assert ctx.decl.model is not None and ctx.decl.data is not None
    where = f"probes.{ctx.tier}.{NAME}"
    validate_settings(ctx.settings, where=where)
    ev = ctx.evaluation()
    from riskengine.intake import _norm_label

    result, _ = assess_explainability(ev, _norm_label(ctx.decl.data.positive_label), settings=ctx.settings,
                                      tier=ctx.tier, lang=ctx.lang, where=where)
    result.details["model_kind"] = ev.predictor.kind
    result.details["inputs"] = dict(ev.inputs)
    return result
