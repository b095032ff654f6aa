"""`--fail-on`: the release gates a pipeline sets, on the tier, the grade, or both.

    tier:high   trips when the tier is high or above (high, prohibited)
    high        the same (the plain tier form)
    grade:C     trips when the grade is C or worse (C, D, E, not_permitted)

Several gates may be given (repeat the option or separate them with commas); any one that trips makes the
command exit 1, after every report has been written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskengine.grading import GRADES, grade_rank
from riskengine.vocab import TIER_RANK, TIERS


@dataclass(frozen=True)
class Gate:
    kind: str
    """tier or grade."""
    value: str

    def trips(self, assessment: dict[str, Any]) -> bool:
        if self.kind == "tier":
            return TIER_RANK[assessment["tier"]] >= TIER_RANK[self.value]
        return grade_rank(assessment["grade"]) >= grade_rank(self.value)

    def explain(self, assessment: dict[str, Any]) -> str:
        if self.kind == "tier":
            return f"gate: tier {assessment['tier']} is at or above --fail-on tier:{self.value}"
        return f"gate: grade {assessment['grade']} is at or below --fail-on grade:{self.value}"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_gate(text: str) -> Gate:
    """`tier:high`, `grade:C` or `high`; raises ValueError with a sentence a user can act on."""
    raw = text.strip()
    kind, sep, value = raw.partition(":")
    if not sep:
        kind, value = "tier", raw
    kind, value = kind.strip().lower(), value.strip()
    if kind == "tier":
        if value.lower() in TIERS:
            return Gate("tier", value.lower())
        raise ValueError(f"'{text}': the tier must be one of {', '.join(TIERS)}")
    if kind == "grade":
        for g in GRADES:
            if value.lower() == g.lower() or value.lower().replace(" ", "_") == g.lower():
                return Gate("grade", g)
        raise ValueError(f"'{text}': the grade must be one of {', '.join(GRADES)}")
    raise ValueError(f"'{text}': use tier:TIER, grade:GRADE or a plain tier ({', '.join(TIERS)})")


def parse_gates(values: Iterable[str]) -> list[Gate]:
    return [parse_gate(part) for value in values for part in value.split(",") if part.strip()]


def tripped(gates: Iterable[Gate], assessment: dict[str, Any]) -> list[str]:
    """One line per gate that trips."""
    return [g.explain(assessment) for g in gates if g.trips(assessment)]
