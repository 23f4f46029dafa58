"""Loading YAML into pydantic models with every error pointing at its YAML line.

Used for the site config (edge/site.py) and the assessment scheme (server/assessment/scheme.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: str, env: dict[str, str] | None = None) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; unknown variables stay as written."""
    env = os.environ if env is None else env

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        return default if default is not None else m.group(0)

    return _ENV_RE.sub(sub, value)


class ConfigError(Exception):
    """A config file failed to load; ``problems`` lists (yaml path, line, message)."""

    def __init__(self, path: str, problems: list[tuple[str, int | None, str]]):
        self.path = path
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.path}: {len(self.problems)} error(s)"]
        for loc, line, msg in self.problems:
            where = f"{self.path}:{line}" if line else self.path
            lines.append(f"  {where}: {loc or '<root>'}: {msg}")
        return "\n".join(lines)


def _compose_with_lines(text: str, path: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML keeping the 1-based line of every mapping key and sequence item."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(path, [("", mark.line + 1 if mark else None, f"YAML syntax error: {exc}")]) from None
    lines: dict[tuple, int] = {}

    def walk(node: Any, loc: tuple) -> Any:
        lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out = {}
            for k, v in node.value:
                key = k.value
                out[key] = walk(v, loc + (key,))
                lines[loc + (key,)] = k.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(v, loc + (i,)) for i, v in enumerate(node.value)]
        loader = yaml.SafeLoader("")
        return loader.construct_object(node, deep=True)

    if root is None:
        return {}, lines
    return walk(root, ()), lines


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def load_yaml_model(
    path: str | os.PathLike[str],
    model: type[M],
    context_of: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> M:
    """Load a YAML file into a pydantic model; raise ConfigError listing every problem with its YAML line.

    ``context_of(data)`` may supply a validation context computed from the raw data.
    """
    from pydantic import ValidationError

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [("", None, f"cannot read file: {exc}")]) from None
    data, lines = _compose_with_lines(text, str(p))
    if not isinstance(data, dict):
        raise ConfigError(str(p), [("", 1, "top level must be a mapping")])
    try:
        return model.model_validate(data, context=context_of(data) if context_of else None)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
            problems.append((".".join(str(x) for x in loc), _line_for(loc, lines), err["msg"]))
        raise ConfigError(str(p), problems) from None
