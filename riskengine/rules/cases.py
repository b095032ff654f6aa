"""Rule-pack cases: declaration snippets with the rules that must and must not fire.

Each case runs the real pipeline (schema validation, both durable-rules
rulesets, the tier walk), so a passing case says the shipped engine does what
its author wrote down by hand from the law.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskengine.declaration import parse_declaration
from riskengine.errors import DeclarationError, RulePackError
from riskengine.rules import Knowledge, classify
from riskengine.rules.pack import load_yaml

BASE_APPLICATION: dict[str, Any] = {
    "id": "case",
    "name": "Case application",
    "provider": "Case provider",
    "scenario": "general",
    "purpose": "A rule-pack test case.",
    "decision_role": "advisory",
    "autonomy_level": 0,
}
"""The minimal declaration every case starts from; the schema fills in the other defaults."""

_CASE_KEYS = {"name", "application", "fires", "not_fires", "tier", "missing_controls", "in_scope"}


@dataclass
class CaseResult:
    file: str
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_cases(path: Path) -> list[dict[str, Any]]:
    doc = load_yaml(path)
    src = str(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list) or not doc["cases"]:
        raise RulePackError("a cases file needs a non-empty 'cases' list", source=src)
    base = doc.get("base") or {}
    out = []
    for i, case in enumerate(doc["cases"]):
        where = f"cases[{i}]"
        if not isinstance(case, dict) or "name" not in case:
            raise RulePackError("each case needs a name", source=src, field=where)
        unknown = set(case) - _CASE_KEYS
        if unknown:
            raise RulePackError(f"unknown key '{sorted(unknown)[0]}'", source=src, field=where)
        if not any(k in case for k in ("fires", "not_fires", "tier", "missing_controls", "in_scope")):
            raise RulePackError("a case must expect something (fires, not_fires, tier, missing_controls)",
                                source=src, field=where)
        out.append({**case, "application": merge(merge(BASE_APPLICATION, base), case.get("application") or {})})
    return out


def run_case(case: dict[str, Any], kb: Knowledge, src: str) -> CaseResult:
    result = CaseResult(src, case["name"])
    doc = {"schema": "riskengine/v1", "application": case["application"]}
    for rid in [*case.get("fires", []), *case.get("not_fires", [])]:
        if rid not in kb.rules:
            result.problems.append(f"names rule {rid}, which no loaded pack defines")
    try:
        decl = parse_declaration(doc, source=f"{src} case '{case['name']}'", sha256="sha256:" + "0" * 64)
    except DeclarationError as exc:
        result.problems.append(f"its declaration is invalid: {exc.format()}")
        return result
    outcome = classify(decl, kb)
    fired = set(outcome.fired)
    for rid in case.get("fires", []):
        if rid not in fired:
            result.problems.append(f"{rid} should fire but did not")
    for rid in case.get("not_fires", []):
        if rid in fired:
            result.problems.append(f"{rid} fired but must not")
    if "tier" in case and case["tier"] != outcome.tier:
        reasons = ", ".join(r.rule_id for r in outcome.tier_reasons) or "no rule"
        result.problems.append(f"tier is {outcome.tier} (set by {reasons}), expected {case['tier']}")
    if "in_scope" in case and bool(case["in_scope"]) != outcome.in_scope:
        result.problems.append(f"in_scope is {outcome.in_scope}, expected {case['in_scope']}")
    if "missing_controls" in case and sorted(case["missing_controls"]) != sorted(outcome.missing_controls):
        result.problems.append(f"missing controls are {sorted(outcome.missing_controls)}, "
                               f"expected {sorted(case['missing_controls'])}")
    return result


def case_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.cases.yaml"))


def run_folder(folder: Path, kb: Knowledge) -> list[CaseResult]:
    results = []
    for path in case_files(folder):
        pack = path.with_name(path.name.replace(".cases.yaml", ".yaml"))
        if not pack.exists():
            raise RulePackError(f"has no pack beside it ({pack.name})", source=str(path))
        for case in load_cases(path):
            results.append(run_case(case, kb, str(path)))
    return results
