"""Robustness probe: real models, real data, real ART attacks.

Every attack number is checked against ART called directly on the same model and the same rows (FGSM
and PGD must agree exactly, up to one row of float32 rounding; HopSkipJump, a randomised heuristic,
within 0.15 on 40 rows), and against the exact minimal L-infinity distance of a linear model, which no
attack can beat.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskengine.errors import RulePackError
from riskengine.intake import load_evaluation
from riskengine.model import Declaration, DeclaredData, DeclaredModel
from riskengine.probes import registered, run_probes
from riskengine.probes._common import (
    build_space,
    categorical_swap,
    gaussian_noise,
    inject_missing,
    sample_rows,
)
from riskengine.probes.robustness import ModelAccess, RowScorer, assess_robustness, validate_settings

pytestmark = pytest.mark.filterwarnings("ignore:PyTorch not found")  # ART's import-time notice

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "models"
EPS = 0.1
CLAUSES = ["EU AI Act Art. 15", "NIST AI RMF MEASURE 2.7"]


def declaration(tmp: Path, model: DeclaredModel | None, data: DeclaredData | None, probes: dict | None = None
                ) -> Declaration:
    raw = {"schema": "riskengine/v1", "application": {"id": "t", "scenario": "medical"}}
    if probes:
        raw["probes"] = probes
    return Declaration(source="t.yaml", raw=raw, sha256="sha256:0", base_dir=str(tmp), model=model, data=data)


def correlated(n: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """d noisy copies of 3 latent factors; the label depends on two of them. An unregularised logistic
    regression fitted on few rows of this data puts large, cancelling weights on the copies."""
    z = rng.normal(size=(n, 3))
    X = np.hstack([z[:, [j % 3]] + 0.3 * rng.normal(size=(n, 1)) for j in range(d)])
    y = (z[:, 0] - z[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    """A known-weak model (no regularisation, |w| ~ 100) and a robust one (C=0.05) on the same data,
    saved with skops and evaluated on 600 held-out rows, plus a scaler pipeline of the weak one."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    tmp = tmp_path_factory.mktemp("linear")
    rng = np.random.default_rng(0)
    d = 30
    cols = [f"f{i}" for i in range(d)]
    Xtr, ytr = correlated(120, d, rng)
    Xte, yte = correlated(600, d, rng)
    train = pd.DataFrame(Xtr, columns=cols)
    models = {
        "weak": LogisticRegression(C=np.inf, max_iter=20000).fit(train, ytr),
        "robust": LogisticRegression(C=0.05, max_iter=5000).fit(train, ytr),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, max_iter=20000)).fit(train, ytr),
    }
    frame = pd.DataFrame(Xte, columns=cols)
    frame["label"] = yte
    frame["group"] = np.where(np.arange(len(frame)) % 3 == 0, "a", "b")
    frame.to_csv(tmp / "eval.csv", index=False)
    for name, m in models.items():
        sio.dump(m, tmp / f"{name}.skops")
    data = DeclaredData(path=str(tmp / "eval.csv"), target="label", sensitive_features=("group",))
    evs = {name: load_evaluation(declaration(tmp, DeclaredModel(format="skops", path=str(tmp / f"{name}.skops")),
                                             data)) for name in models}
    return {"tmp": tmp, "X": Xte, "y": yte, "cols": cols, "models": models, "evs": evs, "data": data}


def attack(result, name: str) -> dict:
    return next(a for a in result.details["attacks"] if a["name"] == name)


def _art_classifier(model, X: np.ndarray):
    """ART's own wrapper around a bare scikit-learn model, boxed to the data's range per feature."""
    from art.estimators.classification import SklearnClassifier

    return SklearnClassifier(model, clip_values=(X.min(axis=0).astype(np.float32), X.max(axis=0).astype(np.float32)))


# ------------------------------------------------------------------------------------- against ART


def test_fgsm_and_pgd_equal_art_called_directly(linear):
    """The probe's FGSM and PGD success on the weak model equals ART's own on the same 300 rows."""
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent

    r, _ = assess_robustness(linear["evs"]["weak"], 1, settings={"max_rows": 300, "attack_rows": 0}, tier="high")
    X = linear["X"]
    idx = sample_rows(len(X), 300, 0)
    xs = X[idx].astype(np.float32)
    model = linear["models"]["weak"]
    eps = (EPS * X.std(axis=0)).astype(np.float32)  # per feature: a tenth of its standard deviation
    clf = _art_classifier(model, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = model.predict(pd.DataFrame(xs, columns=linear["cols"]))
        direct = {
            "fgsm": FastGradientMethod(clf, norm=np.inf, eps=eps, eps_step=eps).generate(xs),
            "pgd": ProjectedGradientDescent(clf, norm=np.inf, eps=eps, eps_step=eps / 4, max_iter=10,
                                            num_random_init=0, verbose=False).generate(xs),
        }
        for name, adv in direct.items():
            want = float(np.mean(model.predict(pd.DataFrame(adv, columns=linear["cols"])) != base))
            got = attack(r, name)
            assert got["rows"] == 300
            assert abs(got["success_rate"] - want) <= 1 / 300 + 1e-9, (name, got["success_rate"], want)
    # and it is a weak model: a quarter or more of its decisions fall to a 0.1-std attack
    assert attack(r, "fgsm")["success_rate"] > 0.3


def test_pipeline_gradients_match_art_on_the_folded_model(linear):
    """ART gives a Pipeline no gradients; the probe attacks the final step behind the scaler. The same
    attack on a bare LogisticRegression with the scaler folded into its weights must agree."""
    from art.attacks.evasion import FastGradientMethod
    from sklearn.linear_model import LogisticRegression

    pipe = linear["models"]["pipeline"]
    r, _ = assess_robustness(linear["evs"]["pipeline"], 1, settings={"max_rows": 300, "attack_rows": 0},
                             tier="high")
    assert r.details["gradients"]["available"] and r.details["scoring_path"] == "affine"
    scaler, lr = pipe.steps[0][1], pipe.steps[-1][1]
    folded = LogisticRegression()
    folded.coef_ = lr.coef_ / scaler.scale_
    folded.intercept_ = lr.intercept_ - (lr.coef_ * scaler.mean_ / scaler.scale_).sum(axis=1)
    folded.classes_ = lr.classes_
    X = linear["X"]
    xs = X[sample_rows(len(X), 300, 0)].astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(folded.predict(xs), pipe.predict(pd.DataFrame(xs, columns=linear["cols"])))
        clf = _art_classifier(folded, X)
        eps = (EPS * X.std(axis=0)).astype(np.float32)
        adv = FastGradientMethod(clf, norm=np.inf, eps=eps, eps_step=eps).generate(xs)
        want = float(np.mean(folded.predict(adv) != folded.predict(xs)))
    assert abs(attack(r, "fgsm")["success_rate"] - want) <= 1 / 300 + 1e-9


def test_hop_skip_jump_agrees_with_art_and_never_beats_the_exact_distance(linear):
    """Decision-based attack on 40 rows: against ART's HopSkipJump called directly (tolerance 0.15 in
    success rate, 35 % in median distance) and against the exact minimal L-inf flip distance of the
    linear model, |w.x + b| / sum_j |w_j std_j|, which no attack can beat."""
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import BlackBoxClassifier

    model = linear["models"]["robust"]
    r, _ = assess_robustness(linear["evs"]["robust"], 1, settings={"max_rows": 40, "attack_rows": 40}, tier="high")
    hsj = attack(r, "hop_skip_jump")
    assert hsj["rows"] == 40 and hsj["planned_rows"] == 40
    X, cols = linear["X"], linear["cols"]
    idx = sample_rows(len(X), 40, 0)
    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = ((X[idx] - mean) / std).astype(np.float32)

    def proba(z: np.ndarray) -> np.ndarray:
        return model.predict_proba(z * std + mean)  # fitted with column names: the warning is silenced below

    bb = BlackBoxClassifier(proba, input_shape=(X.shape[1],), nb_classes=2,
                            clip_values=(((X.min(0) - mean) / std).astype(np.float32),
                                         ((X.max(0) - mean) / std).astype(np.float32)))
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adv = HopSkipJump(bb, norm=np.inf, max_iter=20, max_eval=100, init_eval=10, init_size=100,
                          verbose=False).generate(Z)
        flipped = model.predict(pd.DataFrame(adv * std + mean, columns=cols)) != model.predict(
            pd.DataFrame(X[idx], columns=cols))
    dist = np.where(flipped, np.abs(adv - Z).max(axis=1), np.inf)
    art_success = float(np.mean(dist <= EPS + 1e-6))
    assert abs(hsj["success_rate"] - art_success) <= 0.15, (hsj["success_rate"], art_success)
    assert hsj["median_flip_distance"] == pytest.approx(float(np.median(dist)), rel=0.35)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logit = model.decision_function(pd.DataFrame(X[idx], columns=cols))
    exact = np.abs(logit) / np.abs(model.coef_[0] * std).sum()
    assert hsj["median_flip_distance"] >= float(np.median(exact)) - 1e-6
    assert hsj["median_flip_distance"] <= 1.5 * float(np.median(exact))
    # FGSM's minimal-step search on a linear model walks straight to the exact distance (step 0.02)
    fgsm = attack(r, "fgsm")
    assert fgsm["median_flip_distance"] == pytest.approx(float(np.median(exact)), abs=0.021)


# --------------------------------------------------------------------------------- weak vs robust


def test_weak_model_is_flagged_and_robust_one_is_not(linear):
    limits = {"max_rows": 300, "attack_rows": 20, "time_budget_s": 30,
              "limits": [{"metric": "attack_success_rate", "max": 0.25, "clauses": CLAUSES}]}
    out = {}
    for name in ("weak", "robust"):
        decl = declaration(linear["tmp"], DeclaredModel(format="skops", path=str(linear["tmp"] / f"{name}.skops")),
                           linear["data"])
        out[name] = run_probes(decl, {"robustness": limits}, tier="high", only=["robustness"])["robustness"]
    weak, robust = out["weak"], out["robust"]
    assert weak.status == robust.status == "ok"
    [f] = [f for f in weak.findings if f.rule_id == "ROB-ATTACK-SUCCESS-RATE"]
    assert f.severity == "high" and f.category == "robustness" and f.evidence["observed"] > 0.25
    assert f.clauses[-1] == "Shanghai AI standard system item 110" and "EU AI Act Art. 15" in f.clauses
    assert f.evidence["eps"] == EPS and f.remediation
    fgsm = next(a for a in f.evidence["attacks"] if a["name"] == "fgsm")
    assert fgsm["value"] > 0.25 and fgsm["rows"] == 300
    assert robust.findings == ()
    assert robust.details["limits"][0]["status"] == "pass"
    json.dumps(weak.to_dict(), allow_nan=False)
    json.dumps(robust.to_dict(), allow_nan=False)


# ------------------------------------------------------------------------------------ natural noise


@pytest.fixture()
def mixed():
    rng = np.random.default_rng(3)
    n = 400
    colour = rng.choice(["red", "green", "blue"], n)
    return pd.DataFrame({
        "age": rng.integers(18, 91, n).astype(np.int64),
        "score": rng.uniform(0.0, 1.0, n),
        "city": rng.choice(["Oslo", "Lyon", "Porto", "Graz"], n),
        "flag": rng.integers(0, 2, n),
        "colour_red": (colour == "red").astype(int),
        "colour_green": (colour == "green").astype(int),
        "colour_blue": (colour == "blue").astype(int),
        "sex": rng.choice(["F", "M"], n),
        "height_cm": rng.normal(170, 10, n),
    })


def test_feature_typing(mixed):
    space = build_space(mixed, ["sex", "height_cm"])
    kinds = {f.name: (f.kind, f.integer, f.sensitive, f.group) for f in space.info}
    assert kinds["age"] == ("numeric", True, False, None)
    assert kinds["score"][:2] == ("numeric", False)
    assert kinds["city"][0] == kinds["flag"][0] == "categorical"
    assert kinds["colour_red"] == ("categorical", False, False, "colour")
    assert kinds["height_cm"] == ("numeric", False, True, None)  # sensitive: typed, never perturbed
    assert [space.features[i] for i in space.numeric_idx] == ["age", "score"]


def test_gaussian_noise_keeps_rows_possible(mixed):
    space = build_space(mixed, ["sex", "height_cm"])
    noisy = gaussian_noise(mixed, space, 0.5, np.random.default_rng(0))
    assert (noisy.age >= 18).all() and (noisy.age <= 90).all() and (noisy.age % 1 == 0).all()
    assert noisy.score.between(mixed.score.min(), mixed.score.max()).all()
    assert (noisy.age != mixed.age).mean() > 0.5 and (noisy.score != mixed.score).mean() > 0.98
    for col in ("city", "flag", "colour_red", "sex", "height_cm"):
        assert noisy[col].equals(mixed[col]), col


def test_categorical_swap_uses_seen_values_and_keeps_one_hot_valid(mixed):
    space = build_space(mixed, ["sex"])
    swapped = categorical_swap(mixed, space, 0.3, np.random.default_rng(0))
    assert set(swapped.city) <= set(mixed.city) and set(swapped.flag) <= {0, 1}
    assert 0.2 < (swapped.city != mixed.city).mean() < 0.4  # every hit changes the value
    block = swapped[["colour_red", "colour_green", "colour_blue"]].to_numpy()
    assert (block.sum(axis=1) == 1).all()
    assert 0.2 < (block != mixed[["colour_red", "colour_green", "colour_blue"]].to_numpy()).any(axis=1).mean() < 0.4
    for col in ("sex", "age", "score", "height_cm"):
        assert swapped[col].equals(mixed[col]), col
    holes = inject_missing(mixed, space, 0.2, np.random.default_rng(0))
    assert holes.age.isna().mean() > 0.1 and holes.height_cm.isna().mean() > 0.1
    assert holes.city.notna().all() and holes.flag.notna().all() and holes.sex.notna().all()


def test_missing_values_only_where_the_model_accepts_them(tmp_path):
    """LogisticRegression refuses NaN: no missing-value perturbation. HistGradientBoosting accepts it."""
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = DeclaredData(path=str(tmp_path / "d.csv"), target="label")
    sio.dump(LogisticRegression().fit(frame[["a", "b", "c"]], y), tmp_path / "lr.skops")
    sio.dump(HistGradientBoostingClassifier(max_iter=20).fit(frame[["a", "b", "c"]], y), tmp_path / "hgb.skops")
    settings = {"max_rows": 200, "attack_rows": 0}
    lr = assess_robustness(load_evaluation(declaration(tmp_path, DeclaredModel(
        format="skops", path=str(tmp_path / "lr.skops")), data)), 1, settings=settings, tier="high")[0]
    hgb = assess_robustness(load_evaluation(declaration(tmp_path, DeclaredModel(
        format="skops", path=str(tmp_path / "hgb.skops"),
        trusted_types=("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)), data)), 1,
        settings=settings, tier="high")[0]
    assert lr.details["missing_values"]["accepted"] is False and "refuses" in lr.details["missing_values"]["reason"]
    assert "missing_values" not in {p["name"] for p in lr.details["perturbations"]}
    assert hgb.details["missing_values"]["accepted"] is True
    missing = next(p for p in hgb.details["perturbations"] if p["name"] == "missing_values")
    assert missing["judged"] and 0 <= missing["flip_rate"] <= 1
    assert hgb.details["gradients"]["available"] is False and "no gradients" in hgb.details["gradients"]["reason"]


def test_noise_hurts_the_group_near_the_threshold_more(tmp_path):
    """Group b sits on the decision boundary, group a far from it: noise flips b's decisions, not a's."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    n = 600
    group = np.where(np.arange(n) % 2 == 0, "a", "b")
    x = np.where(group == "a", rng.choice([-3.0, 3.0], n) + rng.normal(0, 0.2, n), rng.normal(0, 0.1, n))
    y = (x > 0).astype(int)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n), "group": group, "label": y})
    frame.to_csv(tmp_path / "d.csv", index=False)
    sio.dump(LogisticRegression(C=100).fit(frame[["x", "z"]], y), tmp_path / "m.skops")
    decl = declaration(tmp_path, DeclaredModel(format="skops", path=str(tmp_path / "m.skops")),
                       DeclaredData(path=str(tmp_path / "d.csv"), target="label", sensitive_features=("group",),
                                    features=("x", "z")))
    limits = {"max_rows": 600, "attack_rows": 0, "noise_level": 0.1,
              "limits": [{"metric": "group_accuracy_drop_gap", "max": 0.05, "clauses": CLAUSES}]}
    r = run_probes(decl, {"robustness": limits}, tier="limited", only=["robustness"])["robustness"]
    rows = {row["group"]["group"]: row for row in r.details["by_group"]}
    assert rows["a"]["flip_rate"] == 0 and rows["b"]["flip_rate"] > 0.2
    assert rows["a"]["n"] + rows["b"]["n"] == 600
    [f] = [f for f in r.findings if f.rule_id == "ROB-GROUP-ACCURACY-DROP-GAP"]
    assert f.severity == "medium" and f.evidence["worst_group"] == {"group": "b"}
    assert f.evidence["observed"] == pytest.approx(rows["b"]["accuracy_drop"] - rows["a"]["accuracy_drop"], abs=1e-5)


# ------------------------------------------------------------------------------- fast model access


def test_fast_scorers_equal_the_models_own_predict_proba(tmp_path):
    """Each fast path (one ONNX input per column, affine scikit-learn view, matrix, DataFrame) scores
    attack-space points exactly as the model's own predict_proba on the rebuilt rows."""
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    from riskengine.declaration import load_declaration

    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = DeclaredData(path=str(tmp_path / "d.csv"), target="label", features=("a", "b", "c", "d"))
    rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X.astype(np.float32), y)
    (tmp_path / "rf.onnx").write_bytes(
        to_onnx(rf, X[:1].astype(np.float32), options={"zipmap": False}, target_opset=17).SerializeToString())
    sio.dump(make_pipeline(PolynomialFeatures(2), StandardScaler(), LogisticRegression()).fit(frame[["a", "b", "c", "d"]], y),
             tmp_path / "poly.skops")
    evs = {
        "onnx_columns": load_evaluation(load_declaration(EXAMPLES / "adult-income-onnx.yaml")),
        "affine": load_evaluation(load_declaration(EXAMPLES / "german-credit-skops.yaml")),
        "matrix": load_evaluation(declaration(tmp_path, DeclaredModel(format="onnx", path=str(tmp_path / "rf.onnx")), data)),
        "frame": load_evaluation(declaration(tmp_path, DeclaredModel(format="skops", path=str(tmp_path / "poly.skops")), data)),
    }
    for mode, ev in evs.items():
        space = build_space(ev.X, list(ev.sensitive.columns))
        X0 = ev.X.iloc[:30].reset_index(drop=True)
        access = ModelAccess(ev, 1, space, X0)
        assert access.mode == mode
        scorer = RowScorer(access, X0)
        Z = space.to_z(X0)
        for i in (0, 7, 19):
            scorer.set_row(i)
            z = Z[i] + np.random.default_rng(i).normal(0, 0.5, size=(5, Z.shape[1]))
            rows = X0.iloc[[i] * 5].reset_index(drop=True)
            raw = space.from_z(z)
            for k, j in enumerate(space.numeric_idx):
                rows[space.features[j]] = raw[:, k]
            np.testing.assert_allclose(scorer(z), ev.predictor.predict_proba(rows), atol=1e-6, err_msg=mode)


# ------------------------------------------------------------------------------- budgets and seeds


def test_time_budget_is_kept_and_what_was_cut_is_recorded(linear):
    import art  # noqa: F401 - imported already, so the whole budget goes to the attack

    ev = linear["evs"]["robust"]
    settings = {"max_rows": 600, "attack_rows": 600, "time_budget_s": 1.5,
                "limits": [{"metric": "attack_success_rate", "max": 0.5, "clauses": CLAUSES}]}
    t0 = time.perf_counter()
    r, _ = assess_robustness(ev, 1, settings=settings, tier="high")
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.5 + 0.6, elapsed
    cut = r.details["budget"]["cut"]
    assert r.details["budget"]["complete"] is False
    assert any(c["step"] == "hop_skip_jump" and c["planned"] == 600 and c["done"] < 600 for c in cut), cut
    [f] = [f for f in r.findings if f.rule_id == "ROB-INCOMPLETE"]
    assert f.severity == "low" and "hop_skip_jump" in f.message
    # a budget too small for anything but the cheap noise: the attacks are cut, the limit is not measured
    r2, _ = assess_robustness(ev, 1, settings={**settings, "time_budget_s": 0.01}, tier="high")
    assert r2.details["attacks"] == [] and r2.details["limits"][0]["status"] == "not_measured"
    assert any(f.rule_id == "ROB-INCOMPLETE" and "attack_success_rate" in f.message for f in r2.findings)


def test_results_are_reproducible_from_the_seed(linear):
    ev = linear["evs"]["robust"]
    settings = {"max_rows": 200, "attack_rows": 10}
    a, _ = assess_robustness(ev, 1, settings=settings, tier="high")
    b, _ = assess_robustness(ev, 1, settings=settings, tier="high")
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)
    c, _ = assess_robustness(ev, 1, settings={**settings, "seed": 1}, tier="high")
    assert c.details["perturbations"] != a.details["perturbations"]


def test_declaration_tunes_budget_and_rows_but_not_limits(linear):
    decl = declaration(linear["tmp"], DeclaredModel(format="skops", path=str(linear["tmp"] / "robust.skops")),
                       linear["data"], probes={"robustness": {"max_rows": 50, "attack_rows": 5, "time_budget_s": 9,
                                                              "attack_eps": 5.0, "limits": []}})
    scenario = {"attack_eps": 0.1, "limits": [{"metric": "accuracy_drop", "max": 0.9, "clauses": CLAUSES}]}
    r = run_probes(decl, {"robustness": scenario}, tier="high", only=["robustness"])["robustness"]
    s = r.details["settings"]
    assert (s["max_rows"], s["attack_rows"], s["time_budget_s"], s["attack_eps"]) == (50, 5, 9, 0.1)
    assert len(r.details["limits"]) == 1 and r.details["sample"]["rows"] == 50


# ------------------------------------------------------------------------- skipping and import cost


def test_predictions_only_and_missing_inputs_are_skipped_with_the_reason(tmp_path):
    assert registered()[:3] == ("fairness", "robustness", "explainability")
    csv = tmp_path / "d.csv"
    pd.DataFrame({"y": [0, 1, 1, 0], "p": [0, 1, 0, 0]}).to_csv(csv, index=False)
    decl = declaration(tmp_path, DeclaredModel(format="predictions", prediction_column="p"),
                       DeclaredData(path=str(csv), target="y"))
    res = run_probes(decl, {}, tier="high")
    for name in ("robustness", "explainability"):
        assert res[name].status == "skipped" and "predictions-only" in res[name].reason, name
        assert "submit the model" in res[name].reason
    res = run_probes(declaration(tmp_path, None, None), {}, tier="high")
    assert res["robustness"].status == "skipped" and "model" in res["robustness"].reason


def _modules_after(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_art_stays_off_help_and_off_assessments_without_a_model(tmp_path):
    check = ("import json, sys; print(json.dumps({'art': 'art' in sys.modules, "
             "'sklearn': 'sklearn' in sys.modules}))")
    run = ("import sys, contextlib, io\nfrom riskengine.cli import main\n"
           "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
           "    try:\n        main(ARGV)\n    except SystemExit:\n        pass\n" + check)
    assert _modules_after(run.replace("ARGV", repr(["--help"]))) == {"art": False, "sklearn": False}
    for example in ("examples/ed-triage-assistant.yaml", "examples/models/compas-predictions.yaml"):
        argv = ["assess", example, "--out", str(tmp_path / Path(example).stem)]
        mods = _modules_after(run.replace("ARGV", repr(argv)))
        assert mods["art"] is False, example
    assert (tmp_path / "compas-predictions" / "assessment.json").exists()
    # the check can see ART when it is there
    assert _modules_after("import riskengine.probes.robustness as r; r._import_art()\n" + check)["art"] is True


def test_settings_fail_loudly():
    with pytest.raises(RulePackError) as e:
        validate_settings({"attack_epsilon": 0.1}, "probes.high.robustness")
    assert e.value.field == "probes.high.robustness.attack_epsilon" and "attack_eps" in (e.value.hint or "")
    with pytest.raises(RulePackError) as e:
        validate_settings({"limits": [{"metric": "attack_success_rate", "min": 0.2}]}, "p")
    assert "max limit" in str(e.value)
    with pytest.raises(RulePackError) as e:
        validate_settings({"limits": [{"metric": "accuracy_dorp", "max": 0.2}]}, "p")
    assert "accuracy_drop" in (e.value.hint or "")
    with pytest.raises(RulePackError):
        validate_settings({"noise_levels": [0.1, -1]}, "p")
    with pytest.raises(RulePackError):
        validate_settings({"time_budget_s": 0}, "p")


def test_shipped_adult_onnx_through_the_scenario_norms():
    """The example ONNX model at the employment scenario's high tier: every limit measured, JSON strict."""
    from riskengine.declaration import load_declaration
    from riskengine.rules import load_knowledge

    kb = load_knowledge()
    decl = load_declaration(EXAMPLES / "adult-income-onnx.yaml")
    r = run_probes(decl, kb.scenarios["employment"].probes["high"], tier="high", only=["robustness"])["robustness"]
    assert r.status == "ok" and r.details["scoring_path"] == "onnx_columns"
    assert {st["status"] for st in r.details["limits"]} <= {"pass", "breach"}
    assert r.details["budget"]["complete"] and r.details["model_kind"] == "onnx"
    assert r.details["inputs"]["model"].startswith("sha256:")
    hsj = attack(r, "hop_skip_jump")
    assert hsj["rows"] == 100 and hsj["rows_stopped_by_query_cap"] == 0
    assert [p[0] for p in r.details["curves"][0]["points"]][:3] == [0.0, 0.05, 0.1]
    json.dumps(r.to_dict(), allow_nan=False)


def test_progress_bar_only_on_a_terminal():
    import io

    from riskengine.probes._common import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, tty = io.StringIO(), Terminal()
    for stream in (piped, tty):
        bar = Progress("robustness", 4, stream=stream)
        for i in range(1, 5):
            bar.update(i)
        bar.close()
    assert piped.getvalue() == ""
    out = tty.getvalue()
    assert "robustness" in out and "4/4" in out and out.endswith("\r")
