"""The view model: what the HTML report shows, computed from the assessment dict and nothing else.

Formatters stay pure `render(assessment) -> str`: every number a chart needs
(bar lengths, positions, domains) is worked out here from the canonical JSON,
so the template only lays it out. Nothing here reads a file or the clock.

A probe section is built from the keys the probe put in its result, so a new
probe gets charts without touching the report:

- `limits`: [{metric, view, observed, limit, bound, interval, status}] -> each metric against its limit;
- `by_group`: [{view, group: {feature: value}, n, <rate>...}] -> group rates per grouping;
- `perturbations`: [{name, accuracy, ...}] (with `metrics.clean_accuracy`) -> accuracy under perturbation;
- `importance`: {feature: value} or [{feature, importance}] -> feature importance;
- `curves`: [{name, x_label, y_label, points: [[x, y], ...]}] -> line charts;
- `metrics`: numbers, or per grouping a mapping of numbers -> a table;
- other scalar or flat-mapping keys -> a details table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from riskengine import i18n
from riskengine.grading import BANDS, GRADES, NOT_PERMITTED, meaning

SEVERITIES = ("critical", "high", "medium", "low", "info")
TIERS_LOW_TO_HIGH = ("minimal", "limited", "high", "prohibited")
RATE_ORDER = ("selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy")
CHART_RATES = 3
"""How many rates a group chart draws side by side (the table below it has them all)."""
MAX_BARS = 20
KNOWN_KEYS = {"status", "reason", "metrics", "limits", "by_group", "perturbations", "importance", "curves", "inputs",
              "intervals", "views", "insufficient_groups", "overall"}
SERIES_COLOURS = ("#2f5d9e", "#c9822b", "#7a4fa0", "#3c8c6e", "#b04a5a", "#6b7280")

# chart geometry, in SVG user units (the SVG scales to the page width)
W, LABEL_W, VALUE_W, ROW_H, TOP = 960, 300, 130, 30, 28
LIMIT_ROW_H = 40
PLOT_X0, PLOT_X1 = LABEL_W + 10, W - VALUE_W - 10


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers as an auditor reads them: fixed decimals for rates, integers as they are, '–' for none."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "–"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.{digits}f}"
    return str(value)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _nice_ceiling(x: float) -> float:
    if x <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= x:
            return step * exp
    return 10 * exp


def _domain(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if _is_num(v)]
    lo = min([0.0, *finite])
    hi = max([0.0, *finite])
    if -1 <= lo and hi <= 1:  # rates, ratios and differences: keep 0..1 in view, a small negative part beside it
        hi = 1.0 if hi > 0.45 else _nice_ceiling(hi * 1.15 or 0.1)
        lo = -_nice_ceiling(-lo * 1.15) if lo < 0 else 0.0
    else:
        hi = _nice_ceiling(hi * 1.1) if hi > 0 else 0.0
        lo = -_nice_ceiling(-lo * 1.1) if lo < 0 else 0.0
    if hi == lo:
        hi = lo + 1.0
    return lo, hi


class Scale:
    """Linear map from a value domain to the plot's x range."""

    def __init__(self, lo: float, hi: float, x0: float = PLOT_X0, x1: float = PLOT_X1):
        self.lo, self.hi, self.x0, self.x1 = lo, hi, x0, x1

    def __call__(self, v: float) -> float:
        v = min(max(v, self.lo), self.hi)
        return round(self.x0 + (v - self.lo) / (self.hi - self.lo) * (self.x1 - self.x0), 1)

    def ticks(self, n: int = 4) -> list[dict[str, Any]]:
        """Gridlines at round values (multiples of a 1-2-2.5-5 step) across the domain."""
        step = _nice_ceiling((self.hi - self.lo) / n)
        first = math.ceil(self.lo / step - 1e-9)
        out, i = [], first
        while i * step <= self.hi + 1e-9:
            v = round(i * step, 10)
            out.append({"x": self(v), "label": fmt(v, 3 if step < 0.01 else 2)})
            i += 1
        return out


def group_text(group: Mapping[str, Any], single: bool = False) -> str:
    if single and len(group) == 1:
        return str(next(iter(group.values())))
    return " · ".join(f"{k}={v}" for k, v in group.items()) if not single else " · ".join(str(v) for v in group.values())


FRAMEWORK_ORDER = ("eu_ai_act", "shanghai_2021", "tc260", "nist_ai_rmf", "iso_iec_42001")


def natural_key(text: str) -> list[Any]:
    """'Art. 4' before 'Art. 10': digits compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]


def anchor(prefix: str, text: str) -> str:
    return prefix + "-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x")


# ------------------------------------------------------------------------------------------ probe blocks


def _limits_block(p: Mapping[str, Any], t: Mapping[str, str], nm: Callable[[str, str], str]) -> dict[str, Any]:
    rows = [r for r in p["limits"] if isinstance(r, Mapping)]
    values: list[float] = []
    for r in rows:
        values += [v for v in (r.get("observed"), r.get("limit")) if _is_num(v)]
        values += [v for v in (r.get("interval") or []) if _is_num(v)]
    scale = Scale(*_domain(values))
    out = []
    for i, r in enumerate(rows):
        y = TOP + i * LIMIT_ROW_H
        observed, limit, bound = r.get("observed"), r.get("limit"), r.get("bound", "max")
        interval = r.get("interval") if isinstance(r.get("interval"), list) else None
        row: dict[str, Any] = {
            "y": y, "mid": y + LIMIT_ROW_H / 2, "status": r.get("status", ""), "status_name": nm("status", r.get("status", "")),
            "label": nm("metric", str(r.get("metric", ""))), "view": r.get("view", ""),
            "observed": fmt(observed), "limit": fmt(limit, 2),
            "bound_text": t["bound_min" if bound == "min" else "bound_max"].format(limit=fmt(limit, 2)),
            "interval_text": (f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval and all(map(_is_num, interval))
                              else "–"),
            "worst": group_text(r["worst_group"]) if isinstance(r.get("worst_group"), Mapping) else "–",
            "rule_id": r.get("rule_id", ""), "bar": None, "whisker": None, "allowed": None, "limit_x": None,
        }
        if _is_num(limit):
            row["limit_x"] = scale(limit)
            lo_x, hi_x = (scale(scale.lo), scale(limit)) if bound == "max" else (scale(limit), scale(scale.hi))
            row["allowed"] = {"x": lo_x, "w": round(hi_x - lo_x, 1)}
        if _is_num(observed):
            zero = scale(max(scale.lo, min(0.0, scale.hi)))
            x = scale(observed)
            row["bar"] = {"x": min(zero, x), "w": max(1.0, round(abs(x - zero), 1))}
        if interval and all(map(_is_num, interval)):
            row["whisker"] = {"x0": scale(interval[0]), "x1": scale(interval[1])}
        out.append(row)
    cl = (p.get("intervals") or {}).get("confidence_level") if isinstance(p.get("intervals"), Mapping) else None
    return {"kind": "limits", "title": t["limits_chart"], "rows": out, "ticks": scale.ticks(),
            "height": TOP + len(rows) * LIMIT_ROW_H + 8, "plot_x0": PLOT_X0, "plot_x1": PLOT_X1, "top": TOP,
            "bottom": TOP + len(rows) * LIMIT_ROW_H, "row_h": LIMIT_ROW_H,
            "legend": t["limits_legend"].format(cl=f"{cl:.0%}" if _is_num(cl) else "95%")}


def _rate_keys(rows: list[Mapping[str, Any]]) -> list[str]:
    present = [k for k in RATE_ORDER if any(_is_num(r.get(k)) for r in rows)]
    others = sorted({k for r in rows for k, v in r.items()
                     if _is_num(v) and k not in present and k not in ("n",)})
    return present + others


def _group_blocks(p: Mapping[str, Any], t: Mapping[str, str], nm: Callable[[str, str], str]) -> list[dict[str, Any]]:
    rows = [r for r in p["by_group"] if isinstance(r, Mapping) and isinstance(r.get("group"), Mapping)]
    views: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        views.setdefault(str(r.get("view") or "+".join(r["group"])), []).append(r)
    overall = p.get("overall") if isinstance(p.get("overall"), Mapping) else {}
    blocks = []
    for view, items in views.items():
        keys = _rate_keys(items)
        series = keys[:CHART_RATES]
        values = [r.get(k) for r in items for k in series] + [overall.get(k) for k in series]
        scale = Scale(*_domain([v for v in values if _is_num(v)]))
        bar_h = min(8.0, (ROW_H - 8) / max(1, len(series)))
        row_h = max(ROW_H, bar_h * len(series) + 10)
        drawn = []
        for i, r in enumerate(items):
            y = TOP + i * row_h
            bars = []
            for j, k in enumerate(series):
                v = r.get(k)
                if _is_num(v):
                    zero, xv = scale(max(scale.lo, min(0.0, scale.hi))), scale(v)
                    bars.append({"x": min(zero, xv), "y": round(y + 5 + j * bar_h, 1),
                                 "w": max(0.5, round(abs(xv - zero), 1)),
                                 "h": round(bar_h - 1.5, 1), "colour": SERIES_COLOURS[j % len(SERIES_COLOURS)],
                                 "title": f"{nm('rate', k)} {fmt(v)}"})
            drawn.append({"y": y, "mid": y + row_h / 2, "label": group_text(r["group"], single=True),
                          "n": fmt(r.get("n")), "sufficient": r.get("sufficient", True) is not False, "bars": bars,
                          "cells": [fmt(r.get(k)) for k in keys]})
        refs = [{"x": scale(overall[k]), "colour": SERIES_COLOURS[j % len(SERIES_COLOURS)]}
                for j, k in enumerate(series) if _is_num(overall.get(k))]
        bottom = TOP + len(items) * row_h
        blocks.append({
            "kind": "groups", "title": t["groups_chart"].format(view=view), "view": view,
            "series": [{"name": nm("rate", k), "colour": SERIES_COLOURS[j % len(SERIES_COLOURS)]}
                       for j, k in enumerate(series)],
            "columns": [nm("rate", k) for k in keys], "rows": drawn, "refs": refs, "ticks": scale.ticks(),
            "top": TOP, "bottom": bottom, "height": bottom + 8, "plot_x0": PLOT_X0, "plot_x1": PLOT_X1,
            "overall_cells": [fmt(overall.get(k)) for k in keys] if overall else None,
        })
    return blocks


def _bars_block(kind: str, title: str, items: list[tuple[str, float, str]], ref: float | None = None,
                ref_label: str = "") -> dict[str, Any]:
    items = items[:MAX_BARS]
    scale = Scale(*_domain([v for _, v, _ in items] + ([ref] if _is_num(ref) else [])))
    zero = scale(max(scale.lo, min(0.0, scale.hi)))
    rows = []
    for i, (label, v, note) in enumerate(items):
        y = TOP + i * ROW_H
        x = scale(v)
        rows.append({"y": y, "mid": y + ROW_H / 2, "label": label, "value": fmt(v), "note": note,
                     "bar": {"x": min(zero, x), "w": max(0.5, round(abs(x - zero), 1))}})
    bottom = TOP + len(rows) * ROW_H
    return {"kind": kind, "title": title, "rows": rows, "ticks": scale.ticks(), "top": TOP, "bottom": bottom,
            "height": bottom + 8, "plot_x0": PLOT_X0, "plot_x1": PLOT_X1,
            "ref": {"x": scale(ref), "label": ref_label, "value": fmt(ref)} if _is_num(ref) else None}


def _perturbation_block(p: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any] | None:
    rows = [r for r in p["perturbations"] if isinstance(r, Mapping) and _is_num(r.get("accuracy"))]
    if not rows:
        return None
    metrics = p.get("metrics") if isinstance(p.get("metrics"), Mapping) else {}
    clean = metrics.get("clean_accuracy", p.get("clean_accuracy"))
    items = [(str(r.get("name", "")) + (f" ({fmt(r['level'], 2)})" if _is_num(r.get("level")) else ""),
              float(r["accuracy"]), "") for r in rows]
    return _bars_block("bars", t["perturb_chart"], items, clean if _is_num(clean) else None, t["clean"])


def _importance_block(p: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any] | None:
    raw = p["importance"]
    pairs: list[tuple[str, float, str]] = []
    if isinstance(raw, Mapping):
        pairs = [(str(k), float(v), "") for k, v in raw.items() if _is_num(v)]
    elif isinstance(raw, list):
        for r in raw:
            if isinstance(r, Mapping) and _is_num(r.get("importance")):
                std = r.get("std")
                pairs.append((str(r.get("feature", "")), float(r["importance"]),
                              f"± {fmt(std)}" if _is_num(std) else ""))
    if not pairs:
        return None
    pairs.sort(key=lambda kv: (-abs(kv[1]), kv[0]))
    return _bars_block("bars", t["importance_chart"], pairs)


def _curve_blocks(p: Mapping[str, Any]) -> list[dict[str, Any]]:
    curves = [c for c in p["curves"] if isinstance(c, Mapping) and isinstance(c.get("points"), list)]
    pts = [(float(x), float(y)) for c in curves for x, y in
           (pt for pt in c["points"] if isinstance(pt, list) and len(pt) == 2 and all(map(_is_num, pt)))]
    if not pts:
        return []
    xs = Scale(min(x for x, _ in pts), max(x for x, _ in pts) or 1.0, 70, W - 20)
    if xs.hi == xs.lo:
        xs.hi = xs.lo + 1
    ylo, yhi = _domain([y for _, y in pts])
    height = 260
    ys = Scale(ylo, yhi, height - 30, 16)  # inverted: larger values higher up
    lines = []
    for j, c in enumerate(curves):
        good = [pt for pt in c["points"] if isinstance(pt, list) and len(pt) == 2 and all(map(_is_num, pt))]
        lines.append({"name": str(c.get("name", "")), "colour": SERIES_COLOURS[j % len(SERIES_COLOURS)],
                      "points": " ".join(f"{xs(x)},{ys(y)}" for x, y in good),
                      "dots": [{"x": xs(x), "y": ys(y), "title": f"{fmt(x, 2)}: {fmt(y)}"} for x, y in good]})
    first = curves[0]
    return [{"kind": "line", "title": str(first.get("title") or first.get("y_label") or ""), "lines": lines,
             "x_label": str(first.get("x_label", "")), "y_label": str(first.get("y_label", "")),
             "xticks": xs.ticks(), "yticks": [{"y": ys(ylo + i * (yhi - ylo) / 4), "label": fmt(ylo + i * (yhi - ylo) / 4, 2)}
                                              for i in range(5)],
             "height": height, "x0": 70, "x1": W - 20, "y0": height - 30, "y1": 16}]


def _metrics_block(p: Mapping[str, Any], t: Mapping[str, str], nm: Callable[[str, str], str]) -> dict[str, Any] | None:
    metrics = p.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        return None
    if all(isinstance(v, Mapping) for v in metrics.values()):
        columns = list(metrics)
        keys: list[str] = []
        for v in metrics.values():
            keys += [k for k in v if k not in keys]
        rows = [{"name": nm("metric", k), "key": k, "cells": [fmt(metrics[c].get(k)) for c in columns]} for k in keys]
        return {"kind": "matrix", "title": t["metrics_table"], "columns": columns, "rows": rows}
    rows = [{"name": nm("metric", str(k)), "key": str(k), "cells": [fmt(v)]} for k, v in metrics.items()
            if not isinstance(v, (Mapping, list))]
    return {"kind": "matrix", "title": t["metrics_table"], "columns": [t["value"]], "rows": rows} if rows else None


def _details_block(p: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any] | None:
    rows = []
    for k, v in p.items():
        if k in KNOWN_KEYS or k in ("perturbations", "importance", "curves"):
            continue
        if isinstance(v, Mapping) and all(not isinstance(x, (Mapping, list)) for x in v.values()):
            rows.append({"name": k.replace("_", " "), "value": ", ".join(f"{a} = {fmt(b)}" for a, b in v.items())})
        elif not isinstance(v, (Mapping, list)):
            rows.append({"name": k.replace("_", " "), "value": fmt(v)})
    return {"kind": "details", "title": t["details_table"], "rows": rows} if rows else None


def probe_view(name: str, p: Mapping[str, Any], t: Mapping[str, str],
               nm: Callable[[str, str], str]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if isinstance(p.get("limits"), list) and p["limits"]:
        blocks.append(_limits_block(p, t, nm))
    if isinstance(p.get("by_group"), list) and p["by_group"]:
        blocks += _group_blocks(p, t, nm)
    if isinstance(p.get("perturbations"), list):
        blocks += [b for b in [_perturbation_block(p, t)] if b]
    if p.get("importance"):
        blocks += [b for b in [_importance_block(p, t)] if b]
    if isinstance(p.get("curves"), list):
        blocks += _curve_blocks(p)
    blocks += [b for b in (_metrics_block(p, t, nm), _details_block(p, t)) if b]
    status = str(p.get("status", ""))
    return {"name": name, "anchor": anchor("probe", name), "title": nm("probe", name), "status": status,
            "status_name": nm("status", status), "reason": p.get("reason", ""), "blocks": blocks}


# ------------------------------------------------------------------------------------------ the whole report


def _evidence(ev: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for k, v in ev.items():
        if isinstance(v, Mapping) and all(not isinstance(x, (Mapping, list)) for x in v.values()):
            out.append({"key": k, "value": group_text(v)})
        elif isinstance(v, list) and all(not isinstance(x, (Mapping, list)) for x in v) and len(v) <= 12:
            out.append({"key": k, "value": ", ".join(fmt(x) for x in v)})
        elif not isinstance(v, (Mapping, list)):
            out.append({"key": k, "value": fmt(v)})
    return out


def build(a: Mapping[str, Any], lang: str | None = None) -> dict[str, Any]:
    """Everything the template shows, in the report language `lang` (default: the assessment's)."""
    data_lang = a.get("lang", "en")
    lang = lang or data_lang
    t = i18n.catalogue(lang)

    def nm(kind: str, value: str) -> str:
        return i18n.name(kind, value, lang)

    clause_anchor: dict[str, str] = {}
    for ref in a.get("clauses", {}):
        base = anchor("clause", ref)
        candidate, i = base, 2
        while candidate in clause_anchor.values():
            candidate, i = f"{base}-{i}", i + 1
        clause_anchor[ref] = candidate

    def clauses(refs: list[str]) -> list[dict[str, str]]:
        return [{"ref": r, "anchor": clause_anchor.get(r, "")} for r in refs]

    grade = a["grade"]
    score = float(a["score"])
    bands, upper = [], 100.0
    for letter, floor in BANDS:
        bands.append({"grade": letter, "x": floor, "w": upper - floor, "active": letter == grade})
        upper = floor
    deductions = list(a.get("grade_deductions", []))
    top = deductions[:5]
    biggest = max([d["points"] for d in top] or [1.0])
    counts = a.get("finding_counts", {})
    total = sum(counts.values()) or 1
    seg_x = 0.0
    severity_bar = []
    for s in SEVERITIES:
        n = counts.get(s, 0)
        if n:
            severity_bar.append({"severity": s, "name": nm("severity", s), "n": n, "x": round(seg_x, 2),
                                 "w": round(100.0 * n / total, 2)})
            seg_x += 100.0 * n / total

    findings = [dict(f, clause_links=clauses(f.get("clauses", [])), evidence_rows=_evidence(f.get("evidence", {})),
                     anchor=anchor("finding", f"{f['rule_id']}-{i}"))
                for i, f in enumerate(a.get("findings", []))]
    by_rule: dict[str, list[str]] = {}
    for f in a.get("findings", []):
        for c in f.get("clauses", []):
            by_rule.setdefault(c, [])
            if f["rule_id"] not in by_rule[c]:
                by_rule[c].append(f["rule_id"])
    for r in a.get("tier_reasons", []):
        for c in r.get("clauses", []):
            by_rule.setdefault(c, [])
            if r["rule_id"] not in by_rule[c]:
                by_rule[c].append(r["rule_id"])
    frameworks: dict[str, list[dict[str, Any]]] = {}
    for ref, c in a.get("clauses", {}).items():
        frameworks.setdefault(c.get("framework", ""), []).append({
            "ref": ref, "anchor": clause_anchor[ref], "title": c.get("title", ""),
            "verified": t["verified_primary"] if c.get("verified") == "primary" else t["verified_secondary"],
            "cited_by": by_rule.get(ref, [])})

    order = {fw: i for i, fw in enumerate(FRAMEWORK_ORDER)}
    frameworks = dict(sorted(frameworks.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    for rows in frameworks.values():
        rows.sort(key=lambda r: natural_key(r["ref"]))
    missing = list(a.get("missing_controls", []))
    titles = a.get("control_titles", {})
    gap_findings = {f.get("evidence", {}).get("control"): f for f in findings if f["category"] == "control_gap"}
    probes = a.get("probes", {})
    basis = [t["basis_declaration"]] + [
        t[f"basis_probe_{p.get('status')}"].format(probe=nm("probe", n)) for n, p in probes.items()
        if p.get("status") in ("ok", "skipped", "error")]
    manifest = a.get("manifest", {})
    app = a["application"]
    cap = a.get("grade_cap")
    cap_row = next((d for d in deductions if d["rule_id"] == cap), None)
    return {
        "a": a, "lang": lang, "data_lang": data_lang, "t": t, "nm": nm,
        "lang_note": (t["lang_note"].format(data_lang=t[f"lang_{data_lang}"], lang=lang)
                      if lang != data_lang else ""),
        "app": app,
        "decision_role": nm("decision_role", app.get("decision_role", "")),
        "generated_by": t["generated_by"].format(version=manifest.get("riskengine_version", "")),
        "tier": {"value": a["tier"], "name": nm("tier", a["tier"])},
        "tier_scale": [{"tier": x, "name": nm("tier", x), "active": x == a["tier"]} for x in TIERS_LOW_TO_HIGH],
        "tier_setter": (t["set_by"].format(framework=a["tier_framework"]) if a.get("tier_framework")
                        else t["set_by_default"]),
        "grade": {"value": grade, "name": nm("grade", grade), "meaning": meaning(grade, lang),
                  "not_permitted": grade == NOT_PERMITTED},
        "grade_scale": [{"grade": g, "name": nm("grade", g), "meaning": meaning(g, lang), "active": g == grade,
                         "band": (t["band"].format(floor=int(f)) if f > 0 else t["band_e"])
                         if (f := dict(BANDS).get(g)) is not None else ""} for g in GRADES],
        "score": {"value": fmt(score, 1) if score != int(score) else str(int(score)), "x": score, "bands": bands},
        "cap_text": (t["capped_by"].format(grade=nm("grade", grade), rule_id=cap,
                                           severity=nm("severity", cap_row["severity"]) if cap_row else "")
                     if cap else ""),
        "top_reasons": [dict(d, w=round(100.0 * d["points"] / biggest, 1), severity_name=nm("severity", d["severity"]),
                             points_text=fmt(float(d["points"]), 2)) for d in top],
        "deductions": [dict(d, severity_name=nm("severity", d["severity"]), category_name=nm("category", d["category"]),
                            confidence_name=nm("confidence", d["confidence"]),
                            points_text=fmt(float(d["points"]), 2)) for d in deductions],
        "controls_met": f"{len(a.get('required_controls', [])) - len(missing)} / {len(a.get('required_controls', []))}",
        "severity_bar": severity_bar,
        "finding_total": sum(counts.values()),
        "basis": basis,
        "tier_reasons": [dict(r, clause_links=clauses(r.get("clauses", [])), tier_name=nm("tier", r["tier"]))
                         for r in a.get("tier_reasons", [])],
        "controls": [{"id": c, "title": titles.get(c, c.replace("_", " ")), "missing": c in missing,
                      "gap": gap_findings.get(c)} for c in a.get("required_controls", [])],
        "declared_extra": [titles.get(c, c) for c in a.get("declared_controls", [])
                           if c not in a.get("required_controls", [])],
        "gaps": [gap_findings[c] for c in missing if c in gap_findings],
        "probes": [probe_view(n, p, t, nm) for n, p in probes.items() if isinstance(p, Mapping)],
        "finding_groups": [{"severity": s, "name": nm("severity", s), "findings": [f for f in findings
                                                                                  if f["severity"] == s]}
                           for s in SEVERITIES if any(f["severity"] == s for f in findings)],
        "frameworks": [{"name": nm("framework", fw) if fw else "", "clauses": rows}
                       for fw, rows in frameworks.items()],
        "manifest": manifest,
    }
