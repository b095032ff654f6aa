"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network), autoescaped.

`render` is a pure function of the assessment: the view model (view.py) works out every number the
charts need, the template only lays them out, and `lang` picks the language of the report's own words.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from riskengine.paths import templates_dir

    return Environment(loader=FileSystemLoader(str(templates_dir())),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(assessment: dict[str, Any], *, lang: str | None = None, **_: Any) -> str:
    from riskengine.formats.view import build

    return _environment().get_template("report.html.j2").render(v=build(assessment, lang))
