"""Probe registry: each probe measures one property of a declared model and returns a ProbeResult.

A probe is a function `probe(ctx: ProbeContext) -> ProbeResult`, registered by name with
`@register("fairness")`. A probe that cannot run (no model or data declared, no sensitive feature)
returns a `skipped` result with its reason and the assessment goes on. Bad input (a model file that
cannot be loaded safely, a missing column) raises ModelLoadError, which the CLI maps to exit code 2.

Only the standard library is imported here, so the registry costs nothing for `riskengine --help`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskengine.errors import RiskEngineError
from riskengine.model import Declaration, ProbeResult

if TYPE_CHECKING:  # pragma: no cover
    from riskengine.intake import Evaluation

ProbeFn = Callable[["ProbeContext"], ProbeResult]

_REGISTRY: dict[str, ProbeFn] = {}

#: Keys a declaration's `probes.<name>` may set. Limits, group sizes, noise levels and attack budgets come
#: from the scenario norms only, so a provider cannot relax its own thresholds; these keys only tune how
#: long and on how many rows the measurement runs (what was cut is recorded in the result).
DECLARATION_TUNABLE = frozenset({"n_boot", "seed", "max_rows", "time_budget_s", "attack_rows"})


def register(name: str, validate: Callable[[Any, str], dict[str, Any]] | None = None
             ) -> Callable[[ProbeFn], ProbeFn]:
    """Register a probe under a stable name (the key under `probes` in assessment.json).

    `validate(settings, where)` checks a scenario norm's settings for the probe when the norms load.
    """

    def deco(fn: ProbeFn) -> ProbeFn:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"probe {name!r} is already registered")
        _REGISTRY[name] = fn
        if validate is not None:
            _VALIDATORS[name] = validate
        return fn

    return deco


#: Built-in probes run in this order whatever order their modules were imported in: fairness first,
#: the costly model-querying probes last. Other registered probes follow in registration order.
_BUILTIN_ORDER = ("fairness", "robustness", "explainability")


def registered() -> tuple[str, ...]:
    """Names of the registered probes, built-ins first in their fixed order, then the others."""
    _load_builtin()
    first = [n for n in _BUILTIN_ORDER if n in _REGISTRY]
    return tuple(first + [n for n in _REGISTRY if n not in first])


class _SharedInputs:
    """One load of model and data per assessment, however many probes use them."""

    def __init__(self, decl: Declaration, trust_pickle: bool, trusted_types: tuple[str, ...]):
        self.decl = decl
        self.trust_pickle = trust_pickle
        self.trusted_types = trusted_types
        self._evaluation: Evaluation | None = None

    def evaluation(self) -> Evaluation:
        if self._evaluation is None:
            from riskengine.intake import load_evaluation

            self._evaluation = load_evaluation(
                self.decl, trust_pickle=self.trust_pickle, trusted_types=self.trusted_types
            )
        return self._evaluation


@dataclass
class ProbeContext:
    """Everything one probe may use: the declaration, its tier, its settings and the shared inputs."""

    decl: Declaration
    tier: str
    """The tier the classification decided; it sets severities."""
    settings: dict[str, Any]
    """The scenario's `probes.<tier>.<probe>` block, with the declaration's tunable keys applied."""
    lang: str = "en"
    """Language of finding messages (en or zh)."""
    _shared: _SharedInputs | None = field(default=None, repr=False)

    def missing_inputs(self) -> str | None:
        """Why a model probe cannot run, or None when model and data are both declared."""
        if self.decl.model is None and self.decl.data is None:
            return "the declaration has no model: or data: section"
        if self.decl.data is None:
            return "the declaration has no data: section (labelled evaluation data is needed)"
        if self.decl.model is None:
            return "the declaration has no model: section"
        return None

    def evaluation(self) -> Evaluation:
        """Labels, predictions and groups (loaded once and shared between probes)."""
        if self._shared is None:
            self._shared = _SharedInputs(self.decl, False, ())
        return self._shared.evaluation()


def probe_settings(
    decl: Declaration, name: str, scenario_settings: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The scenario's settings for one probe, with the declaration's tunable keys (n_boot, seed...) on top."""
    merged = dict(scenario_settings or {})
    own = decl.probes.get(name) or {}
    if isinstance(own, Mapping):
        merged.update({k: v for k, v in own.items() if k in DECLARATION_TUNABLE})
    return merged


def run_probes(
    decl: Declaration,
    limits_by_probe: Mapping[str, Mapping[str, Any] | None],
    *,
    trust_pickle: bool = False,
    tier: str,
    trusted_types: Iterable[str] = (),
    lang: str = "en",
    only: Iterable[str] | None = None,
) -> dict[str, ProbeResult]:
    """Run every registered probe (or those in `only`) and return their results by name.

    `limits_by_probe[name]` is the scenario's `probes.<tier>.<name>` block; a probe with no block still
    measures, with default settings and no limits. Bad input raises a RiskEngineError (exit 2); any
    other exception inside a probe becomes an `error` result so the rest of the assessment survives.
    """
    _load_builtin()
    shared = _SharedInputs(decl, trust_pickle, tuple(trusted_types))
    wanted = list(only) if only is not None else list(registered())
    results: dict[str, ProbeResult] = {}
    for name in wanted:
        fn = _REGISTRY[name]
        ctx = ProbeContext(
            decl=decl,
            tier=tier,
            settings=probe_settings(decl, name, limits_by_probe.get(name)),
            lang=lang,
            _shared=shared,
        )
        try:
            results[name] = fn(ctx)
        except RiskEngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in one probe must not lose the whole assessment
            results[name] = ProbeResult(name=name, status="error", reason=f"{type(exc).__name__}: {exc}")
    return results


def validate_probe_settings(name: str, settings: Any, where: str) -> dict[str, Any]:
    """Check one `probes.<tier>.<name>` block of a scenario norm; unknown probes are errors."""
    _load_builtin()
    if name not in _REGISTRY and name not in _PLANNED:
        from riskengine.errors import RulePackError, did_you_mean

        raise RulePackError(f"unknown probe '{name}'", field=where,
                            hint=did_you_mean(name, [*_REGISTRY, *_PLANNED]))
    check = _VALIDATORS.get(name)
    return check(settings, where) if check else dict(settings or {})


_VALIDATORS: dict[str, Callable[[Any, str], dict[str, Any]]] = {}
_PLANNED: tuple[str, ...] = ()
"""Probes whose settings the norms may carry before their code lands (none at the moment)."""


def _load_builtin() -> None:
    """Import the built-in probe modules so their @register decorators run (cheap: they import lazily)."""
    from riskengine.probes import (
        explainability,  # noqa: F401
        fairness,  # noqa: F401
        robustness,  # noqa: F401
    )
