"""riskengine benchmarks, one command: `make bench` (or `python benchmarks/run.py [--quick] [--only NAME]`).

Every timing is printed beside a baseline measured in the same run on the
same machine (this one is 2 shared cores and noisy), as a ratio, and against
its goal. Nothing here runs in the test suite: speed targets live only here.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _table import print_rows  # benchmarks/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ed-triage-assistant.yaml"


def _timed(cmd: list[str], repeat: int, cwd: Path | None = None) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return times


def _row(name: str, times: list[float], base: list[float], goal: float) -> dict:
    med, best, bmed = statistics.median(times), min(times), statistics.median(base)
    return {"name": name, "median_s": med, "best_s": best, "baseline_s": bmed, "ratio": med / bmed,
            "goal_s": goal, "ok": med < goal}


def bench_cli(repeat: int) -> list[dict]:
    py = sys.executable
    base = _timed([py, "-c", "pass"], repeat)
    rows = [_row("riskengine --help (process start included)", _timed([py, "-m", "riskengine", "--help"], repeat),
                 base, 0.3)]
    with tempfile.TemporaryDirectory() as tmp:
        _timed([py, "-m", "riskengine", "assess", str(EXAMPLE), "--out", tmp], 1)  # warm the file cache
        rows.append(_row("riskengine assess, no model (process start included)",
                         _timed([py, "-m", "riskengine", "assess", str(EXAMPLE), "--out", tmp], repeat), base, 1.0))
    return rows


def bench_in_process(repeat: int) -> list[dict]:
    """Per-declaration cost once the process is warm, against parsing the same file alone."""
    from riskengine.assess import assess, assessment_dict
    from riskengine.declaration import load_declaration
    from riskengine.rules import load_knowledge

    kb = load_knowledge()
    n = 200 * repeat
    t0 = time.perf_counter()
    for _ in range(n):
        load_declaration(EXAMPLE)
    parse = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        assessment_dict(assess(load_declaration(EXAMPLE), kb))
    full = (time.perf_counter() - t0) / n
    return [{"name": "assess in process, per declaration", "median_s": full, "best_s": full, "baseline_s": parse,
             "ratio": full / parse, "goal_s": 0.05, "ok": full < 0.05}]


def _extra(name: str) -> list[dict]:
    path = Path(__file__).with_name(f"bench_{name}.py")
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    result = module.main([])
    return result if isinstance(result, list) else [result]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", choices=["cli", "inprocess", "fairness", "report", "batch", "robustness"], action="append")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    chosen = args.only or ["cli", "inprocess", "fairness", "report", "batch", "robustness"]
    rows: list[dict] = []
    if "cli" in chosen:
        rows += bench_cli(args.repeat)
    if "inprocess" in chosen:
        rows += bench_in_process(max(1, args.repeat // 7))
    if "fairness" in chosen:
        rows += _extra("fairness")
    if "report" in chosen:
        rows += _extra("report")
    if "batch" in chosen:
        rows += _extra("batch")
    if "robustness" in chosen:
        rows += _extra("robustness")
    print_rows(rows)
    return 0 if all(r.get("ok", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
