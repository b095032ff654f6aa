"""Column-wise rule evaluation for batches: the same parsed conditions, evaluated over many facts at once.

durable-rules decides one fact at a time and costs about 20 µs per fact plus
about 45 µs per firing (shared/notes/dependencies.md §1.4); a declaration fires
several rules, so a batch of a million would spend most of its time there.
For `riskengine batch` the parsed condition trees of the rules (`Rule.when`,
the same trees that conditions.py compiles to durable-rules JSON) are
evaluated here with numpy over a chunk of facts built by `build_fact`: one
boolean column per leaf comparison, combined by `all` / `any` / `not`.

durable-rules stays the reference: `riskengine assess` uses it, and
tests/test_batch.py holds this evaluator equal to it (both phases, every tier)
on thousands of generated declarations, and every batch result equal to the
assessment `assess` makes.

numpy is imported inside functions: this module is imported only by a batch.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from riskengine import vocab
from riskengine.rules.conditions import FIELDS, Node

_TIER_KEY = FIELDS["tier"].key


def fact_columns(facts: Sequence[dict[str, Any]], keys: dict[str, str],
                 codes: dict[str, dict[Any, int]]) -> dict[str, Any]:
    """Columns of facts: key -> numpy array (bool, int64, or int32 vocabulary codes for enums)."""
    import numpy as np

    n = len(facts)
    out: dict[str, Any] = {}
    for kind, dtype in (("bool", bool), ("int", np.int64)):
        names = [k for k, v in keys.items() if v == kind and k != _TIER_KEY]
        if not names:
            continue
        get = operator.itemgetter(*names)
        rows = [get(f) for f in facts] if len(names) > 1 else [(get(f),) for f in facts]
        table = np.array(rows, dtype=dtype).reshape(n, len(names))
        for j, name in enumerate(names):
            out[name] = table[:, j]
    for key, kind in keys.items():
        if kind == "enum" and key != _TIER_KEY:
            lookup = codes[key]
            out[key] = np.fromiter((lookup.get(f[key], -1) for f in facts), dtype=np.int32, count=n)
    return out


class ColumnRules:
    """One phase's rules (rule id -> parsed condition), evaluated over columns of facts."""

    def __init__(self, rules: dict[str, Node]):
        import numpy as np

        self.ids = list(rules)
        self._ids = np.array(self.ids, dtype=object)
        self._nodes = [rules[r] for r in self.ids]
        self._seen: dict[bytes, tuple[str, ...]] = {}
        """Rows as bits -> the ids of the rules that hold (`hits`)."""
        self.keys: dict[str, str] = {}
        """fact key -> kind (enum, int or bool) of every key the conditions read."""
        self.codes: dict[str, dict[Any, int]] = {}
        """enum fact key -> vocabulary value -> code."""
        for node in self._nodes:
            self._collect(node)

    def _collect(self, node: Node) -> None:
        if node[0] == "cmp":
            _, key, _op, _value, field = node
            spec = FIELDS[field]
            self.keys[key] = "bool" if spec.kind == "list" else spec.kind
            if spec.kind == "enum":
                self.codes[key] = {v: i for i, v in enumerate(spec.values)}
        elif node[0] == "not":
            self._collect(node[1])
        else:
            for child in node[1]:
                self._collect(child)

    def columns(self, facts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The columns the conditions read, from facts built by `build_fact` (enums as vocabulary codes)."""
        return fact_columns(facts, self.keys, self.codes)

    def evaluate(self, columns: dict[str, Any], n: int, tier: str | None = None,
                 memo: dict[tuple[Any, ...], Any] | None = None) -> Any:
        """An (n, rules) boolean matrix: entry [i, j] says whether rule j holds for fact i. `memo`: the columns
        of leaf comparisons already made on these columns (shared by the evaluations for each tier)."""
        import numpy as np

        memo = {} if memo is None else memo
        matrix = np.zeros((n, len(self._nodes)), dtype=bool)
        for j, node in enumerate(self._nodes):
            matrix[:, j] = self._eval(node, columns, n, tier, memo)
        return matrix

    def _eval(self, node: Node, columns: dict[str, Any], n: int, tier: str | None, memo: dict) -> Any:
        import numpy as np

        kind = node[0]
        if kind == "cmp":
            _, key, op, value, _field = node
            memo_key = (key, op, value, tier if key == _TIER_KEY else None)
            if memo_key not in memo:
                memo[memo_key] = self._leaf(key, op, value, columns, n, tier)
            return memo[memo_key]
        if kind == "not":
            return ~self._eval(node[1], columns, n, tier, memo)
        parts = [self._eval(child, columns, n, tier, memo) for child in node[1]]
        if not parts:  # all: [] holds, any: [] does not
            return np.full(n, kind == "all", dtype=bool)
        reduce = np.logical_and.reduce if kind == "all" else np.logical_or.reduce
        return reduce(parts) if len(parts) > 1 else parts[0]

    def _leaf(self, key: str, op: str, value: Any, columns: dict[str, Any], n: int, tier: str | None) -> Any:
        import numpy as np

        if key == _TIER_KEY:
            if tier is None:
                raise ValueError("a condition on the tier needs the tier")
            if op not in ("eq", "ne"):  # the tier is an enum: conditions.py allows only eq/ne/in/not_in
                raise ValueError(f"operator {op} on the tier")
            return np.full(n, (tier == value) == (op == "eq"), dtype=bool)
        column = columns[key]
        if self.keys[key] == "enum":
            value = self.codes[key].get(value, -2)  # -2 matches no fact (unknown values code to -1)
        if op == "eq":
            return column == value
        if op == "ne":
            return column != value
        if op == "gt":
            return column > value
        if op == "gte":
            return column >= value
        if op == "lt":
            return column < value
        if op == "lte":
            return column <= value
        raise ValueError(f"unknown operator {op}")

    def hits(self, matrix: Any, index: int, packed: Any) -> tuple[str, ...]:
        """The ids of the rules that hold for fact `index` of an evaluated matrix. `packed`: the matrix's rows as
        bits (np.packbits), so that the ids of a row seen before are looked up, not gathered again."""
        row = packed[index].tobytes()
        got = self._seen.get(row)
        if got is None:
            if len(self._seen) >= 65_536:  # bounded: rows repeat, but an input may hold any number of kinds
                self._seen.clear()
            got = self._seen[row] = tuple(self._ids[matrix[index]].tolist())
        return got


class RecordHits:
    """The rules that fire for one declaration of a chunk: what `classify` asks (see rules.DurableHits)."""

    __slots__ = ("_chunk", "_index")

    def __init__(self, chunk: ChunkHits, index: int):
        self._chunk, self._index = chunk, index

    def classification(self) -> tuple[str, ...]:
        chunk = self._chunk
        return chunk.evaluator.classification.hits(chunk.first, self._index, chunk.packed("first"))

    def obligations(self, tier: str) -> tuple[str, ...]:
        chunk = self._chunk
        return chunk.evaluator.obligations.hits(chunk.second[tier], self._index, chunk.packed(tier))


class ChunkHits:
    """Both phases evaluated over a chunk of facts, the obligations once for each possible tier."""

    def __init__(self, evaluator: ColumnEvaluator, first: Any, second: dict[str, Any]):
        self.evaluator, self.first, self.second = evaluator, first, second
        self._packed: dict[str, Any] = {}

    def packed(self, matrix: str) -> Any:
        """The rows of the classification matrix ("first") or of a tier's obligations matrix, as bits."""
        got = self._packed.get(matrix)
        if got is None:
            import numpy as np

            got = self._packed[matrix] = np.packbits(self.first if matrix == "first" else self.second[matrix], axis=1)
        return got

    def __len__(self) -> int:
        return len(self.first)

    def __getitem__(self, index: int) -> RecordHits:
        if not 0 <= index < len(self.first):
            raise IndexError(index)
        return RecordHits(self, index)


class ColumnEvaluator:
    """The knowledge base's two rulesets, column-wise. Build it once per process with `for_knowledge`."""

    def __init__(self, kb: Any):
        by_phase: dict[str, dict[str, Node]] = {"classification": {}, "obligation": {}}
        for rule in kb.rules.values():
            by_phase[rule.phase][rule.id] = rule.when
        self.classification = ColumnRules(by_phase["classification"])
        self.obligations = ColumnRules(by_phase["obligation"])

    def evaluate(self, facts: Sequence[dict[str, Any]]) -> ChunkHits:
        n = len(facts)
        keys = {**self.classification.keys, **self.obligations.keys}
        columns = fact_columns(facts, keys, {**self.classification.codes, **self.obligations.codes})
        first = self.classification.evaluate(columns, n)
        memo: dict[tuple[Any, ...], Any] = {}
        second = {tier: self.obligations.evaluate(columns, n, tier, memo) for tier in vocab.TIERS}
        return ChunkHits(self, first, second)


_EVALUATORS: dict[int, tuple[Any, ColumnEvaluator]] = {}


def for_knowledge(kb: Any) -> ColumnEvaluator:
    """The column-wise evaluator of this knowledge base, built once per process."""
    entry = _EVALUATORS.get(id(kb))
    if entry is None or entry[0] is not kb:
        entry = (kb, ColumnEvaluator(kb))
        _EVALUATORS[id(kb)] = entry
    return entry[1]
