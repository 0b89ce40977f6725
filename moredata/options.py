"""Base of every option set a library function takes (`TraceSettings`, `GenerateJob`, `BuildOptions`, ...):
pydantic models, so each bound is written once, beside its field, and checked when the options are made.

    class DedupOptions(Options):
        threshold: float = Field(0.7, gt=0.0, le=1.0)  # Jaccard similarity that makes two samples duplicates

A bad value raises `InvalidArgument` naming the key (`dedup.threshold: Input should be less than or equal
to 1 (got 2.0)`), the project's error, so a CLI prints it as one line and a service answers
INVALID_ARGUMENT; it is also a ValueError for code that catches the built-in kind. Unknown keys are
refused, and option sets are frozen: made once, checked once, then only read (and hashable, picklable).
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from moredata.errors import InvalidArgument
from moredata.settings import first_error


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def __init__(self, **values):
        try:
            super().__init__(**values)
        except ValidationError as e:
            key, text = first_problem(e)
            raise OptionError(key, text) from None


class OptionError(InvalidArgument):
    """A bad option value: `key` is its dotted path ('' for a whole-model check), `text` what is wrong."""

    def __init__(self, key: str, text: str):
        super().__init__(f"{key}: {text}" if key else text)
        self.key, self.text = key, text


def first_problem(e: ValidationError) -> tuple[str, str]:
    """(dotted key, what is wrong, with the value given) of the first problem. pydantic runs a nested
    option set's own __init__, so its OptionError arrives wrapped: its key is joined to the outer one."""
    key, msg, got = first_error(e)
    inner = (e.errors()[0].get("ctx") or {}).get("error")
    if isinstance(inner, OptionError):
        return ".".join(k for k in (key, inner.key) if k), inner.text
    if not key:
        return "", msg
    shown = repr(got)
    return key, f"{msg} (got {shown[:80] + '...' if len(shown) > 80 else shown})"
