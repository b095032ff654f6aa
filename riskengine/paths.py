"""Where the shipped data folders live: in the wheel (`riskengine/_data/`) or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_WHEEL_DATA = _PACKAGE / "_data"
_CHECKOUT = _PACKAGE.parent


def _data_dir(name: str, checkout_rel: str) -> Path:
    wheel = _WHEEL_DATA / name
    if wheel.is_dir():
        return wheel
    return _CHECKOUT / checkout_rel


def rules_dir() -> Path:
    return _data_dir("rules", "rules")


def scenarios_dir() -> Path:
    return _data_dir("scenarios", "scenarios")


def templates_dir() -> Path:
    return _data_dir("templates", "reports/templates")


def examples_dir() -> Path:
    return _data_dir("examples", "examples")
