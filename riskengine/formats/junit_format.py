"""JUnit XML for CI dashboards: one test case per requirement (formats/requirements.py), a failure per breach.

Valid against the Apache Ant JUnit schema (tests/schemas/JUnit.xsd), the strictest of the common ones, so
Jenkins, GitLab and GitHub test reporters all read it. Built with ElementTree, which escapes every text
and attribute; characters XML 1.0 cannot carry are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from riskengine.formats.requirements import requirements

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
SUITES = ("prohibited_practices", "controls", "findings")


def _x(text: Any) -> str:
    return _NOT_XML.sub("", str(text))


def render(assessment: dict[str, Any], **_: Any) -> str:
    app = assessment["application"]
    package = f"riskengine.{app['id']}"
    stamp = str(assessment["manifest"].get("generated_at", "1970-01-01T00:00:00Z")).rstrip("Z")[:19]
    reqs = list(requirements(assessment))
    order = [s for s in SUITES if s != "findings"] + sorted({r.suite for r in reqs if r.suite.startswith("probe.")})
    order.append("findings")
    root = ET.Element("testsuites")
    for i, suite in enumerate(s for s in order if any(r.suite == s for r in reqs)):
        cases = [r for r in reqs if r.suite == suite]
        el = ET.SubElement(root, "testsuite", {
            "name": _x(f"{package}.{suite}"), "timestamp": stamp, "hostname": "localhost",
            "tests": str(len(cases)), "failures": str(sum(r.outcome == "fail" for r in cases)),
            "errors": str(sum(r.outcome == "error" for r in cases)),
            "skipped": str(sum(r.outcome == "skip" for r in cases)), "time": "0",
            "package": _x(package), "id": str(i)})
        props = ET.SubElement(el, "properties")
        for key, value in (("application", app["name"]), ("tier", assessment["tier"]),
                           ("grade", assessment["grade"]), ("score", assessment["score"]),
                           ("in_scope", str(assessment.get("in_scope", True)).lower()),
                           ("riskengine_version", assessment["manifest"].get("riskengine_version", "")),
                           ("content_sha256", assessment["manifest"].get("content_sha256", ""))):
            ET.SubElement(props, "property", {"name": key, "value": _x(value)})
        for r in cases:
            case = ET.SubElement(el, "testcase", {"name": _x(r.name), "classname": _x(f"{package}.{suite}"),
                                                  "time": "0"})
            if r.outcome == "fail":
                ET.SubElement(case, "failure", {"message": _x(r.message), "type": _x(r.kind or "breach")}).text = \
                    _x("\n".join(x for x in (r.message, r.detail) if x))
            elif r.outcome == "error":
                ET.SubElement(case, "error", {"message": _x(r.message), "type": _x(r.kind or "error")}).text = \
                    _x(r.message)
            elif r.outcome == "skip":
                ET.SubElement(case, "skipped", {"message": _x(r.message)})
        ET.SubElement(el, "system-out").text = ""
        ET.SubElement(el, "system-err").text = ""
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
