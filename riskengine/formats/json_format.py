"""The canonical machine-readable shape."""

from __future__ import annotations

import json
from typing import Any


def render(assessment: dict[str, Any], **_: Any) -> str:
    return json.dumps(assessment, indent=2, ensure_ascii=False, default=str) + "\n"
