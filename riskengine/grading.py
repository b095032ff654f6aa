"""Findings -> score (0-100) and grade (A-E): how well the application meets what its tier demands.

The tier is the inherent risk and comes from the rules; the grade is a
different question and never changes the tier. The model, documented in the
README and shown in every report:

- start at 100; each *shortfall* costs points by severity (critical 40,
  high 15, medium 6, low 2, info 0), scaled by confidence (high 1, medium
  0.75, low 0.5). Shortfalls are findings of the categories in SHORTFALLS:
  control gaps, oversight, data, fairness, robustness, explainability and
  declaration problems. Classification, scope and transparency findings
  describe duties, not failures, and cost nothing (an unmet transparency duty
  shows up as the `transparency_notice` control gap);
- a critical shortfall caps the grade at E, a high one at C;
- a prohibited application is graded "not_permitted" with score 0,
  whatever else holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskengine.model import Finding

POINTS = {"critical": 40.0, "high": 15.0, "medium": 6.0, "low": 2.0, "info": 0.0}
CONFIDENCE = {"high": 1.0, "medium": 0.75, "low": 0.5}
SHORTFALLS = {"control_gap", "oversight", "data", "fairness", "robustness", "explainability", "declaration"}
BANDS = (("A", 90.0), ("B", 75.0), ("C", 60.0), ("D", 40.0), ("E", 0.0))
CAPS = {"critical": "E", "high": "C"}
NOT_PERMITTED = "not_permitted"

MEANING = {
    "A": "Meets what its tier demands; no material shortfall.",
    "B": "Minor shortfalls; fix them in the normal course of work.",
    "C": "Material shortfalls; fix them before release.",
    "D": "Serious shortfalls; not ready for release at this tier.",
    "E": "Fails what its tier demands.",
    NOT_PERMITTED: "A prohibited practice: may not be placed on the market or used, whatever else holds.",
}


@dataclass(frozen=True)
class Grade:
    grade: str
    score: float
    deductions: tuple[dict[str, Any], ...]
    """Each shortfall and the points it cost, largest first."""

    @property
    def meaning(self) -> str:
        return MEANING[self.grade]


def grade(tier: str, findings: list[Finding] | tuple[Finding, ...]) -> Grade:
    deductions = []
    for f in findings:
        if f.category not in SHORTFALLS:
            continue
        points = POINTS[f.severity] * CONFIDENCE.get(f.confidence, 1.0)
        if points:
            deductions.append({"rule_id": f.rule_id, "severity": f.severity, "category": f.category,
                               "points": round(points, 2)})
    deductions.sort(key=lambda d: (-d["points"], d["rule_id"]))
    if tier == "prohibited":
        return Grade(NOT_PERMITTED, 0.0, tuple(deductions))
    score = max(0.0, round(100.0 - sum(d["points"] for d in deductions), 1))
    letter = next(band for band, floor in BANDS if score >= floor)
    order = [b for b, _ in BANDS]
    for d in deductions:
        cap = CAPS.get(d["severity"])
        if cap and order.index(cap) > order.index(letter):
            letter = cap
    return Grade(letter, score, tuple(deductions))
