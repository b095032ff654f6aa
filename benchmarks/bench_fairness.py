"""Benchmark: the fairness probe vs a bare pandas groupby computing the same confusion counts.

    python benchmarks/bench_fairness.py [--rows 1000000] [--repeat 5] [--n-boot 1000] [--json]

Builds ROWS seeded synthetic rows with two sensitive features (sex: 2 groups, race: 5 groups), a
label and a prediction that depends on sex. In one child process it times --repeat runs of each,
after a warm-up, and reports medians:
  probe     riskengine.probes.fairness.assess_fairness: collapse, group rates for sex, race and
            sex+race, nine disparity metrics, a --n-boot bootstrap, limits judged (tier high);
  baseline  df.groupby([sex, race, y_true, y_pred]).size(): the confusion counts per group, nothing else.
It reports the ratio (goal <= 2), the child's peak RSS (ru_maxrss, data included; goal < 2 GB) and the
tracemalloc peak of one probe call. `main(argv)` returns the numbers as a dict for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 2.0
GOAL_RSS_MB = 2048.0

LIMITS = {
    "min_group_size": 30,
    "confidence_level": 0.95,
    "limits": [
        {"metric": "demographic_parity_ratio", "min": 0.8},
        {"metric": "equalized_odds_difference", "max": 0.1},
        {"metric": "fpr_difference", "max": 0.05},
    ],
}


def _data(rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["Female", "Male"]), rows, p=[0.48, 0.52])
    race = rng.choice(
        np.array(["White", "Black", "Asian", "Hispanic", "Other"]), rows, p=[0.6, 0.15, 0.1, 0.1, 0.05]
    )
    y_true = (rng.random(rows) < 0.4).astype(np.int8)
    y_pred = (rng.random(rows) < np.where(y_true == 1, 0.7, 0.2) + np.where(sex == "Male", 0.08, 0.0)).astype(
        np.int8
    )
    return pd.DataFrame({"sex": sex, "race": race, "y_true": y_true, "y_pred": y_pred})


def _time(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """(best, median, last result) of `repeat` timed calls."""
    import statistics

    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def _child(rows: int, repeat: int, n_boot: int, seed: int, compare_fairlearn: bool) -> dict[str, Any]:
    import resource
    import tracemalloc

    sys.path.insert(0, str(ROOT))
    from riskengine.probes.fairness import assess_fairness

    t0 = time.perf_counter()
    df = _data(rows, seed)
    t_data = time.perf_counter() - t0
    settings = {**LIMITS, "n_boot": n_boot, "seed": 0}

    def probe() -> Any:
        return assess_fairness(
            df["y_true"], df["y_pred"], df[["sex", "race"]], settings=settings, tier="high"
        )

    def baseline() -> Any:
        return df.groupby(["sex", "race", "y_true", "y_pred"], observed=True).size()

    probe()  # warm-up: first-call costs (numpy/pandas code paths) are not what we measure
    baseline()
    t_probe, med_probe, result = _time(probe, repeat)
    t_base, med_base, counts = _time(baseline, repeat)
    # both computed the same counts
    inter = {
        tuple(r["group"].values()): r["counts"] for r in result.details["by_group"] if r["view"] == "sex+race"
    }
    same = all(
        inter[(s, r)][k] == int(counts[(s, r, t, p)])
        for (s, r, t, p) in counts.index
        for k in [{(0, 0): "tn", (0, 1): "fp", (1, 0): "fn", (1, 1): "tp"}[(t, p)]]
    )
    tracemalloc.start()
    probe()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out: dict[str, Any] = {
        "rows": rows,
        "n_boot": n_boot,
        "repeat": repeat,
        "data_build_s": round(t_data, 3),
        "probe_median_s": round(med_probe, 4),
        "baseline_median_s": round(med_base, 4),
        "probe_s": round(t_probe, 4),
        "baseline_s": round(t_base, 4),
        "ratio": round(med_probe / med_base, 2),
        "best_ratio": round(t_probe / t_base, 2),
        "counts_identical": same,
        "probe_traced_peak_mb": round(traced_peak / 2**20, 1),
        "findings": len(result.findings),
    }
    if compare_fairlearn:  # for reference: fairlearn's MetricFrame on the same collapsed cells (weighted)
        from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

        metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate}

        def metricframe() -> Any:
            agg = baseline().rename("w").reset_index()
            for cols in (["sex"], ["race"], ["sex", "race"]):
                MetricFrame(
                    metrics=metrics,
                    y_true=agg.y_true,
                    y_pred=agg.y_pred,
                    sensitive_features=agg[cols],
                    sample_params={k: {"sample_weight": agg.w.to_numpy()} for k in metrics},
                )

        metricframe()
        t_mf, _, _ = _time(metricframe, repeat)
        out["fairlearn_weighted_metricframe_s"] = round(t_mf, 4)
        out["fairlearn_ratio"] = round(t_mf / t_base, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark in a child process (so its peak memory is its own) and return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--compare-fairlearn",
        action="store_true",
        help="also time fairlearn MetricFrame on the collapsed cells (for reference)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = _child(args.rows, args.repeat, args.n_boot, args.seed, args.compare_fairlearn)
        print(json.dumps(result))
        return result
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--rows",
        str(args.rows),
        "--repeat",
        str(args.repeat),
        "--n-boot",
        str(args.n_boot),
        "--seed",
        str(args.seed),
    ]
    if args.compare_fairlearn:
        cmd.append("--compare-fairlearn")
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["goal_ratio_met"] = result["ratio"] <= GOAL_RATIO
    result["goal_memory_met"] = result["peak_rss_mb"] < GOAL_RSS_MB
    # the row shape benchmarks/run.py tabulates; the goal in seconds is GOAL_RATIO x the baseline
    result.update(
        name=f"fairness probe, {result['rows']:,} rows (vs pandas groupby)",
        median_s=result["probe_median_s"],
        best_s=result["probe_s"],
        baseline_s=result["baseline_median_s"],
        goal_s=round(GOAL_RATIO * result["baseline_median_s"], 4),
        ok=result["goal_ratio_met"] and result["goal_memory_met"],
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        r = result
        verdict = {True: "met", False: "MISSED"}
        print(f"fairness probe, {r['rows']:,} rows, 2 sensitive features, {r['n_boot']} bootstrap replicates")
        print(f"  probe     {r['probe_median_s'] * 1e3:8.1f} ms   (collapse, 3 views, 9 metrics, bootstrap)")
        print(f"  baseline  {r['baseline_median_s'] * 1e3:8.1f} ms   (pandas groupby -> confusion counts)")
        print(
            f"  ratio     {r['ratio']:8.2f}      goal <= {GOAL_RATIO}: {verdict[r['goal_ratio_met']]} "
            f"(best of {r['repeat']}: {r['best_ratio']})"
        )
        print(
            f"  peak RSS  {r['peak_rss_mb']:8.1f} MB   goal < {GOAL_RSS_MB:.0f} MB: "
            f"{verdict[r['goal_memory_met']]} (whole child process, data included)"
        )
        print(
            f"  probe tracemalloc peak {r['probe_traced_peak_mb']:.1f} MB; counts identical to the "
            f"groupby: {r['counts_identical']}"
        )
        if "fairlearn_ratio" in r:
            print(
                "  reference: fairlearn MetricFrame on the collapsed cells "
                f"{r['fairlearn_weighted_metricframe_s'] * 1e3:.1f} ms (ratio {r['fairlearn_ratio']})"
            )
    return result


if __name__ == "__main__":
    main()
