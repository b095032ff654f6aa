"""The graded compliance report: the grading model, every format, hostile input, gating, reproducibility,
tamper evidence and re-rendering a stored assessment."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft4Validator, Draft202012Validator

from riskengine import i18n
from riskengine.formats import FORMATS, render
from riskengine.gate import parse_gate, parse_gates, tripped
from riskengine.grading import GRADES, Grade, grade
from riskengine.integrity import content_sha256
from riskengine.model import Finding
from riskengine.schema import assessment_schema
from tests.conftest import EXAMPLES, minimal_declaration, run_cli

SCHEMAS = Path(__file__).resolve().parent / "schemas"
ADULT = EXAMPLES / "models" / "adult-income-onnx.yaml"
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> {{ 7*7 }} [x](javascript:alert(3)) | *b*'
ALL = "json,html,md,junit,sarif"


# ------------------------------------------------------------------------------------------ helpers


def finding(rule_id="R", severity="high", category="control_gap", confidence="high") -> Finding:
    return Finding(rule_id=rule_id, severity=severity, category=category, message="m", title=rule_id,
                   confidence=confidence)


def reseal(a: dict) -> dict:
    a["manifest"]["content_sha256"] = content_sha256(a)
    return a


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """The Adult model example assessed once per language through the real CLI, every format written."""
    out = {}
    for lang in ("en", "zh"):
        folder = tmp_path_factory.mktemp(f"adult-{lang}")
        proc = run_cli("assess", str(ADULT), "--out", str(folder), "--format", ALL, "--lang", lang,
                       env={"SOURCE_DATE_EPOCH": "1700000000"})
        assert proc.returncode == 0, proc.stderr
        out[lang] = folder
    return out


def load(folder: Path) -> dict:
    return json.loads((folder / "assessment.json").read_text(encoding="utf-8"))


def synthetic_probes(a: dict, text: str = "noise") -> dict:
    """The assessment with robustness and explainability results in the shapes the report draws."""
    a = copy.deepcopy(a)
    a["probes"]["robustness"] = {
        "status": "ok", "reason": "", "metrics": {"clean_accuracy": 0.85, "attack_success_rate": 0.31},
        "perturbations": [{"name": f"gaussian {text}", "level": 0.1, "accuracy": 0.83},
                          {"name": "gaussian noise", "level": 0.5, "accuracy": 0.71},
                          {"name": "missing values", "accuracy": 0.79}],
        "curves": [{"name": text, "x_label": "noise scale", "y_label": "accuracy",
                    "points": [[0, 0.85], [0.1, 0.83], [0.5, 0.71], [1.0, 0.6]]}],
        "limits": [{"metric": "accuracy_drop", "view": text, "bound": "max", "limit": 0.05, "observed": 0.14,
                    "interval": None, "status": "breach", "rule_id": "ROB-ACCURACY-DROP"}],
        "budget_s": 30,
    }
    a["probes"]["explainability"] = {
        "status": "ok", "reason": "", "metrics": {"surrogate_fidelity": 0.91},
        "importance": [{"feature": text, "importance": 0.12, "std": 0.01},
                       {"feature": "age", "importance": 0.05}, {"feature": "hours", "importance": -0.004}],
    }
    return reseal(a)


class Tags(HTMLParser):
    """Every tag and attribute a browser would see."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            self.attrs.add(k)
            if k in ("href", "src", "xlink:href"):
                self.hrefs.append(v or "")


def tags_of(html_text: str) -> Tags:
    p = Tags()
    p.feed(html_text)
    return p


# ------------------------------------------------------------------------------------------ grading model


def test_shortfalls_cost_points_by_severity_and_confidence():
    g = grade("high", [finding("A", "high"), finding("B", "medium", confidence="medium"),
                       finding("C", "low", confidence="low")])
    assert [d["rule_id"] for d in g.deductions] == ["A", "B", "C"]
    assert [d["points"] for d in g.deductions] == [15.0, 4.5, 1.0]
    assert g.score == 79.5
    assert g.grade == "C" and g.cap == "A"  # B by the score, capped at C by a high shortfall


def test_duties_cost_nothing_and_an_empty_record_is_a():
    g = grade("limited", [finding("T", "medium", "transparency"), finding("K", "info", "classification")])
    assert g == Grade("A", 100.0, ())
    assert g.meaning("en").startswith("Meets") and g.meaning("zh")


def test_repeats_of_one_rule_are_discounted():
    g = grade("high", [finding("FAIR-X", "high", "fairness")] * 3)
    (d,) = g.deductions
    assert d["occurrences"] == 3 and d["points"] == 15 + 7.5 + 3.75


def test_a_critical_shortfall_caps_at_e_and_a_low_confidence_one_does_not_cap():
    assert grade("high", [finding("X", "critical")]).grade == "E"
    g = grade("high", [finding("Y", "high", "fairness", confidence="low")])
    assert g.score == 92.5 and g.grade == "A" and g.cap is None


def test_prohibited_is_not_permitted_whatever_else_holds():
    g = grade("prohibited", [])
    assert g.grade == "not_permitted" and g.score == 0.0
    assert GRADES[-1] == "not_permitted"


def test_score_bands():
    assert grade("high", [finding(f"L{i}", "low") for i in range(5)]).grade == "A"        # 90
    assert grade("high", [finding(f"M{i}", "medium") for i in range(2)]).grade == "B"     # 88
    assert grade("high", [finding(f"M{i}", "medium") for i in range(5)]).grade == "C"     # 70
    assert grade("high", [finding(f"M{i}", "medium") for i in range(8)]).grade == "D"     # 52
    assert grade("high", [finding(f"M{i}", "medium") for i in range(11)]).grade == "E"    # 34


def test_tier_and_grade_stay_distinct(adult):
    a = load(adult["en"])
    assert a["tier"] == "high" and a["grade"] in GRADES and a["grade"] != a["tier"]
    assert a["grade_deductions"][0]["points"] == max(d["points"] for d in a["grade_deductions"])
    assert a["manifest"]["grading_model"].startswith("riskengine-grading/")
    html = (adult["en"] / "report.html").read_text(encoding="utf-8")
    assert "Risk tier" in html and "Grade" in html and "What cost the most points" in html


# ------------------------------------------------------------------------------------------ i18n


def test_the_catalogue_is_complete_in_both_languages():
    for key, (en, zh) in i18n.entries().items():
        assert en.strip() and zh.strip(), key
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh)), key
    for kind, table in i18n._NAMES.items():
        for value, (en, zh) in table.items():
            assert en and zh, (kind, value)
    assert i18n.name("tier", "high", "zh") == "高风险" and i18n.name("metric", "new_metric", "zh") == "new metric"


def test_zh_report_uses_chinese_words_and_chinese_rule_texts(adult):
    html = (adult["zh"] / "report.html").read_text(encoding="utf-8")
    a = load(adult["zh"])
    assert a["lang"] == "zh" and '<html lang="zh-CN">' in html
    for key in ("sec_summary", "sec_tier", "sec_controls", "sec_probes", "sec_findings", "sec_clauses"):
        assert i18n.catalogue("zh")[key] in html
    for english in ("Why this tier", "Control gaps and remediation", "What cost the most points"):
        assert english not in html
    assert re.search(r"[\u4e00-\u9fff]", a["tier_reasons"][0]["message"])


def test_report_lang_switches_the_report_words_and_says_so(adult, tmp_path):
    proc = run_cli("report", str(adult["en"] / "assessment.json"), "--lang", "zh", "--format", "html,md",
                   "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "为何判定为该风险等级" in html and "Why this tier" not in html
    assert "--lang zh" in html  # the note that stored texts stay in the language they were assessed in
    assert "为何判定为该风险等级" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert not (tmp_path / "assessment.json").exists()


# ------------------------------------------------------------------------------------------ formats


def test_every_format_is_registered_with_its_file_name():
    assert FORMATS == {"json": "assessment.json", "html": "report.html", "md": "report.md",
                       "junit": "junit.xml", "sarif": "report.sarif"}


def test_all_formats_written_and_json_is_canonical(adult):
    folder = adult["en"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(FORMATS.values())
    a = load(folder)
    Draft202012Validator(assessment_schema()).validate(a)
    for fmt, name in FORMATS.items():  # every file is a pure function of the stored JSON
        if fmt != "sarif":
            assert (folder / name).read_text(encoding="utf-8") == render(fmt, a), fmt
    uri = json.loads((folder / "report.sarif").read_text())["runs"][0]["artifacts"][0]["location"]["uri"]
    assert (folder / "report.sarif").read_text(encoding="utf-8") == render("sarif", a, source_uri=uri)


def test_sarif_validates_against_the_oasis_schema(adult):
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    a = load(adult["en"])
    for doc in (json.loads((adult["en"] / "report.sarif").read_text(encoding="utf-8")),
                json.loads(render("sarif", synthetic_probes(a)))):
        Draft4Validator(schema).validate(doc)
        run = doc["runs"][0]
        ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
        assert len(ids) == len(set(ids)) == len({f["rule_id"] for f in a["findings"]})
        for rule in run["tool"]["driver"]["rules"]:
            assert "helpUri" not in rule and rule["help"]["text"]
            assert {"severity", "clauses"} <= set(rule["properties"])
        for res in run["results"]:
            assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
            assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(".yaml")
            want = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
            assert res["level"] == (want[res["properties"]["severity"]] if res["kind"] == "fail" else "none")
    assert run["properties"]["tier"] == "high"


def test_junit_validates_against_the_xsd_with_a_case_per_requirement(adult):
    etree = pytest.importorskip("lxml.etree", reason="lxml is needed to validate against the JUnit XSD")
    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / "JUnit.xsd")))
    a = load(adult["en"])
    for text in ((adult["en"] / "junit.xml").read_text(encoding="utf-8"), render("junit", synthetic_probes(a))):
        doc = etree.fromstring(text.encode("utf-8"))
        assert xsd.validate(doc), xsd.error_log
    doc = etree.fromstring((adult["en"] / "junit.xml").read_bytes())
    controls = doc.find("testsuite[@name='riskengine.senior-job-ad-targeting.controls']")
    assert int(controls.get("tests")) == len(a["required_controls"])
    assert int(controls.get("failures")) == len(a["missing_controls"])
    fair = doc.find("testsuite[@name='riskengine.senior-job-ad-targeting.probe.fairness']")
    limits = a["probes"]["fairness"]["limits"]
    assert int(fair.get("tests")) == len(limits)
    assert int(fair.get("failures")) == sum(x["status"] == "breach" for x in limits)
    assert int(fair.get("skipped")) == sum(x["status"] in ("uncertain", "insufficient") for x in limits)
    assert doc.find("testsuite[@name='riskengine.senior-job-ad-targeting.prohibited_practices']/testcase") is not None


def test_markdown_for_a_pull_request(adult):
    md = (adult["en"] / "report.md").read_text(encoding="utf-8")
    assert md.startswith("## AI risk assessment report: Income-band model")
    assert "**Risk tier: high**" in md and "What cost the most points" in md
    assert "GAP-HUMAN-OVERSIGHT" in md and "Demographic parity ratio" in md


def test_html_is_one_self_contained_file(adult):
    html = (adult["en"] / "report.html").read_text(encoding="utf-8")
    parsed = tags_of(html)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert "iframe" not in parsed.tags and "object" not in parsed.tags
    assert all(h.startswith("#") for h in parsed.hrefs), [h for h in parsed.hrefs if not h.startswith("#")]
    assert not re.search(r"url\(|@import|https?://(?!docs\.oasis)", html.split("<body>")[0])
    for section in ("summary", "tier", "controls", "probes", "findings", "grade", "manifest", "clauses"):
        assert f'id="{section}"' in html
    assert "@media print" in html and "break-before: page" in html
    assert html.count("<svg") >= 5  # score gauge, limits, one group chart per grouping
    a = load(adult["en"])
    for ref in a["clauses"]:
        assert f">{ref}<" in html.replace("&amp;", "&")
    for h in a["manifest"]["inputs"].values():
        assert h in html
    assert len(html.encode("utf-8")) < 1_000_000


def test_generic_probe_sections_render_whatever_is_present(adult):
    a = synthetic_probes(load(adult["en"]))
    Draft202012Validator(assessment_schema()).validate(a)
    html = render("html", a)
    assert "Accuracy under perturbation" in html and "Feature importance" in html
    assert "Robustness" in html and "Explainability" in html and "<polyline" in html
    assert "budget s" in html  # an unknown scalar lands in the details table
    md = render("md", a)
    assert "Robustness" in md and "Accuracy drop" in md


def test_a_probe_error_is_a_finding_and_costs_points(tmp_path):
    from riskengine.assess import Options, assess, assessment_dict
    from riskengine.declaration import load_declaration
    from riskengine.model import ProbeResult
    from riskengine.rules import load_knowledge

    decl_path = tmp_path / "app.yaml"
    decl_path.write_text(yaml.safe_dump(minimal_declaration(use_cases=["creditworthiness"], scenario="finance")))
    import riskengine.assess as assess_module

    original = assess_module._probe_results
    assess_module._probe_results = lambda *a, **k: {"fairness": ProbeResult("fairness", "error", "ValueError: bad")}
    try:
        a = assessment_dict(assess(load_declaration(decl_path), load_knowledge(), Options()))
    finally:
        assess_module._probe_results = original
    ids = [f["rule_id"] for f in a["findings"]]
    assert "PROBE-FAIRNESS-ERROR" in ids
    assert any(d["rule_id"] == "PROBE-FAIRNESS-ERROR" for d in a["grade_deductions"])
    Draft202012Validator(assessment_schema()).validate(a)
    junit = render("junit", a)
    assert '<error message="ValueError: bad"' in junit


# ------------------------------------------------------------------------------------------ hostile input


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    decl = folder / "app.yaml"
    decl.write_text(yaml.safe_dump(minimal_declaration(
        name=HOSTILE, provider=HOSTILE, purpose=HOSTILE, version="<b onmouseover=x>{{7*7}}",
        practices=["interacts_with_humans"], use_cases=["creditworthiness"], scenario="finance")))
    proc = run_cli("assess", str(decl), "--out", str(folder / "out"), "--format", ALL)
    assert proc.returncode == 0, proc.stderr
    a = load(folder / "out")
    b = synthetic_probes(a, text=HOSTILE)
    b["probes"]["fairness"] = {"status": "ok", "reason": HOSTILE, "metrics": {HOSTILE: {"m": 0.1}},
                               "by_group": [{"view": HOSTILE, "group": {HOSTILE: HOSTILE}, "n": 40, "selection_rate": 0.5}],
                               "limits": [{"metric": HOSTILE, "view": HOSTILE, "status": "breach", "bound": "max",
                                           "limit": 0.1, "observed": 0.2, "worst_group": {HOSTILE: HOSTILE}}]}
    return {"files": folder / "out", "probed": reseal(b)}


ALLOWED_HTML = {"html", "head", "meta", "title", "style", "body", "main", "header", "nav", "ol", "li", "a", "div",
                "span", "h1", "h2", "h3", "h4", "p", "section", "table", "thead", "tbody", "tr", "th", "td", "svg",
                "rect", "line", "text", "g", "polyline", "circle", "figure", "figcaption", "strong", "em", "br", "dl",
                "dt", "dd", "i", "b", "footer"}


def test_hostile_strings_are_inert_in_html(hostile):
    for html in ((hostile["files"] / "report.html").read_text(encoding="utf-8"), render("html", hostile["probed"]),
                 render("html", hostile["probed"], lang="zh")):
        parsed = tags_of(html)
        assert parsed.tags <= ALLOWED_HTML, parsed.tags - ALLOWED_HTML
        assert not any(a.startswith("on") for a in parsed.attrs)
        assert all(h.startswith("#") for h in parsed.hrefs)
        assert "&lt;script&gt;" in html and "{{ 7*7 }}" in html


def test_hostile_strings_are_inert_in_markdown(hostile):
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py renders the Markdown as GitHub would")
    allowed = {"h2", "h3", "p", "strong", "em", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "hr",
               "details", "summary", "sub", "blockquote", "br"}
    for md in ((hostile["files"] / "report.md").read_text(encoding="utf-8"), render("md", hostile["probed"])):
        assert "<script" not in md and "<img" not in md and "<b " not in md
        html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(md)
        parsed = tags_of(html)
        assert parsed.tags <= allowed, parsed.tags - allowed
        assert not parsed.hrefs and not any(a.startswith("on") for a in parsed.attrs)
        assert "{{ 7*7 }}" in html.replace("\\", "")


def test_hostile_strings_are_inert_in_junit_and_sarif(hostile):
    import xml.etree.ElementTree as ET

    for junit in ((hostile["files"] / "junit.xml").read_text(encoding="utf-8"), render("junit", hostile["probed"])):
        assert "<script" not in junit and "<img" not in junit
        root = ET.fromstring(junit)
        values = [p.get("value") for p in root.iter("property") if p.get("name") == "application"]
        assert values and all(v == HOSTILE for v in values)  # escaped on the way out, intact on the way in
    for sarif in ((hostile["files"] / "report.sarif").read_text(encoding="utf-8"), render("sarif", hostile["probed"])):
        assert "<" not in sarif and ">" not in sarif
        doc = json.loads(sarif)
        assert any(HOSTILE in r["message"]["text"] for r in doc["runs"][0]["results"])
        assert all("markdown" not in r["message"] for r in doc["runs"][0]["results"])


# ------------------------------------------------------------------------------------------ gating


def test_gate_parsing():
    assert str(parse_gate("tier:high")) == "tier:high" and str(parse_gate("high")) == "tier:high"
    assert str(parse_gate("grade:c")) == "grade:C" and str(parse_gate("grade:not_permitted")) == "grade:not_permitted"
    assert [str(g) for g in parse_gates(["tier:high,grade:D", "limited"])] == ["tier:high", "grade:D", "tier:limited"]
    for bad in ("tier:severe", "grade:F", "score:10", "sever"):
        with pytest.raises(ValueError):
            parse_gate(bad)
    a = {"tier": "limited", "grade": "C"}
    assert tripped(parse_gates(["grade:C"]), a) and tripped(parse_gates(["grade:B"]), a)
    assert not tripped(parse_gates(["grade:D", "tier:high"]), a)
    assert tripped(parse_gates(["grade:E"]), {"tier": "prohibited", "grade": "not_permitted"})


def test_fail_on_grade_and_tier_from_the_cli(tmp_path):
    ed = str(EXAMPLES / "ed-triage-assistant.yaml")
    runs = {gate: run_cli("assess", ed, "--out", str(tmp_path / str(i)), "--fail-on", gate)
            for i, gate in enumerate(("tier:high", "grade:E", "grade:A", "tier:prohibited,grade:E"))}
    a = json.loads((tmp_path / "0" / "assessment.json").read_text(encoding="utf-8"))
    assert runs["tier:high"].returncode == 1 and "gate: tier high" in runs["tier:high"].stderr
    assert runs["grade:A"].returncode == 1 and f"gate: grade {a['grade']}" in runs["grade:A"].stderr
    assert runs["grade:E"].returncode == (1 if a["grade"] in ("E", "not_permitted") else 0)
    bad = run_cli("assess", ed, "--out", str(tmp_path / "x"), "--fail-on", "grade:F")
    assert bad.returncode == 2 and "grade:F" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x").exists()
    stored = run_cli("report", str(tmp_path / "0" / "assessment.json"), "--fail-on", "tier:high")
    assert stored.returncode == 1 and (tmp_path / "0" / "report.html").exists()


# ------------------------------------------------------------------------------------------ reproducible, tamper-evident


def _strip_time(text: str, stamp: str) -> str:
    return text.replace(stamp, "T").replace(stamp.rstrip("Z")[:19], "T")


def test_same_inputs_give_byte_identical_outputs(tmp_path, adult):
    again = tmp_path / "again"
    proc = run_cli("assess", str(ADULT), "--out", str(again), "--format", ALL, env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert proc.returncode == 0, proc.stderr
    for name in FORMATS.values():
        assert (again / name).read_bytes() == (adult["en"] / name).read_bytes(), name
    assert load(again)["manifest"]["generated_at"] == "2023-11-14T22:13:20Z"
    # without SOURCE_DATE_EPOCH only the time stamp differs
    env = {k: v for k, v in __import__("os").environ.items() if k != "SOURCE_DATE_EPOCH"}
    free = tmp_path / "free"
    proc = __import__("subprocess").run([__import__("sys").executable, "-m", "riskengine", "assess", str(ADULT),
                                         "--out", str(free), "--format", ALL], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    stamp = load(free)["manifest"]["generated_at"]
    assert load(free)["manifest"]["content_sha256"] == load(again)["manifest"]["content_sha256"]
    for name in FORMATS.values():
        assert _strip_time((free / name).read_text(encoding="utf-8"), stamp) == \
            _strip_time((again / name).read_text(encoding="utf-8"), "2023-11-14T22:13:20Z"), name


def test_an_edit_shows_and_report_refuses_it(tmp_path, adult):
    ok = run_cli("verify", str(adult["en"] / "assessment.json"))
    assert ok.returncode == 0 and "content matches sha256:" in ok.stdout
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    a = load(adult["en"])
    a["grade"], a["score"] = "A", 95.0
    (tampered / "assessment.json").write_text(json.dumps(a, indent=2, ensure_ascii=False), encoding="utf-8")
    bad = run_cli("verify", str(tampered / "assessment.json"))
    assert bad.returncode == 1 and "MODIFIED" in bad.stderr and a["manifest"]["content_sha256"] in bad.stderr
    refused = run_cli("report", str(tampered / "assessment.json"))
    assert refused.returncode == 2 and "manifest.content_sha256" in refused.stderr
    assert not (tampered / "report.html").exists()
    # the time stamp is outside the hash: changing it is not an edit of the content
    b = load(adult["en"])
    b["manifest"]["generated_at"] = "2030-01-01T00:00:00Z"
    (tmp_path / "assessment.json").write_text(json.dumps(b), encoding="utf-8")
    assert run_cli("verify", str(tmp_path / "assessment.json")).returncode == 0
    assert run_cli("verify", str(EXAMPLES / "email-spam-filter.yaml")).returncode == 2


def test_report_rerenders_every_format_without_running_anything(tmp_path, adult):
    stored = tmp_path / "stored" / "assessment.json"  # alone: no declaration, model or data beside it
    stored.parent.mkdir()
    stored.write_bytes((adult["en"] / "assessment.json").read_bytes())
    proc = run_cli("report", str(stored), "--format", ALL, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for fmt, name in FORMATS.items():
        if fmt in ("json", "sarif"):
            continue  # sarif points at the declaration by path when assess knows it
        assert (tmp_path / name).read_bytes() == (adult["en"] / name).read_bytes(), name
    assert json.loads((tmp_path / "assessment.json").read_text()) == load(adult["en"])


def test_schema_command_describes_the_real_shape(adult):
    proc = run_cli("schema", "assessment")
    schema = json.loads(proc.stdout)
    Draft202012Validator.check_schema(schema)
    a = load(adult["en"])
    Draft202012Validator(schema).validate(a)
    assert set(schema["required"]) == set(a)
    assert set(schema["properties"]["manifest"]["required"]) == set(a["manifest"])
    broken = copy.deepcopy(a)
    broken["surprise"] = 1
    assert list(Draft202012Validator(schema).iter_errors(broken))
