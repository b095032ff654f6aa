"""`riskengine batch`: assess many declarations, on one machine or on a Dask cluster, and lose none of them.

The pipeline per record is the one `riskengine assess` runs (safeload ->
parse_declaration -> assess -> sealed, which `assessment_dict` is too); only
three things differ, and none changes a result:

- the rules that fire are decided for a whole chunk at once, column-wise
  (rules/vectorized.py), instead of one durable-rules call per record; the
  tests hold both equal, and `--engine durable` runs the batch on
  durable-rules itself;
- declarations with the same rules outcome share one assessment cut at
  placeholders for their own values (assess.AssessmentTemplates; the tests
  hold the bytes equal to `sealed(assess(decl))`);
- probes run only with `--with-probes`.

Layout of a run (INPUT -> chunks -> workers -> one writer):

- the coordinator reads INPUT once, streaming, to cut it into chunks of
  `--chunk-size` records (byte ranges of a JSONL or CSV file, counted a block
  at a time, or lists of files of a folder); it never holds records;
- a worker (a local process, or a Dask worker) reads its chunk from INPUT
  itself, assesses it and returns the assessments' JSON lines (each the
  canonical JSON its content hash was taken over, encoded once) and does every
  other per-record step too: each row already encoded as its line of
  results.csv, the ids' hashes, and the chunk's part of the summary's counts;
  a local worker appends the JSON lines to assessments.jsonl itself when its
  chunk's turn has come (every earlier chunk's are in), else writes them to a
  file in OUT/.riskengine-batch/parts/ which the coordinator appends without
  reading it (a gigabyte per 100,000 records need not travel through a pipe,
  nor be copied); local workers are forked from the coordinator once it has
  loaded the rules and what run_chunk needs, so that is loaded once;
- the coordinator commits chunks strictly in input order: it flags duplicate
  ids (a few numpy calls per chunk; only a repeated id's line is touched),
  appends to the working files in OUT/.riskengine-batch/ and adds up the
  counts, and every few seconds flushes the files to disk and writes a
  checkpoint (the sizes of the files and where the input continues).
  `--resume` truncates the working files to the checkpoint and goes on from
  there, so every record ends up exactly once;
- at the end results.parquet is built from results.csv in one streaming pass
  (pyarrow's CSV reader: no per-record Python; in a worker process when there
  are local ones, while the coordinator writes summary.html), and the final
  files are renamed into OUT.

Heavy modules (numpy, pyarrow, distributed) are imported inside functions.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import operator
import os
import re
import shutil
import sys
import time
import types
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from riskengine import __version__, vocab
from riskengine.errors import DeclarationError, DeclarationErrors, OutputError, RiskEngineError
from riskengine.safeload import MAX_BYTES

WORK = ".riskengine-batch"
"""The working folder inside OUT: partial outputs, the checkpoint and the lock."""
CHECKPOINT_SECONDS = 2.0
"""At most this long between checkpoints (data flushed to disk first); a kill loses only work since then."""
LIST_LIMIT = 500
"""Entries kept for each list in the summary (prohibited, high-risk, duplicates, errors); results.csv has all."""
TOP_PROVIDERS = 30
CSV_LIST_SEPARATOR = ";"
SEVERITIES = vocab.SEVERITIES
FOLDER_SUFFIXES = (".yaml", ".yml", ".json")
INPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

COLUMNS = ("record", "source", "line", "id", "name", "provider", "scenario", "tier", "in_scope", "grade", "score",
           "tier_reasons", "missing_controls", *(f"findings_{s}" for s in SEVERITIES), "error", "duplicate_of")
"""One row per input record, in input order: results.csv and results.parquet."""


@dataclass(frozen=True)
class BatchOptions:
    lang: str = "en"
    with_probes: bool = False
    engine: str = "columns"
    """columns (rules evaluated column-wise per chunk) or durable (durable-rules per record, like assess)."""
    rule_dirs: tuple[str, ...] = ()


# ====================================================================== reading records


@dataclass(frozen=True)
class ChunkSpec:
    """What a worker needs to read and assess one chunk; small, so it travels cheaply to a cluster."""

    number: int
    kind: str
    """jsonl, csv or folder."""
    path: str
    """Absolute path of the input file or folder (on a cluster: the same path on every worker)."""
    display: str
    """The input as the user named it: the `source` column."""
    first_record: int
    """1-based number of the chunk's first record in the whole input."""
    start: int = 0
    end: int = 0
    """Byte range of the chunk in a JSONL or CSV file."""
    first_line: int = 1
    """Line number at `start`."""
    header: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    """Folder input: the chunk's files, relative to the folder."""
    options: BatchOptions = field(default_factory=BatchOptions)
    spill: str = ""
    """A folder on OUT's disk, for a local worker: it writes the chunk's JSON lines to a file there, which
    the coordinator appends to assessments.jsonl without reading it. Empty: they travel in the result."""
    full_lists: tuple[str, ...] = ()
    """The summary's lists that were full when the chunk was sent (Tally.full_lists): no entries for them."""


class RawRecord(NamedTuple):
    """One record of a JSONL or CSV file (a named tuple: a worker makes one per record, and a tuple is quick to make)."""

    line: int | None
    body: bytes | None
    """The record's bytes without the line break (None when unreadable: see problem)."""
    problem: str = ""


WHOLE_RANGE = 64 << 20
"""A byte range up to this size (a chunk of a JSONL or CSV file) is read in one call and split, not line by line."""


def _lines(fh: Any, start: int, end: int | None, first_line: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line without its break or None when longer than MAX_BYTES, offset after it), for the lines
    that start before `end` (all when None).

    A worker's chunk is read whole and split at its line breaks; only a line that goes on past `end` (or past
    the end of the file without a break), or a range larger than WHOLE_RANGE, is read a line at a time, so that
    a line longer than MAX_BYTES is skipped without being held whole.
    """
    pos, number = start, first_line - 1
    if end is not None and end - start <= WHOLE_RANGE:
        fh.seek(start)
        whole = fh.read(end - start).split(b"\n")
        rest = whole.pop()  # b"" when the range ends at a line break
        for raw in whole:
            number += 1
            pos += len(raw) + 1
            yield number, raw.rstrip(b"\r") if len(raw) <= MAX_BYTES + 1 else None, pos  # as readline() cuts it
        if not rest:
            return
    fh.seek(pos)
    while end is None or pos < end:
        raw = fh.readline(MAX_BYTES + 2)
        if not raw:
            return
        pos += len(raw)
        number += 1
        if not raw.endswith(b"\n") and len(raw) > MAX_BYTES:
            while raw and not raw.endswith(b"\n"):  # skip the rest of an oversized line
                raw = fh.readline(MAX_BYTES)
                pos += len(raw)
            yield number, None, pos
            continue
        yield number, raw.rstrip(b"\r\n"), pos


def _too_large() -> str:
    return f"larger than {MAX_BYTES // 1024} KiB; a declaration is a few kilobytes"


Records = Iterator[tuple[RawRecord | None, int, int]]
"""(record, or None for a blank line, which is not a record; offset after it; number of the next line)."""


def jsonl_records(fh: Any, start: int = 0, end: int | None = None, first_line: int = 1) -> Records:
    """One record per line of a JSONL file."""
    for number, body, pos in _lines(fh, start, end, first_line):
        if body is None:
            yield RawRecord(number, None, _too_large()), pos, number + 1
        elif not body.strip():
            yield None, pos, number + 1
        else:
            yield RawRecord(number, body), pos, number + 1


def csv_records(fh: Any, start: int = 0, end: int | None = None, first_line: int = 1) -> Records:
    """One record per CSV row: a row ends at a line break outside double quotes (RFC 4180)."""
    pieces: list[bytes] = []
    quotes = size = 0
    first = first_line
    number, pos = first_line - 1, start
    for number, body, pos in _lines(fh, start, end, first_line):
        if body is None:
            pieces, quotes, size = [], 0, 0
            yield RawRecord(number, None, _too_large()), pos, number + 1
            continue
        if not pieces:
            first = number
            if not body.strip():
                yield None, pos, number + 1
                continue
        pieces.append(body)
        quotes += body.count(b'"')
        size += len(body) + 1
        if quotes % 2 == 0:
            yield RawRecord(first, b"\n".join(pieces)), pos, number + 1
            pieces, quotes, size = [], 0, 0
        elif size > MAX_BYTES:
            yield (RawRecord(first, None, "a quoted field is never closed (or the row is larger than "
                                          f"{MAX_BYTES // 1024} KiB)"), pos, number + 1)
            pieces, quotes, size = [], 0, 0
    if pieces:
        yield RawRecord(first, b"\n".join(pieces), "a quoted field is never closed"), pos, number + 1


# ---------------------------------------------------------------------- CSV columns


def _schema_node(path: tuple[str, ...]) -> dict[str, Any] | None:
    from riskengine.schema import declaration_schema

    node: Any = declaration_schema()
    for part in path:
        props = node.get("properties", {}) if isinstance(node, dict) else {}
        if part in props:
            node = props[part]
        elif isinstance(node, dict) and isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


def column_path(column: str) -> tuple[str, ...]:
    """The declaration path a CSV column fills: `deployer.sector` and `application.deployer.sector` alike."""
    parts = tuple(p.strip() for p in column.strip().split("."))
    if parts[0] in ("schema", "application", "model", "data", "probes") or parts[0].startswith("x-"):
        return parts
    return ("application", *parts)


def check_header(header: list[str], source: str) -> tuple[str, ...]:
    """The header's columns, each naming a declaration field; an unknown or repeated column is bad input."""
    from riskengine.errors import did_you_mean

    known = ["schema", *csv_columns()]
    seen: set[tuple[str, ...]] = set()
    out = []
    for i, cell in enumerate(header):
        name = cell.strip().lstrip("\ufeff")
        if not name:
            raise RiskEngineError(f"header column {i + 1} is empty", source=source)
        path = column_path(name)
        if path in seen:
            raise RiskEngineError(f"column '{name}' appears twice", source=source)
        seen.add(path)
        node = _schema_node(path)
        if not path[-1].startswith("x-"):
            if node is None:
                raise RiskEngineError(f"column '{name}' is not a declaration field", source=source,
                                      hint=did_you_mean(name, known) or "see examples/batch/template.csv")
            if node.get("type") == "object" or "properties" in node:
                raise RiskEngineError(f"column '{name}' names a section; give its fields as dotted columns "
                                      f"such as '{name}.{next(iter(node.get('properties', {'x': 0})))}'",
                                      source=source)
        out.append(name)
    return tuple(out)


def csv_columns() -> list[str]:
    """Every declaration field a CSV column can hold, in the short form the template uses."""
    out: list[str] = []

    def walk(node: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for name, sub in node.get("properties", {}).items():
            path = (*prefix, name)
            if sub.get("type") == "object" or ("properties" in sub and "type" not in sub):
                if path != ("probes",):
                    walk(sub, path)
                continue
            if path != ("schema",):  # optional: a CSV row is riskengine/v1 unless a `schema` column says otherwise
                out.append(".".join(path[1:] if path[0] == "application" else path))

    from riskengine.schema import declaration_schema

    walk(declaration_schema(), ())
    return out


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


def _cell_value(text: str, node: dict[str, Any] | None) -> Any:
    """A CSV cell typed by the schema field it fills; what cannot be typed stays text, for validation to name."""
    kinds = (node or {}).get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "array" in kinds:
        return [v.strip() for v in text.split(CSV_LIST_SEPARATOR) if v.strip()]
    value = text.strip()
    if kinds == ["boolean"]:
        low = value.lower()
        return True if low in _TRUE else False if low in _FALSE else text
    if "integer" in kinds and _INT.match(value):
        return int(value)
    if "number" in kinds and _FLOAT.match(value):
        return float(value)
    return text


def csv_document(header: tuple[str, ...], cells: list[str]) -> dict[str, Any]:
    """The declaration a CSV row holds: empty cells are left out (so defaults apply)."""
    doc: dict[str, Any] = {}
    for name, cell in zip(header, cells):
        if cell.strip() == "":
            continue
        path = column_path(name)
        target = doc
        for part in path[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):  # pragma: no cover - header check forbids section columns
                break
        target[path[-1]] = _cell_value(cell, _schema_node(path))
    doc.setdefault("schema", vocab.SCHEMA_ID)
    return doc


def csv_row(doc: dict[str, Any], header: list[str] | tuple[str, ...]) -> list[str]:
    """The CSV row for a declaration (the inverse of csv_document, for the columns given)."""
    out = []
    for name in header:
        value: Any = doc
        for part in column_path(name):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            out.append("")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, list):
            out.append(CSV_LIST_SEPARATOR.join(str(v) for v in value))
        else:
            out.append(str(value))
    return out


# ====================================================================== the worker


@dataclass
class ChunkResult:
    """A chunk's outputs, ready to append: the worker does every per-record step, in parallel with the others,
    so that the coordinator (one process, committing chunk after chunk) only joins bytes and adds up counts."""

    number: int
    first_record: int
    csv_lines: list[bytes]
    """One line of results.csv per record, in record order, its duplicate_of cell empty (the coordinator fills
    it in for the rare repeated id)."""
    ids: Any
    """IdIndex entries (a numpy array of IdIndex.DTYPE) of the records that have an id, in record order."""
    id_texts: list[str]
    """Those records' ids, for the summary's list of repeated ids."""
    tally: Tally
    """The chunk's part of the summary, blank lines included; duplicates are the coordinator's to count."""
    assessments: bytes
    """One JSON line per assessed record, in record order (empty when the spec named a spill folder)."""
    seconds: float = 0.0
    assessments_file: str = ""
    """The spill file holding them (a local worker's chunk whose turn to append had not come, see _append_in_turn)."""
    assessments_end: int = -1
    """Where assessments.jsonl ends after them, when the worker appended them itself (else -1)."""


def _error_text(exc: Exception) -> str:
    if isinstance(exc, DeclarationErrors):
        errors: list[RiskEngineError] = list(exc.errors)
    elif isinstance(exc, RiskEngineError):
        errors = [exc]
    else:
        return f"internal error: {type(exc).__name__}: {exc}"
    # the source is in the row's own columns; each message names the field
    return "; ".join(RiskEngineError(e.message, field=e.field, hint=e.hint).format() for e in errors)


def _peek(doc: Any, key: str) -> str:
    app = doc.get("application") if isinstance(doc, dict) else None
    value = app.get(key) if isinstance(app, dict) else None
    return value if isinstance(value, str) else ""


def _read_chunk(spec: ChunkSpec) -> Iterator[tuple[int | None, str, Any, bytes | None, str | None, str] | None]:
    """(line, source, document or None, bytes, base folder, problem) per record of the chunk, None per blank line;
    one at a time, so that the caller validates a record while it is still in the processor's cache."""
    from riskengine.safeload import decode_utf8, load_document, parse_text

    if spec.kind == "folder":
        for rel in spec.files:
            path = Path(spec.path) / rel
            try:
                doc, data = load_document(path, rel)
                yield None, rel, doc, data, str(path.resolve().parent), ""
            except Exception as exc:  # noqa: BLE001 - as below
                yield None, rel, None, None, None, _error_text(exc)
        return
    base = str(Path(spec.path).parent)
    display, jsonl = spec.display, spec.kind == "jsonl"
    with open(spec.path, "rb") as fh:
        for record, _, _ in (jsonl_records if jsonl else csv_records)(fh, spec.start, spec.end, spec.first_line):
            if record is None:
                yield None
                continue
            line, body, problem = record
            source = f"{display}:{line}"
            if body is None:
                yield line, source, None, None, base, problem
                continue
            try:
                text = decode_utf8(body, source)
                if jsonl:
                    doc = parse_text(text, source, json_only=True)
                elif problem:
                    raise DeclarationError(problem, source=source)
                else:
                    doc, problem = _csv_doc(spec.header, text, source)
            except Exception as exc:  # noqa: BLE001 - RiskEngineError names the field; anything else is a row too
                yield line, source, None, body, base, _error_text(exc)
            else:
                yield line, source, doc, body, base, problem


def _csv_doc(header: tuple[str, ...], text: str, source: str) -> tuple[dict[str, Any], str]:
    """The row's declaration, and a problem with the row itself (the declaration then only names the row)."""
    try:
        cells = next(csv.reader(io.StringIO(text, newline=""), strict=True))
    except (csv.Error, StopIteration) as exc:
        raise DeclarationError(f"not valid CSV: {exc}", source=source) from None
    doc = csv_document(header, cells[:len(header)])
    if len(cells) > len(header):
        return doc, f"the row has {len(cells)} cells, the header {len(header)}"
    return doc, ""


Row = tuple[int, str, int | None, str, str, str, str, Any, str]
"""A record's row before it is encoded: record, source, line, id, name, provider, scenario, the assessment's
assess.Summary (None for an error row) and error. The summary object is shared by all the declarations filled
into one template, so its cells are written once per object (_csv_row_lines)."""


def run_chunk(spec: ChunkSpec) -> ChunkResult:
    """Assess one chunk. Runs in a worker process (local or Dask); every record gives exactly one row."""
    from riskengine.assess import Options
    from riskengine.declaration import parse_declaration, sha256_bytes
    from riskengine.rules import load_knowledge
    from riskengine.rules.conditions import build_fact

    t0 = time.perf_counter()
    options = spec.options
    kb = load_knowledge(options.rule_dirs)
    columns = options.engine == "columns"
    records: list[tuple[int | None, str, Any, bytes | None, str | None, str]] = []
    decls: list[Any] = []
    errors: list[str] = []
    facts: list[dict[str, Any]] = []
    blank = 0
    for record in _read_chunk(spec):  # each record read, validated and made a fact in one go
        if record is None:
            blank += 1
            continue
        _line, source, doc, body, base, problem = record
        decl = None
        if not problem:
            try:
                valid = parse_declaration(doc, source=source, sha256=sha256_bytes(body or b""), base_dir=base)
                if columns:
                    facts.append(build_fact(valid.raw))
                decl = valid
            except Exception as exc:  # noqa: BLE001 - a record that breaks validation is a row, not a crash
                problem = _error_text(exc)
        records.append(record)
        decls.append(decl)
        errors.append(problem)
    hits: Iterator[Any] = itertools.repeat(None)
    if facts:
        from riskengine.rules.vectorized import for_knowledge

        hits = iter(for_knowledge(kb).evaluate(facts))
    sealed = _templates(kb, Options(lang=options.lang, run_probes=options.with_probes)).sealed
    lines: list[bytes] = []
    rows: list[Row] = []
    for number, ((line, source, doc, _, _, _), decl, problem) in enumerate(zip(records, decls, errors),
                                                                            spec.first_record):
        where = spec.display if line is not None else source
        if decl is not None:
            try:
                canonical, summary = sealed(decl, next(hits))
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the batch
                problem = _error_text(exc)
            else:
                lines.append(canonical)  # encoded once, for the content hash and for this line
                app = decl.app
                rows.append((number, where, line, app["id"], app["name"], app["provider"], app["scenario"], summary,
                             ""))
                continue
        scenario = _peek(doc, "scenario")
        rows.append((number, where, line, _peek(doc, "id"), _peek(doc, "name"), _peek(doc, "provider"),
                     scenario if scenario in vocab.SCENARIOS else "", None, problem))
    text, path, end = b"", "", -1
    if not spec.spill:
        text = b"\n".join(lines) + b"\n" if lines else b""
    else:
        end = _append_in_turn(spec.number, lines)
        if end < 0 and lines:
            path = os.path.join(spec.spill, f"{spec.number:08d}.jsonl")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            try:
                _write_lines(fd, lines)
            finally:
                os.close(fd)
    tally = Tally(blank_lines=blank)
    tally.count(rows, skip=spec.full_lists)
    ids, id_texts = _id_entries(rows)
    return ChunkResult(spec.number, spec.first_record, _csv_row_lines(rows), ids, id_texts, tally, text,
                       time.perf_counter() - t0, assessments_file=path, assessments_end=end)


_TURN: tuple[Any, str, int] | None = None
"""In a local worker process: (the number of the chunk whose assessments go next into assessments.jsonl, shared
with the coordinator and the other workers; that file's path; the coordinator's process id). Set by _warm_worker."""


def _append_in_turn(number: int, lines: list[bytes]) -> int:
    """Append the chunk's assessments to assessments.jsonl when it is the chunk's turn (every earlier chunk's
    are there): where the file then ends, or -1 (not its turn: the coordinator appends them when it commits the
    chunk). Chunks mostly finish in order, so most need neither a spill file nor a copy.

    Only the chunk whose turn it is writes, and it passes the turn on once its lines are in the file; the
    coordinator records the end in its checkpoint when it commits the chunk (a kill before then leaves lines
    after the checkpoint's size, which --resume cuts off). A worker whose coordinator is gone (where it is not
    killed with it, see _die_with_parent) writes nothing there: a --resume may be writing the file by then.
    """
    if _TURN is None:
        return -1
    turn, path, coordinator = _TURN
    if turn.value != number or os.getppid() != coordinator:
        return -1
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        _write_lines(fd, lines)
        end = os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)
    turn.value = number + 1
    return end


def _write_lines(fd: int, lines: list[bytes]) -> None:
    """Write each line and a line break straight from the lines' own bytes (os.writev: no joined copy)."""
    pieces = [piece for line in lines for piece in (line, b"\n")]
    step = os.sysconf("SC_IOV_MAX")
    for at in range(0, len(pieces), step):
        part = pieces[at:at + step]
        done = os.writev(fd, part)
        rest = memoryview(b"".join(part))[done:] if done < sum(map(len, part)) else b""
        while rest:  # a short write (rare on a file): the rest from where it stopped
            rest = rest[os.write(fd, rest):]


_TEMPLATES: dict[tuple[int, Any], Any] = {}


def _templates(kb: Any, options: Any) -> Any:
    """The worker process's assess.AssessmentTemplates for these rules and options, kept across chunks."""
    from riskengine.assess import AssessmentTemplates

    key = (id(kb), options)
    if key not in _TEMPLATES or _TEMPLATES[key].kb is not kb:
        _TEMPLATES[key] = AssessmentTemplates(kb, options)
    return _TEMPLATES[key]


def _warm_worker(options: BatchOptions, turn: tuple[Any, str] | None = None) -> None:
    """Process pool initializer: die with the coordinator, take the assessments' turn (_TURN), and load what
    run_chunk needs once per worker process (nothing left to load when it was forked from a preloaded one)."""
    import signal

    global _TURN
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle (it keeps the checkpoint)
    _die_with_parent()
    _TURN = (*turn, os.getppid()) if turn else None
    _preload(options)
    settle_gc()


def _preload(options: BatchOptions) -> None:
    """Load what run_chunk loads once per process: the modules it imports, the rules (also column-wise) and the
    assessment templates. A local pool that forks its workers does it once, before forking them."""
    from riskengine.assess import Options
    from riskengine.declaration import parse_declaration  # noqa: F401 - imported here, not in each worker
    from riskengine.rules import load_knowledge
    from riskengine.rules.conditions import build_fact  # noqa: F401 - as above

    kb = load_knowledge(options.rule_dirs)
    if options.engine == "columns":
        from riskengine.rules.vectorized import for_knowledge

        for_knowledge(kb)
    _templates(kb, Options(lang=options.lang, run_probes=options.with_probes))


def settle_gc() -> None:
    """Garbage collection for a worker process whose rules are loaded (benchmarks/bench_batch.py does it too)."""
    import gc

    gc.freeze()  # what is loaded now lives as long as the worker: the collector need not walk it again
    # a chunk's records live until its end (tens of thousands of objects) and then go at once, freed by their
    # counts: a collection every 20,000 new objects walked them several times a chunk for nothing (4 µs a record)
    gc.set_threshold(200_000, 20, 20)


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM when its coordinator dies (even by SIGKILL), so none is left behind."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: workers end when the pool's pipes close
        pass


# ====================================================================== the input, cut into chunks


@dataclass
class Input:
    path: Path
    display: str
    kind: str
    header: tuple[str, ...] = ()
    body_start: int = 0
    """Offset of the first record (after a CSV header)."""
    body_line: int = 1
    files: list[str] = field(default_factory=list)
    size: int = 0

    def fingerprint(self) -> dict[str, Any]:
        h = hashlib.sha256()
        if self.kind == "folder":
            for rel in self.files:
                st = (self.path / rel).stat()
                h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        else:
            st = self.path.stat()
            h.update(f"{st.st_size}\0{st.st_mtime_ns}\n".encode())
            with open(self.path, "rb") as fh:
                h.update(fh.read(1 << 20))
        return {"path": str(self.path), "kind": self.kind, "size": self.size, "sha256": h.hexdigest()}


def open_input(name: str) -> Input:
    """Check INPUT: a JSONL or CSV file, or a folder of YAML/JSON declarations (bad input is exit 2)."""
    path = Path(name)
    if not path.exists():
        raise RiskEngineError("no such file or folder", source=name, field="INPUT")
    if path.is_dir():
        try:
            files = sorted(p.name for p in path.iterdir() if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES)
        except OSError as exc:
            raise RiskEngineError(f"cannot be read: {exc.strerror}", source=name, field="INPUT") from None
        return Input(path.resolve(), name, "folder", files=files, size=len(files))
    kind = INPUT_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise RiskEngineError(f"cannot tell the input format from '{path.suffix or 'no extension'}'",
                              source=name, field="INPUT",
                              hint="use a .jsonl or .csv file, or a folder of .yaml/.json declarations")
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            inp = Input(path.resolve(), name, kind, size=size)
            if kind == "csv":
                _read_header(fh, inp)
    except OSError as exc:
        raise RiskEngineError(f"cannot be read: {exc.strerror}", source=name, field="INPUT") from None
    return inp


def _read_header(fh: Any, inp: Input) -> None:
    from riskengine.safeload import decode_utf8

    for record, pos, next_line in csv_records(fh):
        if record is None:
            continue
        if record.body is None or record.problem:
            raise RiskEngineError(f"the header row is unreadable: {record.problem}", source=inp.display)
        text = decode_utf8(record.body, f"{inp.display}:{record.line}")
        try:
            cells = next(csv.reader(io.StringIO(text, newline=""), strict=True))
        except (csv.Error, StopIteration) as exc:
            raise RiskEngineError(f"the header row is not valid CSV: {exc}", source=inp.display) from None
        inp.header = check_header(cells, inp.display)
        inp.body_start, inp.body_line = pos, next_line
        return
    raise RiskEngineError("has no header row (see examples/batch/template.csv)", source=inp.display)


@dataclass
class Position:
    """Where the input continues: what a checkpoint stores."""

    chunk: int = 0
    record: int = 1
    offset: int = 0
    line: int = 1


def plan_chunks(inp: Input, chunk_size: int, at: Position, options: BatchOptions) -> Iterator[tuple[ChunkSpec, Position]]:
    """The chunks from `at` on, each with the position after it; reads INPUT once, streaming."""
    common = {"kind": inp.kind, "path": str(inp.path), "display": inp.display, "header": inp.header,
              "options": options}
    if inp.kind == "folder":
        index, number = at.record - 1, at.chunk
        while index < len(inp.files):
            files = tuple(inp.files[index:index + chunk_size])
            spec = ChunkSpec(number=number, first_record=index + 1, files=files, **common)
            index += len(files)
            number += 1
            yield spec, Position(number, index + 1, index, 1)
        return
    with open(inp.path, "rb") as fh:
        start, line, record, number = at.offset, at.line, at.record, at.chunk
        for end, next_line, count in record_cuts(fh, inp.kind, start, line, chunk_size):
            yield (ChunkSpec(number=number, first_record=record, start=start, end=end, first_line=line, **common),
                   Position(number + 1, record + count, end, next_line))
            start, line, record, number = end, next_line, record + count, number + 1


PLAN_BLOCK = 1 << 20
"""Bytes record_cuts looks at at once; at most MAX_BYTES, so that no line it sees whole is too long."""
_SPACE = tuple(b" \t\r\n\x0b\x0c")
"""What bytes.strip() strips: a line of only these is blank, not a record."""


def record_cuts(fh: Any, kind: str, start: int, line: int, every: int) -> Iterator[tuple[int, int, int]]:
    """(offset after, number of the next line, records) for every `every`-th record of a JSONL or CSV file
    from `start` on, then for the rest (records, or only blank lines) if anything is left: the chunks.

    The records are those jsonl_records and csv_records give. Most lines are plain, one record each (_plain):
    those are counted a block at a time, column-wise, so that cutting the input costs the coordinator next
    to nothing per record; the reader takes each record that starts on any other line.
    """
    import numpy as np

    reader = jsonl_records if kind == "jsonl" else csv_records
    pos, count, last = start, 0, start
    while True:
        fh.seek(pos)
        block = fh.read(PLAN_BLOCK)
        if not block:
            break
        base, base_line = pos, line  # where the block starts
        ends, plain = _plain(block, kind)
        other = np.flatnonzero(~plain)
        i = 0  # the block's line at `pos`
        while True:
            if i < len(ends) and plain[i]:
                after = np.searchsorted(other, i)
                j = int(other[after]) if after < len(other) else len(ends)  # lines i to j - 1 are plain
                for k in range(i + every - count - 1, j, every):
                    last = base + int(ends[k])
                    yield last, base_line + k + 1, every
                count = (count + j - i) % every
                i, pos, line = j, base + int(ends[j - 1]), base_line + j
                if i == len(ends):
                    break  # the block's last line may go on in the next
                continue
            item = next(reader(fh, pos, None, line), None)  # the record (or blank line) that starts at pos
            if item is None:
                break
            record, pos, line = item
            if record is not None:
                count += 1
                if count == every:
                    yield pos, line, every
                    count, last = 0, pos
            i = line - base_line
            if i >= len(ends):
                break
    if pos > last:
        yield pos, line, count


def _plain(block: bytes, kind: str) -> tuple[Any, Any]:
    """The offsets after the block's whole lines, and which of them are plain: not starting with a space or a
    line break, as a blank line does, and for CSV with an even number of quotes (no row that goes on)."""
    import numpy as np

    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n")) + 1
    plain = ~np.isin(data[np.concatenate(([0], ends[:-1]))[:len(ends)]], _SPACE)
    if kind == "csv":
        quotes = np.searchsorted(np.flatnonzero(data == ord('"')), ends)
        plain &= np.diff(quotes, prepend=0) % 2 == 0
    return ends, plain


# ====================================================================== duplicate ids


def _by_hash(entries: Any) -> Any:
    """Entries sorted by hash (a stable sort of the hash column: fast, and near linear on sorted runs)."""
    import numpy as np

    return entries[np.argsort(entries["hash"], kind="stable")]


def id_hashes(app_ids: list[str]) -> Any:
    """The ids' 64-bit hashes (BLAKE2b), as a numpy array of IdIndex's hash column."""
    import numpy as np

    blake2b = hashlib.blake2b
    return np.frombuffer(b"".join([blake2b(i.encode("utf-8"), digest_size=8).digest() for i in app_ids]), "<u8")


def _id_entries(rows: list[Row]) -> tuple[Any, list[str]]:
    """IdIndex entries (hash, record, line or -1) of the rows that have an id, and their ids: made in the worker,
    so that the coordinator hashes no id."""
    import numpy as np

    with_id = [row for row in rows if row[3]]
    app_ids = [row[3] for row in with_id]
    entries = np.empty(len(with_id), dtype=list(IdIndex.DTYPE))
    entries["hash"] = id_hashes(app_ids)
    entries["record"] = [row[0] for row in with_id]
    entries["line"] = [-1 if row[2] is None else row[2] for row in with_id]
    return entries, app_ids


class IdIndex:
    """Every id seen so far as 64-bit hashes in sorted numpy runs: 24 bytes per record, O(log n) look-ups.

    Each entry keeps the hash, the record number and the line of the id's first occurrence. Runs merge
    when the newer is at least half the older (amortised n log n over the whole input).
    """

    DTYPE = (("hash", "<u8"), ("record", "<i8"), ("line", "<i8"))

    def __init__(self) -> None:
        self.runs: list[Any] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def add_run(self, entries: Any) -> None:
        import numpy as np

        if not len(entries):
            return
        self.runs.append(_by_hash(entries))
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            self.runs.append(_by_hash(np.concatenate([self.runs.pop(), self.runs.pop()])))

    def first(self, hashes: Any) -> tuple[Any, Any]:
        """For each hash, the record and line of its first occurrence (record -1 when new)."""
        import numpy as np

        records = np.full(len(hashes), -1, dtype=np.int64)
        lines = np.full(len(hashes), -1, dtype=np.int64)
        for run in self.runs:
            keys = run["hash"]
            pos = np.searchsorted(keys, hashes)
            pos[pos >= len(keys)] = 0
            hit = keys[pos] == hashes
            records[hit] = run["record"][pos[hit]]
            lines[hit] = run["line"][pos[hit]]
        return records, lines

    def commit(self, entries: Any) -> tuple[list[tuple[int, int, int, int]], bytes]:
        """Add a chunk's entries (_id_entries). For each whose id came before, in an earlier chunk or earlier in
        this one: (its index in `entries`, its record, the record and line of the id's first occurrence); and the
        new entries as bytes for ids.bin. Column-wise: a chunk costs a few numpy calls, whatever its size."""
        import numpy as np

        if not len(entries):
            return [], b""
        earlier, earlier_line = self.first(entries["hash"])
        _, first_index, inverse = np.unique(entries["hash"], return_index=True, return_inverse=True)
        first = first_index[inverse]  # each entry's first entry with the same hash in this chunk
        in_chunk = earlier < 0
        new = in_chunk & (first == np.arange(len(entries)))
        earlier[in_chunk] = entries["record"][first[in_chunk]]
        earlier_line[in_chunk] = entries["line"][first[in_chunk]]
        fresh = entries[new]
        self.add_run(fresh)
        repeated = np.flatnonzero(~new)
        return (list(zip(repeated.tolist(), entries["record"][repeated].tolist(), earlier[repeated].tolist(),
                         earlier_line[repeated].tolist())), fresh.tobytes())

    def load(self, data: bytes) -> None:
        import numpy as np

        self.runs = []
        self.add_run(np.frombuffer(data, dtype=list(self.DTYPE)).copy())


# ====================================================================== the summary's numbers


@dataclass
class Tally:
    """What summary.html shows, updated chunk by chunk; bounded (lists capped at LIST_LIMIT)."""

    records: int = 0
    assessed: int = 0
    errors: int = 0
    duplicates: int = 0
    blank_lines: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    grades: dict[str, int] = field(default_factory=dict)
    by_scenario: dict[str, dict[str, int]] = field(default_factory=dict)
    by_provider: dict[str, dict[str, int]] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)
    prohibited: list[dict[str, Any]] = field(default_factory=list)
    high: list[dict[str, Any]] = field(default_factory=list)
    duplicate_list: list[dict[str, Any]] = field(default_factory=list)
    error_list: list[dict[str, Any]] = field(default_factory=list)
    LISTS: ClassVar[tuple[str, ...]] = ("prohibited", "high", "duplicate_list", "error_list")

    def count(self, rows: list[Row], skip: tuple[str, ...] = ()) -> None:
        """Count a chunk's rows (a worker counts its chunk; add_duplicate does the rest); no entries for the lists
        in `skip` (full already).

        Column-wise: a Counter of a column has the numbers, and the keys in the order, that counting the rows one
        by one gives.
        """
        failed = [row for row in rows if row[7] is None]
        assessed = [row for row in rows if row[7] is not None] if failed else rows
        _, _, _, _, _, providers, scenarios, summaries, _ = list(zip(*assessed)) or [()] * 9
        self.records += len(rows)
        self.assessed += len(assessed)
        self.errors += len(failed)
        if failed and "error_list" not in skip and len(self.error_list) < LIST_LIMIT:
            self.error_list += [{"where": _where_text(where, line), "id": app_id, "error": error}
                                for _, where, line, app_id, *_, error in failed][:LIST_LIMIT - len(self.error_list)]
        tiers = [summary.tier for summary in summaries]
        _add_counts(self.tiers, Counter(tiers))
        _add_counts(self.grades, Counter([summary.grade for summary in summaries]))
        _add_counts(self.gaps, Counter(itertools.chain.from_iterable([s.missing_controls for s in summaries])))
        for nested, column in ((self.by_scenario, scenarios), (self.by_provider, providers)):
            for (key, tier), n in Counter(zip(column, tiers)).items():
                _bump(nested.setdefault(key, {}), tier, n)
        for name in ("prohibited", "high"):
            target = getattr(self, name)
            if name not in skip and len(target) < LIST_LIMIT:
                target += [{"id": app_id, "name": app_name, "provider": provider, "scenario": scenario,
                            "where": _where_text(where, line), "grade": summary.grade,
                            "reasons": list(summary.tier_reasons), "missing": list(summary.missing_controls)}
                           for (_, where, line, app_id, app_name, provider, scenario, summary, _), tier
                           in zip(assessed, tiers) if tier == name][:LIST_LIMIT - len(target)]

    def add_duplicate(self, app_id: str, where: str, first: str) -> None:
        self.duplicates += 1
        if len(self.duplicate_list) < LIST_LIMIT:
            self.duplicate_list.append({"id": app_id, "where": where, "first": first})

    def full_lists(self) -> tuple[str, ...]:
        return tuple(name for name in self.LISTS if len(getattr(self, name)) >= LIST_LIMIT)

    def merge(self, part: Tally) -> None:
        """Add a later chunk's tally: the same numbers, and the same capped lists in input order, as if this
        tally had counted the chunk's rows itself (keys are even added in the same order)."""
        for name in ("records", "assessed", "errors", "duplicates", "blank_lines"):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        for mine, theirs in ((self.tiers, part.tiers), (self.grades, part.grades), (self.gaps, part.gaps)):
            _add_counts(mine, theirs)
        for nested, other in ((self.by_scenario, part.by_scenario), (self.by_provider, part.by_provider)):
            for key, counts in other.items():
                _add_counts(nested.setdefault(key, {}), counts)
        for name in self.LISTS:
            mine = getattr(self, name)
            mine.extend(getattr(part, name)[:LIST_LIMIT - len(mine)])

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        return cls(**data)


def _bump(counter: dict[str, int], key: str, n: int) -> None:
    counter[key] = counter.get(key, 0) + n


def _add_counts(counter: dict[str, int], other: dict[str, int]) -> None:
    for key, n in other.items():
        counter[key] = counter.get(key, 0) + n


def _where_text(source: str, line: int | None) -> str:
    """Where a record is, as the summary names it: `source:line`, or the file name of a folder's record."""
    return f"{source}:{line}" if line is not None else source


# ====================================================================== outputs


class Outputs:
    """The working files in OUT/.riskengine-batch/: appended chunk by chunk, truncated back on --resume."""

    FILES = ("results.csv", "assessments.jsonl", "ids.bin")

    def __init__(self, work: Path, fresh: bool, sizes: dict[str, int] | None = None):
        self.work = work
        self.parts = work / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.handles: dict[str, Any] = {}
        self.assessments_end = 0 if fresh or sizes is None else sizes.get("assessments.jsonl", 0)
        """Where assessments.jsonl ends after the chunks written so far (workers may have appended more)."""
        for name in self.FILES:
            path = work / name
            if fresh or sizes is None:
                handle = open(path, "wb")  # noqa: SIM115 - held open for the whole run, closed by close()
            else:
                if not path.exists() or path.stat().st_size < sizes.get(name, 0):
                    raise RiskEngineError("the working files are shorter than the checkpoint says (did the machine "
                                          "crash?); run again without --resume", source=str(work))
                handle = open(path, "r+b")  # noqa: SIM115 - as above
                handle.truncate(sizes.get(name, 0))
                handle.seek(0, os.SEEK_END)
            self.handles[name] = handle
        if fresh or sizes is None:
            self.handles["results.csv"].write(_csv_lines([list(COLUMNS)]))

    def write(self, result: ChunkResult, csv_lines: list[bytes], ids: bytes, turn: Any = None) -> None:
        """Append a chunk. `turn`: the local workers' turn to append assessments (_append_in_turn), passed on to
        the next chunk once the coordinator has appended this chunk's."""
        self.handles["results.csv"].write(b"".join(csv_lines))
        if result.assessments_end >= 0:  # the worker appended them
            self.assessments_end = result.assessments_end
        else:
            handle = self.handles["assessments.jsonl"]
            handle.seek(0, os.SEEK_END)  # after what workers appended themselves
            if result.assessments_file:
                _append_file(handle, result.assessments_file)
            else:
                handle.write(result.assessments)
            handle.flush()
            self.assessments_end = handle.tell()
            if turn is not None:
                turn.value = result.number + 1
        self.handles["ids.bin"].write(ids)

    def sync(self) -> dict[str, int]:
        """Flush everything to disk; the sizes a checkpoint may then record."""
        sizes = {}
        for name, handle in self.handles.items():
            handle.flush()
            os.fsync(handle.fileno())  # the file's data, whichever process wrote it
            sizes[name] = self.assessments_end if name == "assessments.jsonl" else handle.tell()
        return sizes

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _append_file(handle: Any, path: str) -> None:
    """Append the file at `path` to `handle`'s file, copied inside the kernel where it can be, then delete it."""
    handle.flush()
    with open(path, "rb") as source:
        size, done = os.fstat(source.fileno()).st_size, 0
        with contextlib.suppress(AttributeError, OSError):  # no copy_file_range (not Linux, old kernel ...)
            while done < size:
                copied = os.copy_file_range(source.fileno(), handle.fileno(), size - done)
                if not copied:
                    break
                done += copied
        handle.seek(0, os.SEEK_END)  # the kernel moved the file's offset: bring the buffered handle along
        if done < size:
            source.seek(done)
            shutil.copyfileobj(source, handle)
    os.unlink(path)


def _csv_lines(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _unquoted(text: str, commas: int) -> bool:
    """Whether csv.writer writes these cells (`text`, the cells joined by `commas` commas) as they are: it quotes a
    cell holding a comma, a double quote or a line feed (a carriage return or NUL goes to the writer too)."""
    return text.count(",") == commas and not ('"' in text or "\n" in text or "\r" in text or "\x00" in text)


_COUNTS = operator.itemgetter(*SEVERITIES)
_COUNT_CELLS = ",".join(["%d"] * len(SEVERITIES))


def _summary_cells(summary: Any, cells: Any) -> str:
    """The cells an assessment's summary fills (tier ... findings) and the empty error and duplicate_of, ending
    the line, as csv.writer writes them (`cells`); formatted here when the values have their usual types and none
    needs quotes. A summary is shared by the declarations filled into one template, but every other declaration
    or so has one of its own, so this is per-row work."""
    tier, in_scope, grade, score = summary.tier, summary.in_scope, summary.grade, summary.score
    counts = _COUNTS(summary.finding_counts)
    if str is type(tier) is type(grade) and type(in_scope) is bool and type(score) is float \
            and set(map(type, counts)) == {int}:
        text = (f"{tier},{'true' if in_scope else 'false'},{grade},{score},{';'.join(summary.tier_reasons)},"
                f"{';'.join(summary.missing_controls)},{_COUNT_CELLS % counts},,\n")
        if _unquoted(text[:-1], len(SEVERITIES) + 7):
            return text
    return cells([tier, in_scope, grade, score, list(summary.tier_reasons), list(summary.missing_controls), *counts,
                  "", ""])


def _csv_row_lines(rows: list[Row]) -> list[bytes]:
    """Each row as its line of results.csv, duplicate_of empty; in the worker.

    The cells csv.writer writes (as _csv_lines), one line per row so that the coordinator can complete the line
    of a repeated id (_with_duplicate) and otherwise only join them. Cells that need no quotes (nearly all) are
    put in as they are; an assessed row's cells from tier on are its summary's, made once per summary object.
    """
    pieces: list[str] = []
    writer = csv.writer(types.SimpleNamespace(write=pieces.append), lineterminator="\n")

    def cells(values: list[Any]) -> str:
        writer.writerow(_csv_cells(values))
        return pieces.pop()

    tails: dict[int, str] = {}
    wheres: dict[str, str] = {}
    out = []
    for number, where, line, app_id, name, provider, scenario, summary, error in rows:
        if summary is None:
            out.append(cells([number, where, line, app_id, name, provider, scenario, None, None, None, None, [], [],
                              *([None] * len(SEVERITIES)), error, ""]).encode())
            continue
        tail = tails.get(id(summary))
        if tail is None:
            tail = tails[id(summary)] = _summary_cells(summary, cells)
        head = f"{app_id},{name},{provider},{scenario},"
        if not _unquoted(head, 4):
            head = cells([app_id, name, provider, scenario, ""])[:-1]
        source = wheres.get(where)
        if source is None:
            source = wheres[where] = cells([where, ""])[:-1]
        out.append(f"{number},{source}{'' if line is None else line},{head}{tail}".encode())
    return out


def _with_duplicate(line: bytes, first: str) -> bytes:
    """A line of _csv_row_lines with its duplicate_of cell set to `first`.

    The line ends in `,\n` (its last cell is empty), and the writer writes the cell as it would at the end of
    any row. The line is not parsed: a bare carriage return in a value is not quoted by csv.writer.
    """
    return line[:-2] + _csv_lines([["", first]])


def _csv_cells(row: list[Any]) -> list[Any]:
    return ["" if value is None else ("true" if value else "false") if value is True or value is False
            else CSV_LIST_SEPARATOR.join(value) if isinstance(value, list) else value for value in row]


def _arrow_schema() -> Any:
    import pyarrow as pa

    types = {"record": pa.int64(), "line": pa.int64(), "in_scope": pa.bool_(), "score": pa.float64(),
             "tier_reasons": pa.list_(pa.string()), "missing_controls": pa.list_(pa.string()),
             **{f"findings_{s}": pa.int32() for s in SEVERITIES}}
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


NULL_WHEN_EMPTY = ("tier", "grade")
"""Text columns that are null in Parquet where the CSV cell is empty (an error row's); other text stays ""."""


def csv_to_parquet(source: Path, target: Path) -> None:
    """results.parquet from the finished results.csv, read streaming in blocks (flat memory), once at the end.

    The CSV holds every value exactly: numbers as Python wrote them (a float's repr round-trips), flags as
    true/false, lists joined with `;` (which no rule id or control id contains). An empty cell is null in the
    number and flag columns and in NULL_WHEN_EMPTY (as the rows held None there), "" in the other text columns
    and [] in the list columns. Only Arrow arrays are made here, never from Python values, which would import
    pandas (pyarrow checks for it), a second or so that a batch does not need.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    schema = _arrow_schema()
    lists = {f.name for f in schema if pa.types.is_list(f.type)}
    readable, escape = _escape_carriage_returns(source)
    try:
        reader = pa_csv.open_csv(
            str(readable), read_options=pa_csv.ReadOptions(block_size=1 << 20),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, escape_char="\\" if escape else False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f.name: pa.string() if f.name in lists else f.type for f in schema},
                null_values=[""], true_values=["true"], false_values=["false"], strings_can_be_null=False))
        tmp = target.with_suffix(".tmp")
        with pq.ParquetWriter(tmp, schema) as writer:
            for batch in reader:
                columns = []
                for f in schema:
                    column = batch.column(f.name)
                    if f.name in lists or f.name in NULL_WHEN_EMPTY:
                        empty = pc.invert(pc.cast(pc.utf8_length(column), pa.bool_()))
                        value = pc.split_pattern(column, CSV_LIST_SEPARATOR) if f.name in lists else column
                        # a split "" is [""], not []: list_slice(0, 0) makes the empty lists
                        fill = pc.list_slice(value, 0, 0) if f.name in lists else pa.nulls(len(column), pa.string())
                        column = pc.if_else(empty, fill, value)
                    columns.append(column)
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
        os.replace(tmp, target)
    finally:
        if readable != source:
            readable.unlink(missing_ok=True)


def _escape_carriage_returns(source: Path) -> tuple[Path, bool]:
    """The CSV for Arrow to read, and whether its carriage returns are escaped with backslashes.

    csv.writer quotes a value holding a line feed, not one holding only a carriage return, which Arrow would
    take for the end of the row. Such a value is rare, so only then is a copy written that escapes every
    carriage return and backslash (the lines end in a line feed: each carriage return is part of a value).
    """
    with open(source, "rb") as fh:
        if not any(b"\r" in block for block in iter(lambda: fh.read(8 << 20), b"")):
            return source, False
    escaped = source.with_name(source.name + ".escaped")
    with open(source, "rb") as fh, open(escaped, "wb") as out:
        while block := fh.read(8 << 20):
            out.write(block.replace(b"\\", b"\\\\").replace(b"\r", b"\\\r"))
    return escaped, True


# ====================================================================== progress


class Progress:
    """A progress line on stderr: records, rate, share of the input done and time left."""

    def __init__(self, total: int, records: int, done: int, enabled: bool = True, stream: Any = None):
        self.stream = stream or sys.stderr
        self.total = max(total, 1)
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = self.last = time.monotonic()
        self.start_records, self.start_done = records, done

    def update(self, records: int, done: int, errors: int, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else 10.0):
            return
        self.last = now
        elapsed = max(now - self.t0, 1e-9)
        rate = (records - self.start_records) / elapsed
        share = min(done / self.total, 1.0)
        progressed = (done - self.start_done) / self.total
        left = elapsed * (1 - share) / progressed if progressed > 0 else 0.0
        width = 24
        bar = "#" * int(share * width) + "-" * (width - int(share * width))
        text = (f"[{bar}] {share * 100:5.1f}%  {records:,} records  {rate:,.{0 if rate >= 10 else 1}f}/s  "
                f"{'in ' + _clock(elapsed) if final else 'ETA ' + _clock(left)}"
                + (f"  errors {errors:,}" if errors else ""))
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ====================================================================== executors


class _Done:
    def __init__(self, value: Any):
        self.value = value

    def result(self) -> Any:
        return self.value


class _Inline:
    """--workers 1: assess in this process."""

    slots = 1
    turn = None

    def submit(self, spec: ChunkSpec) -> Any:
        return _Done(run_chunk(spec))

    @staticmethod
    def elsewhere(fn: Any, *args: Any) -> Any:
        """Run fn(*args) where it does not hold up this process; with no worker process, here and now."""
        return _Done(fn(*args))

    def close(self, cancel: bool = False) -> None:
        pass


class _Pool:
    """--workers N: N local processes, forked from this one where they can be (what they load is then loaded once,
    here, before they are forked)."""

    def __init__(self, workers: int, options: BatchOptions, spill: str, assessments: str, first_chunk: int):
        import multiprocessing
        import threading
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1 \
            else "spawn"
        context = multiprocessing.get_context(method)
        if method == "fork":
            _preload(options)  # once, for all the forked workers
        self.turn = context.Value("q", first_chunk)
        """The chunk whose assessments go next into assessments.jsonl (_append_in_turn)."""
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm_worker,
                                        initargs=(options, (self.turn, assessments)))
        self.slots = 2 * workers
        self.spill = spill

    def submit(self, spec: ChunkSpec) -> Any:
        return self.pool.submit(run_chunk, replace(spec, spill=self.spill))

    def elsewhere(self, fn: Any, *args: Any) -> Any:
        """Run fn(*args) in a worker process, while this process goes on."""
        return self.pool.submit(fn, *args)

    def close(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class _Dask:
    """--scheduler ADDRESS: the chunks run on a Dask distributed cluster; INPUT must be readable by its workers."""

    def __init__(self, address: str, inp: Input):
        try:
            from distributed import Client
        except ImportError:
            raise RiskEngineError("--scheduler needs dask distributed", field="--scheduler",
                                  hint="pip install 'riskengine[batch]'") from None
        try:
            self.client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise RiskEngineError(f"cannot reach the Dask scheduler: {exc}", source=address,
                                  field="--scheduler") from None
        workers = self.client.scheduler_info().get("workers", {})
        if not workers:
            self.client.close()
            raise RiskEngineError("the Dask cluster has no workers", source=address, field="--scheduler")
        seen = self.client.run(os.path.exists, str(inp.path))
        blind = [w for w, ok in seen.items() if not ok]
        if blind:
            self.client.close()
            raise RiskEngineError(f"{len(blind)} Dask worker(s) cannot see {inp.path}; put INPUT on storage every "
                                  "worker mounts at the same path", source=address, field="--scheduler")
        self.slots = 2 * sum(max(1, w.get("nthreads", 1)) for w in workers.values())
        self.turn = None
        self.token = hashlib.sha256(f"{inp.path}{time.time()}{os.getpid()}".encode()).hexdigest()[:12]

    def submit(self, spec: ChunkSpec) -> Any:
        return self.client.submit(run_chunk, spec, pure=False, key=f"riskengine-batch-{self.token}-{spec.number}")

    elsewhere = staticmethod(_Inline.elsewhere)  # here: OUT is on this machine, the cluster may not see it

    def close(self, cancel: bool = False) -> None:
        self.client.close()


# ====================================================================== the run


@dataclass
class BatchResult:
    out: Path
    files: list[Path]
    tally: Tally
    seconds: float
    resumed_from: int = 0


def _options_key(options: BatchOptions, chunk_size: int, kb_version: str) -> dict[str, Any]:
    return {"riskengine": __version__, "rules": kb_version, "lang": options.lang,
            "with_probes": options.with_probes, "engine": options.engine,
            "rule_dirs": [str(Path(d).resolve()) for d in options.rule_dirs], "chunk_size": chunk_size}


def _prepare_out(out: str) -> Path:
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise OutputError("exists and is not a folder", source=out, field="--out")
    try:
        (target / WORK).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot be created: {exc.strerror}", source=out, field="--out") from None
    if not os.access(target, os.W_OK):
        raise OutputError("is not writable", source=out, field="--out")
    return target


def _lock(work: Path) -> Any:
    import fcntl

    handle = open(work / "lock", "w")  # noqa: SIM115 - the lock lives as long as the run
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a POSIX lock: not held by forked workers
    except OSError:
        handle.close()
        raise OutputError("another riskengine batch is writing here", source=str(work.parent),
                          field="--out") from None
    return handle


def _need_batch_deps() -> None:
    import importlib.util

    missing = [m for m in ("numpy", "pyarrow") if importlib.util.find_spec(m) is None]
    if missing:
        raise RiskEngineError(f"riskengine batch needs {', '.join(missing)}, which are not installed",
                              hint="pip install 'riskengine[batch]'")


def run_batch(input_path: str, out: str, *, workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, options: BatchOptions | None = None, chunk_size: int = 1000,
              progress: bool = True, log: Any = None, checkpoint_seconds: float = CHECKPOINT_SECONDS) -> BatchResult:
    """Assess every record of INPUT into OUT. Bad records become rows with their error, never a failure."""
    from riskengine.io import write_atomic
    from riskengine.rules import load_knowledge

    log = log or (lambda text: print(text, file=sys.stderr))
    options = options or BatchOptions()
    if chunk_size < 1:
        raise RiskEngineError("must be at least 1", field="--chunk-size")
    _need_batch_deps()
    inp = open_input(input_path)
    existed = Path(out).exists()
    target = _prepare_out(out)
    work = target / WORK
    lock = _lock(work)
    t0 = time.perf_counter()
    try:
        kb = load_knowledge(options.rule_dirs)
        key = {"input": inp.fingerprint(), "options": _options_key(options, chunk_size, kb.version)}
        checkpoint_path = work / "checkpoint.json"
        state = _load_checkpoint(checkpoint_path) if resume else None
        if state is not None and (state.get("input") != key["input"] or state.get("options") != key["options"]):
            raise RiskEngineError("the unfinished batch here was started on another input or with other options; "
                                  "run without --resume to start over", source=str(target), field="--resume")
        if resume and state is None:
            log("riskengine batch: nothing to resume here; starting from the beginning")
        if state is None:
            for name in (*Outputs.FILES, "results.parquet", "checkpoint.json"):
                (work / name).unlink(missing_ok=True)
            shutil.rmtree(work / "parts", ignore_errors=True)
            at = Position(0, 1, inp.body_start, inp.body_line)
            tally, index = Tally(), IdIndex()
            outputs = Outputs(work, fresh=True)
        elif state.get("complete"):  # killed while renaming the final files: only that is left to do
            at, tally, index, outputs = Position(**state["position"]), Tally.from_json(state["tally"]), None, None
        else:
            at = Position(**state["position"])
            tally = Tally.from_json(state["tally"])
            outputs = Outputs(work, fresh=False, sizes=state["sizes"])
            for part in (work / "parts").glob("*"):  # chunks a worker spilled after the checkpoint
                part.unlink()
            index = IdIndex()
            with open(work / "ids.bin", "rb") as fh:
                index.load(fh.read(state["sizes"]["ids.bin"]))
            log(f"riskengine batch: resuming after {at.record - 1:,} records ({at.chunk} chunks)")
        resumed_from = at.record - 1
        executor, done = None, False
        try:
            if outputs is not None and index is not None:
                executor = _executor(inp, options, workers, scheduler, outputs, at)
                _process(inp, chunk_size, at, options, executor, outputs, tally, index, key, checkpoint_path,
                         progress, checkpoint_seconds)
                outputs.close()
            files = _finalize(target, work, inp, tally, kb, options, write_atomic, executor)
            done = True
        finally:
            if executor is not None:
                executor.close(cancel=not done)
    except BaseException:
        if not (work / "checkpoint.json").exists():  # nothing to resume: leave nothing behind
            lock.close()
            shutil.rmtree(work, ignore_errors=True)
            if not existed:
                with contextlib.suppress(OSError):
                    target.rmdir()
        raise
    finally:
        lock.close()
    shutil.rmtree(work, ignore_errors=True)
    return BatchResult(target, files, tally, time.perf_counter() - t0, resumed_from)


def _load_checkpoint(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def _executor(inp: Input, options: BatchOptions, workers: int | None, scheduler: str | None, outputs: Outputs,
              at: Position) -> Any:
    """Where the chunks run: a Dask cluster, this process (--workers 1) or local worker processes."""
    if scheduler:
        return _Dask(scheduler, inp)
    n = workers or os.cpu_count() or 1
    return _Inline() if n <= 1 else _Pool(n, options, str(outputs.parts), str(outputs.work / "assessments.jsonl"),
                                          at.chunk)


def _process(inp: Input, chunk_size: int, at: Position, options: BatchOptions, executor: Any, outputs: Outputs,
             tally: Tally, index: IdIndex, key: dict[str, Any], checkpoint_path: Path, progress: bool,
             checkpoint_seconds: float) -> None:
    from riskengine.io import write_atomic

    unit_bytes = inp.kind != "folder"
    bar = Progress(inp.size, at.record - 1, at.offset if unit_bytes else at.record - 1, enabled=progress)
    where_of = _where(inp)
    position = at
    last_checkpoint = time.monotonic()

    def checkpoint(complete: bool = False) -> None:
        state = {**key, "position": position.__dict__, "sizes": outputs.sync(), "tally": tally.to_json(),
                 "complete": complete, "saved_at": time.time()}
        write_atomic(checkpoint_path, json.dumps(state, ensure_ascii=False))

    def commit(after: Position, result: ChunkResult) -> None:
        """Append a chunk: only its repeated ids are handled one by one; the rest is joined bytes and counts."""
        nonlocal position, last_checkpoint
        repeated, ids = index.commit(result.ids)
        lines = result.csv_lines
        for entry, record, first_record, first_line in repeated:
            row = record - result.first_record
            first = where_of(first_record, first_line)
            lines[row] = _with_duplicate(lines[row], first)
            tally.add_duplicate(result.id_texts[entry], where_of(record, int(result.ids["line"][entry])), first)
        outputs.write(result, lines, ids, executor.turn)
        tally.merge(result.tally)
        position = after
        bar.update(tally.records, after.offset if unit_bytes else after.record - 1, tally.errors)
        if time.monotonic() - last_checkpoint >= checkpoint_seconds:
            checkpoint()
            last_checkpoint = time.monotonic()

    pending: deque[tuple[Position, Any]] = deque()
    for spec, after in plan_chunks(inp, chunk_size, at, options):
        pending.append((after, executor.submit(replace(spec, full_lists=tally.full_lists()))))
        while len(pending) >= executor.slots:
            after_, future = pending.popleft()
            commit(after_, _result(future))
    while pending:
        after_, future = pending.popleft()
        commit(after_, _result(future))
    checkpoint(complete=True)
    bar.update(tally.records, inp.size if unit_bytes else tally.records, tally.errors, final=True)


def _result(future: Any) -> Any:
    """What a worker returns (a ChunkResult), its failure told as one that --resume gets past."""
    try:
        return future.result()
    except RiskEngineError:
        raise
    except Exception as exc:  # a worker died or the cluster went away: the checkpoint lets --resume go on
        raise RiskEngineError(f"a worker failed ({type(exc).__name__}: {exc}); run again with --resume to go on "
                              "from the last checkpoint") from exc


def _where(inp: Input) -> Any:
    if inp.kind == "folder":
        return lambda record, line: inp.files[record - 1]
    return lambda record, line: f"{inp.display}:{line}"


def _finalize(target: Path, work: Path, inp: Input, tally: Tally, kb: Any, options: BatchOptions,
              write_atomic: Any, executor: Any = None) -> list[Path]:
    """Build the Parquet file and the summary, then rename every final file into OUT. The Parquet file is built
    in a worker process when there are local ones (pyarrow is imported there, not here), while this process
    writes the summary."""
    parquet = None
    if not (work / "results.parquet").exists() and (work / "results.csv").exists():  # else built by the killed run
        parquet = (executor or _Inline).elsewhere(csv_to_parquet, work / "results.csv", work / "results.parquet")
    write_atomic(work / "summary.html", render_summary(tally, kb, options.lang, inp.display))
    if parquet is not None:
        _result(parquet)
    files = []
    for name in ("results.csv", "assessments.jsonl", "results.parquet", "summary.html"):
        if (work / name).exists() or not (target / name).exists():  # else: renamed by the run that was killed
            os.replace(work / name, target / name)
        files.append(target / name)
    return files


# ====================================================================== summary.html

_UI = {
    "title": ("riskengine batch summary", "riskengine 批量评估汇总"),
    "input": ("Input", "输入"),
    "generated": ("Generated", "生成时间"),
    "records": ("records", "条记录"),
    "assessed": ("assessed", "已评估"),
    "errors": ("with errors", "有错误"),
    "duplicates": ("duplicate ids", "重复标识"),
    "blank": ("blank lines skipped", "跳过的空行"),
    "tiers": ("Tiers", "风险等级"),
    "by_scenario": ("Tiers by scenario", "按应用场景的风险等级"),
    "by_provider": ("Tiers by provider", "按提供者的风险等级"),
    "top_providers": ("The {n} providers with the most applications, of {total}.",
                      "共 {total} 个提供者，此处列出申报应用最多的 {n} 个。"),
    "gaps": ("Most common gaps", "最常见的控制措施缺口"),
    "gaps_note": (("Controls that the tier requires and the declaration does not list, across all assessed "
                   "applications."), "所有已评估应用中，其风险等级要求而声明未列出的控制措施。"),
    "prohibited": ("Prohibited applications", "禁止类应用"),
    "high": ("High-risk applications", "高风险应用"),
    "dups": ("Duplicate ids", "重复的应用标识"),
    "errs": ("Records with errors", "有错误的记录"),
    "more": ("and {n} more: see results.csv", "另有 {n} 条，见 results.csv"),
    "none": ("none", "无"),
    "scenario": ("Scenario", "应用场景"),
    "provider": ("Provider", "提供者"),
    "total": ("Total", "合计"),
    "control": ("Control", "控制措施"),
    "count": ("Applications", "应用数"),
    "id": ("Id", "标识"),
    "name": ("Name", "名称"),
    "where": ("Record", "记录"),
    "reasons": ("Tier set by", "等级依据"),
    "missing": ("Missing controls", "缺失的控制措施"),
    "grade": ("Grade", "评级"),
    "first": ("First seen at", "首次出现于"),
    "error": ("Error", "错误"),
    "footer": (("Each row of results.csv is one input record; assessments.jsonl holds the full assessment of "
                "each assessed record. Reference material for engineering risk assessments, not legal advice."),
               ("results.csv 的每一行对应一条输入记录；assessments.jsonl 含每条已评估记录的完整评估结果。"
                "本汇总为工程风险评估的参考资料，不构成法律意见。")),
}
TIER_COLOURS = {"prohibited": "#7a0019", "high": "#b42318", "limited": "#b54708", "minimal": "#027a48"}
"""The report's tier colours (reports/templates/report.html.j2)."""


def _fit(label: str, units: int = 40) -> str:
    """The label cut to fit the chart's label column (a CJK character counts two units)."""
    out, used = "", 0
    for ch in label:
        used += 2 if ord(ch) > 0x2E80 else 1
        if used > units:
            return out.rstrip() + "…"
        out += ch
    return out


def _bar(counts: dict[str, int], width: float) -> list[dict[str, Any]]:
    """Segments of one stacked bar: x, width, colour and count per tier, most severe first."""
    total = sum(counts.get(t, 0) for t in vocab.TIERS) or 1
    x, out = 0.0, []
    for tier in vocab.TIERS:
        n = counts.get(tier, 0)
        if n:
            w = width * n / total
            out.append({"tier": tier, "x": round(x, 2), "w": round(w, 2), "n": n, "colour": TIER_COLOURS[tier]})
            x += w
    return out


def render_summary(tally: Tally, kb: Any, lang: str, input_name: str) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from riskengine.assess import generated_at
    from riskengine.i18n import name as vocab_name
    from riskengine.paths import templates_dir
    from riskengine.rules.pack import localize

    i = 1 if lang == "zh" else 0
    ui = {k: v[i] for k, v in _UI.items()}
    scenario_rows = []
    for sid in sorted(tally.by_scenario, key=lambda s: (-sum(tally.by_scenario[s].values()), s)):
        counts = tally.by_scenario[sid]
        label = localize(kb.scenarios[sid].name, lang) if sid in kb.scenarios else sid
        scenario_rows.append({"label": label, "short": _fit(label), "key": sid, "counts": counts,
                              "total": sum(counts.values())})
    providers = sorted(tally.by_provider, key=lambda p: (-sum(tally.by_provider[p].values()), p))[:TOP_PROVIDERS]
    provider_rows = [{"label": p, "short": _fit(p), "key": p, "counts": tally.by_provider[p],
                      "total": sum(tally.by_provider[p].values())} for p in providers]
    width = 420.0
    for rows in (scenario_rows, provider_rows):
        longest = max((r["total"] for r in rows), default=1)
        for r in rows:
            r["segments"] = _bar(r["counts"], width * r["total"] / longest)
    gaps = sorted(tally.gaps.items(), key=lambda kv: (-kv[1], kv[0]))
    most = max((n for _, n in gaps), default=1)
    titles = {c: localize(kb.controls[c].title, lang) if c in kb.controls else c for c, _ in gaps}
    gap_rows = [{"control": c, "title": titles[c], "short": _fit(titles[c]), "n": n, "w": round(width * n / most, 2)}
                for c, n in gaps]
    env = Environment(loader=FileSystemLoader(str(templates_dir())),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("batch-summary.html.j2").render(
        ui=ui, lang=lang, t=tally, input_name=input_name, generated=generated_at(), version=__version__,
        tiers=list(vocab.TIERS), tier_name={t: vocab_name("tier", t, lang) for t in vocab.TIERS},
        colours=TIER_COLOURS, total_bar=_bar(tally.tiers, 600.0), scenario_rows=scenario_rows,
        provider_rows=provider_rows, provider_count=len(tally.by_provider), gap_rows=gap_rows,
        rules_version=kb.version, limit=LIST_LIMIT,
        scenario_name={s: localize(kb.scenarios[s].name, lang) for s in kb.scenarios},
        more=lambda shown, total: ui["more"].format(n=f"{total - shown:,}") if total > shown else "",
    )


def tally_counts(tally: Tally) -> Counter[str]:
    """Tiers plus errors, for the command's closing line."""
    counts: Counter[str] = Counter(tally.tiers)
    counts["error"] = tally.errors
    return counts
