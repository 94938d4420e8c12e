"""The Jinja2 environment of the report: templates from the installed package (``importlib.resources``),
HTML autoescaping always on, so every text from the data (district names, labels, notes) is escaped."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape


def _load(name: str) -> tuple[str, None, Any]:
    """A template's source read with importlib.resources (works from a wheel, not only a checkout)."""
    res = resources.files("reports").joinpath("templates", *name.split("/"))
    return res.read_text(encoding="utf-8"), None, lambda: True


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The shared environment: autoescape for every template (also ``.css`` included into pages)."""
    return Environment(
        loader=FunctionLoader(_load),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: Any) -> str:
    """Render template ``name`` (a path under ``reports/templates``)."""
    return environment().get_template(name).render(**context)


def resource_text(name: str) -> str:
    """A raw file under ``reports/templates`` (the CSS), not rendered."""
    return _load(name)[0]
