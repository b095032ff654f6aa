"""Benchmark: `riskengine batch` against a bare durable-rules loop over the same number of flat facts.

    python benchmarks/bench_batch.py [--records 100000] [--workers 2] [--seed 7] [--json]
    python benchmarks/bench_batch.py --records 1000000 --memory-trace   # the no-growth run

1. Generates RECORDS seeded declarations as JSONL (about 1 % bad records and a few duplicate ids, as a
   regulator's intake would have).
2. Baseline, measured in the same run: a bare durable-rules loop (`Host` without its timer threads, one
   state, `assert_fact` + `retract_fact` per fact) over the flat facts of the same declarations (built
   by `build_fact`, 103 keys each) into a ruleset of a dozen of the shipped classification rules. Only
   the engine calls are timed.
3. `riskengine batch INPUT --out DIR --workers N --quiet` in a child process, wall clock including
   process start, reading, validation, rules, grading, every output file and the summary; the peak of
   the summed RSS of the batch's process tree (coordinator and workers) is sampled every 0.1 s.

Reports records/s for both, the ratio batch/baseline (goal <= 1.0: no slower than the bare engine) and
the peak memory (goal < 1 GB). `--memory-trace` prints the summed RSS every 10 % of the run, to show
that memory stays flat as the input grows. `main(argv)` returns rows for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 1.0
GOAL_RSS_MB = 1024.0

SCENARIO_WEIGHTS = {"general": 30, "finance": 10, "employment": 8, "medical": 8, "public_services": 8,
                    "education": 6, "driving": 5, "robotics": 5, "emergency": 4, "biometrics": 4,
                    "law_enforcement": 3, "critical_infrastructure": 4, "elderly_care": 5}
USE_CASES_BY_SCENARIO = {
    "finance": ["creditworthiness", "life_health_insurance_pricing"],
    "employment": ["recruitment_selection", "work_management"],
    "medical": ["emergency_triage"], "emergency": ["emergency_triage"],
    "public_services": ["public_benefits_eligibility"],
    "education": ["education_admission", "learning_outcome_evaluation", "exam_monitoring"],
    "biometrics": ["remote_biometric_identification", "biometric_categorisation"],
    "law_enforcement": ["evidence_reliability", "offending_risk_assessment", "criminal_profiling"],
    "critical_infrastructure": ["critical_infrastructure_safety"],
}
PRODUCTS_BY_SCENARIO = {"medical": ["medical_device", "in_vitro_diagnostic"], "driving": ["vehicle"],
                        "robotics": ["machinery"], "elderly_care": ["medical_device", "machinery"]}


def generate(n: int, seed: int = 7, bad_every: int = 97, duplicate_every: int = 997) -> Iterator[dict[str, Any]]:
    """n declarations, seeded; every `bad_every`-th one is broken, every `duplicate_every`-th repeats an id."""
    from riskengine import vocab

    rng = random.Random(seed)
    scenarios = list(SCENARIO_WEIGHTS)
    weights = list(SCENARIO_WEIGHTS.values())
    providers = [f"Provider {i:04d} Ltd" for i in range(500)]
    prohibited = list(vocab.PROHIBITED_PRACTICES)
    benign = ["interacts_with_humans", "generates_synthetic_content", "profiling", "narrow_procedural_task",
              "preparatory_task", "physical_safety_impact", "financial_fraud_detection"]
    for i in range(n):
        scenario = rng.choices(scenarios, weights)[0]
        practices = sorted({p for p in benign if rng.random() < 0.12})
        if rng.random() < 0.03:
            practices.append(rng.choice(prohibited))
        use_cases = [u for u in USE_CASES_BY_SCENARIO.get(scenario, []) if rng.random() < 0.35]
        app: dict[str, Any] = {
            "id": f"app-{i:07d}" if not (duplicate_every and i % duplicate_every == duplicate_every - 1)
            else f"app-{i - 1:07d}",
            "name": f"Application {i}", "provider": rng.choice(providers), "version": f"{rng.randint(1, 5)}.0",
            "scenario": scenario,
            "purpose": f"Supports {scenario.replace('_', ' ')} work for case {i} with ranked suggestions.",
            "decision_role": rng.choice(vocab.DECISION_ROLES), "autonomy_level": rng.randint(0, 5),
            "use_cases": use_cases, "practices": sorted(set(practices)),
            "affected_persons": sorted(rng.sample(list(vocab.AFFECTED_PERSONS), rng.randint(1, 3))),
            "data_categories": sorted(rng.sample(["personal", "health", "financial", "location", "biometric"],
                                                 rng.randint(1, 2))),
            "deployer": {"sector": rng.choices(["private", "public", "law_enforcement", "research"],
                                               [70, 22, 5, 3])[0], "public_authority": rng.random() < 0.2},
            "safety_component": rng.random() < 0.1,
            "human_oversight": {"in_the_loop": rng.random() < 0.6, "can_override": rng.random() < 0.8,
                                "monitoring": rng.random() < 0.7},
            "controls": sorted(c for c in vocab.CONTROLS if rng.random() < 0.6),
        }
        if scenario in PRODUCTS_BY_SCENARIO and rng.random() < 0.4:
            app["product_type"] = rng.choice(PRODUCTS_BY_SCENARIO[scenario])
            app["third_party_assessment"] = rng.choice(vocab.THIRD_PARTY_ASSESSMENT)
        doc: dict[str, Any] = {"schema": vocab.SCHEMA_ID, "application": app}
        if bad_every and i % bad_every == bad_every - 1:
            kind = (i // bad_every) % 3
            if kind == 0:
                app["autonomy_level"] = "high"  # wrong type
            elif kind == 1:
                app["scenario"] = "medicine"  # unknown vocabulary
            else:
                app["practices"] = ["social_scorring"]
        yield doc


def write_jsonl(path: Path, n: int, seed: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in generate(n, seed))


def bare_durable(path: Path, rules: int = 12) -> dict[str, Any]:
    """assert_fact + retract_fact of each record's flat fact into a ruleset of `rules` shipped rules."""
    sys.path.insert(0, str(ROOT))
    from durable import engine
    from durable.engine import MessageNotHandledException

    from riskengine.declaration import parse_declaration
    from riskengine.rules import load_knowledge
    from riskengine.rules.conditions import build_fact, compile_condition

    kb = load_knowledge()
    chosen = [r for r in kb.rules.values() if r.phase == "classification" and r.tier][:rules]
    definition: dict[str, Any] = {}
    firings = [0]

    def run(c: Any) -> None:
        firings[0] += 1

    for rule in chosen:
        for i, cond in enumerate(compile_condition(rule.when, rule.id, rule.source)):
            definition[f"{rule.id}#{i}"] = dict(cond, run=run)

    class SyncHost(engine.Host):  # type: ignore[misc]
        def _run(self) -> None:
            pass

    from riskengine.rules.vectorized import for_knowledge

    columns = for_knowledge(kb)
    host = SyncHost()
    name = f"bench-bare-{os.getpid()}"
    host.set_rulesets({name: definition})
    n, engine_s, columns_s, batch = 0, 0.0, 0.0, []

    def flush() -> None:
        nonlocal engine_s, columns_s
        t0 = time.perf_counter()
        for fact in batch:
            try:
                host.assert_fact(name, fact)
            except MessageNotHandledException:
                continue
            host.retract_fact(name, fact)
        engine_s += time.perf_counter() - t0
        # the batch's own rules stage on the same facts: all 75 rules column-wise, both phases, hits per record
        t0 = time.perf_counter()
        valid = [f for f in batch if "scenario" in f]  # the bad records' placeholder facts are not declarations
        hits = columns.evaluate(valid)
        for i in range(len(valid)):
            hits[i].classification()
            hits[i].obligations("high")
        columns_s += time.perf_counter() - t0
        batch.clear()

    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                raw = parse_declaration(json.loads(line), source="bench", sha256="sha256:" + "0" * 64).raw
            except Exception:  # noqa: BLE001 - the bad records: assert a fact anyway, so counts match
                raw = None
            fact = build_fact(raw) if raw else {"always": True}
            n += 1
            batch.append(dict(fact, id=n))
            if len(batch) == 2000:
                flush()
    flush()
    return {"facts": n, "seconds": engine_s, "per_s": n / engine_s, "rules": len(chosen),
            "conditions": len(definition), "firings_per_fact": firings[0] / max(n, 1),
            "columns_seconds": columns_s, "columns_rules": len(kb.rules)}


def stages(path: Path, sample: int = 20_000, chunk: int = 1000) -> dict[str, float]:
    """Where a worker's time goes, per record (µs), on the first `sample` records, in this process.

    Taken a chunk of `chunk` records at a time and with the garbage collector set as in a worker (holding
    every result of the sample at once would add collection time that no worker spends).
    """
    sys.path.insert(0, str(ROOT))
    from riskengine.assess import AssessmentTemplates, Options, assess, sealed
    from riskengine.batch import BatchOptions, Position, open_input, plan_chunks, run_chunk, settle_gc
    from riskengine.declaration import parse_declaration, sha256_bytes
    from riskengine.rules import load_knowledge
    from riskengine.rules.conditions import build_fact
    from riskengine.rules.vectorized import for_knowledge
    from riskengine.safeload import parse_text

    kb = load_knowledge()
    columns = for_knowledge(kb)
    options = Options(run_probes=False)
    templates = AssessmentTemplates(kb, options)
    with open(path, "rb") as fh:
        lines = [fh.readline().rstrip(b"\n") for _ in range(sample)]
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}

    def timed(label: str, fn: Any, n: int) -> Any:
        t0 = time.perf_counter()
        result = fn()
        seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - t0
        counts[label] = counts.get(label, 0) + n
        return result

    def validate(part: list[bytes], docs: list[Any]) -> list[Any]:
        got = []
        for b, d in zip(part, docs):
            try:
                got.append(parse_declaration(d, source="b", sha256=sha256_bytes(b), base_dir="/"))
            except Exception:  # noqa: BLE001, S110 - the bad records are left out of the stage timings
                pass
        return got

    def one_chunk(part: list[bytes]) -> None:
        docs = timed("read: UTF-8 + JSON (safeload.parse_text)",
                     lambda: [parse_text(b.decode(), "b", json_only=True) for b in part], len(part))
        decls = timed("validate (parse_declaration)", lambda: validate(part, docs), len(part))
        n = len(decls)
        facts = timed("facts (build_fact)", lambda: [build_fact(d.raw) for d in decls], n)
        hits = timed("rules, column-wise (75 rules, both phases)", lambda: columns.evaluate(facts), n)
        timed("assess + seal, each record in full (what `riskengine assess` does)",
              lambda: [sealed(assess(d, kb, options, hits[i])) for i, d in enumerate(decls)], n)
        timed("assess + seal, into templates (AssessmentTemplates)",
              lambda: [templates.sealed(d, hits[i]) for i, d in enumerate(decls)], n)

    one_chunk(lines[:chunk])  # warm up (the compiled schema check, the texts of the rules ...), untimed
    seconds.clear()
    templates.filled = templates.cut = 0
    counts.clear()
    threshold = gc.get_threshold()
    settle_gc()  # as a worker process does once its rules are loaded
    try:
        for first in range(0, len(lines), chunk):
            one_chunk(lines[first:first + chunk])
        inp = open_input(str(path))
        for spec, _ in plan_chunks(inp, chunk, Position(0, 1, 0, 1), BatchOptions()):
            if spec.first_record > sample:
                break
            timed("= run_chunk: all of the above but the full one, and the rows",
                  lambda spec=spec: run_chunk(spec), chunk)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assessed = counts["assess + seal, into templates (AssessmentTemplates)"]
    print(f"  {templates.filled / assessed:.0%} of the {assessed:,} declarations of the sample were filled into a "
          f"template; {templates.cut / assessed:.0%} cut one (an outcome not kept), {len(templates.templates):,} "
          "outcomes kept", file=sys.stderr)
    return {label: seconds[label] / counts[label] * 1e6 for label in seconds}


def _tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def run_batch(path: Path, out: Path, workers: int, chunk_size: int, trace: bool,
              extra: list[str] | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "riskengine", "batch", str(path), "--out", str(out), "--workers", str(workers),
           "--chunk-size", str(chunk_size), "--quiet", *(extra or [])]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak, samples, last_trace = 0.0, [], 0.0
    size = path.stat().st_size
    while proc.poll() is None:
        rss = _tree_rss_mb(proc.pid)
        peak = max(peak, rss)
        now = time.perf_counter() - t0
        if trace and now - last_trace >= 2.0:
            done = _bytes_done(out)
            samples.append({"t_s": round(now, 1), "rss_mb": round(rss, 1), "input_done": round(done / size, 3)})
            last_trace = now
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}):\n{err}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": wall, "cpu_s": cpu, "peak_rss_mb": peak, "stderr": err.strip().splitlines()[-2:],
            "trace": samples}


def _bytes_done(out: Path) -> int:
    try:
        state = json.loads((out / ".riskengine-batch" / "checkpoint.json").read_text())
        return int(state["position"]["offset"])
    except (OSError, ValueError, KeyError):
        return 0


def measure(records: int, workers: int, seed: int, chunk_size: int, trace: bool, keep: str | None,
            baseline: bool = True) -> dict:
    tmp = Path(keep or tempfile.mkdtemp(prefix="riskengine-bench-batch-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        data = tmp / f"declarations-{records}-{seed}.jsonl"
        if not data.exists():
            t0 = time.perf_counter()
            write_jsonl(data, records, seed)
            print(f"generated {records:,} declarations in {time.perf_counter() - t0:.1f} s "
                  f"({data.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
        base = bare_durable(data) if baseline else {"facts": records, "seconds": float("nan"), "per_s": float("nan"),
                                                    "rules": 0, "conditions": 0, "firings_per_fact": 0.0,
                                                    "columns_seconds": float("nan"), "columns_rules": 0}
        print(f"bare durable-rules: {base['facts']:,} facts in {base['seconds']:.2f} s = {base['per_s']:,.0f}/s "
              f"({base['rules']} rules, {base['conditions']} conditions, {base['firings_per_fact']:.2f} firings "
              f"per fact); the batch's column-wise rules stage on the same facts: {base['columns_seconds']:.2f} s "
              f"for all {base['columns_rules']} rules", file=sys.stderr)
        where = stages(data) if baseline else {}
        for label, us in where.items():
            print(f"  worker, per record: {label:<52} {us:8.1f} µs", file=sys.stderr)
        out = tmp / "out"
        shutil.rmtree(out, ignore_errors=True)
        got = run_batch(data, out, workers, chunk_size, trace)
        rate = records / got["seconds"]
        sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
        print(f"riskengine batch: {records:,} records in {got['seconds']:.2f} s = {rate:,.0f}/s, "
              f"CPU {got['cpu_s']:.1f} s (= {got['cpu_s'] / records * 1e6:.0f} µs per record over all processes), "
              f"peak RSS {got['peak_rss_mb']:.0f} MB; {' / '.join(got['stderr'])}", file=sys.stderr)
        return {"records": records, "workers": workers, "chunk_size": chunk_size, "batch_s": got["seconds"],
                "batch_per_s": rate, "baseline_s": base["seconds"], "baseline_per_s": base["per_s"],
                "ratio": got["seconds"] / base["seconds"], "peak_rss_mb": got["peak_rss_mb"], "cpu_s": got["cpu_s"],
                "baseline": base, "stages_us": where, "output_bytes": sizes, "trace": got["trace"]}
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--memory-trace", action="store_true", help="sample RSS against progress")
    parser.add_argument("--keep", metavar="DIR", help="keep the generated input and the outputs in DIR")
    parser.add_argument("--skip-baseline", action="store_true", help="only the batch (for the long memory run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    r = measure(args.records, args.workers, args.seed, args.chunk_size, args.memory_trace, args.keep,
                baseline=not args.skip_baseline)
    if args.json:
        print(json.dumps(r, indent=2))
    elif args.memory_trace:
        for s in r["trace"]:
            print(f"  t={s['t_s']:>7.1f}s  input {s['input_done'] * 100:5.1f}%  RSS {s['rss_mb']:7.1f} MB")
    rows = [
        {"name": f"batch {args.records:,} records, {args.workers} workers (vs bare durable-rules loop)",
         "median_s": r["batch_s"], "best_s": r["batch_s"], "baseline_s": r["baseline_s"], "ratio": r["ratio"],
         "goal_s": r["baseline_s"] * GOAL_RATIO, "ok": r["ratio"] <= GOAL_RATIO,
         "records_per_s": r["batch_per_s"], "baseline_per_s": r["baseline_per_s"]},
        {"name": "batch rules stage: column-wise, all rules (vs the same bare loop)",
         "median_s": r["baseline"]["columns_seconds"], "best_s": r["baseline"]["columns_seconds"],
         "baseline_s": r["baseline_s"], "ratio": r["baseline"]["columns_seconds"] / r["baseline_s"],
         "goal_s": r["baseline_s"] * GOAL_RATIO, "ok": r["baseline"]["columns_seconds"] <= r["baseline_s"]},
        {"name": "batch peak RSS, coordinator + workers (MB; goal < 1024)", "median_s": r["peak_rss_mb"],
         "best_s": r["peak_rss_mb"], "baseline_s": GOAL_RSS_MB, "ratio": r["peak_rss_mb"] / GOAL_RSS_MB,
         "goal_s": GOAL_RSS_MB, "ok": r["peak_rss_mb"] < GOAL_RSS_MB},
    ]
    return rows


if __name__ == "__main__":
    for row in main():
        print(f"{row['name']:<72} {row['median_s']:>9.2f} {row['baseline_s']:>9.2f} {row['ratio']:>6.2f} "
              f"{'ok' if row['ok'] else 'NO'}")
