"""Load rule packs, stages, clauses, controls and scenario norms into one checked knowledge base."""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from riskengine import paths, vocab
from riskengine.errors import DeclarationError, RulePackError, did_you_mean
from riskengine.rules import conditions as cond
from riskengine.safeload import load_document

Text = dict[str, str]
"""Text in one or more languages, keyed by language code; English is always there."""

PLACEHOLDERS = {"name", "id", "provider", "scenario", "tier"}
_RULE_KEYS = {"id", "title", "stage", "tier", "severity", "category", "when", "message", "rationale",
              "remediation", "clauses", "framework", "confidence"}
_RULE_ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"


def localize(text: Text | None, lang: str = "en") -> str:
    if not text:
        return ""
    return text.get(lang) or text.get("en", "")


@dataclass(frozen=True)
class Stage:
    id: str
    title: Text
    framework: str
    final: bool = False
    description: Text = field(default_factory=dict)


@dataclass(frozen=True)
class Clause:
    ref: str
    framework: str
    title: Text
    verified: str
    """primary (checked against the official text) or secondary (two or more consistent reproductions)."""
    note: str = ""


@dataclass(frozen=True)
class Control:
    id: str
    title: Text
    clauses: tuple[str, ...]
    remediation: Text
    severity: dict[str, str]
    """Severity of a gap in this control, by tier."""


@dataclass(frozen=True)
class Rule:
    """One rule, from a pack or generated from a scenario norm's control requirement."""

    id: str
    pack: str
    source: str
    title: Text
    framework: str
    severity: str
    category: str
    when: cond.Node
    message: Text
    clauses: tuple[str, ...]
    rationale: Text = field(default_factory=dict)
    remediation: Text = field(default_factory=dict)
    stage: str | None = None
    tier: str | None = None
    confidence: str = "high"
    requirement: bool = False
    """A condition of a scenario norm's control requirement: decides a requirement, is never a finding."""

    @property
    def phase(self) -> str:
        """classification rules run on the declaration; obligation rules also see the tier."""
        return "obligation" if cond.mentions(self.when, "tier") else "classification"


@dataclass(frozen=True)
class Scenario:
    id: str
    name: Text
    founding_scenario: bool
    founding_items: tuple[int, ...]
    description: Text
    eu_anchors: tuple[str, ...]
    controls: dict[str, tuple[tuple[str, str | None], ...]]
    """tier -> ((control, id of the rule that must fire for it to be required, or None), ...)."""
    probes: dict[str, dict[str, Any]]
    """tier -> probe name -> settings and limits."""
    source: str


def load_yaml(path: Path) -> Any:
    try:
        doc, _ = load_document(path, max_depth=64)  # conditions nest deeper than declarations
    except DeclarationError as exc:  # same safe loader, but a rule file is not a declaration
        raise RulePackError(exc.message, source=exc.source, field=exc.field) from None
    return doc


_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_FOLDED_CJK_SPACE = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")


def _unfold(text: str) -> str:
    """YAML folds a wrapped line into a space, which Chinese text must not have between characters."""
    return _FOLDED_CJK_SPACE.sub("", text.strip())


def _as_text(value: Any, source: str, where: str, required: bool = True) -> Text:
    if value is None or value == "":
        if required:
            raise RulePackError("is required", source=source, field=where)
        return {}
    if isinstance(value, str):
        return {"en": value.strip()}
    if isinstance(value, dict) and "en" in value and all(isinstance(v, str) for v in value.values()):
        return {str(k): _unfold(v) for k, v in value.items()}
    raise RulePackError("must be a text, or a mapping of language to text with at least 'en'",
                        source=source, field=where)


def _check_placeholders(text: Text, source: str, where: str) -> None:
    for lang, value in text.items():
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise RulePackError(f"bad placeholder: {exc}", source=source, field=f"{where}.{lang}") from None
        unknown = names - PLACEHOLDERS
        if unknown:
            name = sorted(unknown)[0]
            raise RulePackError(f"unknown placeholder '{{{name}}}'", source=source, field=f"{where}.{lang}",
                                hint=did_you_mean(name, PLACEHOLDERS) or f"use {sorted(PLACEHOLDERS)}")


def _enum(value: Any, allowed: Any, source: str, where: str) -> str:
    if value not in allowed:
        raise RulePackError(f"must be one of {', '.join(allowed)}, got {value!r}", source=source, field=where,
                            hint=did_you_mean(str(value), list(allowed)))
    return value


class Knowledge:
    """Everything the rules stage needs, loaded once per process and per set of extra rule folders."""

    def __init__(self, rule_dirs: list[Path], scenario_dir: Path):
        self.stages: dict[str, Stage] = {}
        self.clauses: dict[str, Clause] = {}
        self.controls: dict[str, Control] = {}
        self.rules: dict[str, Rule] = {}
        self.scenarios: dict[str, Scenario] = {}
        self.packs: dict[str, str] = {}
        self.definitions: dict[str, Any] = {}
        self._definition_sources: dict[str, str] = {}
        self._digest = hashlib.sha256()
        self._pack_docs: list[tuple[Path, dict[str, Any]]] = []
        self._requirement_ids: dict[str, str] = {}
        shipped, *extra = rule_dirs
        self._load_stages(shipped / "stages.yaml")
        for folder in rule_dirs:
            if not folder.is_dir():
                raise RulePackError("rule folder not found", source=str(folder))
            if (folder / "clauses.yaml").exists():
                self._load_clauses(folder / "clauses.yaml")
        self._load_controls(shipped / "controls.yaml")
        for folder in rule_dirs:
            for path in sorted(folder.glob("*.yaml")):
                if path.name in ("stages.yaml", "clauses.yaml", "controls.yaml") or path.name.endswith(".cases.yaml"):
                    continue
                self._read_pack(path)
        # definitions are global, so every pack is read before any condition is parsed
        for path, doc in self._pack_docs:
            self._load_rules(path, doc)
        self._load_scenarios(scenario_dir)
        self.version = "sha256:" + self._digest.hexdigest()[:16]

    # ---------------------------------------------------------------- loaders

    def _record(self, path: Path) -> None:
        self._digest.update(path.name.encode() + b"\0" + path.read_bytes())

    def _load_stages(self, path: Path) -> None:
        self._record(path)
        doc = load_yaml(path)
        src = str(path)
        for i, item in enumerate(doc.get("stages", []) if isinstance(doc, dict) else []):
            where = f"stages[{i}]"
            sid = item.get("id")
            if not sid:
                raise RulePackError("needs an id", source=src, field=where)
            self.stages[sid] = Stage(sid, _as_text(item.get("title"), src, f"{where}.title"),
                                     str(item.get("framework", "")), bool(item.get("final", False)),
                                     _as_text(item.get("description"), src, f"{where}.description", False))
        if not self.stages:
            raise RulePackError("lists no stages", source=src)

    def _load_clauses(self, path: Path) -> None:
        self._record(path)
        doc = load_yaml(path)
        src = str(path)
        items = doc.get("clauses") if isinstance(doc, dict) else None
        if not isinstance(items, dict):
            raise RulePackError("must hold a 'clauses' mapping", source=src)
        for ref, item in items.items():
            where = f"clauses.{ref}"
            if ref in self.clauses:
                raise RulePackError("is defined twice", source=src, field=where)
            verified = _enum(item.get("verified"), ("primary", "secondary"), src, f"{where}.verified")
            self.clauses[ref] = Clause(ref, str(item.get("framework", "")),
                                       _as_text(item.get("title"), src, f"{where}.title"), verified,
                                       str(item.get("note", "")))

    def _check_clauses(self, refs: Any, src: str, where: str) -> tuple[str, ...]:
        if not isinstance(refs, list) or not refs:
            raise RulePackError("must list at least one clause", source=src, field=where)
        for i, ref in enumerate(refs):
            if ref not in self.clauses:
                raise RulePackError(f"cites '{ref}', which rules/clauses.yaml does not list (only verified "
                                    "clauses may be cited)", source=src, field=f"{where}[{i}]",
                                    hint=did_you_mean(str(ref), self.clauses))
        return tuple(refs)

    def _load_controls(self, path: Path) -> None:
        self._record(path)
        doc = load_yaml(path)
        src = str(path)
        items = doc.get("controls") if isinstance(doc, dict) else None
        if not isinstance(items, dict):
            raise RulePackError("must hold a 'controls' mapping", source=src)
        for cid, item in items.items():
            where = f"controls.{cid}"
            _enum(cid, vocab.CONTROLS, src, where)
            severity = item.get("severity") or {}
            for tier, sev in severity.items():
                _enum(tier, vocab.TIERS, src, f"{where}.severity")
                _enum(sev, vocab.SEVERITIES, src, f"{where}.severity.{tier}")
            self.controls[cid] = Control(cid, _as_text(item.get("title"), src, f"{where}.title"),
                                         self._check_clauses(item.get("clauses"), src, f"{where}.clauses"),
                                         _as_text(item.get("remediation"), src, f"{where}.remediation"),
                                         dict(severity))
        missing = [c for c in vocab.CONTROLS if c not in self.controls]
        if missing:
            raise RulePackError(f"does not describe the controls {', '.join(missing)}", source=src)

    def _read_pack(self, path: Path) -> None:
        self._record(path)
        doc = load_yaml(path)
        src = str(path)
        if not isinstance(doc, dict) or "pack" not in doc or not isinstance(doc.get("rules"), list):
            raise RulePackError("a rule pack needs 'pack' (its id) and a 'rules' list", source=src)
        pack = str(doc["pack"])
        if pack in self.packs:
            raise RulePackError(f"pack id '{pack}' is used by another file too", source=src, field="pack")
        self.packs[pack] = str(doc.get("version", "0"))
        for name, body in (doc.get("definitions") or {}).items():
            if name in self.definitions:
                raise RulePackError(f"definition '{name}' is also defined in {self._definition_sources[name]}",
                                    source=src, field=f"definitions.{name}")
            self.definitions[name] = body
            self._definition_sources[name] = src
        self._pack_docs.append((path, doc))

    def _load_rules(self, path: Path, doc: dict[str, Any]) -> None:
        src = str(path)
        pack = str(doc["pack"])
        framework = str(doc.get("framework", ""))
        ctx = cond.ConditionContext(self.definitions, src)
        for i, item in enumerate(doc["rules"]):
            where = f"rules[{i}]"
            if not isinstance(item, dict):
                raise RulePackError("a rule is a mapping", source=src, field=where)
            rid = item.get("id")
            if not isinstance(rid, str) or not rid or any(ch not in _RULE_ID for ch in rid):
                raise RulePackError("needs an id of upper-case letters, digits and dashes", source=src,
                                    field=f"{where}.id")
            where = f"rules.{rid}"
            unknown = set(item) - _RULE_KEYS
            if unknown:
                key = sorted(unknown)[0]
                raise RulePackError(f"unknown key '{key}'", source=src, field=f"{where}.{key}",
                                    hint=did_you_mean(key, _RULE_KEYS))
            if rid in self.rules:
                raise RulePackError(f"rule id is also used in {self.rules[rid].source}", source=src, field=where)
            if "when" not in item:
                raise RulePackError("needs a 'when' condition", source=src, field=f"{where}.when")
            when = cond.parse(item["when"], ctx, f"{where}.when")
            tier = item.get("tier")
            stage = item.get("stage")
            if tier is not None:
                _enum(tier, vocab.TIERS, src, f"{where}.tier")
                if stage is None:
                    raise RulePackError("a rule that sets a tier needs a stage", source=src, field=f"{where}.stage",
                                        hint=f"one of {', '.join(self.stages)}")
            if stage is not None:
                _enum(stage, list(self.stages), src, f"{where}.stage")
            texts = {key: _as_text(item.get(key), src, f"{where}.{key}", key in ("title", "message"))
                     for key in ("title", "message", "rationale", "remediation")}
            for key, text in texts.items():
                _check_placeholders(text, src, f"{where}.{key}")
            rule = Rule(
                id=rid, pack=pack, source=src, title=texts["title"],
                framework=str(item.get("framework", framework)),
                severity=_enum(item.get("severity"), vocab.SEVERITIES, src, f"{where}.severity"),
                category=_enum(item.get("category"), vocab.FINDING_CATEGORIES, src, f"{where}.category"),
                when=when, message=texts["message"], rationale=texts["rationale"],
                remediation=texts["remediation"],
                clauses=self._check_clauses(item.get("clauses"), src, f"{where}.clauses"),
                stage=stage, tier=tier,
                confidence=_enum(item.get("confidence", "high"), ("high", "medium", "low"), src,
                                 f"{where}.confidence"),
            )
            if tier is not None and rule.phase == "obligation":
                raise RulePackError("a rule that sets the tier cannot depend on the tier", source=src,
                                    field=f"{where}.when")
            self.rules[rid] = rule

    def _load_scenarios(self, folder: Path) -> None:
        base_path = folder / "_base.yaml"
        self._record(base_path)
        base = load_yaml(base_path) or {}
        for path in sorted(folder.glob("*.yaml")):
            if path.name.startswith("_"):
                continue
            self._record(path)
            doc = load_yaml(path)
            src = str(path)
            if not isinstance(doc, dict):
                raise RulePackError("a scenario norm is a mapping", source=src)
            sid = _enum(doc.get("scenario"), vocab.SCENARIOS, src, "scenario")
            if path.stem != sid:
                raise RulePackError(f"file name must be {sid}.yaml", source=src, field="scenario")
            controls = {**(base.get("controls") or {}), **(doc.get("controls") or {})}
            probes: dict[str, dict[str, Any]] = {}
            for tier in vocab.TIERS:
                merged = dict((base.get("probes") or {}).get(tier) or {})
                merged.update((doc.get("probes") or {}).get(tier) or {})
                probes[tier] = merged
                self._check_probe_settings(merged, src, f"probes.{tier}")
            parsed: dict[str, tuple[tuple[str, Any], ...]] = {}
            for tier in vocab.TIERS:
                items = []
                for j, entry in enumerate(controls.get(tier) or []):
                    where = f"controls.{tier}[{j}]"
                    if isinstance(entry, str):
                        entry = {"control": entry}
                    control = _enum(entry.get("control"), vocab.CONTROLS, src, f"{where}.control")
                    when = entry.get("when")
                    items.append((control, None if when is None else
                                  self._requirement_rule(when, src, f"{where}.when")))
                parsed[tier] = tuple(items)
            scenario = Scenario(
                id=sid, name=_as_text(doc.get("name"), src, "name"),
                founding_scenario=bool(doc.get("founding_scenario", False)),
                founding_items=tuple(int(x) for x in doc.get("founding_items") or ()),
                description=_as_text(doc.get("description"), src, "description", False),
                eu_anchors=tuple(str(x) for x in doc.get("eu_anchors") or ()),
                controls=parsed, probes=probes, source=src,
            )
            self.scenarios[sid] = scenario
        missing = [s for s in vocab.SCENARIOS if s not in self.scenarios]
        if missing:
            raise RulePackError(f"no norms for the scenarios {', '.join(missing)}", source=str(folder))

    def _check_probe_settings(self, block: dict[str, Any], src: str, where: str) -> None:
        """Probe limits are checked when the norms load: a misspelled metric must not silently never trip."""
        from riskengine.probes import validate_probe_settings

        for name, settings in block.items():
            try:
                checked = validate_probe_settings(name, settings, f"{where}.{name}")
            except RulePackError as exc:
                raise RulePackError(exc.message, source=src, field=exc.field, hint=exc.hint) from None
            for i, limit in enumerate(checked.get("limits", [])):
                self._check_clauses(limit.get("clauses"), src, f"{where}.{name}.limits[{i}].clauses")

    def _requirement_rule(self, raw: Any, source: str, where: str) -> str:
        """The rule for one conditional control requirement, shared by every scenario that states it.

        Which controls a (scenario, tier) requires is a table lookup in the norms; only the conditions
        ("FRIA where the deployer is public ...") are rules, each compiled once however many scenarios
        repeat it.
        """
        key = json.dumps(raw, sort_keys=True)
        if key in self._requirement_ids:
            return self._requirement_ids[key]
        if isinstance(raw, dict) and set(raw) == {"ref"}:
            rid = "REQ-WHEN-" + str(raw["ref"]).upper().replace("_", "-")
        else:
            rid = "REQ-WHEN-" + hashlib.sha256(key.encode()).hexdigest()[:8].upper()
        ctx = cond.ConditionContext(self.definitions, source)
        self.rules[rid] = Rule(
            id=rid, pack="scenario-norms", source=source, title={"en": f"Control requirement condition {key}"},
            framework="riskengine scenario norms", severity="info", category="control_gap",
            when=cond.parse(raw, ctx, where), message={"en": ""}, clauses=(), requirement=True,
        )
        self._requirement_ids[key] = rid
        return rid

    # ---------------------------------------------------------------- compiled rulesets

    def _compile(self, phase: str) -> dict[str, list[dict[str, Any]]]:
        return {r.id: cond.compile_condition(r.when, f"rules.{r.id}.when", r.source)
                for r in self.rules.values() if r.phase == phase}

    @cached_property
    def classification(self) -> Any:
        from riskengine.rules.engine import evaluator

        return evaluator("classification", self._compile("classification"))

    @cached_property
    def obligations(self) -> Any:
        from riskengine.rules.engine import evaluator

        return evaluator("obligations", self._compile("obligation"))

    def compile_all(self) -> None:
        """Compile both rulesets now, so every condition error surfaces at load time."""
        _ = self.classification, self.obligations


_CACHE: dict[tuple[str, ...], Knowledge] = {}


def load_knowledge(extra_rule_dirs: tuple[str, ...] = ()) -> Knowledge:
    """The shipped rules and scenario norms, plus an organisation's packs; cached per process."""
    key = tuple(str(Path(d).resolve()) for d in extra_rule_dirs)
    if key not in _CACHE:
        kb = Knowledge([paths.rules_dir(), *(Path(d) for d in key)], paths.scenarios_dir())
        kb.compile_all()
        _CACHE[key] = kb
    return _CACHE[key]
