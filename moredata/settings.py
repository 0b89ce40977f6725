"""Base for every service's settings: one pydantic-settings class per service, env prefix per service.

    class GeneratorSettings(ServiceSettings):
        model_config = service_config("GENERATOR_")
        redis_url: str = Field("redis://127.0.0.1:6379/0", description="...")

Unknown keys are refused and every field documents its default; `describe()` renders them for --help.
"""
from __future__ import annotations

import difflib
import sys

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from moredata.cli import parse_key_values, setup_logging
from moredata.errors import UserError


def first_error(e: ValidationError) -> tuple[str, str, object]:
    """(dotted key, '' for a whole-model check; message without pydantic's "Value error, " prefix;
    the offending input) of the first problem: what a one-line user error names."""
    err = e.errors()[0]
    return ".".join(str(x) for x in err["loc"]), err["msg"].removeprefix("Value error, "), err.get("input")


def unknown_key_message(key: str, known, what: str = "setting") -> str:
    """"unknown setting 'x' (did you mean 'y'?)": one wording, with a suggestion, for every CLI."""
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} '{key}'{hint}; see --help for the list"


def service_config(env_prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=env_prefix, extra="forbid", validate_default=True, env_file=None)


class ServiceSettings(BaseSettings):
    model_config = service_config("MOREDATA_")

    @classmethod
    def fields_in_reading_order(cls) -> list[str]:
        """The class's own fields in the order written, then those it shares through a mixin
        (pydantic lists inherited fields first, which would scatter the class's own groups)."""
        own = [n for n in cls.model_fields if n in cls.__annotations__]
        return own + [n for n in cls.model_fields if n not in own]

    @classmethod
    def from_flags(cls, argv: list[str]):
        """Settings from `--key=value` flags over `<PREFIX>_KEY` env vars; a UserError names a bad key."""
        extra, values = parse_key_values(argv, cls.model_fields, lambda k: unknown_key_message(k, cls.model_fields))
        if extra:
            raise UserError(f"unexpected argument '{extra[0]}': settings are flags, --key=value")
        try:
            return cls(**values)
        except ValidationError as e:
            key, msg, _ = first_error(e)
            raise UserError(f"setting '{key}': {msg}" if key else msg) from None

    @classmethod
    def help_text(cls, doc: str) -> str:
        """A service's --help: its module docstring, then every setting."""
        return doc.strip() + "\n\nsettings (env var, default, meaning):\n" + cls.describe()

    @classmethod
    def describe(cls) -> str:
        """One line per setting: env variable, default, description."""
        prefix = cls.model_config.get("env_prefix", "")
        return "\n".join(f"  {prefix}{name.upper()}={cls.model_fields[name].default!r}  "
                         f"{cls.model_fields[name].description or ''}".rstrip()
                         for name in cls.fields_in_reading_order())


def start_service(settings_cls: type[ServiceSettings], doc: str, argv: list[str] | None = None):
    """The start of every service's `main`: `--help` prints the command's doc and every setting with its
    default (returns None: nothing to run); otherwise logging is set up and the settings come from the
    environment overridden by `--key=value` flags (a bad one raises UserError: one line, exit code 2)."""
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(settings_cls.help_text(doc))
        return None
    setup_logging()
    return settings_cls.from_flags(argv)
