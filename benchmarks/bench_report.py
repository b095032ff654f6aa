"""Benchmark: rendering the reports of a model assessment on Adult.

    python benchmarks/bench_report.py [--repeat 15] [--json]

Assesses examples/models/adult-income-onnx.yaml once (fairness probe on the held-out Adult rows; if the
probe extras are missing, a synthetic assessment with a fairness probe of the same size stands in and the
row names say so), then times pure rendering from the stored dict:
  html warm     the HTML report, template already compiled; baseline: the canonical JSON of the same dict;
  html cold     the first HTML render in a fresh process: imports, template compile and render;
  md+junit+sarif the three machine formats together.
Goals: the HTML report renders in under 0.5 s and stays under 1 MB. `main(argv)` returns rows like
benchmarks/run.py's: {name, median_s, best_s, baseline_s, ratio, goal_s, ok} (+ size_bytes, goal_bytes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "examples" / "models" / "adult-income-onnx.yaml"
GOAL_S = 0.5
GOAL_BYTES = 1_000_000


def adult_assessment(lang: str = "en") -> tuple[dict[str, Any], str]:
    """(assessment dict, label): the real Adult model assessment, or a synthetic one of the same size."""
    sys.path.insert(0, str(ROOT))
    from riskengine.assess import Options, assess, assessment_dict
    from riskengine.declaration import load_declaration
    from riskengine.rules import load_knowledge

    try:
        a = assessment_dict(assess(load_declaration(ADULT), load_knowledge(), Options(lang=lang)))
        if a["probes"].get("fairness", {}).get("status") == "ok":
            return a, "Adult model assessment"
    except Exception:  # noqa: BLE001 - probe extras missing: fall back to a synthetic probe
        pass
    return synthetic_assessment(lang), "synthetic Adult-sized assessment"


def synthetic_assessment(lang: str = "en") -> dict[str, Any]:
    """A high-tier assessment with a fairness probe shaped and sized like the Adult one (17 groups, 3 views)."""
    import random

    from riskengine.assess import Options, assess, assessment_dict
    from riskengine.declaration import load_declaration
    from riskengine.integrity import content_sha256
    from riskengine.rules import load_knowledge

    a = assessment_dict(assess(load_declaration(ROOT / "examples" / "cv-screening-ranker.yaml"), load_knowledge(),
                               Options(lang=lang)))
    rng = random.Random(0)
    rates = ("selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy")
    views = {"sex": [{"sex": s} for s in ("Female", "Male")],
             "race": [{"race": r} for r in ("Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White")]}
    views["sex+race"] = [{**s, **r} for s in views["sex"] for r in views["race"]]
    by_group = [{"view": v, "group": g, "n": rng.randint(5, 900), "sufficient": True,
                 **{k: rng.random() for k in rates}, "counts": {"tp": 1, "fp": 1, "tn": 1, "fn": 1}}
                for v, groups in views.items() for g in groups]
    metrics = {v: {m: rng.random() for m in ("demographic_parity_difference", "demographic_parity_ratio",
                                             "equalized_odds_difference", "equalized_odds_ratio",
                                             "equal_opportunity_difference", "equal_opportunity_ratio",
                                             "fpr_difference", "fnr_difference", "accuracy_difference")}
               for v in views}
    limits = [{"metric": m, "rule_id": "FAIR-" + m.upper(), "view": v, "features": v.split("+"), "bound": b,
               "limit": lim, "observed": rng.random(), "interval": [0.1, 0.6], "clauses": [], "status": "breach",
               "worst_group": views[v][0], "best_group": views[v][1], "deciding_rate": "selection_rate"}
              for m, b, lim in (("demographic_parity_ratio", "min", 0.8), ("equal_opportunity_difference", "max", 0.1))
              for v in views]
    a["probes"]["fairness"] = {"status": "ok", "reason": "", "overall": {"n": 1200, **{k: 0.5 for k in rates}},
                               "views": [{"key": v, "features": v.split("+")} for v in views], "by_group": by_group,
                               "intervals": {"confidence_level": 0.95, "by_group": [], "metrics": {}},
                               "limits": limits, "metrics": metrics}
    a["manifest"]["content_sha256"] = content_sha256(a)
    return a


def _times(fn: Any, repeat: int) -> list[float]:
    fn()  # warm: template compiled, modules imported
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _row(name: str, times: list[float], base: list[float], goal: float, **extra: Any) -> dict[str, Any]:
    med, bmed = statistics.median(times), statistics.median(base)
    row = {"name": name, "median_s": med, "best_s": min(times), "baseline_s": bmed, "ratio": med / bmed if bmed else 0.0,
           "goal_s": goal, "ok": med < goal}
    row.update(extra)
    if "size_bytes" in extra:
        row["ok"] = row["ok"] and extra["size_bytes"] < extra["goal_bytes"]
    return row


_COLD = """
import json, sys, time
t0 = time.perf_counter()
from riskengine.formats import render
a = json.load(open(sys.argv[1], encoding="utf-8"))
render("html", a)
print(time.perf_counter() - t0)
"""


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from riskengine.formats import render

    rows = []
    for lang in ("en", "zh"):
        a, label = adult_assessment(lang)
        html = render("html", a)
        size = len(html.encode("utf-8"))
        base = _times(lambda: render("json", a), args.repeat)
        rows.append(_row(f"html report ({lang}), {label}", _times(lambda: render("html", a), args.repeat), base,
                         GOAL_S, size_bytes=size, goal_bytes=GOAL_BYTES))
        if lang == "en":
            rows.append(_row(f"md + junit + sarif, {label}",
                             _times(lambda: [render(f, a) for f in ("md", "junit", "sarif")], args.repeat), base,
                             GOAL_S))
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "assessment.json"
                path.write_text(json.dumps(a, ensure_ascii=False), encoding="utf-8")
                cold = []
                for _ in range(max(3, args.repeat // 5)):
                    proc = subprocess.run([sys.executable, "-c", _COLD, str(path)], cwd=ROOT, capture_output=True,
                                          text=True, check=True)
                    cold.append(float(proc.stdout.strip()))
            rows.append(_row(f"html report, first render in a fresh process (imports + compile), {label}",
                             cold, base, GOAL_S))
    if args.json:
        print(json.dumps(rows, indent=2))
    elif __name__ == "__main__":
        for r in rows:
            size = f"  {r['size_bytes'] / 1e6:.2f} MB" if "size_bytes" in r else ""
            print(f"{r['name']:<92} {r['median_s']:.4f}s (json {r['baseline_s']:.4f}s, x{r['ratio']:.0f}) "
                  f"goal {r['goal_s']}s{size}  {'ok' if r['ok'] else 'NOT OK'}")
    return rows


if __name__ == "__main__":
    sys.exit(0 if all(r["ok"] for r in main()) else 1)
