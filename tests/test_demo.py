"""`make demo`'s job: every bundled example assessed, reports written, an index that links them all."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import EXAMPLES, ROOT


def test_demo_assesses_every_example_and_links_each_report(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "riskengine.demo", "--out", str(out)], cwd=ROOT, text=True,
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    examples = sorted(p.stem for p in EXAMPLES.glob("*.yaml")) + sorted(p.stem for p in EXAMPLES.glob("models/*.yaml"))
    index = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)/report.html"', index)
    assert sorted(links) == sorted(examples)
    for name in examples:
        assert (out / name / "report.html").exists() and (out / name / "assessment.json").exists()
    assert f"wrote {len(examples)} assessments" in proc.stdout
