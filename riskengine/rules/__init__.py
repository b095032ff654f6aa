"""The rules stage: declaration -> fired rules -> tier, tier reasons, required controls and findings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskengine import vocab
from riskengine.model import Declaration, Finding, TierReason
from riskengine.rules.conditions import build_fact
from riskengine.rules.pack import Knowledge, Rule, load_knowledge, localize

__all__ = ["Classification", "classify", "decide_tier", "load_knowledge", "Knowledge", "Rule"]


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


def classify(decl: Declaration, kb: Knowledge, lang: str = "en", hits: Any = None) -> Classification:
    """Run both rulesets on one declaration (`hits`: the rules that fire, when already known)."""
    hits = hits if hits is not None else DurableHits(kb, decl.raw)
    words = texts(kb, lang)
    rules = kb.rules
    fired = [rules[r] for r in sorted(hits.classification())]
    tier, in_scope, setters = decide_tier(fired, kb)
    if not in_scope:  # outside the Act's scope: only the scope rules speak
        fired = [r for r in fired if r.stage is not None and kb.stages[r.stage].final]
        second: list[str] = []
    else:
        second = sorted(hits.obligations(tier))
    later = [rules[r] for r in second]
    values = _values(decl, tier)
    fired_ids = {r.id for r in fired} | set(second)
    scenario = decl.scenario
    norms = kb.scenarios[scenario].controls.get(tier, ()) if in_scope else ()
    required = {control for control, condition in norms if condition is None or condition in fired_ids}
    declared = set(decl.app["controls"])
    required_controls = tuple(c for c in vocab.CONTROLS if c in required)
    missing = tuple(c for c in required_controls if c not in declared)
    findings = [finding_for(r, words.rules[r.id], values) for r in (*fired, *later) if not r.requirement]
    findings.extend(gap_finding(words.gaps[scenario, tier, control], words.gap_message, values["name"])
                    for control in missing)
    reasons = tuple(TierReason(rule_id=r.id, stage=r.stage or "", framework=r.framework, tier=r.tier or tier,
                               message=words.rules[r.id].message(values), clauses=r.clauses,
                               stage_title=words.stage_titles.get(r.stage, ""))
                    for r in setters)
    return Classification(tier=tier, in_scope=in_scope, tier_reasons=reasons,
                          fired=tuple(sorted(fired_ids)), required_controls=required_controls,
                          missing_controls=missing, findings=tuple(findings))


def sorted_findings(findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    """Most severe first, then by rule id: the order every format shows."""
    return sorted(findings, key=lambda f: (-vocab.SEVERITY_RANK[f.severity], f.category, f.rule_id))


def rule_summary(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "pack": rule.pack, "title": localize(rule.title), "severity": rule.severity,
            "category": rule.category, "stage": rule.stage, "tier": rule.tier, "phase": rule.phase}
