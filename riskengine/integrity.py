"""Tamper evidence: the sha256 an assessment carries over its own content, and the check of it.

The hash covers the canonical JSON (sorted keys, no whitespace, UTF-8) of everything in the assessment
except `manifest.generated_at` and `manifest.content_sha256`, so two runs on the same inputs carry the same
hash whatever the time, and any edit to the content (a grade, a finding, a number) shows.

The canonical JSON is, byte for byte, what `json.dumps(value, sort_keys=True, ensure_ascii=False,
separators=(",", ":"), default=str)` writes, UTF-8 encoded; `canonical_json` is the only function that
makes it. When orjson is installed (the `batch` extra) it writes the same bytes about six times faster,
and is used wherever its bytes are known to be the same; json.dumps writes the rest:

- orjson refuses what it would write differently (integers beyond 64 bits, dict keys that are not
  text, subclasses of the basic types such as numpy floats, dataclasses, dates, anything else
  json.dumps would turn into text with `default=str`) and json.dumps then writes the value;
- orjson spells floats below 1e-4 differently (`1e-9` and `0.0000751` where Python writes `1e-09`
  and `7.51e-05`): output that may hold one is written by json.dumps too; an orjson whose float
  spelling differs anywhere else is not used at all (checked when this module loads);
- what is left differs only for values no assessment holds: non-finite floats (json.dumps: `NaN`,
  orjson: `null`; probes report none, and a file holding one cannot be read back to be verified) and
  members of a plain Enum.

`seal` encodes an assessment once and gives both its hash and the canonical JSON of the sealed document
(`riskengine batch` writes that as the assessment's line): the content the hash covers is the sealed
document without the two unhashed manifest entries, so the content is not encoded twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

UNHASHED = ("generated_at", "content_sha256")

_stdlib = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode


def _float_spelling_may_differ(out: bytes) -> bool:
    """Whether orjson's output may hold a float that Python spells differently.

    orjson and Python both write the shortest digits that read back as the same float; they differ in
    how they write floats below 1e-4: `0.0000751` and `1e-9` where Python writes `7.51e-05` and
    `1e-09`. Any `0.0000`, or any `e-` between digits, sends the value to json.dumps (text that only
    looks like such a number costs time, never a wrong byte). `_load_orjson` checks that the installed
    orjson differs from Python nowhere else, on floats of every magnitude.
    """
    if b"0.0000" in out:
        return True
    if b"e-" not in out:  # most output: no regex to start
        return False
    for match in _NEGATIVE_EXPONENT.finditer(out):  # a regex finds the pair faster than bytes.find does
        if 0x30 <= out[match.start() - 1] <= 0x39:
            return True
    return False


_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9]")


def _refuse(value: Any) -> Any:
    raise TypeError  # not a basic JSON value: json.dumps decides how it reads


def _load_orjson() -> Any:
    """orjson, if installed and its float spelling differs from Python's only where the test above sees it."""
    try:
        import orjson
    except ImportError:
        return None
    probes = [0.0, -0.0, 0.1, 0.3, 2.5, 9.0, 100.0, 123.456, -1.0 / 3, 2.0 / 3, 0.0001, 0.00012, 1e15, 1e16 - 2,
              1e16, 1.5e16, 1e21, 1e22, 2.0 ** 70, 1.7976931348623157e308, 7.51e-05, 1e-05, 1e-09, -3.25e-07,
              1e-10, 2.5e-300, 5e-324]
    for x in probes:
        fast = orjson.dumps(x)
        if fast != _stdlib(x).encode("utf-8") and not _float_spelling_may_differ(fast):
            return None
    return orjson


_orjson = _load_orjson()
_OPTIONS = 0 if _orjson is None else (_orjson.OPT_SORT_KEYS | _orjson.OPT_PASSTHROUGH_SUBCLASS
                                      | _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS)


def canonical_json(value: Any, floats: bool = True) -> bytes:
    """The canonical JSON of a value, UTF-8: sorted keys, no whitespace, non-ASCII characters as they are.

    `floats=False`: the caller knows the value holds no float (a manifest, validated text), so orjson's output
    is not searched for one (that search costs more than encoding a small value).
    """
    if _orjson is not None:
        try:
            out = _orjson.dumps(value, default=_refuse, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError included
            pass
        else:
            if not floats or not _float_spelling_may_differ(out):
                return out
    return _stdlib(value).encode("utf-8")


def _around(doc: dict[str, Any], key: str) -> tuple[bytes, bytes]:
    """The canonical JSON of `doc`'s entries sorted before `key`, with `"key":` after them, and of those
    sorted after `key`: `canonical_json(doc)` is `head + canonical_json(doc[key]) + tail`."""
    head = canonical_json({k: v for k, v in doc.items() if k < key})[:-1]
    tail = canonical_json({k: v for k, v in doc.items() if k > key})[1:]
    return head + (b"," if len(head) > 1 else b"") + canonical_json(key) + b":", (b"," if len(tail) > 1 else b"") + tail


def _content(assessment: dict[str, Any]) -> tuple[bytes, bytes, str]:
    """The canonical JSON around the manifest (see `_around`), and the hash of the content."""
    head, tail = _around(assessment, "manifest")
    hashed = canonical_json({k: v for k, v in assessment["manifest"].items() if k not in UNHASHED})
    return head, tail, "sha256:" + hashlib.sha256(b"".join((head, hashed, tail))).hexdigest()


def content_sha256(assessment: dict[str, Any]) -> str:
    """Hash of the assessment's content, everything but the time stamp and the hash itself."""
    return _content(assessment)[2]


def seal(assessment: dict[str, Any]) -> bytes:
    """Put the content hash into `assessment["manifest"]`; returns the canonical JSON of the sealed assessment."""
    head, tail = _around(assessment, "manifest")
    return seal_around(head, assessment["manifest"], tail)


def seal_around(head: bytes, manifest: dict[str, Any], tail: bytes) -> bytes:
    """`seal` for an assessment already encoded around its manifest (see `_around`): puts the content hash
    into `manifest` and returns the canonical JSON of the sealed assessment. A manifest holds only text
    (`assess.manifest`: versions, names and hashes)."""
    hashed = canonical_json({k: v for k, v in manifest.items() if k not in UNHASHED}, floats=False)
    digest = hashlib.sha256(head)
    digest.update(hashed)
    digest.update(tail)
    manifest["content_sha256"] = "sha256:" + digest.hexdigest()
    return b"".join((head, canonical_json(manifest, floats=False), tail))


def check(assessment: Any) -> tuple[str | None, str | None]:
    """(stored hash, recomputed hash); the stored one is None when the document carries none."""
    if not isinstance(assessment, dict) or not isinstance(assessment.get("manifest"), dict):
        return None, None
    stored = assessment["manifest"].get("content_sha256")
    if not isinstance(stored, str):
        return None, None
    return stored, content_sha256(assessment)
