"""The typed records that flow through the stages: declaration -> rules -> probes -> grade -> render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeclaredModel:
    """The `model:` section: what to probe."""

    format: str
    """onnx, skops, pickle, joblib or predictions."""
    path: str | None = None
    """Absolute path of the model file (None for format=predictions)."""
    prediction_column: str | None = None
    """For format=predictions: the data column holding the predictions."""
    score_column: str | None = None
    """For format=predictions: optional column of scores for the positive label."""
    trusted_types: tuple[str, ...] = ()
    """For skops: types the user explicitly trusts beyond skops' defaults."""


@dataclass(frozen=True)
class DeclaredData:
    """The `data:` section: labelled evaluation data."""

    path: str
    """Absolute path of the CSV or Parquet file."""
    target: str
    positive_label: Any = 1
    favorable_label: Any = None
    """Defaults to positive_label."""
    sensitive_features: tuple[str, ...] = ()
    features: tuple[str, ...] | None = None
    """The model's input columns in order; None means every other column."""


@dataclass(frozen=True)
class Declaration:
    """One declared AI application, validated against `riskengine/v1` and with defaults filled in."""

    source: str
    """Where it came from (a file name, or `file:line` in a batch); used in every error message."""
    raw: dict[str, Any]
    """The document as validated, defaults included (the rule facts are built from it)."""
    sha256: str
    """Hash of the bytes the declaration was read from."""
    base_dir: str | None = None
    """Folder that relative paths resolve against."""
    model: DeclaredModel | None = None
    data: DeclaredData | None = None

    @property
    def app(self) -> dict[str, Any]:
        return self.raw["application"]

    @property
    def id(self) -> str:
        return self.app["id"]

    @property
    def scenario(self) -> str:
        return self.app["scenario"]

    @property
    def probes(self) -> dict[str, Any]:
        return self.raw.get("probes") or {}


@dataclass(frozen=True)
class Finding:
    """One observation about the application, with the clauses behind it and what to do about it."""

    rule_id: str
    """Stable id of the rule, norm or probe limit that produced it."""
    severity: str
    """critical, high, medium, low or info."""
    category: str
    """See vocab.FINDING_CATEGORIES."""
    message: str
    """What was observed and what was expected, in the report's language."""
    clauses: tuple[str, ...] = ()
    """Clause references, each a key of the clause registry."""
    title: str = ""
    remediation: str = ""
    rationale: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    """Numbers behind the finding: metric, observed, limit, group..."""
    confidence: str = "high"
    """high for a fact the declaration states; medium or low where the evidence is uncertain."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "category": self.category,
            "title": self.title,
            "message": self.message,
            "clauses": list(self.clauses),
            "remediation": self.remediation,
            "rationale": self.rationale,
            "confidence": self.confidence,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class TierReason:
    """A rule that set the tier, in the order the law applies them."""

    rule_id: str
    stage: str
    framework: str
    tier: str
    message: str
    clauses: tuple[str, ...] = ()
    stage_title: str = ""
    """The stage's title in the assessment's language (rules/stages.yaml)."""

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "stage": self.stage, "stage_title": self.stage_title,
                "framework": self.framework, "tier": self.tier, "message": self.message,
                "clauses": list(self.clauses)}


@dataclass(frozen=True)
class ProbeResult:
    """What one probe measured. A probe that could not run is `skipped` with its reason, never an error."""

    name: str
    status: str
    """ok, skipped or error."""
    reason: str = ""
    """Why it was skipped, or what went wrong."""
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    """Probe-specific tables (for fairness: by_group, intervals...)."""
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "reason": self.reason}
        out.update(self.details)
        out["metrics"] = self.metrics
        return out


@dataclass(frozen=True)
class Assessment:
    """The outcome for one declaration. `to_dict()` is the canonical JSON shape every format is built from."""

    application: dict[str, Any]
    """id, name, provider, version, scenario and the scenario's names."""
    tier: str
    in_scope: bool
    tier_framework: str
    """The framework of the first rule that set the tier (the law's order)."""
    tier_reasons: tuple[TierReason, ...]
    grade: str
    score: float
    grade_meaning: str
    """What the grade means, in the assessment's language."""
    deductions: tuple[dict[str, Any], ...]
    """One entry per rule id with the points it cost, largest first (grading._deductions)."""
    required_controls: tuple[str, ...]
    declared_controls: tuple[str, ...]
    missing_controls: tuple[str, ...]
    findings: tuple[Finding, ...]
    probes: dict[str, ProbeResult]
    manifest: dict[str, Any]
    clauses: dict[str, dict[str, str]] = field(default_factory=dict)
    """Every clause the assessment cites, with its title, so a stored assessment renders on its own."""
    control_titles: dict[str, str] = field(default_factory=dict)
    """Title of every required or declared control, in the assessment's language."""
    lang: str = "en"
    grade_cap: str | None = None
    """The rule id whose severity capped the grade below what the score gives, if any."""

    def finding_counts(self) -> dict[str, int]:
        """Findings by severity, every severity present."""
        counts = {s: 0 for s in ("critical", "high", "medium", "low", "info")}
        for f in self.findings:
            counts[f.severity] += 1
        return counts

    def to_dict(self, shallow: bool = False) -> dict[str, Any]:
        """`shallow`: the findings and tier reasons left as the objects, for an encoder that keeps their
        canonical JSON (assess.AssessmentTemplates)."""
        from riskengine.vocab import ASSESSMENT_SCHEMA_ID

        return {
            "schema": ASSESSMENT_SCHEMA_ID,
            "application": self.application,
            "tier": self.tier,
            "in_scope": self.in_scope,
            "tier_framework": self.tier_framework,
            "tier_reasons": self.tier_reasons if shallow else [r.to_dict() for r in self.tier_reasons],
            "grade": self.grade,
            "score": self.score,
            "grade_meaning": self.grade_meaning,
            "grade_cap": self.grade_cap,
            "grade_deductions": list(self.deductions),
            "required_controls": list(self.required_controls),
            "declared_controls": list(self.declared_controls),
            "missing_controls": list(self.missing_controls),
            "control_titles": dict(self.control_titles),
            "finding_counts": self.finding_counts(),
            "findings": self.findings if shallow else [f.to_dict() for f in self.findings],
            "probes": {name: result.to_dict() for name, result in self.probes.items()},
            "clauses": self.clauses,
            "lang": self.lang,
            "manifest": self.manifest,
        }
