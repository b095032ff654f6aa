"""The one module that touches durable-rules, and everything needed to use it safely here.

What shared/notes/dependencies.md §1 measured, and how this module answers it:
- `Host()` starts timer threads that never stop and can steal actions (so
  `assert_fact` returns None and actions run elsewhere): `_SyncHost` disables
  them; all matching rules then fire synchronously inside `assert_fact`.
- About 1,024 sids per ruleset, then MemoryError and a segfault: one sid only,
  a fresh `id` per fact, and `retract_fact` after every evaluation.
- Rulesets can be neither removed nor re-registered: each is registered once
  per process under a name that carries the hash of its content, and reused.
- `$or` fires twice and a lone `$nex` hangs: conditions.py never emits them,
  and hits are de-duplicated here anyway.
- An action that raises is swallowed into the state: actions only append.
- Nothing matched raises MessageNotHandledException: that means "no hits".
- One Host per process, guarded by a lock (threads give no speed-up: the
  C calls hold the GIL).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
from typing import Any

from riskengine.errors import RiskEngineError

_LOCK = threading.Lock()
_HOST: Any = None
_EVALUATORS: dict[str, Evaluator] = {}


def _host() -> Any:
    global _HOST
    if _HOST is None:
        from durable import engine

        class _SyncHost(engine.Host):  # type: ignore[misc]
            def _run(self) -> None:  # no background dispatcher or timer threads
                pass

        _HOST = _SyncHost()
    return _HOST


class Evaluator:
    """A compiled ruleset: evaluate(fact) returns the ids of every rule whose condition holds."""

    def __init__(self, name: str, conditions: dict[str, list[dict[str, Any]]]):
        self.name = name
        self._hits: list[str] = []
        self._ids = itertools.count(1)
        definition: dict[str, Any] = {}
        for rule_id, alternatives in conditions.items():
            for i, cond in enumerate(alternatives):
                rule = copy.deepcopy(cond)  # the engine pops keys out of what it is given
                rule["run"] = self._collector(rule_id)
                definition[f"{rule_id}#{i}"] = rule
        self.size = len(definition)
        if definition:
            _host().set_rulesets({name: definition})

    def _collector(self, rule_id: str) -> Any:
        def run(c: Any) -> None:  # exactly one parameter (two would make it an async action); never raises
            self._hits.append(rule_id)

        return run

    def evaluate(self, fact: dict[str, Any]) -> set[str]:
        if not self.size:
            return set()
        from durable.engine import MessageNotHandledException

        with _LOCK:
            item = dict(fact, id=next(self._ids))
            self._hits = []
            host = _host()
            try:
                state = host.assert_fact(self.name, item)
            except MessageNotHandledException:
                return set()  # nothing matched; nothing was stored
            host.retract_fact(self.name, item)
            if state is None:
                raise RiskEngineError("durable-rules dispatched actions on another thread; results incomplete")
            if isinstance(state, dict) and "exception" in state:
                raise RiskEngineError(f"a rule action failed: {state['exception']}")
            return set(self._hits)


def evaluator(label: str, conditions: dict[str, list[dict[str, Any]]]) -> Evaluator:
    """The process-wide Evaluator for these conditions, compiled once and registered under a content hash."""
    digest = hashlib.sha256(json.dumps(conditions, sort_keys=True).encode()).hexdigest()[:16]
    name = f"{label}@{digest}"
    with _LOCK:  # a ruleset name can be registered only once per process
        if name not in _EVALUATORS:
            _EVALUATORS[name] = Evaluator(name, conditions)
        return _EVALUATORS[name]
