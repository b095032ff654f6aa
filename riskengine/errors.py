"""One root error, so the CLI can map every bad input to exit code 2 with one line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RiskEngineError(Exception):
    """Bad input or usage: the CLI prints `error: <message>` and exits 2, with no traceback."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 hint: str | None = None):
        self.message = message
        self.source = source
        self.field = field
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        parts = [p for p in (self.source, self.field) if p]
        text = ": ".join(parts + [self.message])
        if self.hint:
            text += f" ({self.hint})"
        return text


class DeclarationError(RiskEngineError):
    """A declaration file that cannot be read or does not follow `riskengine/v1`."""


class DeclarationErrors(DeclarationError):
    """Every problem found in one declaration, so `validate` can report them all at once."""

    def __init__(self, errors: list[DeclarationError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, source=first.source, field=first.field, hint=first.hint)

    def format(self) -> str:  # the first error stands for the whole set on one line
        return super().format() + (f" (and {len(self.errors) - 1} more)" if len(getattr(self, "errors", [])) > 1
                                   else "")


class RulePackError(RiskEngineError):
    """A rule pack, cases file or scenario norm that cannot be loaded."""


class ModelLoadError(RiskEngineError):
    """A model or data file that cannot be loaded safely or does not match the declaration."""


class OutputError(RiskEngineError):
    """An output location that riskengine refuses to write to."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelled name, or None when nothing is close."""
    match = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None
