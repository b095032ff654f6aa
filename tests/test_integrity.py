"""The content hash: one canonical JSON, json.dumps's bytes exactly, whichever encoder writes them.

`riskengine assess`, `riskengine verify` and `riskengine batch` all hash through integrity.canonical_json;
with orjson installed it writes most values, json.dumps the rest. Both ways are held here to the
definition spelled out with json.dumps, on floats of every magnitude, awkward values and real assessments.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import random
import struct
import sys
import types

import pytest

from riskengine import integrity
from riskengine.assess import Options, assess, sealed
from riskengine.declaration import load_declaration, parse_declaration
from riskengine.integrity import canonical_json, check, content_sha256
from riskengine.rules import load_knowledge
from tests.conftest import EXAMPLES
from tests.test_conditions import random_declaration


def reference(value) -> bytes:
    """The definition of the canonical JSON."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def reference_hash(assessment: dict) -> str:
    body = dict(assessment)
    body["manifest"] = {k: v for k, v in assessment["manifest"].items() if k not in ("generated_at", "content_sha256")}
    return "sha256:" + hashlib.sha256(reference(body)).hexdigest()


@pytest.fixture(params=["orjson", "json"])
def encoder(request, monkeypatch):
    if request.param == "json":
        monkeypatch.setattr(integrity, "_orjson", None)
    elif integrity._orjson is None:
        pytest.skip("orjson is not installed here")
    return request.param


def floats(rng: random.Random) -> list[float]:
    """Every magnitude, the round numbers grades use, and the small ones orjson spells its own way."""
    out = [0.0, -0.0, 0.1, 2.5, 9.0, 15.0, 100.0, 1e-4, 1e-5, 7.51e-05, 1e-6, 1e-9, 1e15, 1e16, 1e22, 5e-324,
           1.7976931348623157e308, 1 / 3]
    out += [rng.random() * 10.0 ** e for e in range(-320, 300) for _ in range(3)]
    out += [round(rng.random() * 100, rng.randint(0, 4)) for _ in range(500)]
    while len(out) < 6000:
        x = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(x):
            out.append(x)
    return out


def test_canonical_json_is_json_dumps_byte_for_byte(encoder):
    @dataclasses.dataclass
    class Point:
        x: int

    class Text(str):
        pass

    rng = random.Random(20261125)
    values = [*floats(rng), [1e-7, {"b": 2.5e-05, "a": [0.00012, 1e-300]}], {"e-1": "1e-5", "x": "0.0000"},
              2**70, -(2**63), 2**64 - 1, {2: "a", 10: "b"}, (1, "two"), Text("sub"), Point(1),
              datetime.date(2026, 11, 25), {"z": 1, "é": 2, "😀": 3, "\uffff": 4, "A": None},
              "\x00\x1f\x7f\u2028\"\\/\b\f\n\r\t é 高风险 😀", {"nested": {"deep": [True, False, None, [], {}]}}]
    for value in values:
        assert canonical_json(value) == reference(value), repr(value)[:200]
    with pytest.raises(TypeError):
        canonical_json({1: "a", "b": 2})  # json.dumps cannot sort mixed keys either
    with pytest.raises(UnicodeEncodeError):
        canonical_json("\ud800")  # a lone surrogate has no UTF-8


def test_numpy_values_are_written_as_json_dumps_writes_them(encoder):
    np = pytest.importorskip("numpy")
    for value in (np.float64(1e-05), np.float64(0.25), np.float32(0.5), np.int64(3), np.bool_(True),
                  {"m": np.float64(2.5e-7), "n": [np.int32(1)]}):
        assert canonical_json(value) == reference(value)


def test_an_orjson_that_spells_floats_otherwise_is_not_used(monkeypatch):
    real = pytest.importorskip("orjson")
    fake = types.SimpleNamespace(**{k: getattr(real, k) for k in dir(real) if not k.startswith("__")})
    fake.dumps = lambda value, **kw: b"1e16" if value == 1e16 else real.dumps(value, **kw)  # no exponent sign
    monkeypatch.setitem(sys.modules, "orjson", fake)
    assert integrity._load_orjson() is None
    monkeypatch.setitem(sys.modules, "orjson", real)
    assert integrity._load_orjson() is real


def test_sealing_encodes_once_and_hashes_as_defined(encoder):
    kb = load_knowledge()
    decls = [load_declaration(p) for p in sorted(EXAMPLES.iterdir()) if p.suffix in (".yaml", ".json")]
    rng = random.Random(17)
    decls += [parse_declaration({"schema": "riskengine/v1", "application": random_declaration(rng)["application"]},
                                source="gen", sha256="sha256:" + "0" * 64) for _ in range(200)]
    for lang in ("en", "zh"):
        for decl in decls:
            doc, text = sealed(assess(decl, kb, Options(lang=lang, run_probes=False)))
            assert text == reference(doc)  # the line batch writes is the sealed assessment's canonical JSON
            assert doc["manifest"]["content_sha256"] == reference_hash(doc) == content_sha256(doc)
            again = json.loads(text)
            assert again == doc and check(again) == (reference_hash(doc), reference_hash(doc))
            again["score"] = again["score"] + 1
            assert check(again)[1] != reference_hash(doc)
