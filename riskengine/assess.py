"""The whole pipeline for one declaration: rules -> probes -> grade, into an Assessment."""

from __future__ import annotations

import datetime as _dt
import importlib.util
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Any

from riskengine import __version__
from riskengine.errors import RiskEngineError
from riskengine.grading import MODEL_VERSION as GRADING_MODEL
from riskengine.grading import grade as grade_findings
from riskengine.grading import probe_error_finding
from riskengine.integrity import seal
from riskengine.model import Assessment, Declaration, ProbeResult
from riskengine.rules import Knowledge, classify, sorted_findings, texts


@dataclass(frozen=True)
class Options:
    """How to assess: the CLI fills this from its flags."""

    lang: str = "en"
    trust_pickle: bool = False
    trusted_types: tuple[str, ...] = ()
    """skops types the user trusts on the command line, beyond the declaration's model.trusted_types."""
    run_probes: bool = True
    """Batch runs turn probes off unless asked (`--with-probes`)."""
    extra: dict[str, Any] = field(default_factory=dict)


def _stamp(seconds: int) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).isoformat().replace("+00:00", "Z")


_LAST_STAMP: tuple[int, str] = (-1, "")
"""The last second stamped, and its text: a batch stamps thousands of assessments within one second."""


def generated_at() -> str:
    """Now in UTC to the second, or SOURCE_DATE_EPOCH when set, so that reruns can be byte-identical."""
    global _LAST_STAMP
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return _stamp(int(epoch))
    now = int(time.time())
    if now != _LAST_STAMP[0]:
        _LAST_STAMP = (now, _stamp(now))
    return _LAST_STAMP[1]


def _probe_results(decl: Declaration, kb: Knowledge, tier: str, options: Options) -> dict[str, ProbeResult]:
    if not options.run_probes or (decl.model is None and decl.data is None):
        return {}
    from riskengine.probes import (
        run_probes,  # pandas, sklearn, fairlearn: only when there is something to probe
    )

    missing = [m for m in ("numpy", "pandas", "sklearn", "onnxruntime", "skops") if importlib.util.find_spec(m) is None]
    if missing:
        raise RiskEngineError(f"probing a model needs {', '.join(missing)}, which are not installed",
                              source=decl.source, field="model",
                              hint="pip install 'riskengine[probes]'")
    settings = kb.scenarios[decl.scenario].probes.get(tier, {})
    return run_probes(decl, settings, tier=tier, trust_pickle=options.trust_pickle,
                      trusted_types=options.trusted_types, lang=options.lang)


def assess(decl: Declaration, kb: Knowledge, options: Options | None = None, hits: Any = None) -> Assessment:
    options = options or Options()
    result = classify(decl, kb, options.lang, hits)
    probes = _probe_results(decl, kb, result.tier, options) if result.in_scope else {}
    findings = list(result.findings)
    for name, probe in probes.items():
        findings.extend(probe.findings)
        if probe.status == "error":
            findings.append(probe_error_finding(name, probe.reason, result.tier, options.lang))
    findings = sorted_findings(findings)
    graded = grade_findings(result.tier, findings, probes)
    scenario = kb.scenarios[decl.scenario]
    app = decl.app
    inputs = {"declaration": decl.sha256}
    for probe in probes.values():
        inputs.update(probe.details.get("inputs", {}))
    manifest = {
        "riskengine_version": __version__,
        "rulepack_version": kb.version,
        "rulepacks": dict(sorted(kb.packs.items())),
        "inputs": inputs,
        "source": os.path.basename(decl.source),
        "python": platform.python_version(),
        "grading_model": GRADING_MODEL,
        "generated_at": generated_at(),
    }
    words = texts(kb, options.lang)
    cited = sorted({c for f in findings for c in f.clauses} | {c for r in result.tier_reasons for c in r.clauses})
    clauses = {ref: dict(words.clauses[ref]) for ref in cited if ref in words.clauses}
    assessment = Assessment(
        application={"id": app["id"], "name": app["name"], "provider": app["provider"],
                     "version": app.get("version", ""), "scenario": app["scenario"],
                     "scenario_name": words.scenario_names[decl.scenario],
                     "founding_scenario": scenario.founding_scenario, "purpose": app["purpose"],
                     "decision_role": app["decision_role"], "use_cases": list(app["use_cases"]),
                     "practices": list(app["practices"])},
        tier=result.tier,
        in_scope=result.in_scope,
        tier_framework=result.tier_reasons[0].framework if result.tier_reasons else "",
        tier_reasons=result.tier_reasons,
        grade=graded.grade,
        score=graded.score,
        grade_meaning=graded.meaning(options.lang),
        grade_cap=graded.cap,
        deductions=graded.deductions,
        required_controls=result.required_controls,
        declared_controls=tuple(app["controls"]),
        missing_controls=result.missing_controls,
        findings=tuple(findings),
        probes=probes,
        manifest=manifest,
        clauses=clauses,
        control_titles={c: words.control_titles[c]
                        for c in (*result.required_controls, *app["controls"]) if c in words.control_titles},
        lang=options.lang,
    )
    return assessment


def sealed(assessment: Assessment) -> tuple[dict[str, Any], bytes]:
    """The canonical JSON shape sealed with the hash of its content, and its canonical JSON text (one encode)."""
    out = assessment.to_dict()
    return out, seal(out)


def assessment_dict(assessment: Assessment) -> dict[str, Any]:
    """The canonical JSON shape, sealed with the hash of its content."""
    return sealed(assessment)[0]
