"""Instruction templates: grouped by task, filled with the sample's name, language and code type.

The shipped templates are `templates/instructions.json` ({task: [template, ...]}); a user file in the same
format adds templates to a task or new tasks. A template may use only `{name}`, `{language}` and
`{code_type}`: anything else is refused when the file is read, not when a sample is built.
The choice is reproducible: a sample's template is drawn from a generator seeded by the run seed and the
sample's identity (path, kind, name, augmentation, line), whatever the worker that builds it.
"""

from __future__ import annotations

import json
import random
import string
from importlib import resources

from moredata.code.languages import CODE_TYPE, DISPLAY
from moredata.errors import InvalidArgument

FIELDS = frozenset({"name", "language", "code_type"})


def _check(task: str, template: str) -> None:
    if not isinstance(template, str) or not template.strip():
        raise InvalidArgument(f"template for task {task!r} must be a non-empty string")
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as e:
        raise InvalidArgument(f"template {template!r} for task {task!r}: {e}") from None
    unknown = names - FIELDS
    if unknown:
        raise InvalidArgument(f"template {template!r} for task {task!r} uses {sorted(unknown)}; "
                              f"allowed fields: {sorted(FIELDS)}")


def parse_templates(obj) -> dict[str, list[str]]:
    if not isinstance(obj, dict) or not obj:
        raise InvalidArgument("a template file holds one JSON object: {task: [template, ...]}")
    out = {}
    for task, items in obj.items():
        if not isinstance(items, list) or not items:
            raise InvalidArgument(f"task {task!r} must map to a non-empty list of templates")
        for t in items:
            _check(task, t)
        out[str(task)] = list(items)
    return out


def shipped_templates() -> dict[str, list[str]]:
    text = resources.files("moredata.code").joinpath("templates/instructions.json").read_text("utf-8")
    return parse_templates(json.loads(text))


class InstructionBook:
    """All templates by task; `instruction(sample, seed)` fills one in reproducibly."""

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
            except json.JSONDecodeError as e:
                raise InvalidArgument(f"templates file {path} is not JSON: {e}") from None
            for task, items in user.items():
                templates.setdefault(task, [])
                templates[task] = templates[task] + items
        return cls(templates)

    def __len__(self) -> int:
        return sum(len(v) for v in self.templates.values())

    def instruction(self, sample, seed: int) -> str:
        options = self.templates.get(sample.task) or self.templates["function_completion"]
        key = f"{seed}:{sample.path}:{sample.kind}:{sample.name}:{sample.augmentation}:{sample.start_line}"
        template = random.Random(key).choice(options)
        return template.format(name=sample.name or "this code", language=DISPLAY.get(sample.language, sample.language),
                               code_type=CODE_TYPE.get(sample.kind, "function"))
