"""The rules stage: declaration -> fired rules -> tier, tier reasons, required controls and findings."""

from __future__ import annotations

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
    for stage in kb.stages.values():
        here = [r for r in fired if r.stage == stage.id and r.tier is not None]
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


def _render(text: dict[str, str], values: dict[str, str], lang: str) -> str:
    return localize(text, lang).format_map(values)


def finding_for(rule: Rule, values: dict[str, str], lang: str = "en") -> Finding:
    return Finding(
        rule_id=rule.id, severity=rule.severity, category=rule.category,
        title=_render(rule.title, values, lang), message=_render(rule.message, values, lang),
        clauses=rule.clauses, remediation=_render(rule.remediation, values, lang),
        rationale=_render(rule.rationale, values, lang), confidence=rule.confidence,
        evidence={"pack": rule.pack, **({"stage": rule.stage} if rule.stage else {}),
                  **({"sets_tier": rule.tier} if rule.tier else {})},
    )


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
    first = sorted(hits.classification())
    fired = [kb.rules[r] for r in first]
    tier, in_scope, setters = decide_tier(fired, kb)
    if not in_scope:  # outside the Act's scope: only the scope rules speak
        fired = [r for r in fired if r.stage is not None and kb.stages[r.stage].final]
        second: list[str] = []
    else:
        second = sorted(hits.obligations(tier))
    later = [kb.rules[r] for r in second]
    values = _values(decl, tier)
    fired_ids = {r.id for r in fired} | set(second)
    norms = kb.scenarios[decl.scenario].controls.get(tier, ()) if in_scope else ()
    required = {control for control, condition in norms if condition is None or condition in fired_ids}
    declared = set(decl.app["controls"])
    required_controls = tuple(c for c in vocab.CONTROLS if c in required)
    missing = tuple(c for c in required_controls if c not in declared)
    findings = [finding_for(r, values, lang) for r in [*fired, *later] if not r.requirement]
    for control in missing:
        spec = kb.controls[control]
        findings.append(Finding(
            rule_id="GAP-" + control.upper().replace("_", "-"), severity=spec.severity.get(tier, "medium"),
            category="control_gap", title=localize(spec.title, lang),
            message=localize(GAP_MESSAGE, lang).format(
                name=values["name"], control=control, title=localize(spec.title, lang),
                tier=localize(vocab.TIER_NAMES[tier], lang),
                scenario=localize(kb.scenarios[decl.scenario].name, lang)),
            clauses=spec.clauses, remediation=localize(spec.remediation, lang),
            evidence={"control": control, "tier": tier, "scenario": decl.scenario,
                      "required_by": f"scenarios/{decl.scenario}.yaml controls.{tier}",
                      **{"condition": c for ctl, c in norms if ctl == control and c}},
        ))
    reasons = tuple(TierReason(rule_id=r.id, stage=r.stage or "", framework=r.framework, tier=r.tier or tier,
                               message=_render(r.message, values, lang), clauses=r.clauses,
                               stage_title=localize(kb.stages[r.stage].title, lang) if r.stage in kb.stages else "")
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
