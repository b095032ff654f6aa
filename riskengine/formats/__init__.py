"""Output formats. Each is a pure `render(assessment: dict) -> str` built from the canonical JSON shape;
only the CLI writes files."""

from __future__ import annotations

from importlib import import_module
from typing import Any

FORMATS = {"json": "assessment.json", "html": "report.html"}
"""Format name -> file name written in the output folder."""


def render(fmt: str, assessment: dict[str, Any]) -> str:
    return import_module(f"riskengine.formats.{fmt}_format").render(assessment)
