"""The requirements an assessment checks, each passed, failed, skipped or errored: what JUnit reports.

Derived from the canonical JSON only. One requirement per:
- prohibited-practice check (EU AI Act Art. 5): one failure per prohibited rule that fired, else one pass;
- control the tier requires: fails when the declaration does not list it;
- probe limit on one grouping: breach fails; uncertain and insufficient are skipped (the data cannot decide);
  a probe that errored is an error, one that was skipped is skipped;
- any other shortfall finding (oversight, data, declaration, explainability...) of severity low or above,
  which fails: the rule that produced it is the requirement it breaches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.grading import SHORTFALLS


@dataclass(frozen=True)
class Requirement:
    suite: str
    """prohibited_practices, controls, probe.<name> or findings."""
    name: str
    outcome: str
    """pass, fail, skip or error."""
    message: str = ""
    detail: str = ""
    kind: str = ""
    """The rule id or metric behind it (JUnit failure type)."""


def _group(g: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in g.items()) if isinstance(g, Mapping) else ""


def requirements(a: Mapping[str, Any]) -> Iterator[Requirement]:
    prohibited = [r for r in a.get("tier_reasons", []) if r.get("tier") == "prohibited"]
    for r in prohibited:
        yield Requirement("prohibited_practices", f"no prohibited practice: {r['rule_id']}", "fail",
                          r.get("message", ""), "; ".join(r.get("clauses", [])), r["rule_id"])
    if not prohibited:
        yield Requirement("prohibited_practices", "no prohibited practice (EU AI Act Art. 5)", "pass")

    gaps = {f.get("evidence", {}).get("control"): f for f in a.get("findings", [])
            if f.get("category") == "control_gap"}
    for c in a.get("required_controls", []):
        if c in a.get("missing_controls", []):
            f = gaps.get(c, {})
            yield Requirement("controls", f"control declared: {c}", "fail", f.get("message", f"{c} is missing"),
                              "Remediation: " + f.get("remediation", "") + "\nClauses: " + "; ".join(f.get("clauses", [])),
                              f.get("rule_id", "GAP"))
        else:
            yield Requirement("controls", f"control declared: {c}", "pass")

    represented: set[str] = set()
    for name, p in a.get("probes", {}).items():
        suite = f"probe.{name}"
        if p.get("status") == "error":
            yield Requirement(suite, f"{name} probe ran", "error", p.get("reason", ""), kind=f"PROBE-{name.upper()}-ERROR")
            represented.add(f"PROBE-{name.upper().replace('_', '-')}-ERROR")
            continue
        if p.get("status") == "skipped":
            yield Requirement(suite, f"{name} probe ran", "skip", p.get("reason", ""))
            continue
        limits = [x for x in p.get("limits", []) if isinstance(x, Mapping)]
        for lim in limits:
            rid = str(lim.get("rule_id") or lim.get("metric", ""))
            represented.add(rid)
            bound = "at least" if lim.get("bound") == "min" else "at most"
            title = f"{name}: {lim.get('metric')} ({lim.get('view', '')}) {bound} {lim.get('limit')}"
            status = lim.get("status")
            observed = lim.get("observed")
            interval = lim.get("interval")
            text = (f"observed {observed}" + (f", interval {interval}" if interval else "")
                    + (f"; worst-off group {_group(lim.get('worst_group'))}" if lim.get("worst_group") else ""))
            if status == "breach":
                yield Requirement(suite, title, "fail", text, "Clauses: " + "; ".join(lim.get("clauses", [])), rid)
            elif status in ("uncertain", "insufficient"):
                yield Requirement(suite, title, "skip", f"{status}: {text}" if observed is not None else
                                  f"{status}: {lim.get('reason', '')}")
            else:
                yield Requirement(suite, title, "pass")
        if not limits:
            yield Requirement(suite, f"{name} probe ran", "pass")

    seen: dict[str, int] = {}
    for f in a.get("findings", []):
        rid = f["rule_id"]
        if (f.get("category") not in SHORTFALLS or f.get("category") == "control_gap" or rid in represented
                or f.get("severity") == "info"):
            continue
        seen[rid] = seen.get(rid, 0) + 1
        label = rid if seen[rid] == 1 else f"{rid} #{seen[rid]}"
        yield Requirement("findings", f"{label}: {f.get('title', '')}", "fail", f.get("message", ""),
                          "Remediation: " + f.get("remediation", "") + "\nClauses: " + "; ".join(f.get("clauses", [])),
                          rid)
