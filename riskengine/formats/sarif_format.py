"""SARIF 2.1.0 for code scanning: one reporting descriptor per rule id, one result per finding.

Results point at the declaration file (the artifact that states what the application does), at its first
line. Levels: critical and high -> error, medium -> warning, low and info -> note; findings that describe a
duty rather than a failure (scope, classification, transparency) are `informational` results with level
`none`. Valid against the OASIS schema (tests/schemas/sarif-schema-2.1.0.json). Texts go in `text`, never
`markdown`, and `<`, `>` and `&` are written as JSON escapes, so no viewer can take them for markup.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
INFORMATIONAL = {"scope", "classification", "transparency"}


def _level(f: dict[str, Any]) -> tuple[str, str]:
    if f["category"] in INFORMATIONAL:
        return "informational", "none"
    return "fail", LEVELS[f["severity"]]


def render(assessment: dict[str, Any], *, source_uri: str | None = None, **_: Any) -> str:
    manifest = assessment["manifest"]
    uri = source_uri or manifest.get("source") or "declaration.yaml"
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for f in assessment["findings"]:
        kind, level = _level(f)
        if f["rule_id"] not in index:
            index[f["rule_id"]] = len(rules)
            help_text = f.get("remediation") or f.get("rationale") or f.get("title") or f["rule_id"]
            if f.get("clauses"):
                help_text += "\nClauses: " + "; ".join(f["clauses"])
            rules.append({
                "id": f["rule_id"],
                "shortDescription": {"text": f.get("title") or f["rule_id"]},
                "fullDescription": {"text": f.get("rationale") or f.get("title") or f["rule_id"]},
                "help": {"text": help_text},
                "defaultConfiguration": {"level": level if kind == "fail" else "note"},
                "properties": {"severity": f["severity"], "category": f["category"], "clauses": list(f["clauses"]),
                               "tags": ["ai-risk", f["category"]]},
            })
        fingerprint = hashlib.sha256(json.dumps([assessment["application"]["id"], f["rule_id"], f.get("evidence", {})],
                                                sort_keys=True, default=str).encode()).hexdigest()[:32]
        results.append({
            "ruleId": f["rule_id"],
            "ruleIndex": index[f["rule_id"]],
            "kind": kind,
            "level": level,
            "message": {"text": f.get("message") or f.get("title") or f["rule_id"]},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}}],
            "partialFingerprints": {"riskengineFinding/v1": fingerprint},
            "properties": {"severity": f["severity"], "category": f["category"], "confidence": f.get("confidence"),
                           "clauses": list(f["clauses"])},
        })
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "riskengine", "version": manifest.get("riskengine_version", ""),
                                "rules": rules}},
            "automationDetails": {"id": f"riskengine/{assessment['application']['id']}/"},
            "artifacts": [{"location": {"uri": uri}, "hashes": {
                "sha-256": manifest.get("inputs", {}).get("declaration", "").removeprefix("sha256:")}}],
            "results": results,
            "properties": {"tier": assessment["tier"], "grade": assessment["grade"], "score": assessment["score"],
                           "in_scope": assessment.get("in_scope", True),
                           "content_sha256": manifest.get("content_sha256", "")},
        }],
    }
    text = json.dumps(log, indent=2, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") + "\n"
