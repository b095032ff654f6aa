"""A plain, non-editable `pip install` of the built wheel works on its own: data folders ship inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_wheel_installs_and_assesses_in_a_fresh_environment(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = dist.glob("riskengine-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("riskengine/_data/rules/stages.yaml", "riskengine/_data/rules/clauses.yaml",
                   "riskengine/_data/scenarios/medical.yaml", "riskengine/_data/templates/report.html.j2",
                   "riskengine/_data/examples/ed-triage-assistant.yaml"):
        assert needed in names, needed
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True,
                             text=True, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    workdir = tmp_path / "elsewhere"  # not the checkout: the data must come from the wheel
    workdir.mkdir()
    example = ROOT / "examples" / "consumer-credit-scoring.yaml"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(env_dir / "bin" / "riskengine"), "assess", str(example), "--out", "out", "--json"],
                          cwd=workdir, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["tier"] == "high"
    assert (workdir / "out" / "report.html").exists()
    where = subprocess.run([str(py), "-c", "import riskengine.paths as p; print(p.rules_dir())"], cwd=workdir,
                           capture_output=True, text=True, env=env)
    assert "site-packages/riskengine/_data/rules" in where.stdout
