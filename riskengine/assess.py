"""The whole pipeline for one declaration: rules -> probes -> grade, into an Assessment."""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.util
import itertools
import operator
import os
import platform
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from riskengine import __version__
from riskengine.errors import RiskEngineError
from riskengine.grading import MODEL_VERSION as GRADING_MODEL
from riskengine.grading import grade as grade_findings
from riskengine.grading import probe_error_finding
from riskengine.integrity import canonical_json, seal, seal_around
from riskengine.model import Assessment, Declaration, Finding, ProbeResult, TierReason
from riskengine.rules import DurableHits, Knowledge, Outcome, Texts, classify, outcome, sorted_findings, texts


@dataclass(frozen=True)
class Options:
    """How to assess: the CLI fills this from its flags."""

    lang: str = "en"
    trust_pickle: bool = False
    trusted_types: tuple[str, ...] = ()
    """skops types the user trusts on the command line, beyond the declaration's model.trusted_types."""
    run_probes: bool = True
    """Batch runs turn probes off unless asked (`--with-probes`)."""


def _stamp(seconds: int) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).isoformat().replace("+00:00", "Z")


_LAST_STAMP: tuple[int, str] = (-1, "")
"""The last second stamped, and its text: a batch stamps thousands of assessments within one second."""


def generated_at() -> str:
    """Now in UTC to the second, or SOURCE_DATE_EPOCH when set, so that reruns can be byte-identical."""
    global _LAST_STAMP
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return _stamp(int(epoch))
    now = int(time.time())
    if now != _LAST_STAMP[0]:
        _LAST_STAMP = (now, _stamp(now))
    return _LAST_STAMP[1]


def _probe_results(decl: Declaration, kb: Knowledge, tier: str, options: Options) -> dict[str, ProbeResult]:
    if not options.run_probes or (decl.model is None and decl.data is None):
        return {}
    from riskengine.probes import (
        run_probes,  # pandas, sklearn, fairlearn: only when there is something to probe
    )

    missing = [m for m in ("numpy", "pandas", "sklearn", "onnxruntime", "skops") if importlib.util.find_spec(m) is None]
    if missing:
        raise RiskEngineError(f"probing a model needs {', '.join(missing)}, which are not installed",
                              source=decl.source, field="model",
                              hint="pip install 'riskengine[probes]'")
    settings = kb.scenarios[decl.scenario].probes.get(tier, {})
    return run_probes(decl, settings, tier=tier, trust_pickle=options.trust_pickle,
                      trusted_types=options.trusted_types, lang=options.lang)


def assess(decl: Declaration, kb: Knowledge, options: Options | None = None, hits: Any = None, *,
           out: Outcome | None = None, memo: dict[tuple[Any, ...], Any] | None = None) -> Assessment:
    """`hits`, `out` and `memo` as for `rules.classify` (with a memo, the assessment shares its findings, tier
    reasons and clause entries with others: it must only be read)."""
    options = options or Options()
    result = classify(decl, kb, options.lang, hits, out=out, memo=memo)
    probes = _probe_results(decl, kb, result.tier, options) if result.in_scope else {}
    findings = list(result.findings)
    for name, probe in probes.items():
        findings.extend(probe.findings)
        if probe.status == "error":
            findings.append(probe_error_finding(name, probe.reason, result.tier, options.lang))
    findings = sorted_findings(findings)
    graded = grade_findings(result.tier, findings, probes)
    inputs = {"declaration": decl.sha256}
    for probe in probes.values():
        inputs.update(probe.details.get("inputs", {}))
    words = texts(kb, options.lang)
    cited = sorted(set().union(*[f.clauses for f in findings], *[r.clauses for r in result.tier_reasons]))
    return Assessment(
        application=application_section(decl, kb, words),
        tier=result.tier,
        in_scope=result.in_scope,
        tier_framework=result.tier_reasons[0].framework if result.tier_reasons else "",
        tier_reasons=result.tier_reasons,
        grade=graded.grade,
        score=graded.score,
        grade_meaning=graded.meaning(options.lang),
        grade_cap=graded.cap,
        deductions=graded.deductions,
        required_controls=result.required_controls,
        declared_controls=tuple(decl.app["controls"]),
        missing_controls=result.missing_controls,
        findings=tuple(findings),
        probes=probes,
        manifest=manifest(decl, kb, inputs),
        clauses=_clause_entries(words, cited, copy=memo is None),
        control_titles=control_titles(words, result.required_controls, decl.app["controls"]),
        lang=options.lang,
    )


def _clause_entries(words: Texts, cited: list[str], copy: bool) -> dict[str, dict[str, Any]]:
    """The registry's entry of each cited clause: copies, unless the assessment is a stand-in's, which is only
    read (with a memo: AssessmentTemplates)."""
    entries = words.clauses
    if copy:
        return {ref: dict(entries[ref]) for ref in cited if ref in entries}
    return {ref: entries[ref] for ref in cited if ref in entries}


def application_section(decl: Declaration, kb: Knowledge, words: Texts) -> dict[str, Any]:
    """The assessment's `application`: who and what was assessed."""
    app = decl.app
    return {"id": app["id"], "name": app["name"], "provider": app["provider"], "version": app.get("version", ""),
            "scenario": app["scenario"], "scenario_name": words.scenario_names[decl.scenario],
            "founding_scenario": kb.scenarios[decl.scenario].founding_scenario, "purpose": app["purpose"],
            "decision_role": app["decision_role"], "use_cases": list(app["use_cases"]),
            "practices": list(app["practices"])}


def control_titles(words: Texts, required: tuple[str, ...], declared: list[str]) -> dict[str, str]:
    """Title of every required or declared control, so that a stored assessment renders on its own."""
    titles = words.control_titles
    return {c: titles[c] for c in (*required, *declared) if c in titles}


def manifest(decl: Declaration, kb: Knowledge, inputs: dict[str, str]) -> dict[str, Any]:
    """What produced the assessment, from what: versions, rule packs and the hash of every input."""
    rulepacks, python = _versions(kb)
    return {"riskengine_version": __version__, "rulepack_version": kb.version, "rulepacks": dict(rulepacks),
            "inputs": inputs, "source": os.path.basename(decl.source), "python": python,
            "grading_model": GRADING_MODEL, "generated_at": generated_at()}


@functools.lru_cache(maxsize=8)
def _versions(kb: Knowledge) -> tuple[tuple[tuple[str, str], ...], str]:
    return tuple(sorted(kb.packs.items())), platform.python_version()


def sealed(assessment: Assessment) -> tuple[dict[str, Any], bytes]:
    """The canonical JSON shape sealed with the hash of its content, and its canonical JSON text (one encode)."""
    out = assessment.to_dict()
    return out, seal(out)


def assessment_dict(assessment: Assessment) -> dict[str, Any]:
    """The canonical JSON shape, sealed with the hash of its content."""
    return sealed(assessment)[0]


# ---------------------------------------------------------------------- many declarations


@dataclass(frozen=True)
class Summary:
    """The numbers of an assessment a batch puts in its results row."""

    tier: str
    in_scope: bool
    grade: str
    score: float
    tier_reasons: tuple[str, ...]
    missing_controls: tuple[str, ...]
    finding_counts: dict[str, int]

    @classmethod
    def of(cls, a: Assessment) -> Summary:
        return cls(a.tier, a.in_scope, a.grade, a.score, tuple(r.rule_id for r in a.tier_reasons),
                   a.missing_controls, a.finding_counts())


_SLOT = "\ue000{}\ue001"
"""A placeholder (private-use characters, which canonical JSON writes as they are)."""
_VALUE_SLOTS = ("application", "control_titles", "declared_controls", "manifest")
"""Whole entries of the assessment that hold the declaration's own values."""
_SPLICED = ("clauses", "findings", "tier_reasons")
"""Whole entries put together from parts encoded once (AssessmentTemplates._cut)."""
_TEXT_SLOTS = ("name", "id", "provider")
"""The declaration's values that rule texts may name ({name} ...)."""
_OPEN, _CLOSE = "\ue000".encode(), "\ue001".encode()
_LEAD = b"\xee"
"""The first byte of both in UTF-8, and of no other character but U+E000-U+EFFF (one-byte search is fast)."""


def _cut_at_slots(text: bytes, entries: tuple[str, ...] = ()) -> tuple[list[bytes], list[str]] | None:
    """Canonical JSON with placeholders -> the literal pieces around them, `%` doubled (for `_Format`), and
    their names (one piece more than names); a placeholder named in `entries` stands for a whole value and
    takes its quotes along. None when a placeholder character appears anywhere but in a placeholder."""
    pieces = text.replace(b"%", b"%%").split(_OPEN)
    literal, names = [pieces[0]], []
    for piece in pieces[1:]:
        name, closed, rest = piece.partition(_CLOSE)
        slot = name.decode()
        if slot in entries and literal[-1][-1:] == b'"' and rest[:1] == b'"':
            literal[-1], rest = literal[-1][:-1], rest[1:]
        elif slot not in _TEXT_SLOTS or not closed:
            return None
        literal.append(rest)
        names.append(slot)
    if text.count(_LEAD) != 2 * len(names):  # each placeholder holds two (its opening and closing character)
        return None
    return literal, names


class _Format(NamedTuple):
    """Canonical JSON cut at its placeholders, as a %-format: the literal bytes with `%` doubled and `%b` at
    each slot, and the slots' names in order. Formats join as they are (`b",".join` of texts, `+` of names)."""

    text: bytes
    names: tuple[str, ...]

    @classmethod
    def of(cls, literal: list[bytes], names: list[str] | tuple[str, ...]) -> _Format:
        return cls(b"%b".join(literal), tuple(names))


class _Template:
    """One sealed assessment cut at its placeholders, before and after the manifest: `head % values`."""

    __slots__ = ("head", "head_slots", "slots", "summary", "tail", "tail_slots")

    def __init__(self, head: _Format, tail: _Format, summary: Summary):
        self.head, self.head_slots = head.text, self._picker(head.names)
        self.tail, self.tail_slots = tail.text, self._picker(tail.names)
        self.slots = frozenset((*head.names, *tail.names))
        self.summary = summary

    @staticmethod
    def _picker(names: tuple[str, ...]) -> Any:
        """What picks the slots' values, in order, as a tuple."""
        if len(names) == 1:
            return lambda values, name=names[0]: (values[name],)
        return operator.itemgetter(*names) if names else (lambda values: ())


class AssessmentTemplates:
    """`sealed(assess(decl))` for many declarations: assessed once per rules outcome, then filled in.

    Declarations whose rules outcome is the same (`rules.Outcome.key`: the rules that fired and the controls
    missing, in one scenario) get the same assessment but for their own values: the `application`,
    `declared_controls`, `control_titles` and `manifest` entries, and the name, id and provider where a
    text names them. A declaration is assessed with placeholders for those values (a stand-in), the
    canonical JSON is cut at the placeholders, and the declaration fills in its own values and is sealed
    (content hash over the filled-in bytes). The bytes equal those of `sealed(assess(decl))`
    (tests/test_batch.py holds them equal).

    A stand-in's findings and tier reasons depend on the rules, the scenario and the tier alone, so they are
    written and encoded once (`memo`, `encoded`) and a new outcome is assembled, not encoded again. The
    template of an outcome is kept from its second sighting on: most outcomes that are not repeated soon are
    never repeated (a third of a generated batch). A declaration with something to probe is assessed in full.
    """

    def __init__(self, kb: Knowledge, options: Options, limit: int = 1024):
        self.kb, self.options, self.limit = kb, options, limit
        self.words = texts(kb, options.lang)
        self.templates: OrderedDict[tuple[Any, ...], _Template] = OrderedDict()
        """The `limit` templates used last (about 10 KB each), so memory stays flat over any input."""
        self.seen: OrderedDict[tuple[Any, ...], None] = OrderedDict()
        """Outcomes seen once (the last 16 x `limit`, a few hundred bytes each): a template is kept on the second."""
        self.uncut: set[tuple[Any, ...]] = set()
        """Outcomes whose assessment cannot be cut at placeholders (a placeholder character in a text)."""
        self.memo: dict[tuple[Any, ...], Any] = {}
        """The stand-ins' findings and tier reasons (rules.classify): bounded by the rules, scenarios and tiers."""
        self.encoded: dict[int, tuple[Any, _Format | None]] = {}
        """Canonical JSON of each of those, cut at its placeholders, by identity (the object kept with it)."""
        self.stand_ins: dict[str, Declaration] = {}
        """A declaration of each scenario with placeholders for its own values (only the scenario and the
        outcome decide a stand-in's assessment: the rest goes into slots)."""
        self.clauses: dict[str, bytes | None] = {}
        """Canonical JSON of each clause entry, by reference (Texts.clauses)."""
        self.filled = self.cut = 0
        """Declarations filled into a template (the rest were assessed in full), and templates cut."""

    def sealed(self, decl: Declaration, hits: Any = None) -> tuple[bytes, Summary]:
        """The canonical JSON of the sealed assessment, and the numbers for the results row."""
        if not self.words.plain_placeholders or (
                self.options.run_probes and (decl.model is not None or decl.data is not None)):
            return self._full(decl, hits)
        hits = hits if hits is not None else DurableHits(self.kb, decl.raw)
        out = outcome(decl, self.kb, hits)
        key = out.key
        template = self.templates.get(key)
        if template is not None:
            self.templates.move_to_end(key)
        elif key in self.uncut:
            return self._full(decl, hits)
        else:
            template = self._cut(decl, out)
            if template is None:
                if len(self.uncut) >= self.limit:
                    self.uncut.clear()
                self.uncut.add(key)
                return self._full(decl, hits)
            if key in self.seen:  # the second time: keep it
                del self.seen[key]
                self.templates[key] = template
                if len(self.templates) > self.limit:
                    self.templates.popitem(last=False)
            else:
                self.seen[key] = None
                if len(self.seen) > 16 * self.limit:
                    self.seen.popitem(last=False)
        self.filled += 1
        app = decl.app
        # a validated declaration's values are text (and a few booleans and integers): no float to look for
        values = {"name": _inner(app["name"]),
                  "application": canonical_json(application_section(decl, self.kb, self.words), floats=False),
                  "declared_controls": canonical_json(list(app["controls"]), floats=False),
                  "control_titles": canonical_json(control_titles(self.words, out.required_controls,
                                                                  app["controls"]), floats=False)}
        if len(template.slots) > len(values):
            values.update({s: _inner(app[s]) for s in ("id", "provider") if s in template.slots})
        return (seal_around(template.head % template.head_slots(values),
                            manifest(decl, self.kb, {"declaration": decl.sha256}),
                            template.tail % template.tail_slots(values)), template.summary)

    def _full(self, decl: Declaration, hits: Any) -> tuple[bytes, Summary]:
        a = assess(decl, self.kb, self.options, hits)
        return sealed(a)[1], Summary.of(a)

    def _cut(self, decl: Declaration, out: Outcome) -> _Template | None:
        stand_in = self.stand_ins.get(decl.scenario)
        if stand_in is None:
            app = {**decl.app, **{s: _SLOT.format(s) for s in _TEXT_SLOTS}}
            stand_in = self.stand_ins[decl.scenario] = replace(decl, raw={**decl.raw, "application": app})
        a = assess(stand_in, self.kb, self.options, out=out, memo=self.memo)
        self.cut += 1
        slots = (*_VALUE_SLOTS, *_SPLICED)
        doc = a.to_dict(shallow=True)
        doc.update({s: _SLOT.format(s) for s in slots})
        cut = _cut_at_slots(canonical_json(doc), slots)
        if cut is None or sorted(n for n in cut[1] if n in doc) != sorted(slots):
            return None  # a placeholder character in a text of the rules, or in the declaration
        # the doc's literal pieces as a format with the spliced entries' formats put in, cut in two at the
        # manifest; joined once
        literal, slot_names = cut
        pieces: list[bytes] = [literal[0]]
        names: list[str] = []
        head = None
        for name, after in zip(slot_names, literal[1:]):
            if name == "manifest":
                head = _Format(b"".join(pieces), tuple(names))
                pieces, names = [], []
            elif name in _SPLICED:
                if not self._splice(name, a, pieces, names):
                    return None
            else:
                pieces.append(b"%b")
                names.append(name)
            pieces.append(after)
        tail = _Format(b"".join(pieces), tuple(names))
        assert head is not None  # the manifest's slot is there (checked above)
        return _Template(head, tail, Summary.of(a))

    def _splice(self, name: str, a: Assessment, pieces: list[bytes], names: list[str]) -> bool:
        """Add the format of the findings, the tier reasons or the clauses, from parts encoded once; False when
        one cannot be cut (a placeholder character in a text)."""
        if name == "clauses":
            members = list(map(self.clauses.get, a.clauses))
            if None in members:
                members = [self._clause(ref, entry) for ref, entry in a.clauses.items()]
                if None in members:
                    return False
            pieces += (b"{", b",".join(members), b"}")
            return True
        items = a.findings if name == "findings" else a.tier_reasons
        formats = [self._format(item) for item in items]
        if None in formats:
            return False
        pieces += (b"[", b",".join([f.text for f in formats]), b"]")
        names += itertools.chain.from_iterable([f.names for f in formats])
        return True

    def _clause(self, ref: str, entry: dict[str, Any]) -> bytes | None:
        """`"ref":{...}` of one clause entry, `%` doubled (None when a text holds a placeholder character)."""
        if ref not in self.clauses:
            member = canonical_json({ref: entry})[1:-1]
            self.clauses[ref] = None if _LEAD in member else member.replace(b"%", b"%%")
        return self.clauses[ref]

    def _format(self, item: Finding | TierReason) -> _Format | None:
        """A memoised finding or tier reason, encoded and cut at its placeholders once (None when a text holds
        a placeholder character)."""
        got = self.encoded.get(id(item))
        if got is None or got[0] is not item:
            if len(self.encoded) >= 16 * self.limit:  # bounded even if something not memoised came by
                self.encoded.clear()
            cut = _cut_at_slots(canonical_json(item.to_dict()))
            got = self.encoded[id(item)] = (item, None if cut is None else _Format.of(*cut))
        return got[1]


def _inner(text: str) -> bytes:
    """A string as canonical JSON writes it inside quotes (JSON escapes character by character)."""
    return canonical_json(text, floats=False)[1:-1]
