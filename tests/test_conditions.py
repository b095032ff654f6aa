"""The condition language and the durable-rules wrapper, held to an independent Python evaluation."""

from __future__ import annotations

import copy
import random
import threading

import pytest

from riskengine import vocab
from riskengine.declaration import parse_declaration
from riskengine.errors import RulePackError
from riskengine.rules import conditions as cond
from riskengine.rules.engine import Evaluator, evaluator
from tests.conftest import minimal_declaration

DEFINITIONS = {
    "law_enforcement_purpose": {"any": [{"scenario": "law_enforcement"}, {"deployer.sector": "law_enforcement"}]},
    "derogation": {"all": [{"practices": {"has_any": ["narrow_procedural_task", "preparatory_task"]}},
                           {"practices": {"lacks": "profiling"}}]},
    "loop_a": {"ref": "loop_b"},
    "loop_b": {"ref": "loop_a"},
}

CONDITIONS = {
    "R-EQ": {"scenario": "medical"},
    "R-NE": {"scenario": {"ne": "medical"}},
    "R-IN": {"decision_role": {"in": ["automated_with_override", "fully_automated"]}},
    "R-NOTIN": {"scenario": {"not_in": ["general", "finance", "medical"]}},
    "R-INT": {"autonomy_level": {"gte": 3}},
    "R-HAS": {"practices": {"has": "profiling"}},
    "R-LACKS": {"controls": {"lacks": "logging"}},
    "R-HASALL": {"controls": {"has_all": ["logging", "risk_management"]}},
    "R-HASNONE": {"use_cases": {"has_none": ["creditworthiness", "emergency_triage"]}},
    "R-REF": {"all": [{"use_cases": {"has": "creditworthiness"}}, {"not": {"ref": "derogation"}}]},
    "R-NOT-ANY": {"not": {"any": [{"ref": "law_enforcement_purpose"}, {"safety_component": True},
                                  {"autonomy_level": {"lt": 2}}]}},
    "R-MIXED": {"all": [{"scenario": {"in": ["medical", "driving", "emergency", "robotics", "public_services"]}},
                        {"decision_role": {"in": ["automated_with_override", "fully_automated"]}},
                        {"any": [{"practices": {"has": "physical_safety_impact"}}, {"safety_component": True}]}]},
    "R-NEVER": {"all": [{"scenario": "medical"}, {"scenario": "driving"}]},
    "R-ALWAYS": {"all": []},
}


def parsed(conditions=CONDITIONS):
    ctx = cond.ConditionContext(DEFINITIONS, "test")
    return {rid: cond.parse(c, ctx) for rid, c in conditions.items()}


def random_declaration(rng: random.Random) -> dict:
    def some(values, p=0.2):
        return [v for v in values if rng.random() < p]

    app = {
        "scenario": rng.choice(vocab.SCENARIOS), "decision_role": rng.choice(vocab.DECISION_ROLES),
        "autonomy_level": rng.randint(0, 5), "safety_component": rng.random() < 0.3,
        "practices": some(vocab.PRACTICES, 0.15), "controls": some(vocab.CONTROLS, 0.5),
        "use_cases": some(list(vocab.USE_CASES), 0.08),
        "deployer": {"sector": rng.choice(vocab.DEPLOYER_SECTORS), "public_authority": rng.random() < 0.3},
    }
    return parse_declaration(minimal_declaration(**app), source="rnd", sha256="sha256:" + "0" * 64).raw


def test_durable_rules_agree_with_the_python_reference_on_random_declarations():
    nodes = parsed()
    compiled = {rid: cond.compile_condition(n, rid, "test") for rid, n in nodes.items()}
    ev = Evaluator("test-random@1", compiled)
    rng = random.Random(20261125)
    fired_total = {rid: 0 for rid in nodes}
    for _ in range(400):
        fact = cond.build_fact(random_declaration(rng))
        expected = {rid for rid, n in nodes.items() if cond.evaluate(n, fact)}
        assert ev.evaluate(fact) == expected
        for rid in expected:
            fired_total[rid] += 1
    # every condition both fired and did not fire somewhere, so the comparison was not vacuous
    for rid, count in fired_total.items():
        if rid == "R-NEVER":
            assert count == 0
        elif rid == "R-ALWAYS":
            assert count == 400
        else:
            assert 0 < count < 400, rid


def test_hand_written_cases():
    nodes = parsed()
    fact = cond.build_fact(parse_declaration(minimal_declaration(
        scenario="driving", decision_role="fully_automated", autonomy_level=4, safety_component=True,
        use_cases=["creditworthiness"], practices=["preparatory_task", "profiling"], controls=["logging"]),
        source="t", sha256="sha256:" + "0" * 64).raw)
    ev = Evaluator("test-hand@1", {rid: cond.compile_condition(n, rid, "t") for rid, n in nodes.items()})
    # by hand: not medical; fully automated; driving is outside {general, finance, medical}; level 4 >= 3;
    # profiling declared; logging declared (so R-LACKS and R-HASALL fail); creditworthiness is listed (R-HASNONE
    # fails) and profiling blocks the derogation (R-REF holds); the safety component defeats R-NOT-ANY.
    assert ev.evaluate(fact) == {"R-NE", "R-IN", "R-NOTIN", "R-INT", "R-HAS", "R-REF", "R-MIXED", "R-ALWAYS"}


def test_or_alternatives_fire_once_and_no_or_or_nex_is_emitted():
    node = parsed({"X": {"any": [{"scenario": "medical"}, {"autonomy_level": {"gte": 1}}]}})["X"]
    compiled = cond.compile_condition(node, "X", "t")
    assert len(compiled) == 2
    text = repr(compiled)
    assert "$or" not in text and "$nex" not in text
    ev = Evaluator("test-or@1", {"X": compiled})
    fact = cond.build_fact(parse_declaration(minimal_declaration(scenario="medical", autonomy_level=3),
                                             source="t", sha256="sha256:" + "0" * 64).raw)
    assert ev.evaluate(fact) == {"X"}
    assert ev._hits.count("X") == 2  # both alternatives matched inside durable-rules; the result names X once


def test_no_threads_no_sid_exhaustion_and_empty_working_memory():
    before = threading.active_count()
    node = parsed({"Y": {"scenario": "general"}})["Y"]
    ev = evaluator("test-many", {"Y": cond.compile_condition(node, "Y", "t")})
    fact = cond.build_fact(parse_declaration(minimal_declaration(), source="t", sha256="sha256:" + "0" * 64).raw)
    for _ in range(3000):  # well past durable-rules' ~1,024 states per ruleset
        assert ev.evaluate(fact) == {"Y"}
    from riskengine.rules.engine import _host
    assert _host().get_facts(ev.name) == []
    assert threading.active_count() == before
    assert evaluator("test-many", {"Y": cond.compile_condition(node, "Y", "t")}) is ev  # registered once


@pytest.mark.parametrize("condition, text", [
    ({"scenaro": "medical"}, "did you mean 'scenario'?"),
    ({"scenario": "medicl"}, "did you mean 'medical'?"),
    ({"practices": {"has": "profilng"}}, "did you mean 'profiling'?"),
    ({"practices": "profiling"}, "is a list"),
    ({"scenario": {"has": "medical"}}, "does not apply to 'scenario'"),
    ({"autonomy_level": {"gt": 9}}, "integer from 0 to 5"),
    ({"safety_component": "yes"}, "true or false"),
    ({"ref": "nowhere"}, "unknown definition 'nowhere'"),
    ({"ref": "loop_a"}, "in a loop"),
    ({"controls": {"has_any": []}}, "non-empty list"),
    ([], "non-empty mapping"),
])
def test_condition_errors_at_load_time(condition, text):
    with pytest.raises(RulePackError) as info:
        cond.parse(condition, cond.ConditionContext(DEFINITIONS, "pack.yaml"), "rules.X.when")
    assert text in info.value.format()
    assert info.value.format().startswith("pack.yaml: ")


def test_too_many_alternatives_is_an_error():
    big = {"all": [{"scenario": {"in": list(vocab.SCENARIOS)}},
                   {"decision_role": {"in": list(vocab.DECISION_ROLES)}},
                   {"deployer.sector": {"in": list(vocab.DEPLOYER_SECTORS)}}]}
    node = parsed({"B": big})["B"]
    with pytest.raises(RulePackError, match="split the rule"):
        cond.compile_condition(node, "B", "t")


def _reference_fact(raw, tier=None):
    """build_fact as it was first written: the fact built key by key, every list value absent first."""
    app = raw["application"]
    product = app.get("product_type") or "none"
    fact = {
        cond.ALWAYS_KEY: True,
        "scenario": app["scenario"],
        "decision_role": app["decision_role"],
        "deployer__sector": app["deployer"]["sector"],
        "third_party_assessment": app["third_party_assessment"],
        "product_type": product,
        "product_annex_i_section": vocab.PRODUCT_TYPES.get(product, "none"),
        "model__format": (raw.get("model") or {}).get("format", "none"),
        "autonomy_level": app["autonomy_level"],
        "safety_component": app["safety_component"],
        "deployer__public_authority": app["deployer"]["public_authority"],
        "human_oversight__in_the_loop": app["human_oversight"]["in_the_loop"],
        "human_oversight__can_override": app["human_oversight"]["can_override"],
        "human_oversight__monitoring": app["human_oversight"]["monitoring"],
    }
    for spec in cond.FIELDS.values():
        if spec.kind == "list":
            fact.update({f"{spec.key}__{v}": v in app.get(spec.name, ()) for v in spec.values})
    if tier is not None:
        fact["tier"] = tier
    return fact


def test_build_fact_equals_the_reference():
    from tests.test_declaration import GENERATE

    rng = random.Random(3)
    raws = [random_declaration(rng) for _ in range(200)]
    for doc in GENERATE(400, seed=6, bad_every=0):
        if rng.random() < 0.5:
            doc["model"] = {"format": rng.choice(["onnx", "skops"]), "path": "m"}
        raws.append(parse_declaration(doc, source="g", sha256="sha256:" + "0" * 64).raw)
    for i, model in enumerate([None, {}, {"path": "m"}, {"format": "predictions"}]):  # facts of raw documents too
        raw = copy.deepcopy(raws[i])
        raw["model"] = model
        raw["application"]["practices"] = ["not_a_practice", "profiling", "always"]
        raw["application"]["controls"] = ["logging", "logging", "scenario"]
        raws.append(raw)
    for i, raw in enumerate(raws):
        tier = vocab.TIERS[i % len(vocab.TIERS)] if i % 2 else None
        fact = cond.build_fact(raw, tier)
        assert list(fact.items()) == list(_reference_fact(raw, tier).items())  # same keys, order and values
        assert len(fact) == 103 + (tier is not None)
    assert cond.build_fact(raws[0]) is not cond.build_fact(raws[0])  # a fresh fact each time
