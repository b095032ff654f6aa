"""Explainability probe: permutation importance equals scikit-learn's, a planted proxy is found, a
shallow tree's surrogate is exact, and the budget and seeds behave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskengine.errors import RulePackError
from riskengine.intake import load_evaluation
from riskengine.model import Declaration, DeclaredData, DeclaredModel
from riskengine.probes import run_probes
from riskengine.probes._common import sample_rows
from riskengine.probes.explainability import (
    assess_explainability,
    single_feature_proxy,
    strength,
    validate_settings,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "models"
CLAUSES = ["EU AI Act Art. 10(2)(f)", "NIST AI RMF MEASURE 2.11"]


def declaration(tmp: Path, model: DeclaredModel, data: DeclaredData) -> Declaration:
    return Declaration(source="t.yaml", raw={"schema": "riskengine/v1", "application": {"id": "t"}},
                       sha256="sha256:0", base_dir=str(tmp), model=model, data=data)


def evaluate(tmp: Path, frame: pd.DataFrame, model, features: list[str], sensitive: tuple[str, ...] = ()):
    import skops.io as sio

    frame.to_csv(tmp / "eval.csv", index=False)
    sio.dump(model, tmp / "m.skops")
    # the test made this file: trust the scikit-learn tree types it holds, nothing else
    trusted = tuple(t for t in sio.get_untrusted_types(file=str(tmp / "m.skops")) if t == "sklearn.tree._tree.Tree")
    decl = declaration(tmp, DeclaredModel(format="skops", path=str(tmp / "m.skops"), trusted_types=trusted),
                       DeclaredData(path=str(tmp / "eval.csv"), target="label", sensitive_features=sensitive,
                                    features=tuple(features)))
    return decl, load_evaluation(decl)


def test_permutation_importance_equals_scikit_learn():
    """Same rows, same seed, same repeats: scikit-learn's permutation_importance on the Adult pipeline
    (string categories, one-hot inside) gives exactly the probe's numbers."""
    from sklearn.inspection import permutation_importance

    from riskengine.declaration import load_declaration
    from riskengine.intake import load_model

    decl = load_declaration(EXAMPLES / "adult-income-onnx.yaml")
    ev = load_evaluation(decl)
    r, _ = assess_explainability(ev, ">50K", settings={"max_rows": 400, "n_repeats": 3, "n_boot": 0, "seed": 4},
                                 tier="high")
    skops_model = load_model(DeclaredModel(format="skops", path=str(EXAMPLES / "adult_income.skops")), "t")
    idx = sample_rows(len(ev.X), 400, 4)
    X = ev.X.iloc[idx].reset_index(drop=True)
    y = ev.frame["income"].iloc[idx].to_numpy()
    np.testing.assert_array_equal(skops_model.predict(X) == ">50K", ev.y_pred[idx] == 1)  # ONNX == skops
    want = permutation_importance(skops_model.estimator, X, y, n_repeats=3, random_state=4)
    got = {d["feature"]: d for d in r.details["importance"]}
    for j, name in enumerate(X.columns):
        # equal up to the 6 decimals assessment.json keeps
        assert got[name]["importance"] == pytest.approx(want.importances_mean[j], abs=5e-7), name
        assert got[name]["std"] == pytest.approx(want.importances_std[j], abs=5e-7), name
    ranks = [d["rank"] for d in r.details["importance"]]
    assert ranks == sorted(ranks) and r.details["importance_method"]["n_repeats"] == 3


def test_planted_proxy_is_found_and_the_reliance_on_it_flagged(tmp_path):
    """The model never sees `race`, but `district` (90 % aligned with race) stands in for it. The probe
    finds district as a proxy (and not the noise column), shows zero direct reliance and flags the
    reliance on the proxy: "we do not use race" does not hold in fact."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(8)
    n = 2000
    race = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    home = {"A": ["d1", "d2"], "B": ["d3", "d4"], "C": ["d5", "d6"]}
    district = np.array([rng.choice(home[r]) if rng.random() < 0.9 else rng.choice([f"d{i}" for i in range(1, 7)])
                         for r in race])
    income = rng.normal(size=n)
    noise = rng.normal(size=n)
    label = ((income + 1.5 * (race == "A") + rng.normal(0, 0.5, n)) > 0.8).astype(int)  # biased history
    frame = pd.DataFrame({"income": income, "noise": noise, "district": district, "race": race, "label": label})
    features = ["income", "noise", "district"]
    model = Pipeline([("pre", ColumnTransformer([("num", "passthrough", ["income", "noise"]),
                                                 ("cat", OneHotEncoder(), ["district"])])),
                      ("clf", LogisticRegression())]).fit(frame[features], label)
    decl, _ = evaluate(tmp_path, frame, model, features, ("race",))
    settings = {"n_boot": 3, "limits": [{"metric": "proxy_reliance", "max": 0.05, "clauses": CLAUSES},
                                        {"metric": "sensitive_reliance", "max": 0.01, "clauses": CLAUSES}]}
    r = run_probes(decl, {"explainability": settings}, tier="high", only=["explainability"])["explainability"]
    [race_entry] = r.details["proxies"]
    cands = {c["name"]: c for c in race_entry["candidates"]}
    assert race_entry["proxies"] == ["district"]
    assert cands["district"]["strength"] > 0.7 and cands["noise"]["strength"] < 0.1
    assert race_entry["combined"]["strength"] >= cands["district"]["strength"] - 0.05
    assert r.details["reliance"]["sensitive_inputs"] == [] and r.metrics["sensitive_reliance"] == 0.0
    [f] = [f for f in r.findings if f.rule_id == "EXPL-PROXY-RELIANCE"]
    assert f.category == "explainability" and f.severity == "high" and "district" in f.message
    assert f.evidence["proxies"][0]["feature"] == "district" and f.evidence["proxies"][0]["sensitive"] == "race"
    assert f.evidence["observed"] > 0.05 and f.clauses[-1] == "Shanghai AI standard system item 110"
    assert {st["metric"]: st["status"] for st in r.details["limits"]} == {"proxy_reliance": "breach",
                                                                       "sensitive_reliance": "pass"}
    json.dumps(r.to_dict(), allow_nan=False)


def test_single_feature_proxy_by_hand():
    # fold 0 learns from fold 1 and vice versa; code 0 -> group 0, code 1 -> group 1 in both folds
    codes = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    target = np.array([0, 0, 1, 1, 0, 1, 0, 0])
    folds = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    # fold 0 test rows 0,2,4,6 (truth 0,1,0,0; guesses 0,1,0,1): recalls group0 2/3, group1 1/1 -> 5/6
    # fold 1 test rows 1,3,5,7 (truth 0,1,1,0; guesses 0,1,1,0): 1.0
    assert single_feature_proxy(codes, target, 2, folds) == pytest.approx((5 / 6 + 1.0) / 2)
    assert strength(0.5, 2) == 0.0 and strength(1.0, 3) == 1.0 and strength(0.3, 3) == 0.0


def test_surrogate_of_a_shallow_tree_is_faithful_and_its_rules_reproduce_it(tmp_path):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(4)
    X = rng.normal(size=(1500, 6))
    y = ((X[:, 0] > 0.3) ^ (X[:, 1] * X[:, 2] > 0) ^ (X[:, 3] + X[:, 4] > 0.5)).astype(int)
    cols = [f"x{i}" for i in range(6)]
    frame = pd.DataFrame(X, columns=cols).assign(label=y)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame[cols], y)
    _, ev = evaluate(tmp_path, frame, tree, cols)
    r, _ = assess_explainability(ev, 1, settings={"n_boot": 0, "max_rows": 1500}, tier="high")
    sur = r.details["surrogate"]
    # a greedy depth-4 tree re-learns a depth-3 tree almost exactly (thresholds fall between points)
    assert sur["fidelity_train"] >= 0.99 and sur["fidelity"] >= 0.99 and sur["leaves"] <= 16
    ops = {"<=": np.less_equal, ">": np.greater}
    decided = np.full(len(frame), -1)
    for rule in sur["rules"]:
        hit = np.ones(len(frame), dtype=bool)
        for c in rule["conditions"]:
            hit &= ops[c["op"]](frame[c["feature"]].to_numpy(), c["value"])  # thresholds rounded to 1e-6
        decided[hit] = rule["decision"]
    assert (decided == tree.predict(frame[cols])).mean() > 0.99  # rules, as data, are the tree
    assert sum(rule["share"] for rule in sur["rules"]) == pytest.approx(1.0, abs=1e-3)
    # an interaction-heavy forest is not a depth-4 tree: the fidelity limit trips
    forest_dir = tmp_path / "forest"
    forest_dir.mkdir()
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(frame[cols], y)
    decl, _ = evaluate(forest_dir, frame, forest, cols)
    limits = {"n_boot": 0, "limits": [{"metric": "surrogate_fidelity", "min": 0.95, "severity": "medium",
                                       "clauses": ["EU AI Act Art. 13"]}]}
    rf = run_probes(decl, {"explainability": limits}, tier="high", only=["explainability"])["explainability"]
    [f] = [f for f in rf.findings if f.rule_id == "EXPL-SURROGATE-FIDELITY"]
    assert f.severity == "medium" and f.evidence["observed"] < 0.95 and "depth 4" in f.message


def test_stability_budget_and_seed(tmp_path):
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(6)
    X = rng.normal(size=(800, 5))
    y = (X[:, 0] > 0).astype(int)
    cols = [f"x{i}" for i in range(5)]
    frame = pd.DataFrame(X, columns=cols).assign(label=y)
    stump = DecisionTreeClassifier(max_depth=1).fit(frame[cols], y)  # uses x0 only
    _, ev = evaluate(tmp_path, frame, stump, cols)
    r, m = assess_explainability(ev, 1, settings={"n_boot": 6}, tier="high")
    st = r.details["stability"]
    assert st["done"] == 6 and st["top_k"] == 2
    assert r.metrics["rank_stability"] == 1.0 and r.metrics["top_k_stability"] == 1.0  # x0, then ties at 0
    assert r.details["importance"][0]["feature"] == "x0" and r.details["importance"][1]["importance"] == 0.0
    again, _ = assess_explainability(ev, 1, settings={"n_boot": 6}, tier="high")
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(r.to_dict(), sort_keys=True)
    assert set(m.timings) >= {"permutation_importance", "surrogate", "stability"}
    assert "timings" not in json.dumps(r.to_dict())  # timings stay out of assessment.json
    limits = [{"metric": "top_k_stability", "min": 0.7, "clauses": ["NIST AI RMF MEASURE 2.9"]}]
    cut, _ = assess_explainability(ev, 1, settings={"n_boot": 50, "time_budget_s": 1e-4, "limits": limits},
                                   tier="high")
    assert {c["step"] for c in cut.details["budget"]["cut"]} >= {"surrogate", "stability"}
    assert cut.details["limits"][0]["status"] == "not_measured"
    [f] = [f for f in cut.findings if f.rule_id == "EXPL-INCOMPLETE"]
    assert f.severity == "low" and "top_k_stability" in f.message


def test_shipped_examples_under_their_scenario_norms():
    """Adult uses sex and race as inputs (direct reliance); German Credit leaves sex out but keeps
    personal_status_sex, which encodes it (a perfect proxy)."""
    from riskengine.declaration import load_declaration
    from riskengine.rules import load_knowledge

    kb = load_knowledge()
    adult = run_probes(load_declaration(EXAMPLES / "adult-income-onnx.yaml"), kb.scenarios["employment"].probes["high"],
                       tier="high", only=["explainability"])["explainability"]
    assert adult.status == "ok" and adult.details["reliance"]["sensitive_inputs"] == ["race", "sex"]
    assert any(f.rule_id == "EXPL-SENSITIVE-RELIANCE" for f in adult.findings)
    sex = next(p for p in adult.details["proxies"] if p["sensitive"] == "sex")
    assert "relationship" in sex["proxies"]
    german = run_probes(load_declaration(EXAMPLES / "german-credit-skops.yaml"), kb.scenarios["finance"].probes["high"],
                        tier="high", only=["explainability"])["explainability"]
    assert german.metrics["sensitive_reliance"] == 0.0
    sex = next(p for p in german.details["proxies"] if p["sensitive"] == "sex")
    assert sex["proxies"][0] == "personal_status_sex" and sex["candidates"][0]["strength"] == 1.0
    for r in (adult, german):
        json.dumps(r.to_dict(), allow_nan=False)
        assert r.details["budget"]["complete"]


def test_settings_fail_loudly():
    with pytest.raises(RulePackError) as e:
        validate_settings({"n_boots": 3}, "probes.high.explainability")
    assert "n_boot" in (e.value.hint or "")
    with pytest.raises(RulePackError) as e:
        validate_settings({"limits": [{"metric": "surrogate_fidelity", "max": 0.9}]}, "p")
    assert "min limit" in str(e.value)
    with pytest.raises(RulePackError):
        validate_settings({"limits": [{"metric": "surrogate_fidelity", "min": 0.9, "severity": "urgent"}]}, "p")
    with pytest.raises(RulePackError):
        validate_settings({"proxy_min_strength": 1.5}, "p")
