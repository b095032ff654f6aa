"""The shipped rule packs: every case passes, every rule is exercised both ways, the tier walk follows the law."""

from __future__ import annotations

import pytest

from riskengine.paths import rules_dir
from riskengine.rules import decide_tier, load_knowledge
from riskengine.rules.cases import case_files, load_cases, run_case

CASES = [(path, case) for path in case_files(rules_dir()) for case in load_cases(path)]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


def test_every_pack_has_a_cases_file():
    packs = {p.stem for p in rules_dir().glob("*.yaml")
             if p.name not in ("stages.yaml", "clauses.yaml", "controls.yaml") and not p.name.endswith(".cases.yaml")}
    with_cases = {p.name.replace(".cases.yaml", "") for p in case_files(rules_dir())}
    assert packs and packs == with_cases


@pytest.mark.parametrize("path, case", CASES, ids=[f"{p.stem}:{c['name']}" for p, c in CASES])
def test_case(kb, path, case):
    result = run_case(case, kb, str(path))
    assert result.passed, result.problems


def test_every_rule_is_shown_firing_and_not_firing(kb):
    fires, not_fires = set(), set()
    for _, case in CASES:
        fires.update(case.get("fires", []))
        not_fires.update(case.get("not_fires", []))
    pack_rules = {r.id for r in kb.rules.values() if not r.requirement}
    assert pack_rules - fires == set(), "rules no case shows firing"
    assert pack_rules - not_fires == set(), "rules no case shows not firing"


def test_rules_are_complete_and_cite_registered_clauses(kb):
    for rule in kb.rules.values():
        if rule.requirement:
            continue
        assert rule.clauses and all(c in kb.clauses for c in rule.clauses), rule.id
        assert rule.rationale.get("en") and rule.remediation.get("en"), rule.id
        if rule.tier:
            assert rule.stage in kb.stages and rule.phase == "classification", rule.id
    assert {c.verified for c in kb.clauses.values()} <= {"primary", "secondary"}


def test_stage_order_is_the_legal_order(kb):
    assert list(kb.stages) == ["scope", "prohibited_practices", "annex_i", "annex_iii", "founding_uplift",
                               "transparency"]
    assert [s.id for s in kb.stages.values() if s.final] == ["scope"]


def _rule(kb, stage, tier):
    return next(r for r in kb.rules.values() if r.stage == stage and r.tier == tier)


def test_tier_walk(kb):
    scope = _rule(kb, "scope", "minimal")
    art5 = _rule(kb, "prohibited_practices", "prohibited")
    annex3 = _rule(kb, "annex_iii", "high")
    uplift = _rule(kb, "founding_uplift", "high")
    art50 = _rule(kb, "transparency", "limited")
    assert decide_tier([], kb) == ("minimal", True, [])
    # the scope stage is final: even a prohibited practice is outside the Act's scope
    assert decide_tier([art5, scope], kb) == ("minimal", False, [scope])
    # the most severe tier wins; lower tiers stack as findings, not reasons
    assert decide_tier([art50, annex3], kb) == ("high", True, [annex3])
    assert decide_tier([annex3, art5, art50], kb) == ("prohibited", True, [art5])
    # equal tiers are all reasons, in legal order: the EU AI Act route first, then the uplift
    assert decide_tier([uplift, annex3], kb) == ("high", True, [annex3, uplift])
    assert decide_tier([art50], kb) == ("limited", True, [art50])


def test_chinese_text_has_no_spaces_from_yaml_folding(kb):
    from riskengine.rules.pack import _unfold

    assert _unfold("类别、 对其\n 造成损害 of the EU") == "类别、对其造成损害 of the EU"
    for control in kb.controls.values():
        zh = control.remediation.get("zh", "")
        assert "、 " not in zh and "。 " not in zh, control.id
