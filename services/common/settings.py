"""Base for every service's settings: one pydantic-settings class per service, env prefix per service.

    class GeneratorSettings(ServiceSettings):
        model_config = service_config("GENERATOR_")
        redis_url: str = Field("redis://127.0.0.1:6379/0", description="...")

Unknown keys are refused and every field documents its default; `describe()` renders them for --help.
"""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


def service_config(env_prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=env_prefix, extra="forbid", validate_default=True, env_file=None)


class ServiceSettings(BaseSettings):
    model_config = service_config("MOREDATA_")

    @classmethod
    def describe(cls) -> str:
        """One line per setting: env variable, default, description."""
        prefix = cls.model_config.get("env_prefix", "")
        return "\n".join(f"  {prefix}{name.upper()}={f.default!r}  {f.description or ''}".rstrip()
                         for name, f in cls.model_fields.items())
