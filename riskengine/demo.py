"""`make demo`: assess every bundled example and write the reports under one folder with an index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from riskengine import __version__
from riskengine.errors import RiskEngineError
from riskengine.formats.html_format import _environment
from riskengine.io import write_atomic
from riskengine.paths import examples_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m riskengine.demo", description=__doc__)
    parser.add_argument("--out", default="reports/demo", help="output folder [reports/demo]")
    parser.add_argument("--lang", default="en", choices=["en", "zh"])
    args = parser.parse_args(argv)
    from riskengine.cli import assess_to_folder

    out = Path(args.out)
    examples = sorted(examples_dir().glob("*.yaml")) + sorted(examples_dir().glob("models/*.yaml"))
    rows = []
    for path in examples:
        try:
            result, _ = assess_to_folder(str(path), str(out / path.stem), ["json", "html"], lang=args.lang)
        except RiskEngineError as exc:
            print(f"error: {exc.format()}", file=sys.stderr)
            return 2
        app = result["application"]
        reasons = [r["rule_id"] for r in result["tier_reasons"]]
        rows.append({"folder": path.stem, "id": app["id"], "name": app["name"], "scenario": app["scenario"],
                     "tier": result["tier"], "grade": result["grade"], "score": result["score"],
                     "reasons": reasons, "missing": result["missing_controls"],
                     "probes": [(k, v["status"]) for k, v in result["probes"].items()]})
        print(f"{path.stem:<32} {app['scenario']:<24} {result['tier']:<10} {result['grade']:<13} "
              f"{', '.join(reasons) or '-'}")
    tiers = [(t, sum(r["tier"] == t for r in rows)) for t in ("prohibited", "high", "limited", "minimal")]
    page = _environment().get_template("demo-index.html.j2").render(rows=rows, tiers=tiers, version=__version__)
    write_atomic(out / "index.html", page)
    print(f"wrote {len(rows)} assessments and {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
