"""The rules stage: declaration -> fired rules -> tier, tier reasons, required controls and findings."""

from __future__ import annotations

import functools
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from riskengine import vocab
from riskengine.model import Declaration, Finding, TierReason
from riskengine.rules.conditions import build_fact
from riskengine.rules.pack import Knowledge, Rule, load_knowledge, localize

__all__ = ["Classification", "Outcome", "classify", "outcome", "decide_tier", "load_knowledge", "Knowledge", "Rule"]


GAP_MESSAGE = {
    "en": "{name} does not declare the control '{control}' ({title}), which a {tier}-tier application in the "
          "scenario '{scenario}' requires.",
    "zh": "“{name}”未声明控制措施“{title}”（{control}），而“{scenario}”场景中{tier}风险等级的应用必须具备该措施。",
}


@dataclass(frozen=True)
class Classification:
    tier: str
    in_scope: bool
    tier_reasons: tuple[TierReason, ...]
    fired: tuple[str, ...]
    """Ids of every rule that fired, both phases, requirement rules included."""
    required_controls: tuple[str, ...]
    missing_controls: tuple[str, ...]
    findings: tuple[Finding, ...]


def decide_tier(fired: list[Rule], kb: Knowledge) -> tuple[str, bool, list[Rule]]:
    """Walk the stages in legal order: the most severe tier wins; a final stage that fired ends the walk.

    Returns the tier, whether the application is in scope, and the rules that set the tier.
    """
    tier, reasons, in_scope = "minimal", [], True
    by_stage: dict[str | None, list[Rule]] = {}
    for rule in fired:
        if rule.tier is not None:
            by_stage.setdefault(rule.stage, []).append(rule)
    for stage in kb.stages.values():
        here = by_stage.get(stage.id, [])
        for rule in here:
            rank, current = vocab.TIER_RANK[rule.tier], vocab.TIER_RANK[tier]
            if rank > current or not reasons:
                tier, reasons = rule.tier, [rule]
            elif rank == current:
                reasons.append(rule)
        if stage.final and here:
            in_scope = False
            break
    return tier, in_scope, reasons


def _values(decl: Declaration, tier: str | None = None) -> dict[str, str]:
    app = decl.app
    out = {"name": app["name"], "id": app["id"], "provider": app["provider"], "scenario": app["scenario"]}
    if tier:
        out["tier"] = tier
    return out


def _filler(text: str) -> Callable[[dict[str, str]], str]:
    """The text with a record's placeholders ({name} ...) filled in; a text without braces is kept as is."""
    return text.format_map if "{" in text or "}" in text else lambda values: text


def _plain(text: str) -> bool:
    return all(conversion is None and not spec
               for _, name, spec, conversion in string.Formatter().parse(text) if name is not None)


class _RuleText:
    """One rule's texts in one language, and the evidence every finding of it carries."""

    __slots__ = ("evidence", "message", "rationale", "remediation", "title")

    def __init__(self, rule: Rule, lang: str):
        self.title, self.message = _filler(localize(rule.title, lang)), _filler(localize(rule.message, lang))
        self.remediation = _filler(localize(rule.remediation, lang))
        self.rationale = _filler(localize(rule.rationale, lang))
        self.evidence = {"pack": rule.pack, **({"stage": rule.stage} if rule.stage else {}),
                         **({"sets_tier": rule.tier} if rule.tier else {})}


class _Gap:
    """The finding for one missing control at one tier of one scenario, in one language, but for the name."""

    __slots__ = ("clauses", "evidence", "remediation", "rule_id", "severity", "title", "words")

    def __init__(self, kb: Knowledge, scenario: str, tier: str, control: str, lang: str):
        spec = kb.controls[control]
        norms = kb.scenarios[scenario].controls.get(tier, ())
        self.rule_id = "GAP-" + control.upper().replace("_", "-")
        self.severity = spec.severity.get(tier, "medium")
        self.title, self.remediation = localize(spec.title, lang), localize(spec.remediation, lang)
        self.clauses = spec.clauses
        self.evidence = {"control": control, "tier": tier, "scenario": scenario,
                         "required_by": f"scenarios/{scenario}.yaml controls.{tier}",
                         **{"condition": c for ctl, c in norms if ctl == control and c}}
        self.words = {"control": control, "title": self.title, "tier": localize(vocab.TIER_NAMES[tier], lang),
                      "scenario": localize(kb.scenarios[scenario].name, lang)}


class Texts:
    """The texts of a knowledge base that assessments show, in one language, looked up once per process.

    `texts(kb, lang)` builds it; `classify` and `assess` then only fill in each record's placeholders.
    """

    def __init__(self, kb: Knowledge, lang: str):
        self.rules = {rid: _RuleText(rule, lang) for rid, rule in kb.rules.items()}
        self.stage_titles = {sid: localize(stage.title, lang) for sid, stage in kb.stages.items()}
        self.control_titles = {cid: localize(control.title, lang) for cid, control in kb.controls.items()}
        self.scenario_names = {sid: localize(scenario.name, lang) for sid, scenario in kb.scenarios.items()}
        self.clauses = {ref: {"framework": c.framework, "title": localize(c.title, lang), "verified": c.verified}
                        for ref, c in kb.clauses.items()}
        """Copy an entry before handing it out: assessments must not share dicts."""
        self.gap_message = localize(GAP_MESSAGE, lang)
        self.plain_placeholders = _plain(self.gap_message) and all(
            _plain(localize(text, lang)) for rule in kb.rules.values() if not rule.requirement
            for text in (rule.title, rule.message, rule.remediation, rule.rationale))
        """Every placeholder is a bare {name}: its value lands in the text as it is (assess.AssessmentTemplates)."""
        self.gaps = {(sid, tier, control): _Gap(kb, sid, tier, control, lang)
                     for sid, scenario in kb.scenarios.items() for tier, norms in scenario.controls.items()
                     for control, _ in norms}


@functools.lru_cache(maxsize=16)
def texts(kb: Knowledge, lang: str) -> Texts:
    return Texts(kb, lang)


def finding_for(rule: Rule, text: _RuleText, values: dict[str, str]) -> Finding:
    return Finding(
        rule_id=rule.id, severity=rule.severity, category=rule.category,
        title=text.title(values), message=text.message(values), clauses=rule.clauses,
        remediation=text.remediation(values), rationale=text.rationale(values),
        confidence=rule.confidence, evidence=dict(text.evidence),
    )


def gap_finding(gap: _Gap, message: str, name: str) -> Finding:
    return Finding(rule_id=gap.rule_id, severity=gap.severity, category="control_gap", title=gap.title,
                   message=message.format(name=name, **gap.words), clauses=gap.clauses,
                   remediation=gap.remediation, evidence=dict(gap.evidence))


class DurableHits:
    """Which rules fire for one declaration, asked of the durable-rules rulesets (the reference).

    A batch passes its own answers to `classify` instead: rules/vectorized.py evaluates the same
    conditions column-wise over a chunk of facts (tests/test_batch.py holds the two equal).
    """

    def __init__(self, kb: Knowledge, raw: dict[str, Any]):
        self.kb, self.fact = kb, build_fact(raw)

    def classification(self) -> set[str]:
        return self.kb.classification.evaluate(self.fact)

    def obligations(self, tier: str) -> set[str]:
        return self.kb.obligations.evaluate(dict(self.fact, tier=tier))


class Outcome(NamedTuple):
    """What the rules decide for one declaration before any text is written: many declarations share it.

    `classify` writes the findings from it; `riskengine batch` uses `key` to tell which declarations get
    the same assessment but for their own names (assess.AssessmentTemplates). A NamedTuple: one is made
    per declaration, and it is cheaper to make than a frozen dataclass.
    """

    scenario: str
    tier: str
    in_scope: bool
    fired: tuple[Rule, ...]
    """The classification rules that speak (outside the Act's scope: only the scope rules)."""
    setters: tuple[Rule, ...]
    """The rules that set the tier."""
    later: tuple[Rule, ...]
    """The obligation rules that fired for the tier."""
    required_controls: tuple[str, ...]
    """In vocab.CONTROLS order."""
    missing_controls: tuple[str, ...]
    key: tuple[Any, ...]
    """Scenario, every classification rule that fired, the obligation rules and the missing controls: equal
    for two declarations exactly when everything above is equal."""


@functools.lru_cache(maxsize=4096)
def _tiering(kb: Knowledge, classification: tuple[str, ...]) -> tuple[str, bool, tuple[Rule, ...], tuple[Rule, ...],
                                                                         tuple[str, ...]]:
    """Tier, scope, the rules that speak, the rules that set the tier and the ids of those that speak,
    for a set of classification hits."""
    rules = kb.rules
    fired = [rules[r] for r in classification]
    tier, in_scope, setters = decide_tier(fired, kb)
    if not in_scope:  # outside the Act's scope: only the scope rules speak
        fired = [r for r in fired if r.stage is not None and kb.stages[r.stage].final]
    return tier, in_scope, tuple(fired), tuple(setters), tuple(r.id for r in fired)


@functools.lru_cache(maxsize=4096)
def _obligations(kb: Knowledge, scenario: str, tier: str, in_scope: bool, fired: tuple[str, ...],
                 later: tuple[str, ...]) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """The obligation rules, and the controls the scenario's norms require of the tier given what fired."""
    norms = kb.scenarios[scenario].controls.get(tier, ()) if in_scope else ()
    fired_ids = {*fired, *later}
    required = {control for control, condition in norms if condition is None or condition in fired_ids}
    return tuple(kb.rules[r] for r in later), tuple(c for c in vocab.CONTROLS if c in required)


def outcome(decl: Declaration, kb: Knowledge, hits: Any = None) -> Outcome:
    """Run both rulesets on one declaration (`hits`: the rules that fire, when already known)."""
    hits = hits if hits is not None else DurableHits(kb, decl.raw)
    classification = tuple(sorted(hits.classification()))
    tier, in_scope, fired, setters, fired_ids = _tiering(kb, classification)
    later_ids = tuple(sorted(hits.obligations(tier))) if in_scope else ()
    scenario = decl.scenario
    later, required = _obligations(kb, scenario, tier, in_scope, fired_ids, later_ids)
    declared = decl.app["controls"]
    missing = tuple(c for c in required if c not in declared)
    # every rule that fired, not only those that speak: the tier and its setters follow from it whatever
    # the order of the stages
    return Outcome(scenario, tier, in_scope, fired, setters, later, required, missing,
                   (scenario, classification, later_ids, missing))


def classify(decl: Declaration, kb: Knowledge, lang: str = "en", hits: Any = None, *, out: Outcome | None = None,
             memo: dict[tuple[Any, ...], Any] | None = None) -> Classification:
    """Both rulesets on one declaration, and the findings and tier reasons written in `lang`.

    `out`: the declaration's outcome, when already known. `memo`: findings and tier reasons kept across calls,
    by everything they are written from (the values they name, the rule or control); worth it only for
    declarations whose name, id and provider are the same placeholders (assess.AssessmentTemplates), and then
    bounded by the rules (the objects are shared: they must only be read).
    """
    out = out if out is not None else outcome(decl, kb, hits)
    words = texts(kb, lang)
    tier = out.tier
    values = _values(decl, tier)
    book = None if memo is None else memo.setdefault(tuple(values.values()), {})
    rules = words.rules
    findings = [_kept(book, r.id, finding_for, r, rules[r.id], values)
                for r in (*out.fired, *out.later) if not r.requirement]
    findings += [_kept(book, ("gap", control), gap_finding, words.gaps[out.scenario, tier, control],
                       words.gap_message, values["name"]) for control in out.missing_controls]
    reasons = tuple(_kept(book, ("reason", r.id), _tier_reason, r, words, values) for r in out.setters)
    return Classification(tier=tier, in_scope=out.in_scope, tier_reasons=reasons,
                          fired=tuple(sorted({r.id for r in (*out.fired, *out.later)})),
                          required_controls=out.required_controls, missing_controls=out.missing_controls,
                          findings=tuple(findings))


def _kept(book: dict[Any, Any] | None, key: Any, make: Callable[..., Any], *args: Any) -> Any:
    """make(*args), or what it made before for `key` (with a memo's book for these values)."""
    if book is None:
        return make(*args)
    got = book.get(key)
    if got is None:
        got = book[key] = make(*args)
    return got


def _tier_reason(rule: Rule, words: Texts, values: dict[str, str]) -> TierReason:
    return TierReason(rule_id=rule.id, stage=rule.stage or "", framework=rule.framework,
                      tier=rule.tier or values["tier"], message=words.rules[rule.id].message(values),
                      clauses=rule.clauses, stage_title=words.stage_titles.get(rule.stage, ""))


def sorted_findings(findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    """Most severe first, then by rule id: the order every format shows."""
    return sorted(findings, key=lambda f: (-vocab.SEVERITY_RANK[f.severity], f.category, f.rule_id))


def rule_summary(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "pack": rule.pack, "title": localize(rule.title), "severity": rule.severity,
            "category": rule.category, "stage": rule.stage, "tier": rule.tier, "phase": rule.phase}
