"""Read YAML or JSON documents that a stranger wrote, without trusting them.

`yaml.safe_load` already refuses tags that build Python objects, but it still
expands aliases (a "billion laughs" document is tiny on disk and huge once
walked), accepts duplicate keys silently and has no depth limit. Declarations
need none of those features, so they are refused outright.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from riskengine.errors import DeclarationError

try:
    import orjson
except ImportError:  # the `batch` extra; without it every JSON document takes the standard parser
    orjson = None

MAX_BYTES = 1_048_576
"""A declaration is a few kilobytes; a megabyte leaves ample room and bounds the work."""
MAX_DEPTH = 16
"""The deepest real declaration nests four levels (probes.robustness.seed)."""


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when present: rule packs are large enough that the pure-Python parser dominates start-up."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading that also refuses duplicate and non-string keys."""

    def __init__(self, stream: str, source: str):
        super().__init__(stream)
        self._source = source

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise _fail(f"keys must be strings, got {key!r}", self._source, key_node.start_mark)
            if key in seen:
                raise _fail(f"duplicate key '{key}'", self._source, key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map)


def _fail(message: str, source: str, mark: Any) -> DeclarationError:
    where = f"line {mark.line + 1}" if mark is not None else None
    return DeclarationError(message, source=source, field=where)


def _prescan(text: str, source: str, max_depth: int) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before any node is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            raise _fail("YAML aliases (*name) are not allowed", source, event.start_mark)
        if getattr(event, "anchor", None):
            raise _fail("YAML anchors (&name) are not allowed", source, event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise _fail(f"nested deeper than {max_depth} levels", source, event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_depth(obj: Any, source: str, max_depth: int, depth: int = 1) -> None:
    if depth > max_depth:
        raise DeclarationError(f"nested deeper than {max_depth} levels", source=source)
    if isinstance(obj, dict):
        for value in obj.values():
            _check_depth(value, source, max_depth, depth + 1)
    elif isinstance(obj, list):
        for value in obj:
            _check_depth(value, source, max_depth, depth + 1)


def _json_pairs(source: str):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise DeclarationError(f"duplicate key '{key}'", source=source)
                seen.add(key)
        return out

    return hook


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


_SLOW = object()


def _fast_json(text: str, max_depth: int) -> Any:
    """The document by orjson when that is surely what the standard parser gives; `_SLOW` otherwise.

    orjson (3-5x faster) keeps the last of duplicate keys silently, turns integers beyond 64 bits into
    floats and has no depth limit. So it is trusted only with a document that holds no float, nests no
    deeper than `max_depth` and holds every key the text can hold: a duplicate key is two keys in the
    text and one in the document, so it never passes. Anything else, every error included, goes to the
    standard parser, which gives the error messages.
    """
    if orjson is None:
        return _SLOW
    try:
        obj = orjson.loads(text)
    except ValueError:
        return _SLOW
    try:
        keys = _plain_keys(obj, max_depth)
    except RecursionError:  # only when max_depth allows hundreds of levels
        return _SLOW
    return obj if keys >= 0 and _no_more_keys(text, keys) else _SLOW


def _no_more_keys(text: str, keys: int) -> bool:
    """Whether the JSON text surely holds no more than `keys` keys, by counting colons.

    Each key is followed by a colon and the only other colons are inside texts, so a text with as many
    colons as keys holds no more. A text with colons in its texts (a time, a URL) has a second chance:
    when no colon follows white space, each key's closing quote touches its colon, so the text holds no
    more keys than `":`, which is rare inside texts (it needs an escaped quote before the colon).
    """
    colons = text.count(":")
    if colons == keys:
        return True
    return text.count('":') == keys and not any(space + ":" in text for space in " \t\r\n")


_LEAVES = frozenset({str, int, bool, type(None)})


def _plain_keys(obj: Any, room: int) -> int:
    """How many keys the mappings in `obj` hold; -1 when it holds a float or nests deeper than `room` levels.

    The depth counts as `_check_depth` does: the document itself is level 1 and a value sits one level
    below the mapping or list holding it. `obj` comes from orjson, so its texts are plain `str`: a list
    that `"".join` takes holds texts only, and is judged without a call per item.
    """
    kind = type(obj)
    if kind is dict:
        count, values = len(obj), obj.values()
    elif kind is list:
        count, values = 0, obj
    else:
        return 0 if room > 0 and kind is not float else -1
    if room <= 1:
        return count if room == 1 and not values else -1
    room -= 1  # the level of the values
    for value in values:
        kind = type(value)
        if kind in _LEAVES:
            continue
        if kind is list and room > 1:  # its items are at a level that may hold values
            try:
                "".join(value)
                continue
            except TypeError:  # not only texts: item by item
                pass
        inner = _plain_keys(value, room)
        if inner < 0:
            return -1
        count += inner
    return count


def parse_text(text: str, source: str, *, json_only: bool = False, max_depth: int = MAX_DEPTH) -> Any:
    """Parse one YAML or JSON document held in memory (JSON is tried first when it looks like JSON)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise DeclarationError("the document is empty", source=source)
    if json_only or stripped[0] in "{[":
        obj = _fast_json(stripped, max_depth)
        if obj is not _SLOW:
            return obj
        try:
            obj = json.loads(stripped, object_pairs_hook=_json_pairs(source), parse_constant=_reject_constant)
        except RecursionError:
            raise DeclarationError(f"nested deeper than {max_depth} levels", source=source) from None
        except json.JSONDecodeError as exc:
            if json_only:
                raise DeclarationError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                                       source=source) from None
            obj = _parse_yaml(stripped, source, max_depth)  # YAML flow mappings look like JSON too
        except ValueError as exc:
            raise DeclarationError(f"not valid JSON: {exc}", source=source) from None
        if stripped.count("{") + stripped.count("[") >= max_depth:  # fewer brackets cannot nest too deep
            _check_depth(obj, source, max_depth)
        return obj
    return _parse_yaml(stripped, source, max_depth)


def _parse_yaml(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    try:
        _prescan(text, source, max_depth)
        loader = _StrictLoader(text, source)
        try:
            node = loader.get_single_node()
            if node is None:
                raise DeclarationError("the document is empty", source=source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except DeclarationError:
        raise
    except yaml.constructor.ConstructorError as exc:
        found = re.search(r"'([^']+)'", exc.problem or "")
        tag = found.group(1) if found else "unknown tag"
        raise _fail(f"YAML tag {tag} is not allowed; declarations hold only plain mappings, lists, strings, "
                    "numbers and booleans", source, exc.problem_mark) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _fail(f"not valid YAML: {problem}", source, getattr(exc, "problem_mark", None)) from None
    except RecursionError:
        raise DeclarationError(f"nested deeper than {max_depth} levels", source=source) from None


def read_bytes(path: Path, source: str, max_bytes: int = MAX_BYTES) -> bytes:
    """Read at most max_bytes, failing with the file named rather than a traceback."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise DeclarationError("no such file", source=source) from None
    except IsADirectoryError:
        raise DeclarationError("is a folder, not a file", source=source) from None
    except OSError as exc:
        raise DeclarationError(f"cannot be read: {exc.strerror}", source=source) from None
    if len(data) > max_bytes:
        raise DeclarationError(f"larger than {max_bytes // 1024} KiB; a declaration is a few kilobytes",
                               source=source)
    return data


def decode_utf8(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeclarationError(f"not valid UTF-8 (invalid byte at offset {exc.start}); save the file as UTF-8",
                               source=source) from None


def load_document(path: Path, source: str | None = None, *, max_depth: int = MAX_DEPTH) -> tuple[Any, bytes]:
    """Read and parse a YAML or JSON file; returns the document and the bytes it came from."""
    source = source or str(path)
    data = read_bytes(path, source)
    if not data.strip():
        raise DeclarationError("the file is empty", source=source)
    text = decode_utf8(data, source)
    return parse_text(text, source, json_only=path.suffix.lower() == ".json", max_depth=max_depth), data
