"""Command line: parse options, call the library, map errors to exit codes (0 done, 1 gate tripped, 2 bad input).

Only click and the standard library are imported at module level, so
`riskengine --help` stays fast; every command imports what it needs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from riskengine import __version__
from riskengine.errors import OutputError, RiskEngineError

TIERS = ("prohibited", "high", "limited", "minimal")
EXIT_GATE = 1


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


def _rules_option(f: Any) -> Any:
    return click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False),
                        help="Add an organisation's rule packs from DIR (repeatable).")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="riskengine")
def cli() -> None:
    """riskengine: AI safety and ethics risk assessment.

    Grades a declared AI application: its risk tier under the EU AI Act and the
    Shanghai AI standard system, the controls it lacks, and (with a model and
    data) fairness probes; writes JSON and HTML reports.
    """


# ------------------------------------------------------------------ assess


def _resolve_out(out: str | None, app_id: str) -> Path:
    target = Path(out) if out else Path("reports") / app_id
    if target.exists() and not target.is_dir():
        raise OutputError("exists and is not a folder", source=str(target), field="--out")
    from riskengine.paths import templates_dir

    if target.resolve() == templates_dir().resolve():
        raise OutputError("is riskengine's template folder; choose another --out", source=str(target))
    return target


def _parse_formats(value: str) -> list[str]:
    from riskengine.formats import FORMATS

    names = [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        if name not in FORMATS:
            raise click.BadParameter(f"unknown format '{name}'; choose from {', '.join(FORMATS)}",
                                     param_hint="--format")
    return names


def _summary(a: dict[str, Any], written: list[Path]) -> str:
    app = a["application"]
    lines = [f"{app['id']}  {app['name']}"]
    setters = ", ".join(r["rule_id"] for r in a["tier_reasons"]) or "no rule fired"
    scope = "" if a["in_scope"] else " (outside the EU AI Act's scope)"
    lines.append(f"  tier      {a['tier']}{scope} <- {setters} [{a['tier_framework'] or 'default'}]")
    lines.append(f"  grade     {a['grade']} ({a['score']:g}/100)")
    lines.append(f"  missing   {', '.join(a['missing_controls']) or 'none'}")
    counts = ", ".join(f"{n} {s}" for s, n in a["finding_counts"].items() if n) or "none"
    lines.append(f"  findings  {counts}")
    for name, probe in a["probes"].items():
        lines.append(f"  probe     {name}: {probe['status']}{' - ' + probe['reason'] if probe.get('reason') else ''}")
    if written:
        lines.append(f"  wrote     {', '.join(str(p) for p in written)}")
    return "\n".join(lines)


def _parse_gates(ctx: Any, param: Any, values: tuple[str, ...]) -> list[Any]:
    from riskengine.gate import parse_gates

    try:
        return parse_gates(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _fail_on_option(f: Any) -> Any:
    return click.option("--fail-on", "gates", multiple=True, callback=_parse_gates, metavar="GATE",
                        help="Exit 1 when a gate trips: tier:TIER (the tier is TIER or above), grade:GRADE (the "
                             "grade is GRADE or worse) or plain TIER; repeatable or comma-separated.")(f)


def gate_trips(fail_on: Any, assessment: dict[str, Any]) -> bool:
    """True when any gate trips; `fail_on` is a gate text (`tier:high`, `grade:C`, `high`) or parsed gates."""
    from riskengine.gate import parse_gates, tripped

    if not fail_on:
        return False
    gates = parse_gates([fail_on]) if isinstance(fail_on, str) else list(fail_on)
    return bool(tripped(gates, assessment))


def _apply_gates(gates: list[Any], result: dict[str, Any]) -> None:
    from riskengine.gate import tripped

    lines = tripped(gates, result)
    for line in lines:
        _echo_err(line)
    if lines:
        sys.exit(EXIT_GATE)


def _source_uri(declaration: str) -> str:
    """Where SARIF results point: the declaration relative to the working folder, else its file name."""
    path = Path(declaration).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def _apply_overrides(decl: Any, model: str | None, data: str | None) -> Any:
    if not model and not data:
        return decl
    from riskengine.declaration import with_overrides

    return with_overrides(decl, model_path=model, data_path=data)


def assess_to_folder(declaration: str, out: str | None, formats: list[str], *, lang: str = "en",
                     trust_pickle: bool = False, trusted_types: tuple[str, ...] = (), rule_dirs: tuple[str, ...] = (),
                     model_path: str | None = None, data_path: str | None = None
                     ) -> tuple[dict[str, Any], list[Path]]:
    """Load, assess, render every format, then write: nothing is written unless everything succeeded."""
    from riskengine.assess import Options, assessment_dict
    from riskengine.assess import assess as run_assess
    from riskengine.declaration import load_declaration
    from riskengine.formats import FORMATS, render
    from riskengine.io import write_outputs
    from riskengine.rules import load_knowledge

    decl = _apply_overrides(load_declaration(declaration), model_path, data_path)
    target = _resolve_out(out, decl.id)
    kb = load_knowledge(rule_dirs)
    result = assessment_dict(run_assess(decl, kb, Options(lang=lang, trust_pickle=trust_pickle,
                                                          trusted_types=tuple(trusted_types))))
    files = {FORMATS[name]: render(name, result, lang=lang, source_uri=_source_uri(declaration)) for name in formats}
    return result, write_outputs(target, files)


@cli.command()
@click.argument("declaration", type=click.Path(dir_okay=False))
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="Model file (overrides model.path).")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), help="Evaluation data (overrides data.path).")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder [default: reports/<id>/].")
@click.option("--format", "formats", default="json,html", show_default=True,
              help="Comma-separated: json,html,md,junit,sarif.")
@click.option("--json", "as_json", is_flag=True, help="Print the assessment to stdout (and nothing else there).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the whole report: rule texts and the report's own words.")
@_fail_on_option
@click.option("--trust-pickle", is_flag=True, help="Allow pickle/joblib models (loading them runs their code).")
@click.option("--trust-type", "trusted_types", multiple=True, metavar="TYPE",
              help="Trust this type in a skops model (repeatable), e.g. sklearn.tree._tree.Tree.")
@_rules_option
def assess(declaration: str, model_path: str | None, data_path: str | None, out: str | None, formats: str,
           as_json: bool, lang: str, gates: list[Any], trust_pickle: bool, trusted_types: tuple[str, ...],
           rule_dirs: tuple[str, ...]) -> None:
    """Assess one DECLARATION: tier, control gaps, findings, probes, grade."""
    result, written = assess_to_folder(declaration, out, _parse_formats(formats), lang=lang,
                                       trust_pickle=trust_pickle, trusted_types=trusted_types, rule_dirs=rule_dirs,
                                       model_path=model_path, data_path=data_path)
    if as_json:
        from riskengine.formats import render

        click.echo(render("json", result), nl=False)
    _echo_err(_summary(result, written))
    _apply_gates(gates, result)


def _load_assessment(assessment: str) -> dict[str, Any]:
    """A stored assessment, checked against the schema and against its own content hash (exit 2 otherwise)."""
    from riskengine.errors import DeclarationError
    from riskengine.integrity import check
    from riskengine.safeload import load_document
    from riskengine.schema import assessment_schema, validation_errors

    doc, _ = load_document(Path(assessment), max_depth=64)
    problems = validation_errors(doc, assessment_schema(), assessment)
    if problems:
        raise problems[0]
    stored, actual = check(doc)
    if stored != actual:
        raise DeclarationError(f"does not match the content ({actual}): the file was edited after it was assessed",
                               source=assessment, field="manifest.content_sha256",
                               hint="assess the declaration again; `riskengine verify` shows the two hashes")
    return doc


@cli.command()
@click.argument("assessment", type=click.Path(dir_okay=False))
@click.option("--format", "formats", default="html", show_default=True,
              help="Comma-separated: json,html,md,junit,sarif.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder [default: the assessment's folder].")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the report's own words [default: the assessment's]; stored rule texts stay in "
                   "the language they were assessed in.")
@_fail_on_option
def report(assessment: str, formats: str, out: str | None, lang: str | None, gates: list[Any]) -> None:
    """Re-render a stored ASSESSMENT (assessment.json) without running anything again.

    The file must match its schema and its own content hash: an edited assessment is refused.
    """
    from riskengine.formats import FORMATS, render
    from riskengine.io import write_outputs

    wanted = _parse_formats(formats)
    doc = _load_assessment(assessment)
    target = Path(out) if out else Path(assessment).parent
    same = Path(assessment).resolve()
    written = write_outputs(target, {FORMATS[n]: render(n, doc, lang=lang) for n in wanted
                                     if (target / FORMATS[n]).resolve() != same})
    _echo_err("wrote " + ", ".join(str(p) for p in written))
    _apply_gates(gates, doc)


@cli.command()
@click.argument("assessment", type=click.Path(dir_okay=False))
def verify(assessment: str) -> None:
    """Check that a stored ASSESSMENT still matches its content hash (exit 0), or show that it was edited (exit 1)."""
    from riskengine.errors import DeclarationError
    from riskengine.integrity import check
    from riskengine.safeload import load_document

    doc, _ = load_document(Path(assessment), max_depth=64)
    stored, actual = check(doc)
    if stored is None:
        raise DeclarationError("is not a riskengine assessment: it has no manifest.content_sha256", source=assessment)
    if stored != actual:
        _echo_err(f"MODIFIED {assessment}: manifest.content_sha256 is {stored}, but the content hashes to {actual}")
        sys.exit(EXIT_GATE)
    click.echo(f"ok {assessment}: content matches {stored}")


# ------------------------------------------------------------------ validate


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check declaration FILES against riskengine/v1 and report every error in every file."""
    from riskengine.declaration import check_files

    problems = check_files(list(files))
    for problem in problems:
        _echo_err(f"error: {problem.format()}")
    bad = len({p.source for p in problems})
    _echo_err(f"{len(files) - bad} of {len(files)} file(s) valid" + (f", {len(problems)} error(s)" if problems else ""))
    if problems:
        sys.exit(2)


# ------------------------------------------------------------------ rules


@cli.group()
def rules() -> None:
    """List, show and test rule packs."""


@rules.command("list")
@_rules_option
def rules_list(rule_dirs: tuple[str, ...]) -> None:
    """Every rule, one per line: id, severity, tier it sets, title."""
    from riskengine.rules import load_knowledge
    from riskengine.rules.pack import localize

    kb = load_knowledge(rule_dirs)
    for rule in kb.rules.values():
        if rule.requirement:
            continue
        click.echo(f"{rule.id:<34} {rule.severity:<8} {(rule.tier or '-'):<10} {localize(rule.title)}")
    click.echo(f"# {sum(1 for r in kb.rules.values() if not r.requirement)} rules in {len(kb.packs)} packs, "
               f"plus {sum(1 for r in kb.rules.values() if r.requirement)} control-requirement conditions from the "
               "scenario norms; "
               f"rule pack version {kb.version}", err=True)


@rules.command("show")
@click.argument("rule_id")
@_rules_option
def rules_show(rule_id: str, rule_dirs: tuple[str, ...]) -> None:
    """Everything about one rule, including its compiled durable-rules conditions."""
    from riskengine.errors import did_you_mean
    from riskengine.rules import load_knowledge
    from riskengine.rules.conditions import compile_condition
    from riskengine.rules.pack import localize

    kb = load_knowledge(rule_dirs)
    rule = kb.rules.get(rule_id) or kb.rules.get(rule_id.upper())
    if rule is None:
        raise RiskEngineError(f"no rule with id '{rule_id}'", hint=did_you_mean(rule_id.upper(), kb.rules)
                              or "see `riskengine rules list`")
    out = {
        "id": rule.id, "pack": rule.pack, "file": rule.source, "framework": rule.framework,
        "title": localize(rule.title), "severity": rule.severity, "category": rule.category,
        "stage": rule.stage, "tier": rule.tier, "phase": rule.phase, "message": localize(rule.message),
        "rationale": localize(rule.rationale), "remediation": localize(rule.remediation),
        "clauses": {c: localize(kb.clauses[c].title) for c in rule.clauses},
        "durable_rules": compile_condition(rule.when, "when", rule.source),
    }
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))


@rules.command("test")
@click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--show-base", is_flag=True, help="Print the declaration every case starts from, and exit.")
@click.option("-v", "--verbose", is_flag=True, help="List passing cases too.")
def rules_test(folder: str | None, show_base: bool, verbose: bool) -> None:
    """Run the cases files (*.cases.yaml) in FOLDER [default: the shipped rules]."""
    from riskengine.paths import rules_dir
    from riskengine.rules import load_knowledge
    from riskengine.rules.cases import BASE_APPLICATION, run_folder

    if show_base:
        click.echo(json.dumps({"schema": "riskengine/v1", "application": BASE_APPLICATION}, indent=2))
        return
    shipped = rules_dir().resolve()
    path = Path(folder).resolve() if folder else shipped
    kb = load_knowledge(() if path == shipped else (str(path),))
    results = run_folder(path, kb)
    if not results:
        raise RiskEngineError("holds no *.cases.yaml files", source=str(path))
    for r in results:
        if not r.passed or verbose:
            click.echo(f"{'PASS' if r.passed else 'FAIL'}  {os.path.basename(r.file)}: {r.name}")
            for problem in r.problems:
                click.echo(f"        {problem}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


# ------------------------------------------------------------------ scenarios


@cli.group()
def scenarios() -> None:
    """The scenario norms: controls and probe limits per tier."""


@scenarios.command("list")
def scenarios_list() -> None:
    from riskengine.rules import load_knowledge
    from riskengine.rules.pack import localize

    kb = load_knowledge()
    for s in kb.scenarios.values():
        mark = "*" if s.founding_scenario else " "
        click.echo(f"{s.id:<24}{mark} {localize(s.name, 'en')} / {localize(s.name, 'zh')}")
    click.echo("# * one of the five scenarios the founding standard names", err=True)


@scenarios.command("show")
@click.argument("name")
def scenarios_show(name: str) -> None:
    from riskengine.errors import did_you_mean
    from riskengine.rules import load_knowledge

    kb = load_knowledge()
    s = kb.scenarios.get(name)
    if s is None:
        raise RiskEngineError(f"no scenario '{name}'", hint=did_you_mean(name, kb.scenarios)
                              or "see `riskengine scenarios list`")
    out = {"scenario": s.id, "name": s.name, "founding_scenario": s.founding_scenario,
           "founding_items": list(s.founding_items), "description": s.description, "eu_anchors": list(s.eu_anchors),
           "controls": {tier: [c if w is None else {"control": c, "when": w} for c, w in items]
                        for tier, items in s.controls.items()},
           "probes": s.probes, "file": s.source}
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))


# ------------------------------------------------------------------ schema


@cli.command()
@click.argument("which", type=click.Choice(["declaration", "assessment"]))
def schema(which: str) -> None:
    """Print the JSON Schema of a declaration or of an assessment."""
    from riskengine.schema import assessment_schema, declaration_schema

    click.echo(json.dumps(declaration_schema() if which == "declaration" else assessment_schema(), indent=2))


# ------------------------------------------------------------------ batch


@cli.command()
@click.argument("input_path", metavar="INPUT")
@click.option("--out", required=True, type=click.Path(), help="Output folder: results.csv, results.parquet, "
              "assessments.jsonl, summary.html.")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes [default: CPU count].")
@click.option("--scheduler", metavar="ADDRESS", help="Run on a Dask cluster (tcp://host:8786) instead.")
@click.option("--resume", is_flag=True, help="Go on from the checkpoint of a batch that was stopped.")
@click.option("--with-probes", is_flag=True, help="Run model probes where a declaration names a model and data.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--chunk-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Records per chunk (the unit of work and of checkpoints).")
@click.option("--engine", type=click.Choice(["columns", "durable"]), default="columns", show_default=True,
              help="How rules are matched: column-wise per chunk, or durable-rules per record (the reference).")
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=2.0, show_default=True, metavar="SECONDS",
              help="Flush the outputs to disk and write a checkpoint at most this often.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_rules_option
def batch(input_path: str, out: str, workers: int | None, scheduler: str | None, resume: bool, with_probes: bool,
          lang: str, chunk_size: int, engine: str, checkpoint_every: float, quiet: bool,
          rule_dirs: tuple[str, ...]) -> None:
    """Assess every declaration in INPUT (JSONL, CSV, or a folder of YAML/JSON files): one row per record."""
    from riskengine.batch import BatchOptions, run_batch

    options = BatchOptions(lang=lang, with_probes=with_probes, engine=engine, rule_dirs=rule_dirs)
    result = run_batch(input_path, out, workers=workers, scheduler=scheduler, resume=resume, options=options,
                       chunk_size=chunk_size, progress=not quiet, log=_echo_err, checkpoint_seconds=checkpoint_every)
    t = result.tally
    tiers = ", ".join(f"{t.tiers.get(tier, 0):,} {tier}" for tier in TIERS)
    _echo_err(f"{t.records:,} records in {result.seconds:.1f} s: {tiers}; {t.errors:,} with errors, "
              f"{t.duplicates:,} duplicate ids")
    _echo_err("wrote " + ", ".join(str(p) for p in result.files))


# ------------------------------------------------------------------ entry point


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input ends with one line on stderr and exit 2, never a traceback."""
    try:
        cli.main(args=argv, prog_name="riskengine", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.Abort:
        _echo_err("aborted")
        sys.exit(130)
    except RiskEngineError as exc:
        _echo_err(f"error: {exc.format()}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _echo_err("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(0)


if __name__ == "__main__":
    main()
