"""The declaration vocabularies: the public contract of `riskengine/v1`.

Everything that checks or builds on a vocabulary (the JSON Schema, rule
conditions, CSV batch columns) reads it from here, so a value is added in one
place only. Values follow `shared/spec/declaration-v1.md`; values marked as
extensions are riskengine's own optional additions to it.
"""

from __future__ import annotations

SCHEMA_ID = "riskengine/v1"
ASSESSMENT_SCHEMA_ID = "riskengine/assessment-v1"

#: The five scenarios the founding standard names for graded application norms.
FOUNDING_SCENARIOS = ("medical", "driving", "emergency", "robotics", "public_services")

SCENARIOS = FOUNDING_SCENARIOS + (
    "employment",
    "education",
    "finance",
    "biometrics",
    "law_enforcement",
    "critical_infrastructure",
    "elderly_care",
    "general",
)

#: EU AI Act Annex III use cases, with the Annex III point each stands for.
USE_CASES = {
    "remote_biometric_identification": "1(a)",
    "biometric_categorisation": "1(b)",
    "emotion_recognition": "1(c)",
    "critical_infrastructure_safety": "2",
    "education_admission": "3(a)",
    "learning_outcome_evaluation": "3(b)",
    "education_level_assessment": "3(c)",
    "exam_monitoring": "3(d)",
    "recruitment_selection": "4(a)",
    "work_management": "4(b)",
    "public_benefits_eligibility": "5(a)",
    "creditworthiness": "5(b)",
    "life_health_insurance_pricing": "5(c)",
    "emergency_triage": "5(d)",
    "victim_risk_assessment": "6(a)",
    "polygraph": "6(b)",
    "evidence_reliability": "6(c)",
    "offending_risk_assessment": "6(d)",
    "criminal_profiling": "6(e)",
    "migration_polygraph": "7(a)",
    "migration_risk_assessment": "7(b)",
    "asylum_visa_examination": "7(c)",
    "border_identification": "7(d)",
    "judicial_decision_support": "8(a)",
    "election_influence": "8(b)",
}

#: EU AI Act Annex I product types (Section A: New Legislative Framework; Section B: type approval).
PRODUCT_TYPES = {
    "medical_device": "A",
    "in_vitro_diagnostic": "A",
    "machinery": "A",
    "toy": "A",
    "lift": "A",
    "radio_equipment": "A",
    "pressure_equipment": "A",
    "vehicle": "B",
    "two_three_wheel_vehicle": "B",
    "agricultural_vehicle": "B",
    "aircraft": "B",
    "drone": "B",
    "marine_equipment": "B",
    "rail": "B",
}

DECISION_ROLES = ("informational", "advisory", "automated_with_override", "fully_automated")

AFFECTED_PERSONS = (
    "patients",
    "drivers",
    "passengers",
    "pedestrians",
    "workers",
    "students",
    "applicants",
    "citizens",
    "children",
    "elderly",
    "consumers",
    "general_public",
    "operators",
    "researchers",
)

DATA_CATEGORIES = (
    "health",
    "biometric",
    "genetic",
    "location",
    "financial",
    "minors",
    "criminal",
    "political",
    "religious",
    "ethnic",
    "sexual_orientation",
    "personal",
    "none",
)

PROHIBITED_PRACTICES = (
    "social_scoring",
    "realtime_remote_biometric_id_public",
    "emotion_recognition_workplace_or_education",
    "subliminal_manipulation",
    "exploits_vulnerabilities",
    "untargeted_face_scraping",
    "predictive_policing_profiling_only",
    "biometric_categorisation_sensitive",
)
TRANSPARENCY_PRACTICES = (
    "interacts_with_humans",
    "generates_synthetic_content",
    "deepfake",
    "emotion_recognition",
    "biometric_categorisation",
)
NARROW_TASK_PRACTICES = (
    "narrow_procedural_task",
    "improves_prior_human_activity",
    "detects_decision_pattern_deviations",
    "preparatory_task",
)
OTHER_PRACTICES = (
    "profiling",
    "rbi_exception_targeted_search",
    "post_remote_biometric_id",
    "biometric_verification_only",
    "financial_fraud_detection",
    "scientific_research_only",
    "physical_safety_impact",
    # extension: Art. 5(1)(f) allows emotion inference at work or in education for medical or safety reasons
    "medical_or_safety_reason",
)
PRACTICES = PROHIBITED_PRACTICES + TRANSPARENCY_PRACTICES + NARROW_TASK_PRACTICES + OTHER_PRACTICES

CONTROLS = (
    "risk_management",
    "data_governance",
    "technical_documentation",
    "logging",
    "transparency_notice",
    "human_oversight",
    "accuracy_robustness_cybersecurity",
    "quality_management",
    "post_market_monitoring",
    "incident_reporting",
    "conformity_assessment",
    "fundamental_rights_impact_assessment",
)

#: Extension: who deploys the system. `public` covers private entities providing public services
#: (EU AI Act recital 96); `military`, `research` and `personal` mark the Art. 2 scope exclusions.
DEPLOYER_SECTORS = ("private", "public", "law_enforcement", "military", "research", "personal")

#: Extension: whether the product law behind `product_type` requires a third-party (notified body)
#: conformity assessment, the condition of EU AI Act Art. 6(1)(b).
THIRD_PARTY_ASSESSMENT = ("required", "not_required", "unknown")

MODEL_FORMATS = ("onnx", "skops", "pickle", "joblib", "predictions")

TIERS = ("prohibited", "high", "limited", "minimal")
TIER_NAMES = {
    "prohibited": {"en": "prohibited", "zh": "禁止"},
    "high": {"en": "high", "zh": "高"},
    "limited": {"en": "limited", "zh": "有限"},
    "minimal": {"en": "minimal", "zh": "最低"},
}
#: Rank for comparisons: a larger number is a more severe tier.
TIER_RANK = {"minimal": 0, "limited": 1, "high": 2, "prohibited": 3}

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

FINDING_CATEGORIES = (
    "scope",
    "prohibited_practice",
    "classification",
    "transparency",
    "control_gap",
    "oversight",
    "data",
    "fairness",
    "robustness",
    "explainability",
    "declaration",
)
