"""`make demo`: assess every bundled example and write the reports under one folder with an index."""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

from riskengine.errors import RiskEngineError
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
        reasons = ", ".join(r["rule_id"] for r in result["tier_reasons"]) or "-"
        rows.append((path.stem, app["name"], app["scenario"], result["tier"], result["grade"], result["score"],
                     reasons, ", ".join(result["missing_controls"]) or "-",
                     ", ".join(f"{k}: {v['status']}" for k, v in result["probes"].items()) or "-"))
        print(f"{path.stem:<36} {app['scenario']:<16} {result['tier']:<10} {result['grade']:<13} {reasons}")
    cells = "".join(
        f"<tr><td><a href='{html.escape(r[0])}/report.html'>{html.escape(r[1])}</a></td>"
        + "".join(f"<td>{html.escape(str(c))}</td>" for c in r[2:]) + "</tr>" for r in rows)
    page = ("<!DOCTYPE html><meta charset='utf-8'><title>riskengine demo</title>"
            "<style>body{font:14px system-ui,sans-serif;margin:32px}td,th{padding:6px 10px;border-bottom:1px solid #ddd;"
            "text-align:left}</style><h1>riskengine demo</h1><table><tr><th>Application</th><th>Scenario</th>"
            "<th>Tier</th><th>Grade</th><th>Score</th><th>Tier set by</th><th>Missing controls</th><th>Probes</th></tr>"
            + cells + "</table>")
    write_atomic(out / "index.html", page)
    print(f"wrote {len(rows)} assessments and {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
