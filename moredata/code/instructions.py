"""Instruction templates, grouped by the edit a sample's completion makes, and the check that they match.

The shipped templates are `templates/instructions.json` ({group: [template, ...]}). A group is a sample
kind: `function` (the body after a signature; `rename` samples use it too, since their completion is
the renamed body), `class`, `docstring`, `fallback` (the rest of a file), and one per augmentation
(`strip_comments`, `strip_type_hints`, `add_type_hints`, `plant_bug`, `implement_from_spec`,
`doctest_tests`, `explain`). An instruction comes only from its kind's group, so a sample whose completion
removes comments can never be asked to rename variables; `InstructionBook.mismatches` checks that over a
whole build (the summary's `instruction_kind_mismatches`, which must read 0).

A template may use only `{name}`, `{language}`, `{code_type}` and `{file}` (the file's base name), with no
conversion or format spec; a user file (`--templates`) adds templates to known groups. Both are checked
when the file is read, not when a sample is built. A sample's template is drawn from a generator seeded by
the run seed and the sample's identity (path, kind, name, augmentation, line), whatever the worker.
"""

from __future__ import annotations

import json
import posixpath
import random
import string
from importlib import resources

from moredata.code.languages import CODE_TYPE, DISPLAY
from moredata.errors import InvalidArgument

FIELDS = frozenset({"name", "language", "code_type", "file"})
# sample kind -> the template group its instruction must come from
GROUP_OF_KIND = {"function": "function", "rename": "function", "class": "class", "docstring": "docstring",
                 "fallback": "fallback", "strip_comments": "strip_comments", "strip_type_hints": "strip_type_hints",
                 "add_type_hints": "add_type_hints", "plant_bug": "plant_bug",
                 "implement_from_spec": "implement_from_spec", "doctest_tests": "doctest_tests", "explain": "explain"}
GROUPS = frozenset(GROUP_OF_KIND.values())


def _check(group: str, template: str) -> None:
    if not isinstance(template, str) or not template.strip():
        raise InvalidArgument(f"template for group {group!r} must be a non-empty string")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise InvalidArgument(f"template {template!r} for group {group!r}: {e}") from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS:
            raise InvalidArgument(f"template {template!r} for group {group!r} uses {field!r}; "
                                  f"allowed fields: {sorted(FIELDS)}")
        if spec or conversion:  # `{name:>{width}}` would fail at build time, `{name!z}` too
            raise InvalidArgument(f"template {template!r} for group {group!r}: write plain {{{field}}}, "
                                  f"without a conversion or format spec")


def parse_templates(obj) -> dict[str, list[str]]:
    if not isinstance(obj, dict) or not obj:
        raise InvalidArgument("a template file holds one JSON object: {group: [template, ...]}")
    out = {}
    for group, items in obj.items():
        if group not in GROUPS:
            raise InvalidArgument(f"unknown template group {group!r}; groups (one per sample kind): "
                                  f"{', '.join(sorted(GROUPS))}")
        if not isinstance(items, list) or not items:
            raise InvalidArgument(f"group {group!r} must map to a non-empty list of templates")
        for t in items:
            _check(group, t)
        out[group] = list(items)
    return out


def shipped_templates() -> dict[str, list[str]]:
    text = resources.files("moredata.code").joinpath("templates/instructions.json").read_text("utf-8")
    templates = parse_templates(json.loads(text))
    assert set(templates) == GROUPS, sorted(GROUPS ^ set(templates))  # a kind without templates is a bug here
    return templates


def _fields(kind: str, name: str, language: str, path: str) -> dict[str, str]:
    return {"name": name or posixpath.basename(path), "language": DISPLAY.get(language, language),
            "code_type": CODE_TYPE.get(kind, "function"), "file": posixpath.basename(path)}


class InstructionBook:
    """All templates by group; `instruction(sample, seed)` fills one in reproducibly."""

    def __init__(self, templates: dict[str, list[str]] | None = None):
        self.templates = templates if templates is not None else shipped_templates()

    @classmethod
    def with_user_file(cls, path: str | None) -> "InstructionBook":
        templates = shipped_templates()
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    user = parse_templates(json.load(f))
            except OSError as e:
                raise InvalidArgument(f"cannot read templates file {path}: {e.strerror}") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise InvalidArgument(f"templates file {path} is not JSON: {e}") from None
            for group, items in user.items():
                templates[group] = templates[group] + items
        return cls(templates)

    def __len__(self) -> int:
        return sum(len(v) for v in self.templates.values())

    def instruction(self, sample, seed: int) -> str:
        options = self.templates[GROUP_OF_KIND[sample.kind]]
        key = f"{seed}:{sample.path}:{sample.kind}:{sample.name}:{sample.augmentation}:{sample.start_line}"
        template = random.Random(key).choice(options)
        return template.format(**_fields(sample.kind, sample.name, sample.language, sample.path))

    def mismatches(self, rows: list[dict]) -> int:
        """How many rows carry an instruction that no template of their kind's group gives (must be 0)."""
        bad, cache = 0, {}
        for r in rows:
            group = GROUP_OF_KIND.get(r["kind"])
            if group is None:
                bad += 1
                continue
            key = (group, r["kind"], r["name"], r["language"], r["path"])
            allowed = cache.get(key)
            if allowed is None:
                fields = _fields(r["kind"], r["name"], r["language"], r["path"])
                allowed = cache[key] = {t.format(**fields) for t in self.templates[group]}
            bad += r["instruction"] not in allowed
        return bad
