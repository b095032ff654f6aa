"""Fairness probe: every number is checked against hand-counted confusion matrices and against fairlearn
called directly (MetricFrame on the rows, MetricFrame on the weighted cells, and the named metrics)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_negative_rate_difference,
    false_positive_rate,
    false_positive_rate_difference,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from riskengine.errors import RulePackError
from riskengine.model import Declaration, DeclaredData, DeclaredModel
from riskengine.probes import registered, run_probes
from riskengine.probes.fairness import (
    METRICS,
    SHANGHAI_CLAUSE,
    assess_fairness,
    bootstrap_counts,
    build_views,
    collapse,
    group_counts,
    measure,
    rates_from_counts,
    validate_settings,
)

REPO = Path(__file__).resolve().parents[1]
RATES = ("selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy")

# Confusion counts per (sex, age) cell: (tp, fp, tn, fn). Every expected number below is counted by hand
# from this table, not computed by the code under test.
CELLS = {
    ("F", "young"): (10, 4, 14, 6),
    ("F", "old"): (15, 5, 12, 8),
    ("M", "young"): (20, 9, 8, 3),
    ("M", "old"): (18, 6, 10, 2),
}

HAND = {  # group -> (selection_rate, tpr, fpr, fnr, precision, accuracy, n)
    (("sex", "F"),): (34 / 74, 25 / 39, 9 / 35, 14 / 39, 25 / 34, 51 / 74, 74),
    (("sex", "M"),): (53 / 76, 38 / 43, 15 / 33, 5 / 43, 38 / 53, 56 / 76, 76),
    (("age", "old"),): (44 / 76, 33 / 43, 11 / 33, 10 / 43, 33 / 44, 55 / 76, 76),
    (("age", "young"),): (43 / 74, 30 / 39, 13 / 35, 9 / 39, 30 / 43, 52 / 74, 74),
    (("sex", "F"), ("age", "old")): (20 / 40, 15 / 23, 5 / 17, 8 / 23, 15 / 20, 27 / 40, 40),
    (("sex", "F"), ("age", "young")): (14 / 34, 10 / 16, 4 / 18, 6 / 16, 10 / 14, 24 / 34, 34),
    (("sex", "M"), ("age", "old")): (24 / 36, 18 / 20, 6 / 16, 2 / 20, 18 / 24, 28 / 36, 36),
    (("sex", "M"), ("age", "young")): (29 / 40, 20 / 23, 9 / 17, 3 / 23, 20 / 29, 28 / 40, 40),
}


def rows_from_cells(cells: dict, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Expand confusion counts into shuffled rows (y_true, y_pred, sensitive frame)."""
    yt, yp, sex, age = [], [], [], []
    for (s, a), (tp, fp, tn, fn) in cells.items():
        for t, p, k in ((1, 1, tp), (0, 1, fp), (0, 0, tn), (1, 0, fn)):
            yt += [t] * k
            yp += [p] * k
            sex += [s] * k
            age += [a] * k
    order = np.random.default_rng(seed).permutation(len(yt))
    sf = pd.DataFrame({"sex": np.array(sex)[order], "age": np.array(age)[order]})
    return np.array(yt)[order], np.array(yp)[order], sf


FL_METRICS = {
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
    "fnr": false_negative_rate,
    "precision": precision_score,
    "accuracy": accuracy_score,
}


def by_key(result_rows: list[dict]) -> dict:
    return {tuple(r["group"].items()): r for r in result_rows}


@pytest.fixture(scope="module")
def small():
    yt, yp, sf = rows_from_cells(CELLS)
    return yt, yp, sf, measure(yt, yp, sf, n_boot=0)


def test_group_rates_equal_hand_counts(small):
    *_, m = small
    rows = by_key(m["by_group"])
    assert set(rows) == set(HAND)
    for key, (sr, tpr, fpr, fnr, prec, acc, n) in HAND.items():
        row = rows[key]
        assert row["n"] == n
        for name, want in zip(RATES, (sr, tpr, fpr, fnr, prec, acc)):
            assert row[name] == pytest.approx(want, abs=1e-12), (key, name)
    f_young = rows[(("sex", "F"), ("age", "young"))]["counts"]
    assert f_young == {"tp": 10, "fp": 4, "tn": 14, "fn": 6}
    assert m["overall"]["n"] == 150
    assert m["overall"]["selection_rate"] == pytest.approx(87 / 150)


@pytest.mark.parametrize("features", [["sex"], ["age"], ["sex", "age"]])
def test_group_rates_equal_metricframe_on_rows(small, features):
    yt, yp, sf, m = small
    mf = MetricFrame(metrics=FL_METRICS, y_true=yt, y_pred=yp, sensitive_features=sf[features])
    key = "+".join(features)
    ours = {tuple(r["group"].values()): r for r in m["by_group"] if r["view"] == key}
    for idx, expected in mf.by_group.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        for name in RATES:
            assert ours[idx][name] == pytest.approx(float(expected[name]), abs=1e-12), (idx, name)


def test_weighted_fast_path_matches_metricframe(small):
    """The collapsed cells, passed to MetricFrame as sample weights, give fairlearn's own numbers."""
    yt, yp, sf, m = small
    cells = collapse(yt, yp, sf)
    assert len(cells.weight) == 16 and cells.weight.sum() == 150
    agg = pd.DataFrame(
        {
            "sex": cells.levels[0][cells.codes[0]],
            "age": cells.levels[1][cells.codes[1]],
            "y_true": cells.y_true,
            "y_pred": cells.y_pred,
        }
    )
    mf = MetricFrame(
        metrics=FL_METRICS,
        y_true=agg.y_true,
        y_pred=agg.y_pred,
        sensitive_features=agg[["sex", "age"]],
        sample_params={k: {"sample_weight": cells.weight} for k in FL_METRICS},
    )
    ours = {tuple(r["group"].values()): r for r in m["by_group"] if r["view"] == "sex+age"}
    for idx, expected in mf.by_group.iterrows():
        for name in RATES:
            assert ours[idx][name] == pytest.approx(float(expected[name]), abs=1e-12)


@pytest.mark.parametrize("features", [["sex"], ["age"], ["sex", "age"]])
def test_disparity_metrics_equal_fairlearn_functions(small, features):
    yt, yp, sf, m = small
    got = m["metrics"]["+".join(features)]
    s = sf[features]
    expected = {
        "demographic_parity_difference": demographic_parity_difference(yt, yp, sensitive_features=s),
        "demographic_parity_ratio": demographic_parity_ratio(yt, yp, sensitive_features=s),
        "equalized_odds_difference": equalized_odds_difference(yt, yp, sensitive_features=s),
        "equalized_odds_ratio": equalized_odds_ratio(yt, yp, sensitive_features=s),
        "equal_opportunity_difference": equal_opportunity_difference(yt, yp, sensitive_features=s),
        "equal_opportunity_ratio": equal_opportunity_ratio(yt, yp, sensitive_features=s),
        "fpr_difference": false_positive_rate_difference(yt, yp, sensitive_features=s),
        "fnr_difference": false_negative_rate_difference(yt, yp, sensitive_features=s),
        "accuracy_difference": MetricFrame(
            metrics=accuracy_score, y_true=yt, y_pred=yp, sensitive_features=s
        ).difference(),
    }
    assert set(expected) == set(METRICS)
    for name, want in expected.items():
        assert got[name] == pytest.approx(float(want), abs=1e-12), name


def test_disparity_metrics_equal_hand_counts(small):
    *_, m = small
    sex = m["metrics"]["sex"]
    assert sex["demographic_parity_difference"] == pytest.approx(53 / 76 - 34 / 74)
    assert sex["demographic_parity_ratio"] == pytest.approx((34 / 74) / (53 / 76))
    assert sex["equalized_odds_difference"] == pytest.approx(max(38 / 43 - 25 / 39, 15 / 33 - 9 / 35))
    assert sex["equalized_odds_ratio"] == pytest.approx(min((25 / 39) / (38 / 43), (9 / 35) / (15 / 33)))
    inter = m["metrics"]["sex+age"]
    assert inter["demographic_parity_difference"] == pytest.approx(29 / 40 - 14 / 34)
    assert inter["fnr_difference"] == pytest.approx(6 / 16 - 2 / 20)


def test_each_bootstrap_replicate_equals_metricframe_on_its_counts(small):
    """A replicate is a vector of cell counts; our rates from it equal MetricFrame weighted by it."""
    yt, yp, sf, _ = small
    cells = collapse(yt, yp, sf)
    view = build_views(cells)[2]
    draws = next(bootstrap_counts(cells.weight, 5, seed=11))
    assert draws.shape == (5, len(cells.weight)) and (draws.sum(axis=1) == 150).all()
    rates = rates_from_counts(**group_counts(draws, cells, view))
    agg = pd.DataFrame(
        {
            "sex": cells.levels[0][cells.codes[0]],
            "age": cells.levels[1][cells.codes[1]],
            "y_true": cells.y_true,
            "y_pred": cells.y_pred,
        }
    )
    for b in range(5):
        w = draws[b]
        keep = w > 0
        mf = MetricFrame(
            metrics=FL_METRICS,
            y_true=agg.y_true[keep],
            y_pred=agg.y_pred[keep],
            sensitive_features=agg.loc[keep, ["sex", "age"]],
            sample_params={k: {"sample_weight": w[keep]} for k in FL_METRICS},
        )
        for g, group in enumerate(view.groups):
            expected = mf.by_group.loc[(group["sex"], group["age"])]
            for name in ("selection_rate", "accuracy"):
                assert rates[name][b, g] == pytest.approx(float(expected[name]), abs=1e-12)


def test_multinomial_intervals_agree_with_metricframe_bootstrap():
    """Same bootstrap, different random numbers: the interval ends agree within Monte Carlo error."""
    rng = np.random.default_rng(1)
    n = 400
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n, p=[0.4, 0.6])})
    yt = rng.integers(0, 2, n)
    yp = (rng.random(n) < 0.35 + 0.15 * (sf.sex == "M")).astype(int)
    mf = MetricFrame(
        metrics={"selection_rate": selection_rate},
        y_true=yt,
        y_pred=yp,
        sensitive_features=sf,
        n_boot=300,
        ci_quantiles=[0.025, 0.975],
        random_state=7,
    )
    ours = measure(yt, yp, sf, n_boot=20000, seed=3)
    lo, hi = mf.by_group_ci
    groups = {r["group"]["sex"]: r for r in ours["intervals"]["by_group"]}
    for g in ("F", "M"):
        assert groups[g]["selection_rate"][0] == pytest.approx(float(lo["selection_rate"][g]), abs=0.025)
        assert groups[g]["selection_rate"][1] == pytest.approx(float(hi["selection_rate"][g]), abs=0.025)
    dlo, dhi = (float(x["selection_rate"]) for x in mf.difference_ci())
    ours_d = ours["intervals"]["metrics"]["sex"]["demographic_parity_difference"]
    assert ours_d[0] == pytest.approx(dlo, abs=0.025) and ours_d[1] == pytest.approx(dhi, abs=0.025)


def test_bootstrap_is_seeded():
    yt, yp, sf = rows_from_cells(CELLS)
    a = measure(yt, yp, sf, n_boot=200, seed=5)["intervals"]
    b = measure(yt, yp, sf, n_boot=200, seed=5)["intervals"]
    c = measure(yt, yp, sf, n_boot=200, seed=6)["intervals"]
    assert a == b and a != c


LIMITS = {
    "min_group_size": 30,
    "confidence_level": 0.95,
    "limits": [
        {
            "metric": "demographic_parity_ratio",
            "min": 0.8,
            "rationale": {"en": "four fifths", "zh": "五分之四"},
            "clauses": ["EU AI Act Art. 10(2)(f)"],
        },
        {"metric": "equalized_odds_difference", "max": 0.1, "clauses": []},
    ],
}


def biased_and_fair(n: int = 4000, seed: int = 0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    x = rng.normal(size=n)
    y_true = (x + rng.normal(scale=0.3, size=n) > 0).astype(int)
    return x, sex, y_true


def test_protected_attribute_model_breaches_and_fair_model_passes():
    x, sex, y_true = biased_and_fair()
    sf = pd.DataFrame({"sex": sex})
    biased = ((x > 0.5) | (sex == "M")).astype(int)  # predicts from the protected attribute
    fair = (x > 0).astype(int)
    bad = assess_fairness(y_true, biased, sf, settings=LIMITS, tier="high")
    good = assess_fairness(y_true, fair, sf, settings=LIMITS, tier="high")
    assert {s["status"] for s in good.details["limits"]} == {"pass"}
    assert good.findings == ()
    breaches = [f for f in bad.findings if f.evidence.get("status") == "breach"]
    dpr = next(f for f in breaches if f.rule_id == "FAIR-DEMOGRAPHIC-PARITY-RATIO")
    assert dpr.severity == "high" and dpr.category == "fairness" and dpr.confidence == "high"
    assert SHANGHAI_CLAUSE in dpr.clauses and "EU AI Act Art. 10(2)(f)" in dpr.clauses
    assert dpr.evidence["worst_group"] == {"sex": "F"} and dpr.evidence["best_group"] == {"sex": "M"}
    assert dpr.evidence["limit"] == 0.8 and dpr.evidence["observed"] < 0.8
    lo, hi = dpr.evidence["interval"]
    assert lo <= dpr.evidence["observed"] <= hi
    assert (
        f"{dpr.evidence['observed']:.3f}" in dpr.message and "0.800" in dpr.message and "sex=F" in dpr.message
    )
    assert dpr.rationale == "four fifths"
    # the same breach below the high tier is medium
    low = assess_fairness(y_true, biased, sf, settings=LIMITS, tier="limited")
    assert {f.severity for f in low.findings if f.evidence.get("status") == "breach"} == {"medium"}


def test_unfavourable_positive_label_flips_the_worst_group():
    x, sex, y_true = biased_and_fair()
    sf = pd.DataFrame({"sex": sex})
    flagged = ((x > 0.5) | (sex == "M")).astype(int)  # e.g. 1 = flagged as high risk
    r = assess_fairness(y_true, flagged, sf, settings=LIMITS, tier="high", positive_is_favorable=False)
    dpr = next(s for s in r.details["limits"] if s["metric"] == "demographic_parity_ratio")
    assert dpr["worst_group"] == {"sex": "M"}


def test_tiny_group_is_insufficient_evidence_not_a_pass():
    cells = dict(CELLS)
    cells[("X", "young")] = (2, 1, 1, 1)  # 5 rows
    yt, yp, sf = rows_from_cells(cells)
    r = assess_fairness(yt, yp, sf, settings=LIMITS, tier="high")
    d = r.to_dict()
    tiny = [g for g in d["insufficient_groups"] if g["group"] == {"sex": "X"}]
    assert tiny == [{"view": "sex", "group": {"sex": "X"}, "n": 5}]
    row = next(g for g in d["by_group"] if g["group"] == {"sex": "X"})
    assert row["sufficient"] is False and row["n"] == 5
    # the comparison over sex leaves X out: it equals fairlearn on the rows without X
    keep = sf.sex != "X"
    want = demographic_parity_ratio(yt[keep], yp[keep], sensitive_features=sf.sex[keep])
    assert d["metrics"]["sex"]["demographic_parity_ratio"] == pytest.approx(want, abs=1e-12)
    assert all(s["worst_group"] != {"sex": "X"} and s["best_group"] != {"sex": "X"} for s in d["limits"])
    note = next(f for f in r.findings if f.rule_id == "FAIR-INSUFFICIENT-EVIDENCE")
    assert note.severity == "low" and "sex=X (n=5)" in note.message
    assert {"view": "sex", "group": {"sex": "X"}, "n": 5} in note.evidence["groups"]
    info = assess_fairness(yt, yp, sf, settings=LIMITS, tier="minimal")
    assert next(f for f in info.findings if f.rule_id == "FAIR-INSUFFICIENT-EVIDENCE").severity == "info"


def test_a_view_with_one_sufficient_group_cannot_pass():
    yt, yp, sf = rows_from_cells({("F", "young"): (10, 4, 14, 6), ("M", "young"): (2, 1, 1, 1)})
    r = assess_fairness(yt, yp, sf, settings=LIMITS, tier="high")
    statuses = {(s["metric"], s["view"]): s["status"] for s in r.details["limits"]}
    assert statuses[("demographic_parity_ratio", "sex")] == "insufficient"
    assert "pass" not in statuses.values()
    note = next(f for f in r.findings if f.rule_id == "FAIR-INSUFFICIENT-EVIDENCE")
    assert {"metric": "demographic_parity_ratio", "view": "sex"} in note.evidence["limits"]


def test_point_estimate_passing_inside_a_wide_interval_is_uncertain():
    # 60 rows per group; selection rates 30/60 and 26/60: ratio 0.867 passes 0.8, the interval does not
    yt, yp, sf = rows_from_cells({("F", "a"): (13, 13, 17, 17), ("M", "a"): (15, 15, 15, 15)})
    limits = {"limits": [{"metric": "demographic_parity_ratio", "min": 0.8}]}
    r = assess_fairness(yt, yp, sf[["sex"]], settings=limits, tier="high")
    (status,) = r.details["limits"]
    assert status["observed"] == pytest.approx(26 / 30)
    assert status["status"] == "uncertain" and status["interval"][0] < 0.8
    (finding,) = r.findings
    assert finding.severity == "medium" and finding.confidence == "low"
    assert finding.rule_id == "FAIR-DEMOGRAPHIC-PARITY-RATIO"
    # without a bootstrap there is no interval, so the point estimate decides
    plain = assess_fairness(yt, yp, sf[["sex"]], settings={**limits, "n_boot": 0}, tier="high")
    assert plain.details["limits"][0]["status"] == "pass"


def test_result_is_strict_json_and_has_the_documented_keys(small):
    yt, yp, sf, _ = small
    d = assess_fairness(yt, yp, sf, settings=LIMITS, tier="high").to_dict()
    json.dumps(d, allow_nan=False)
    for key in ("status", "by_group", "intervals", "limits", "insufficient_groups", "metrics", "overall"):
        assert key in d
    row = d["by_group"][0]
    assert set(RATES) | {"group", "n"} <= set(row)
    assert {"metric", "status", "observed", "limit", "interval", "worst_group", "best_group"} <= set(
        d["limits"][0]
    )
    assert d["intervals"]["confidence_level"] == 0.95 and d["intervals"]["n_boot"] == 1000


def test_zero_denominator_is_undefined_not_zero():
    # group B has no positives: its TPR is undefined (fairlearn/sklearn would report 0)
    yt = np.array([1, 0, 1, 0, 0, 0])
    yp = np.array([1, 0, 0, 1, 0, 1])
    sf = pd.DataFrame({"g": ["A", "A", "A", "B", "B", "B"]})
    m = measure(yt, yp, sf, min_group_size=1, n_boot=0)
    b = next(r for r in m["by_group"] if r["group"] == {"g": "B"})
    assert b["tpr"] is None and b["fnr"] is None and b["fpr"] == pytest.approx(2 / 3)
    assert m["metrics"]["g"]["equal_opportunity_difference"] is None


def test_settings_are_checked_with_did_you_mean():
    with pytest.raises(RulePackError) as e:
        validate_settings(
            {"limits": [{"metric": "demographic_parity_ration", "min": 0.8}]}, where="probes.high.fairness"
        )
    assert "probes.high.fairness.limits[0].metric" in str(e.value) and "demographic_parity_ratio" in str(
        e.value
    )
    with pytest.raises(RulePackError, match="min_group_size"):
        validate_settings({"min_group_szie": 10})
    with pytest.raises(RulePackError, match="exactly one of min or max"):
        validate_settings({"limits": [{"metric": "fpr_difference", "min": 0.1, "max": 0.2}]})


def test_one_million_rows_collapse_to_cells_exactly():
    rng = np.random.default_rng(0)
    n = 1_000_000
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(list("abcd"), n)})
    yt = rng.integers(0, 2, n)
    yp = rng.integers(0, 2, n)
    m = measure(yt, yp, sf, n_boot=50)
    base = (
        pd.DataFrame({"sex": sf.sex, "race": sf.race, "t": yt, "p": yp})
        .groupby(["sex", "race", "t", "p"])
        .size()
    )
    rows = {tuple(r["group"].values()): r for r in m["by_group"] if r["view"] == "sex+race"}
    for (s, race), r in rows.items():
        c = r["counts"]
        assert (c["tn"], c["fp"], c["fn"], c["tp"]) == tuple(
            int(base[(s, race, t, p)]) for t, p in ((0, 0), (0, 1), (1, 0), (1, 1))
        )


# ------------------------------------------------------------------ the registry and real declarations


def _declaration(
    tmp: Path, model: DeclaredModel | None, data: DeclaredData | None, probes: dict | None = None
):
    raw = {"schema": "riskengine/v1", "application": {"id": "t", "scenario": "finance"}}
    if probes:
        raw["probes"] = probes
    return Declaration(source="t.yaml", raw=raw, sha256="sha256:0", base_dir=str(tmp), model=model, data=data)


def test_probe_is_registered_and_skips_without_inputs(tmp_path):
    assert "fairness" in registered()
    res = run_probes(_declaration(tmp_path, None, None), {"fairness": LIMITS}, tier="high")
    assert res["fairness"].status == "skipped" and "model" in res["fairness"].reason
    csv = tmp_path / "d.csv"
    pd.DataFrame({"y": [0, 1], "p": [0, 1]}).to_csv(csv, index=False)
    decl = _declaration(
        tmp_path,
        DeclaredModel(format="predictions", prediction_column="p"),
        DeclaredData(path=str(csv), target="y"),
    )
    res = run_probes(decl, {"fairness": LIMITS}, tier="high")
    assert res["fairness"].status == "skipped" and "sensitive" in res["fairness"].reason


def test_real_models_through_run_probes(tmp_path):
    """A real scikit-learn model that uses sex (exported to ONNX, zipmap on) breaches; one that does not
    (saved with skops) passes. Labels, model files and limits all go through the public entry point."""
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, sex, y_true = biased_and_fair(n=3000, seed=4)
    sex_m = (sex == "M").astype(float)
    frame = pd.DataFrame({"x": x, "sex_m": sex_m, "sex": sex, "label": y_true})
    csv = tmp_path / "eval.csv"
    frame.to_csv(csv, index=False)
    rng = np.random.default_rng(9)
    y_biased = ((x + 1.5 * sex_m + rng.normal(scale=0.3, size=len(x))) > 0.8).astype(int)
    biased = LogisticRegression().fit(frame[["x", "sex_m"]].to_numpy(), y_biased)
    fair = LogisticRegression().fit(frame[["x"]].to_numpy(), y_true)
    onnx_path = tmp_path / "biased.onnx"
    onnx_path.write_bytes(
        to_onnx(biased, frame[["x", "sex_m"]].to_numpy(np.float32)[:1], target_opset=17).SerializeToString()
    )  # default options: ZipMap output
    skops_path = tmp_path / "fair.skops"
    sio.dump(fair, skops_path)

    data = {"path": str(csv), "target": "label", "sensitive_features": ("sex",)}
    bad = run_probes(
        _declaration(
            tmp_path,
            DeclaredModel(format="onnx", path=str(onnx_path)),
            DeclaredData(**data, features=("x", "sex_m")),
        ),
        {"fairness": LIMITS},
        tier="high",
        only=["fairness"],
    )
    good = run_probes(
        _declaration(
            tmp_path,
            DeclaredModel(format="skops", path=str(skops_path)),
            DeclaredData(**data, features=("x",)),
        ),
        {"fairness": LIMITS},
        tier="high",
        only=["fairness"],
    )
    bad_r, good_r = bad["fairness"], good["fairness"]
    assert bad_r.status == good_r.status == "ok"
    assert any(
        f.rule_id == "FAIR-DEMOGRAPHIC-PARITY-RATIO"
        and f.severity == "high"
        and f.evidence["status"] == "breach"
        for f in bad_r.findings
    )
    assert {s["status"] for s in good_r.details["limits"]} == {"pass"} and good_r.findings == ()
    # the probe's numbers are fairlearn's on the model's own predictions
    expected = demographic_parity_ratio(
        y_true, biased.predict(frame[["x", "sex_m"]].to_numpy()), sensitive_features=sex
    )
    assert bad_r.metrics["sex"]["demographic_parity_ratio"] == pytest.approx(expected, abs=1e-12)
    assert bad_r.details["inputs"]["model"].startswith("sha256:")


def test_declaration_can_tune_the_bootstrap_but_not_the_limits(tmp_path):
    csv = tmp_path / "d.csv"
    yt, yp, sf = rows_from_cells(CELLS)
    pd.DataFrame({"y": yt, "p": yp, "sex": sf.sex}).to_csv(csv, index=False)
    decl = _declaration(
        tmp_path,
        DeclaredModel(format="predictions", prediction_column="p"),
        DeclaredData(path=str(csv), target="y", sensitive_features=("sex",)),
        probes={"fairness": {"n_boot": 50, "seed": 3, "limits": [], "min_group_size": 1000}},
    )
    r = run_probes(decl, {"fairness": LIMITS}, tier="high")["fairness"]
    assert r.details["settings"]["n_boot"] == 50 and r.details["settings"]["seed"] == 3
    assert r.details["settings"]["min_group_size"] == 30 and len(r.details["limits"]) == 2


EXAMPLES = REPO / "examples" / "models"


def _scenario_limits(scenario: str) -> dict:
    import yaml

    own = yaml.safe_load((REPO / "scenarios" / f"{scenario}.yaml").read_text(encoding="utf-8"))
    base = yaml.safe_load((REPO / "scenarios" / "_base.yaml").read_text(encoding="utf-8"))
    return {**base["probes"]["high"], **(own.get("probes", {}).get("high") or {})}


def test_shipped_compas_audit_matches_fairlearn_on_the_csv():
    from riskengine.declaration import load_declaration

    decl = load_declaration(EXAMPLES / "compas-predictions.yaml")
    r = run_probes(decl, _scenario_limits("law_enforcement"), tier="high")["fairness"]
    assert r.status == "ok" and r.details["model_kind"] == "predictions"
    df = pd.read_csv(REPO / "examples" / "data" / "compas_sample.csv")
    keep = df.race.isin(["African-American", "Caucasian", "Hispanic", "Other"])  # the groups with n >= 30
    want = false_positive_rate_difference(
        df.two_year_recid[keep], df.pred[keep], sensitive_features=df.race[keep]
    )
    assert r.metrics["race"]["fpr_difference"] == pytest.approx(want, abs=1e-12)
    fpr = next(s for s in r.details["limits"] if s["metric"] == "fpr_difference" and s["view"] == "race")
    assert fpr["status"] == "breach" and fpr["worst_group"] == {"race": "African-American"}
    assert {g["group"]["race"] for g in r.details["insufficient_groups"] if g["view"] == "race"} == {
        "Asian",
        "Native American",
    }


def test_shipped_onnx_and_skops_examples_run():
    from riskengine.declaration import load_declaration

    adult = run_probes(
        load_declaration(EXAMPLES / "adult-income-onnx.yaml"), _scenario_limits("employment"), tier="high",
        only=["fairness"],
    )["fairness"]
    dpr = next(
        s for s in adult.details["limits"] if s["metric"] == "demographic_parity_ratio" and s["view"] == "sex"
    )
    assert dpr["status"] == "breach" and dpr["worst_group"] == {"sex": "Female"}
    german = run_probes(
        load_declaration(EXAMPLES / "german-credit-skops.yaml"), _scenario_limits("finance"), tier="high",
        only=["fairness"],
    )["fairness"]
    assert german.status == "ok" and german.details["model_kind"] == "skops"
    assert any(g["view"] == "sex+age_group" for g in german.details["insufficient_groups"])
    assert not math.isnan(german.metrics["sex"]["demographic_parity_ratio"])


def test_a_crashing_probe_becomes_an_error_result(tmp_path):
    from riskengine import probes

    @probes.register("crash-test")
    def crash(ctx):
        raise ZeroDivisionError("boom")

    try:
        res = run_probes(_declaration(tmp_path, None, None), {}, tier="high", only=["crash-test", "fairness"])
    finally:
        del probes._REGISTRY["crash-test"]
    assert res["crash-test"].status == "error" and "ZeroDivisionError: boom" in res["crash-test"].reason
    assert res["fairness"].status == "skipped"
