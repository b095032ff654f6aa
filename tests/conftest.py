"""Shared test helpers: run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "riskengine", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture()
def cli():
    return run_cli


def minimal_declaration(**application) -> dict:
    app = {"id": "test-app", "name": "Test application", "provider": "Test provider", "scenario": "general",
           "purpose": "Testing.", "decision_role": "advisory", "autonomy_level": 0}
    app.update(application)
    return {"schema": "riskengine/v1", "application": app}
