"""The HTML report: one self-contained file (inline CSS, no scripts, no network), autoescaped."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from riskengine.paths import templates_dir

    env = Environment(loader=FileSystemLoader(str(templates_dir())),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env


def render(assessment: dict[str, Any]) -> str:
    by_severity = {s: [f for f in assessment["findings"] if f["severity"] == s] for s in SEVERITY_ORDER}
    return _environment().get_template("report.html.j2").render(a=assessment, by_severity=by_severity,
                                                                severities=SEVERITY_ORDER)
