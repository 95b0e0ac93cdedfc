"""YAML files a person edits, read without the ways YAML can explode.

PyPI's ``yaml.safe_load`` builds no objects, but it still expands aliases: nine levels of
``&a [*b, *b, ...]`` make gigabytes out of a few hundred bytes. A settings file never needs
an alias, so :func:`load_yaml` refuses the first one it meets (before anything is expanded)
and refuses files larger than ``max_bytes``. Errors are one line naming the file and place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_YAML_BYTES", "YamlFileError", "load_yaml", "short_repr"]

MAX_YAML_BYTES = 1 << 20  # a settings file is a few KB; 1 MiB is far past any real one


class YamlFileError(ValueError):
    """A YAML file that cannot be read: too large, not YAML, or using an alias."""


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about user values."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}… ({len(text)} chars)"


def _loader() -> type:

    class NoAliasLoader(yaml.SafeLoader):
        """The safe loader, refusing aliases (``*name``) where it meets them."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"the alias *{event.anchor} is not allowed here (write the value out)",
                    event.start_mark,
                )
            return super().compose_node(parent, index)

    return NoAliasLoader


def load_yaml(path: str | Path, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """The document in ``path`` (``None`` when empty), read as the module docstring says.

    Raises:
        YamlFileError: the file is larger than ``max_bytes``, is not YAML, or uses an alias.
        OSError: the file cannot be read.
    """

    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise YamlFileError(
            f"{path} is {size:,} bytes, more than the {max_bytes:,} a settings file may have"
        )
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"{path} is not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise YamlFileError(f"{path} is not valid YAML{where}: {problem}") from None
