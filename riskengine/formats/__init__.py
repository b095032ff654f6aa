"""Output formats. Each is a pure `render(assessment: dict, **options) -> str` built from the canonical JSON
shape (`Assessment.to_dict`); only the CLI writes files.

Options every renderer accepts (and may ignore): `lang`, the language of the report's own words (en or zh;
default: the assessment's), and `source_uri`, where the declaration lives relative to the repository (SARIF
locations; default: the file name in the manifest).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

FORMATS = {
    "json": "assessment.json",
    "html": "report.html",
    "md": "report.md",
    "junit": "junit.xml",
    "sarif": "report.sarif",
}
"""Format name -> file name written in the output folder."""


def render(fmt: str, assessment: dict[str, Any], **options: Any) -> str:
    return import_module(f"riskengine.formats.{fmt}_format").render(assessment, **options)
