"""The one table every benchmark prints: each timing beside its same-run baseline, the ratio and the goal."""

from __future__ import annotations


def print_rows(rows: list[dict]) -> None:
    width = max([len("benchmark")] + [len(r["name"]) for r in rows if "median_s" in r])
    print(f"{'benchmark':<{width}} {'median':>9} {'baseline':>9} {'ratio':>8} {'goal':>8}  ok")
    for r in rows:
        if "median_s" in r:
            print(f"{r['name']:<{width}} {r['median_s']:>8.3f}s {r['baseline_s']:>8.3f}s {r['ratio']:>8.2f} "
                  f"{r['goal_s']:>7.2f}s  {'yes' if r['ok'] else 'NO'}")
        else:
            print(r)
