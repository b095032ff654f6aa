"""`riskengine batch`: one row per record, nothing lost across a kill, results equal to `riskengine assess`.

The column-wise rule evaluation is held to durable-rules here, and the assessment templates to full
assessments; the batch is held to `assess` record by record. (The compiled schema check is held to
jsonschema in test_declaration.py.)
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from riskengine import vocab
from riskengine.assess import Options, assess, assessment_dict
from riskengine.batch import (
    COLUMNS,
    BatchOptions,
    csv_columns,
    csv_document,
    csv_records,
    csv_row,
    jsonl_records,
    record_cuts,
    run_batch,
)
from riskengine.declaration import parse_declaration, sha256_bytes
from riskengine.errors import DeclarationErrors
from riskengine.integrity import canonical_json, check
from riskengine.rules import load_knowledge
from riskengine.rules.conditions import build_fact
from riskengine.rules.vectorized import for_knowledge
from tests.conftest import EXAMPLES, GENERATE, run_cli
from tests.test_conditions import random_declaration

pytest.importorskip("numpy")
pytest.importorskip("pyarrow")


SHA0 = "sha256:" + "0" * 64


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


def _write_jsonl(path: Path, docs) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs)
    return path


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _assessments(out: Path) -> list[dict]:
    with open(out / "assessments.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _no_clock(assessment: dict) -> dict:
    out = copy.deepcopy(assessment)
    out["manifest"].pop("generated_at", None)
    return out


def _quiet(**kw):
    return {"progress": False, "log": lambda text: None, **kw}


# ---------------------------------------------------------------- the references


def test_columnwise_rules_equal_durable_rules_on_generated_declarations(kb):
    rng = random.Random(20261125)
    raws = [random_declaration(rng) for _ in range(700)]
    for doc in GENERATE(900, seed=3, bad_every=0):
        raws.append(parse_declaration(doc, source="gen", sha256=SHA0).raw)
    facts = [build_fact(r) for r in raws]
    chunk = for_knowledge(kb).evaluate(facts)
    fired = {"classification": 0, "obligation": 0}
    for i, fact in enumerate(facts):
        first = kb.classification.evaluate(fact)
        got = chunk[i].classification()  # looked up by the row's bits
        assert set(got) == first and len(got) == len(first), i
        fired["classification"] += bool(first)
        for tier in vocab.TIERS:
            second = kb.obligations.evaluate(dict(fact, tier=tier))
            got = chunk[i].obligations(tier)
            assert set(got) == second and len(got) == len(second), (i, tier)
            fired["obligation"] += bool(second)
    assert all(fired.values())
    tiers = {assess(parse_declaration({"schema": "riskengine/v1", "application": r["application"]}, source="x",
                                      sha256=SHA0), kb, Options(run_probes=False), chunk[i]).tier
             for i, r in enumerate(raws[:400])}
    assert tiers == set(vocab.TIERS)  # the comparison covered every tier


def test_mixed_good_and_bad_records_give_one_row_each(tmp_path, kb):
    good = list(GENERATE(6, seed=5, bad_every=0, duplicate_every=0))
    wrong_type = copy.deepcopy(good[0])
    wrong_type["application"].update(id="wrong-type", autonomy_level="high")
    unknown = copy.deepcopy(good[1])
    unknown["application"].update(id="unknown-vocab", scenario="medicine")
    duplicate = copy.deepcopy(good[2])
    lines = [json.dumps(good[0]).encode(), b"{not json", json.dumps(wrong_type).encode(), b"",
             json.dumps(unknown).encode(), b"   ", json.dumps(good[1]).encode() + b"\r",
             '{"schema": "riskengine/v1", "application": {"id": "caf\xe9"}}'.encode("latin-1"),
             b'{"a": 1, "a": 2}', b"[1, 2]", (b'{"schema": "riskengine/v1", "application": {"id": "x", '
             b'"name": "n", "provider": "p", "scenario": "general", "purpose": "p", "decision_role": "advisory", '
             b'"autonomy_level": NaN}}'), json.dumps(good[2]).encode(), json.dumps(duplicate).encode(),
             b"[" * 40 + b"]" * 40]
    data = tmp_path / "mixed.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    result = run_batch(str(data), str(out), workers=1, **_quiet())
    rows = _rows(out)
    records = [i + 1 for i, line in enumerate(lines) if line.strip()]
    assert len(rows) == len(records) == result.tally.records == 12
    assert [int(r["line"]) for r in rows] == records
    assert [int(r["record"]) for r in rows] == list(range(1, 13))
    assert result.tally.blank_lines == 2
    by_line = {int(r["line"]): r for r in rows}
    assert by_line[1]["error"] == "" and by_line[1]["tier"] in vocab.TIERS
    assert "not valid JSON" in by_line[2]["error"]
    assert by_line[3]["error"].startswith("application.autonomy_level: must be an integer from 0 to 5")
    assert by_line[3]["id"] == "wrong-type"
    assert "application.scenario" in by_line[5]["error"] and by_line[5]["id"] == "unknown-vocab"
    assert by_line[7]["error"] == ""  # a CRLF line end is fine
    assert "UTF-8" in by_line[8]["error"]
    assert "duplicate key 'a'" in by_line[9]["error"]
    assert "mapping" in by_line[10]["error"]
    assert "NaN" in by_line[11]["error"]
    assert by_line[13]["duplicate_of"] == f"{data}:12" and by_line[12]["duplicate_of"] == ""
    assert "nested deeper" in by_line[14]["error"]
    assert result.tally.errors == 8 and result.tally.duplicates == 1
    assessed = _assessments(out)
    assert [a["application"]["id"] for a in assessed] == [r["id"] for r in rows if not r["error"]]
    import pyarrow.parquet as pq

    table = pq.read_table(out / "results.parquet")
    assert table.num_rows == len(rows) and table.column_names == list(COLUMNS)
    assert table.column("error").to_pylist()[1].startswith("not valid JSON")
    assert not (out / ".riskengine-batch").exists()


def test_every_result_equals_assess_on_the_same_record(tmp_path, kb):
    docs = list(GENERATE(400, seed=21))
    data = _write_jsonl(tmp_path / "apps.jsonl", docs)
    out = tmp_path / "out"
    run_batch(str(data), str(out), workers=2, chunk_size=64, **_quiet())
    rows, assessed = _rows(out), iter(_assessments(out))
    lines = data.read_bytes().splitlines()
    checked = 0
    for row, line in zip(rows, lines):
        source = f"{data}:{row['line']}"
        try:
            decl = parse_declaration(json.loads(line), source=source, sha256=sha256_bytes(line),
                                     base_dir=str(data.parent))
        except DeclarationErrors as exc:
            assert row["error"] and exc.errors[0].field in row["error"]
            continue
        expected = assessment_dict(assess(decl, kb, Options(run_probes=False)))  # durable-rules, record by record
        got = next(assessed)
        assert _no_clock(got) == _no_clock(expected), row["record"]
        assert got["manifest"]["content_sha256"] == expected["manifest"]["content_sha256"]
        assert (row["tier"], row["grade"], float(row["score"])) == (got["tier"], got["grade"], got["score"])
        assert row["missing_controls"] == ";".join(got["missing_controls"])
        assert [int(row[f"findings_{s}"]) for s in vocab.SEVERITIES] == [got["finding_counts"][s]
                                                                        for s in vocab.SEVERITIES]
        checked += 1
    assert checked > 350 and next(assessed, None) is None
    for line in (out / "assessments.jsonl").read_bytes().splitlines():  # each line: the sealed canonical JSON
        doc = json.loads(line)
        assert line == canonical_json(doc) and check(doc)[0] == check(doc)[1]
    # and through the command itself, for a few records written to files of their own
    for row in [r for r in rows if not r["error"]][:3]:
        single = tmp_path / f"single-{row['record']}.json"
        single.write_bytes(lines[int(row["line"]) - 1])
        proc = run_cli("assess", str(single), "--json", "--out", str(tmp_path / f"o{row['record']}"))
        assert proc.returncode in (0, 1), proc.stderr
        expected = json.loads(proc.stdout)
        got = next(a for a in _assessments(out) if a["manifest"]["source"] == f"apps.jsonl:{row['line']}")
        for a in (expected, got):
            for key in ("generated_at", "content_sha256", "source"):
                a["manifest"].pop(key)
        assert got == expected


def test_durable_engine_option_gives_the_same_rows(tmp_path):
    data = _write_jsonl(tmp_path / "apps.jsonl", GENERATE(150, seed=8))
    run_batch(str(data), str(tmp_path / "a"), workers=1, **_quiet())
    run_batch(str(data), str(tmp_path / "b"), workers=1, options=BatchOptions(engine="durable"), **_quiet())
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()


def test_folder_of_declarations_equals_assess_of_each_file(tmp_path, kb):
    out = tmp_path / "out"
    run_batch(str(EXAMPLES), str(out), workers=1, **_quiet())
    rows = _rows(out)
    files = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    assert [r["source"] for r in rows] == [p.name for p in files] and all(not r["error"] for r in rows)
    from riskengine.declaration import load_declaration

    for got, path in zip(_assessments(out), files):
        expected = assessment_dict(assess(load_declaration(path), kb, Options(run_probes=False)))
        assert _no_clock(got) == _no_clock(expected), path.name


def test_with_probes_probes_the_declarations_that_name_a_model_and_data(tmp_path, kb):
    """--with-probes: a declaration with a model and data is probed as `assess` probes it (the COMPAS
    predictions: the fairness probe runs, the others are skipped for a predictions-only model), the
    others are read as declarations (and may be filled into templates)."""
    from riskengine.declaration import load_declaration

    folder = tmp_path / "in"
    folder.mkdir()
    sources = [EXAMPLES / "models" / "compas-predictions.yaml", EXAMPLES / "email-spam-filter.yaml",
               EXAMPLES / "city-portal-faq-chatbot.yaml"]
    for path in sources:  # links: relative data paths resolve against the real folder
        (folder / path.name).symlink_to(path)
    out = tmp_path / "out"
    run_batch(str(folder), str(out), workers=1, options=BatchOptions(with_probes=True), **_quiet())
    got = {a["application"]["id"]: a for a in _assessments(out)}
    for path in sources:
        expected = assessment_dict(assess(load_declaration(path), kb, Options()))
        assert _no_clock(got[expected["application"]["id"]]) == _no_clock(expected), path.name
    probed = got["pretrial-recidivism-score"]["probes"]
    assert probed["fairness"]["status"] == "ok" and probed["fairness"]["metrics"]
    assert {probed[p]["status"] for p in ("robustness", "explainability")} == {"skipped"}


def _cuts_by_reader(path: Path, kind: str, start: int, line: int, every: int) -> list[tuple[int, int, int]]:
    """What the chunks were cut at before record_cuts: every record read by the reader."""
    reader = jsonl_records if kind == "jsonl" else csv_records
    out, count, last, pos, next_line = [], 0, start, start, line
    with open(path, "rb") as fh:
        for record, pos, next_line in reader(fh, start, None, line):
            if record is not None:
                count += 1
                if count == every:
                    out.append((pos, next_line, count))
                    count, last = 0, pos
    if pos > last:
        out.append((pos, next_line, count))
    return out


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_input_is_cut_where_the_readers_would_cut_it(tmp_path, monkeypatch, kind):
    from riskengine import batch
    from riskengine.safeload import MAX_BYTES

    rng = random.Random(17)
    odd = [b"", b"   ", b"\t", b" \r", b"\x0b", b'"a\nb"', b'x,"y\n\nz",w', b'"never closed', b'q""q',
           b"x" * (MAX_BYTES + 2), b"x" * (MAX_BYTES + 1), b" " * (MAX_BYTES + 3), b' {"a": 1}', b'{"a": 1}\r']
    for n in range(12):
        lines = [rng.choice(odd) if rng.random() < 0.2 else json.dumps({"i": i, "p": "y" * rng.randint(0, 150)}).encode()
                 for i in range(rng.randint(0, 50))]
        path = tmp_path / f"{n}.{kind}"
        path.write_bytes(b"\n".join(lines) + (b"\n" if n % 3 else b""))
        for block in (batch.PLAN_BLOCK, 64, 1000):
            monkeypatch.setattr(batch, "PLAN_BLOCK", block)
            for every in (1, 3, 1000):
                expected = _cuts_by_reader(path, kind, 0, 1, every)
                with open(path, "rb") as fh:
                    assert list(record_cuts(fh, kind, 0, 1, every)) == expected, (n, block, every)
                if len(expected) > 2:  # from a checkpoint in the middle, as --resume starts
                    at, line = expected[1][0], expected[1][1]
                    with open(path, "rb") as fh:
                        assert list(record_cuts(fh, kind, at, line, every)) == \
                            _cuts_by_reader(path, kind, at, line, every)


def test_a_range_read_whole_gives_the_lines_read_one_by_one(tmp_path, monkeypatch):
    from riskengine import batch

    monkeypatch.setattr(batch, "MAX_BYTES", 16)  # lines around the size limit stay small
    odd = [b"", b"  ", b"\r", b"a\r\r", b"\x00nul", "caf\xe9 \u5e94".encode(), b"x" * 16, b"x" * 17, b"x" * 18,
           b"y" * 40, b"z" * 17 + b"\r"]
    rng = random.Random(3)
    for n in range(8):
        data = b"\n".join(rng.choice(odd) for _ in range(rng.randint(1, 14))) + (b"\n" if n % 2 else b"")
        path = tmp_path / f"{n}.jsonl"
        path.write_bytes(data)
        starts = [0] + [i + 1 for i, c in enumerate(data) if c == ord("\n")]
        with open(path, "rb") as fh:
            for start in starts:
                for end in sorted({*starts, start + 3, len(data), len(data) + 5}):  # also mid-line and past the end
                    if end < start:
                        continue
                    whole = list(batch._lines(fh, start, end, 7))
                    monkeypatch.setattr(batch, "WHOLE_RANGE", -1)  # line by line
                    assert whole == list(batch._lines(fh, start, end, 7)), (n, start, end)
                    monkeypatch.setattr(batch, "WHOLE_RANGE", 1 << 20)


def test_parquet_holds_what_results_csv_holds(tmp_path):
    from riskengine.batch import _arrow_schema, _csv_cells

    docs = list(GENERATE(300, seed=19))
    odd = ["carriage\rreturn", "back\\slash\\\r\\", "nul\x00tab\tline\u2028", 'quote"comma,', "new\nline", " "]
    for i, text in enumerate(odd):
        docs[i]["application"]["name"] = text
        docs[len(odd) + i]["application"]["provider"] = text
    docs[20]["application"]["id"] = docs[21]["application"]["id"] = "id\rwith-cr"  # an error row, twice
    docs[22]["application"]["scenario"] = "bad\rscenario"
    data = _write_jsonl(tmp_path / "odd.jsonl", docs)
    out = tmp_path / "out"
    result = run_batch(str(data), str(out), workers=2, chunk_size=16, **_quiet())
    import pyarrow.parquet as pq

    table = pq.read_table(out / "results.parquet")
    assert table.schema == _arrow_schema()
    rows = [[r[c] for c in COLUMNS] for r in table.to_pylist()]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([COLUMNS, *(_csv_cells(r) for r in rows)])
    assert (out / "results.csv").read_bytes() == buf.getvalue().encode("utf-8")  # the same values, both files
    by = {c: table.column(c).to_pylist() for c in COLUMNS}
    assert by["name"][:len(odd)] == odd and by["provider"][len(odd):2 * len(odd)] == odd
    assert by["duplicate_of"][21] == f"{data}:21" and result.tally.duplicate_list[0]["id"] == "id\rwith-cr"
    errors = [i for i, e in enumerate(by["error"]) if e]
    assert errors and all(by["tier"][i] is None and by["grade"][i] is None and by["in_scope"][i] is None
                          and by["tier_reasons"][i] == [] and by["findings_high"][i] is None for i in errors)
    assert all(v is not None for c in ("source", "id", "name", "provider", "scenario", "error", "duplicate_of")
               for v in by[c])
    assert any(by["missing_controls"]) and any(r == [] for i, r in enumerate(by["missing_controls"])
                                               if i not in errors)


def test_results_and_summary_do_not_depend_on_chunks_or_workers(tmp_path, monkeypatch):
    from riskengine import batch

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(batch, "LIST_LIMIT", 7)  # the summary's lists fill up within the run
    data = _write_jsonl(tmp_path / "apps.jsonl", GENERATE(700, seed=23, bad_every=13, duplicate_every=11))
    seen = set()
    for workers, chunk_size in ((1, 1000), (1, 1), (2, 9), (2, 64)):
        out = tmp_path / f"out-{workers}-{chunk_size}"
        tally = run_batch(str(data), str(out), workers=workers, chunk_size=chunk_size, **_quiet()).tally
        assert len(tally.high) == len(tally.error_list) == len(tally.duplicate_list) == 7
        seen.add((tally.to_json().__repr__(), *((out / f).read_bytes() for f in
                                                ("results.csv", "assessments.jsonl", "summary.html"))))
    assert len(seen) == 1


def _odd_rows() -> list[tuple]:
    """Rows as run_chunk makes them, with values that need quotes and summaries of unusual types."""
    from riskengine.assess import Summary

    counts = {s: i for i, s in enumerate(vocab.SEVERITIES)}
    summaries = [Summary("high", True, "C", 61.5, ("R-1", "R-2"), ("c1", "c2"), counts),
                 Summary("minimal", False, "A", 100.0, (), (), dict.fromkeys(vocab.SEVERITIES, 0)),
                 Summary("limited", True, "B", 75, ('R,"1"',), ("c\n3",), counts),  # an int score, cells to quote
                 Summary("high", 1, "B", 1e-07, ("R-1",), (), {**counts, "low": True}),  # an int flag, a bool count
                 None]
    texts = ["plain", "", "comma,", 'quote"', "line\nfeed", "carriage\rreturn", "nul\x00", "caf\xe9 \u5e94\u7528",
             " ; %s "]
    return [(i + 1, "in,put.jsonl" if i % 3 == 0 else "input.jsonl", None if i % 4 == 0 else i + 1, text,
             texts[-1 - i % len(texts)], text[::-1], "general", summary, "" if summary else f"error: {text}")
            for i, (text, summary) in enumerate(itertools.product(texts, summaries))]


def test_results_lines_are_what_csv_writer_writes():
    from riskengine.batch import _csv_cells, _csv_lines, _csv_row_lines

    rows = _odd_rows()
    expected = []
    for *cells, summary, error in rows:
        if summary is None:
            cells += [None, None, None, None, [], [], *[None] * len(vocab.SEVERITIES)]
        else:
            cells += [summary.tier, summary.in_scope, summary.grade, summary.score, list(summary.tier_reasons),
                      list(summary.missing_controls), *(summary.finding_counts[s] for s in vocab.SEVERITIES)]
        expected.append(_csv_lines([_csv_cells([*cells, error, ""])]))
    assert _csv_row_lines(rows) == expected
    assert b'"in,put.jsonl"' in expected[0] and b',true,B,1e-07,' not in b"".join(expected)  # the writer's own


def test_a_chunk_is_counted_as_its_rows_one_by_one(monkeypatch):
    from riskengine import batch

    monkeypatch.setattr(batch, "LIST_LIMIT", 7)
    rows = _odd_rows()
    for skip in ((), ("high",), batch.Tally.LISTS):
        whole, one_by_one = batch.Tally(), batch.Tally()
        whole.count(rows, skip)
        for row in rows:
            one_by_one.count([row], skip)
        assert repr(whole.to_json()) == repr(one_by_one.to_json())  # the numbers, the order of keys, the lists
        assert whole.records == len(rows) and whole.errors == len(rows) // 5
        assert len(whole.error_list) == (0 if "error_list" in skip else 7)


# ---------------------------------------------------------------- nothing lost across a kill


def test_killed_batch_resumes_and_holds_every_record_exactly_once(tmp_path):
    docs = list(GENERATE(8000, seed=31))
    data = _write_jsonl(tmp_path / "big.jsonl", docs)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "riskengine", "batch", str(data), "--out", str(out), "--workers", "2",
            "--chunk-size", "200", "--checkpoint-every", "0", "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    checkpoint = out / ".riskengine-batch" / "checkpoint.json"
    done = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done = json.loads(checkpoint.read_text())["position"]["record"] - 1
            except (OSError, ValueError, KeyError):
                done = 0
            if done >= len(docs) // 2:  # half-way: a checkpoint is written after every chunk here
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the batch ended before it could be killed half-way"
    assert 0 < done < len(docs)
    assert not (out / "results.csv").exists()  # nothing final appears before the end
    (out / ".riskengine-batch" / "parts" / "99999999.jsonl").write_bytes(b"a worker's unfinished chunk")
    resumed = run_cli("batch", str(data), "--out", str(out), "--workers", "2", "--chunk-size", "200", "--resume",
                      "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after" in resumed.stderr
    rows = _rows(out)
    assert [int(r["record"]) for r in rows] == list(range(1, len(docs) + 1))
    assert [int(r["line"]) for r in rows] == list(range(1, len(docs) + 1))
    assert [r["id"] for r in rows] == [d["application"]["id"] for d in docs]
    assessed = [a["application"]["id"] for a in _assessments(out)]
    assert assessed == [r["id"] for r in rows if not r["error"]]
    assert sum(1 for r in rows if r["duplicate_of"]) == sum(1 for i in range(len(docs)) if i % 997 == 996)
    import pyarrow.parquet as pq

    assert pq.read_table(out / "results.parquet").column("record").to_pylist() == list(range(1, len(docs) + 1))
    assert not (out / ".riskengine-batch").exists()


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_a_spilled_chunk_is_appended_where_the_file_ends(tmp_path, monkeypatch, kernel_copy):
    from riskengine.batch import _append_file

    if not kernel_copy:
        monkeypatch.delattr(os, "copy_file_range", raising=False)  # as on a system without it
    target = tmp_path / "assessments.jsonl"
    with open(target, "wb") as handle:
        handle.write(b"first\n")  # still in the handle's buffer
        for n, body in enumerate((b"second\n" * 5000, b"", b"third\n")):
            part = tmp_path / f"{n}.jsonl"
            part.write_bytes(body)
            _append_file(handle, str(part))
            assert not part.exists()
        handle.write(b"last\n")
        assert handle.tell() == len(b"first\n" + b"second\n" * 5000 + b"third\nlast\n")
    assert target.read_bytes() == b"first\n" + b"second\n" * 5000 + b"third\nlast\n"


def test_a_chunk_appends_its_own_assessments_only_in_its_turn(tmp_path, monkeypatch):
    import multiprocessing

    from riskengine import batch

    work = tmp_path / "work"
    outputs = batch.Outputs(work, fresh=True)
    path = work / "assessments.jsonl"
    turn = multiprocessing.get_context("fork").Value("q", 0)
    monkeypatch.setattr(batch, "_TURN", (turn, str(path), os.getppid()))  # as in a worker process
    ids = batch._id_entries([])[0]

    def result(number, **kw):
        return batch.ChunkResult(number, number, [b"row\n"], ids, [], batch.Tally(), b"", **kw)

    assert batch._append_in_turn(1, [b"one"]) == -1 and turn.value == 0  # chunk 0 is not in yet
    end = batch._append_in_turn(0, [b"zero", b"0"])
    assert end == len(b"zero\n0\n") and turn.value == 1
    outputs.write(result(0, assessments_end=end), [b"row\n"], b"", turn)
    part = outputs.parts / "00000001.jsonl"  # chunk 1 finished before chunk 0 was in: spilled
    part.write_bytes(b"one\n")
    outputs.write(result(1, assessments_file=str(part)), [b"row\n"], b"", turn)
    assert turn.value == 2 and not part.exists()
    assert batch._append_in_turn(2, [b"two"]) > 0 and turn.value == 3  # not committed yet
    assert outputs.sync()["assessments.jsonl"] == len(b"zero\n0\none\n")  # what a checkpoint records
    monkeypatch.setattr(batch, "_TURN", (turn, str(path), -1))  # the coordinator is gone
    assert batch._append_in_turn(3, [b"three"]) == -1 and turn.value == 3
    outputs.close()
    assert path.read_bytes() == b"zero\n0\none\ntwo\n"


def test_resume_refuses_another_input(tmp_path):
    data = _write_jsonl(tmp_path / "a.jsonl", GENERATE(20, seed=1))
    out = tmp_path / "out"
    work = out / ".riskengine-batch"
    work.mkdir(parents=True)
    (work / "checkpoint.json").write_text(json.dumps({"input": {"path": "elsewhere"}, "options": {}}))
    proc = run_cli("batch", str(data), "--out", str(out), "--resume", "--quiet")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "another input" in proc.stderr


# ---------------------------------------------------------------- CSV


def test_csv_template_round_trips(tmp_path, kb):
    template = EXAMPLES / "batch" / "template.csv"
    with open(template, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == csv_columns()
    docs = list(GENERATE(200, seed=13, bad_every=0))
    docs[0]["application"]["purpose"] = 'Says "hello",\nthen; waits'  # quotes, a comma, a line break
    docs[1]["model"] = {"format": "predictions", "prediction_column": "pred"}
    docs[1]["data"] = {"path": "eval.csv", "target": "y", "positive_label": 1, "sensitive_features": ["sex", "age"]}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(csv_row(d, header) for d in docs)
    path = tmp_path / "apps.csv"
    path.write_bytes(buf.getvalue().encode("utf-8"))
    with open(path, "rb") as fh:
        records = [r for r, _, _ in csv_records(fh) if r is not None][1:]
    assert len(records) == len(docs)
    for record, doc in zip(records, docs):
        cells = next(csv.reader(io.StringIO(record.body.decode(), newline="")))
        back = csv_document(tuple(header), cells)
        assert parse_declaration(back, source="csv", sha256=SHA0).raw == parse_declaration(doc, source="j",
                                                                                        sha256=SHA0).raw
    out_csv, out_jsonl = tmp_path / "csv", tmp_path / "jsonl"
    run_batch(str(path), str(out_csv), workers=1, **_quiet())
    run_batch(str(_write_jsonl(tmp_path / "apps.jsonl", docs)), str(out_jsonl), workers=1, **_quiet())
    skip = {"source", "line"}
    a, b = _rows(out_csv), _rows(out_jsonl)
    assert [{k: v for k, v in r.items() if k not in skip} for r in a] == \
           [{k: v for k, v in r.items() if k not in skip} for r in b]
    assert int(a[1]["line"]) == 4  # the first record spans two lines
    shipped = tmp_path / "shipped"
    run_batch(str(template), str(shipped), workers=1, **_quiet())
    assert [r["error"] for r in _rows(shipped)] == ["", ""]


def test_csv_rows_with_bad_cells_name_the_field(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,name,provider,scenario,purpose,decision_role,autonomy_level,deployer.public_authority,"
                    "practices\n"
                    "ok,Ok,P,general,Testing,advisory,1,yes,\n"
                    "bad-int,B,P,general,Testing,advisory,high,no,\n"
                    "bad-bool,B,P,general,Testing,advisory,0,maybe,\n"
                    "bad-list,B,P,general,Testing,advisory,0,no,profiling;social_scorring\n"
                    "too-many,B,P,general,Testing,advisory,0,no,,extra\n"
                    'open-quote,"B,P,general\n', encoding="utf-8")
    out = tmp_path / "out"
    run_batch(str(path), str(out), workers=1, **_quiet())
    errors = {r["id"] or r["line"]: r["error"] for r in _rows(out)}
    assert errors["ok"] == ""
    assert errors["bad-int"].startswith("application.autonomy_level")
    assert errors["bad-bool"].startswith("application.deployer.public_authority")
    assert "application.practices[1]" in errors["bad-list"] and "social_scoring" in errors["bad-list"]
    assert "cells" in errors["too-many"]
    assert "never closed" in errors["7"]


# ---------------------------------------------------------------- Dask


def test_dask_cluster_gives_the_same_results_as_a_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    data = _write_jsonl(tmp_path / "apps.jsonl", GENERATE(300, seed=41))
    run_batch(str(data), str(tmp_path / "local"), workers=1, chunk_size=40, **_quiet())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        run_batch(str(data), str(tmp_path / "dask"), scheduler=cluster.scheduler_address, chunk_size=40,
                  **_quiet())
    assert (tmp_path / "dask" / "results.csv").read_bytes() == (tmp_path / "local" / "results.csv").read_bytes()
    assert [_no_clock(a) for a in _assessments(tmp_path / "dask")] == \
           [_no_clock(a) for a in _assessments(tmp_path / "local")]


# ---------------------------------------------------------------- the summary and bad command input


def test_summary_is_self_contained_escaped_and_bilingual(tmp_path):
    docs = list(GENERATE(60, seed=2))
    docs[0]["application"]["name"] = "<script>alert(1)</script>"
    docs[0]["application"]["provider"] = '"><img src=x onerror=alert(1)>'
    docs[0]["application"]["practices"] = ["social_scoring"]
    data = _write_jsonl(tmp_path / "apps.jsonl", docs)
    for lang, heading in (("en", "Tiers by scenario"), ("zh", "按应用场景的风险等级")):
        out = tmp_path / lang
        run_batch(str(data), str(out), workers=1, options=BatchOptions(lang=lang), **_quiet())
        html = (out / "summary.html").read_text(encoding="utf-8")
        assert heading in html and "<svg" in html
        assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
        assert "http://" not in html and "https://" not in html


@pytest.mark.parametrize("case", ["missing", "format", "header", "out_is_file"])
def test_bad_command_input_exits_2_with_one_line(tmp_path, case):
    data = _write_jsonl(tmp_path / "apps.jsonl", GENERATE(3, seed=1))
    out = tmp_path / "out"
    if case == "missing":
        args = [str(tmp_path / "nope.jsonl"), "--out", str(out)]
    elif case == "format":
        (tmp_path / "apps.txt").write_text("{}\n")
        args = [str(tmp_path / "apps.txt"), "--out", str(out)]
    elif case == "header":
        (tmp_path / "apps.csv").write_text("id,name,scenarioo\nx,y,general\n")
        args = [str(tmp_path / "apps.csv"), "--out", str(out)]
    else:
        out.write_text("a file")
        args = [str(data), "--out", str(out)]
    proc = run_cli("batch", *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    if case == "header":
        assert "scenarioo" in proc.stderr and "did you mean 'scenario'" in proc.stderr
    if case != "out_is_file":
        assert not out.exists()


HOSTILE_NAMES = ['Say "hi" \\ bye', "line\nbreak\ttab\x01", "100% {name} %s %b {}", "\ue000name\ue001 and \ue000",
                 "<script>alert(1)</script>", "医疗助手 🤖", "e-5 0.00001 1e-9"]


def _template_pack(tmp_path: Path) -> str:
    from tests.test_cli import ORG_PACK

    org = tmp_path / "org"
    org.mkdir()
    text = ORG_PACK.replace('"{name} profiles children, which ACME policy forbids."',
                            '"{name} ({id}, by {provider}) profiles children: 100% forbidden, {name}!"')
    text = text.replace("title: Profiling of children", 'title: "Profiling of children \ue001"')
    assert "{provider}" in text and "\ue001" in text  # a placeholder character: no template for this rule
    (org / "acme.yaml").write_text(text)
    return str(org)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_templates_give_the_bytes_of_a_full_assessment(tmp_path, monkeypatch, lang):
    from riskengine.assess import AssessmentTemplates, Summary, sealed

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    kb = load_knowledge((_template_pack(tmp_path),))
    options = Options(lang=lang, run_probes=False)
    rng = random.Random(11)
    docs = list(GENERATE(600, seed=5, bad_every=0))
    for i, doc in enumerate(docs):
        app = doc["application"]
        if i % 3 == 0:
            app["name"] = rng.choice(HOSTILE_NAMES)
            app["provider"] = rng.choice(HOSTILE_NAMES)
            app["id"] = f"hostile-{i}.v_1"  # a slug: the schema allows nothing else
            app["purpose"] = rng.choice(HOSTILE_NAMES)
        if i % 4 == 0:  # the organisation rule fires
            app["affected_persons"] = sorted({*app["affected_persons"], "children"})
            app["practices"] = sorted({*app["practices"], "profiling"})
    decls = [parse_declaration(d, source=f"gen.jsonl:{i}", sha256=sha256_bytes(str(i).encode()), base_dir="/")
             for i, d in enumerate(docs)]
    hits = for_knowledge(kb).evaluate([build_fact(d.raw) for d in decls])
    templates = AssessmentTemplates(kb, options, limit=64)  # small: the least recently used are dropped
    for i, decl in enumerate(decls):
        full = assess(decl, kb, options, hits[i])
        got, summary = templates.sealed(decl, hits[i])
        assert got == sealed(full)[1], (i, decl.app["name"])
        assert summary == Summary.of(full)
    assert 0 < len(templates.templates) <= 64 and templates.filled > 200  # most were filled into a template
    assert templates.uncut  # the outcomes where the organisation rule fired were assessed in full
    fired = {f["rule_id"] for line in [templates.sealed(d, hits[i])[0] for i, d in enumerate(decls[:40])]
             for f in json.loads(line)["findings"]}
    assert "ACME-NO-CHILD-PROFILING" in fired
    # the same answers without the column-wise hits (durable-rules asked), and with texts whose placeholders
    # are not bare (no template at all)
    monkeypatch.setattr(templates.words, "plain_placeholders", False)
    templates.templates.clear()
    filled = templates.filled
    for decl in decls[:30]:
        assert templates.sealed(decl)[0] == sealed(assess(decl, kb, options))[1]
    assert not templates.templates and templates.filled == filled


def test_templates_are_reused_across_declarations_of_one_outcome(kb):
    from riskengine.assess import AssessmentTemplates

    templates = AssessmentTemplates(kb, Options(run_probes=False))
    doc = next(iter(GENERATE(1, seed=2, bad_every=0)))
    for i in range(5):
        doc["application"].update(name=f"App {i}", id=f"app-{i}", purpose=f"Purpose {i}", version=f"{i}.0")
        templates.sealed(parse_declaration(copy.deepcopy(doc), source="x", sha256=SHA0))
    # cut for the first two (kept from the second on), filled for all five
    assert len(templates.templates) == 1 and templates.cut == 2 and templates.filled == 5
