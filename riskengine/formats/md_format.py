"""Markdown for a pull request comment or a job summary: the verdict first, then what to fix.

Every text from the declaration, the rule packs or a probe goes through `md()`: `<`, `>` and `&` become
HTML entities and Markdown's active characters are backslash-escaped, so a declared name cannot open a
tag, a link, an image or a table cell. Nothing from the data is put inside a code span.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from riskengine import i18n
from riskengine.formats.view import SEVERITIES, fmt, group_text
from riskengine.grading import meaning

_ACTIVE = re.compile(r"([\\`*_\[\]|~{}])")
TOP_REASONS = 5


def md(text: Any) -> str:
    """Plain text, inert in (GitHub-flavoured) Markdown, on one line."""
    one_line = " ".join(str(text).split())
    return _ACTIVE.sub(r"\\\1", html.escape(one_line, quote=False))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def render(assessment: dict[str, Any], *, lang: str | None = None, **_: Any) -> str:
    a = assessment
    lang = lang or a.get("lang", "en")
    t = i18n.catalogue(lang)

    def nm(kind: str, value: str) -> str:
        return md(i18n.name(kind, value, lang))

    app = a["application"]
    counts = ", ".join(f"{n} {nm('severity', s)}" for s, n in a["finding_counts"].items() if n) or t["none"]
    required = a.get("required_controls", [])
    missing = a.get("missing_controls", [])
    setter = (md(t["set_by"].format(framework=a["tier_framework"])) if a.get("tier_framework")
              else md(t["set_by_default"]))
    if not a.get("in_scope", True):
        setter = md(t["out_of_scope"])
    out = [
        f"## {md(t['report_title'])}: {md(app['name'])}",
        "",
        f"**{md(t['tier'])}: {nm('tier', a['tier'])}** · **{md(t['grade'])}: {nm('grade', a['grade'])}** · "
        f"**{md(t['score'])}: {fmt(float(a['score']), 1)} / 100**",
        "",
        "| | |",
        "|---|---|",
        f"| {md(t['tier'])} | {nm('tier', a['tier'])}: {setter} |",
        f"| {md(t['grade'])} | {nm('grade', a['grade'])}: {md(meaning(a['grade'], lang))} |",
        f"| {md(_cap(t['controls_met']))} | {len(required) - len(missing)} / {len(required)} |",
        f"| {md(_cap(t['findings_total']))} | {counts} |",
        f"| {md(t['provider'])} | {md(app['provider'])} |",
        f"| {md(t['scenario'])} | {md(app.get('scenario_name') or app['scenario'])} |",
        "",
    ]
    if a["grade"] == "not_permitted":
        out += [f"> **{md(t['not_permitted_banner'])}**", ""]
    deductions = a.get("grade_deductions", [])
    out += [f"### {md(t['top_reasons'])}", ""]
    if deductions:
        out += [f"| {md(_cap(t['points']))} | {md(t['rule'])} | |", "|---:|---|---|"]
        for d in deductions[:TOP_REASONS]:
            times = f" (× {d['occurrences']})" if d["occurrences"] > 1 else ""
            out.append(f"| −{fmt(float(d['points']), 2)} | {nm('severity', d['severity'])} · {md(d['rule_id'])} | "
                       f"{md(d['title'])}{times} |")
    else:
        out.append(md(t["no_deductions"]))
    out += ["", f"### {md(t['sec_tier'])}", ""]
    for r in a.get("tier_reasons", []):
        out.append(f"- **{md(r['rule_id'])}** ({md(r.get('stage_title') or r.get('stage', ''))}): {md(r['message'])} "
                   f"— {md('; '.join(r.get('clauses', [])))}")
    if not a.get("tier_reasons"):
        out.append(md(t["no_tier_rule"]))
    gaps = [f for f in a["findings"] if f["category"] == "control_gap"]
    out += ["", f"### {md(t['gaps_title'])}", ""]
    if gaps:
        out += [f"| {md(t['control'])} | | {md(t['remediation'])} | {md(t['clauses'])} |", "|---|---|---|---|"]
        for f in gaps:
            out.append(f"| {md(f['title'])} | {nm('severity', f['severity'])} | {md(f['remediation'])} | "
                       f"{md('; '.join(f['clauses']))} |")
    else:
        out.append(md(t["no_gaps"]))
    probes = a.get("probes", {})
    if probes:
        out += ["", f"### {md(t['sec_probes'])}", ""]
        for name, p in probes.items():
            out.append(f"**{nm('probe', name)}**: {nm('status', str(p.get('status', '')))}"
                       + (f" ({md(p['reason'])})" if p.get("reason") else ""))
            limits = [x for x in p.get("limits", []) if isinstance(x, Mapping)]
            if limits:
                out += ["", f"| {md(t['metric'])} | {md(t['view'])} | {md(t['observed'])} | {md(t['limit'])} | "
                            f"{md(t['status'])} | {md(t['worst_group'])} |", "|---|---|---:|---|---|---|"]
                for x in limits:
                    bound = t["bound_min" if x.get("bound") == "min" else "bound_max"].format(
                        limit=fmt(x.get("limit"), 2))
                    worst = group_text(x["worst_group"]) if isinstance(x.get("worst_group"), Mapping) else "–"
                    out.append(f"| {nm('metric', str(x.get('metric', '')))} | {md(x.get('view', ''))} | "
                               f"{fmt(x.get('observed'))} | {md(bound)} | {nm('status', str(x.get('status', '')))} | "
                               f"{md(worst)} |")
            out.append("")
    findings = a["findings"]
    out += ["", f"### {md(t['sec_findings'])}", ""]
    if findings:
        out += [f"<details><summary>{len(findings)} {md(t['findings_total'])}</summary>", ""]
        for s in SEVERITIES:
            for f in (f for f in findings if f["severity"] == s):
                out.append(f"- **{nm('severity', s)}** · {md(f['rule_id'])} · {md(f.get('title', ''))}: "
                           f"{md(f['message'])}")
        out += ["", "</details>"]
    else:
        out.append(md(t["no_findings"]))
    m = a["manifest"]
    out += ["", "---", f"<sub>riskengine {md(m.get('riskengine_version', ''))} · {md(t['m_rulepack'])} "
                       f"{md(m.get('rulepack_version', ''))} · {md(m.get('generated_at', ''))} · "
                       f"{md(m.get('content_sha256', ''))}</sub>", ""]
    return "\n".join(out)
