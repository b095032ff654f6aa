"""Tamper evidence: the sha256 an assessment carries over its own content, and the check of it.

The hash covers the canonical JSON (sorted keys, no whitespace, UTF-8) of everything in the assessment
except `manifest.generated_at` and `manifest.content_sha256`, so two runs on the same inputs carry the same
hash whatever the time, and any edit to the content (a grade, a finding, a number) shows.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

UNHASHED = ("generated_at", "content_sha256")


def content_sha256(assessment: dict[str, Any]) -> str:
    """Hash of the assessment's content, everything but the time stamp and the hash itself."""
    body = dict(assessment)
    body["manifest"] = {k: v for k, v in assessment["manifest"].items() if k not in UNHASHED}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check(assessment: Any) -> tuple[str | None, str | None]:
    """(stored hash, recomputed hash); the stored one is None when the document carries none."""
    if not isinstance(assessment, dict) or not isinstance(assessment.get("manifest"), dict):
        return None, None
    stored = assessment["manifest"].get("content_sha256")
    if not isinstance(stored, str):
        return None, None
    return stored, content_sha256(assessment)
