"""Findings and probe results -> score (0-100) and grade (A-E): how well the application meets what its tier demands.

The **tier** is the inherent risk and comes from the rules alone; the **grade**
answers a different question (given that tier, how far does the application
meet what the tier demands?) and never changes the tier. The model, shown in
every report and documented in the README:

1. **What counts.** Only *shortfalls* cost points: findings of the categories
   in SHORTFALLS (control gaps, oversight, data, fairness, robustness,
   explainability, declaration problems). Findings of the DUTIES categories
   (scope, prohibited practice, classification, transparency) say what the
   law asks, not that the application fails it, and cost nothing; an unmet
   transparency duty shows up as the `transparency_notice` control gap.
   The tier enters through severity: the same missing control is a `high`
   gap at the high tier and a `low` or `info` one below it (controls.yaml),
   and a fairness breach is `high` at the high tier and `medium` below.
2. **Probe results** enter as findings: a limit breached (severity by tier;
   confidence high when the whole confidence interval is beyond the limit,
   medium when only the point estimate is), a limit the interval straddles
   (medium, low confidence), groups too small to judge (low), and a probe
   that failed to run (`PROBE-<NAME>-ERROR`, medium at the high tier, low
   below: evidence the tier asks for is missing). A probe that was skipped
   for lack of a model or data costs nothing; the report lists it under the
   evidence basis.
3. **Points.** A shortfall costs POINTS[severity] (critical 40, high 15,
   medium 6, low 2, info 0) times CONFIDENCE[confidence] (high 1, medium
   0.75, low 0.5).
4. **Repeats.** The same rule id seen several times (one fairness limit
   breached over sex, race and their intersection) is one problem seen
   several times: its occurrences, largest first, count 1, 1/2, 1/4, ... of
   their points, so one rule never costs more than twice its worst case.
5. **Score** = 100 minus the points, floored at 0, rounded to 0.1.
6. **Grade** from the score: A >= 90, B >= 75, C >= 60, D >= 40, E below.
7. **Caps.** The worst shortfall caps the grade whatever the score: a
   critical one (high or medium confidence) caps it at E, a high one at C.
   A low-confidence shortfall only costs points.
8. **Prohibited.** A prohibited application is graded `not_permitted` with
   score 0, whatever else holds.

`grade_deductions` in the assessment lists one entry per rule id, largest
first: the reasons that cost the most points lead.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.model import Finding

MODEL_VERSION = "riskengine-grading/2"
"""Named in the manifest, so a stored grade says which model produced it."""

POINTS = {"critical": 40.0, "high": 15.0, "medium": 6.0, "low": 2.0, "info": 0.0}
CONFIDENCE = {"high": 1.0, "medium": 0.75, "low": 0.5}
REPEAT_FACTOR = 0.5
"""Each further occurrence of the same rule id counts this fraction of the one before."""
SHORTFALLS = frozenset({"control_gap", "oversight", "data", "fairness", "robustness", "explainability",
                        "declaration"})
DUTIES = frozenset({"scope", "prohibited_practice", "classification", "transparency"})
BANDS = (("A", 90.0), ("B", 75.0), ("C", 60.0), ("D", 40.0), ("E", 0.0))
CAPS = {"critical": "E", "high": "C"}
CAPPING_CONFIDENCE = frozenset({"high", "medium"})
NOT_PERMITTED = "not_permitted"
GRADES = tuple(b for b, _ in BANDS) + (NOT_PERMITTED,)
"""Best first; `grade:C` in --fail-on trips on C and everything after it."""

MEANING: dict[str, dict[str, str]] = {
    "A": {"en": "Meets what its tier demands; no material shortfall.",
          "zh": "满足其风险等级的要求，无实质性不足。"},
    "B": {"en": "Minor shortfalls; fix them in the normal course of work.",
          "zh": "存在轻微不足，可在日常工作中整改。"},
    "C": {"en": "Material shortfalls; fix them before release.",
          "zh": "存在实质性不足，应在发布前整改。"},
    "D": {"en": "Serious shortfalls; not ready for release at this tier.",
          "zh": "存在严重不足，尚不具备在该风险等级下发布的条件。"},
    "E": {"en": "Fails what its tier demands.",
          "zh": "未能满足其风险等级的要求。"},
    NOT_PERMITTED: {"en": "A prohibited practice: may not be placed on the market, put into service or used, "
                          "whatever else holds.",
                    "zh": "属于禁止的实践：无论其他情况如何，均不得投放市场、投入使用或使用。"},
}


def meaning(grade_: str, lang: str = "en") -> str:
    texts = MEANING[grade_]
    return texts.get(lang) or texts["en"]


def grade_rank(grade_: str) -> int:
    """0 for A ... 4 for E, 5 for not_permitted: a larger number is a worse grade."""
    return GRADES.index(grade_)


@dataclass(frozen=True)
class Grade:
    grade: str
    """A-E, or not_permitted."""
    score: float
    """0-100; 0 for a prohibited application."""
    deductions: tuple[dict[str, Any], ...]
    """One entry per rule id with the points it cost, largest first."""
    cap: str | None = None
    """The rule id whose severity capped the grade below what the score alone gives, if any."""

    def meaning(self, lang: str = "en") -> str:
        return meaning(self.grade, lang)


Shortfall = tuple[str, str, str, str, str]
"""What grading reads of a finding: rule id, severity, category, confidence and title."""


def _shortfalls(findings: Iterable[Finding]) -> tuple[Shortfall, ...]:
    return tuple([_SHORTFALL(f) for f in findings if f.category in SHORTFALLS])


_SHORTFALL = operator.attrgetter("rule_id", "severity", "category", "confidence", "title")


def _deductions(shortfalls: tuple[Shortfall, ...]) -> list[dict[str, Any]]:
    """The shortfalls grouped by rule id, with repeats discounted; largest first, then by rule id."""
    groups: dict[str, list[Shortfall]] = {}
    for s in shortfalls:
        if _cost(s) > 0:
            groups.setdefault(s[0], []).append(s)
    out = [_deduction(items[0]) if len(items) == 1 else _repeated(items) for items in groups.values()]
    out.sort(key=_deduction_order)
    return out


@functools.lru_cache(maxsize=4096)
def _cost(s: Shortfall) -> float:
    return POINTS[s[1]] * CONFIDENCE.get(s[3], 1.0)


@functools.lru_cache(maxsize=4096)
def _deduction(s: Shortfall) -> dict[str, Any]:
    """The entry of a rule id seen once (most are): one per shortfall, shared and only read."""
    return _repeated([s])


def _repeated(items: list[Shortfall]) -> dict[str, Any]:
    """The entry of one rule id: its occurrences, largest first, count 1, 1/2, 1/4 ... of their points."""
    costs = [(_cost(s), s) for s in items]
    if len(costs) > 1:
        costs.sort(key=lambda item: -item[0])  # stable: equal costs keep the findings' order
    points = sum(cost * REPEAT_FACTOR ** i for i, (cost, _) in enumerate(costs))
    rule_id, severity, category, confidence, title = costs[0][1]
    return {"rule_id": rule_id, "title": title, "severity": severity, "category": category,
            "confidence": confidence, "occurrences": len(costs), "points": round(points, 2)}


def _deduction_order(d: dict[str, Any]) -> tuple[float, str]:
    return -d["points"], d["rule_id"]


def grade(tier: str, findings: Iterable[Finding], probes: Mapping[str, Any] | None = None) -> Grade:
    """Grade an application of `tier` from its findings (probe findings included).

    `probes` is accepted for symmetry with the report (probe results arrive here as findings, see the
    module docstring) and is not needed to compute the grade.
    """
    return _grade(tier, _shortfalls(findings))


@functools.lru_cache(maxsize=4096)
def _grade(tier: str, shortfalls: tuple[Shortfall, ...]) -> Grade:
    """A pure function of what it reads, so a batch grades each combination once (the Grade is frozen and
    its deduction entries are only read)."""
    rows = _deductions(shortfalls)
    if tier == "prohibited":
        return Grade(NOT_PERMITTED, 0.0, tuple(rows))
    score = max(0.0, round(100.0 - sum(d["points"] for d in rows), 1))
    letter = next(band for band, floor in BANDS if score >= floor)
    cap_by = None
    for d in rows:
        cap = CAPS.get(d["severity"])
        if cap and d["confidence"] in CAPPING_CONFIDENCE and grade_rank(cap) > grade_rank(letter):
            letter, cap_by = cap, d["rule_id"]
    return Grade(letter, score, tuple(rows), cap_by)


def probe_error_finding(name: str, reason: str, tier: str, lang: str = "en") -> Finding:
    """A probe that failed to run: the evidence its tier asks for is missing."""
    from riskengine.vocab import FINDING_CATEGORIES

    zh = lang == "zh"
    return Finding(
        rule_id=f"PROBE-{name.upper().replace('_', '-')}-ERROR",
        severity="medium" if tier in ("high", "prohibited") else "low",
        category=name if name in FINDING_CATEGORIES else "declaration",
        title=f"探针 {name} 运行失败" if zh else f"The {name} probe failed to run",
        message=(f"探针 {name} 未能完成，因此缺少该风险等级要求的证据：{reason}" if zh
                 else f"The {name} probe did not complete, so evidence this tier asks for is missing: {reason}"),
        remediation=("修正模型或数据后重新评估。" if zh else "Fix the model or data input and re-assess."),
        confidence="high",
        evidence={"probe": name, "status": "error", "reason": reason},
    )
