"""Triton model repositories for the built artifacts: each config.pbtxt rendered from jinja2."""

from __future__ import annotations

import json
from typing import Any

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("llmops_builders.repository", "templates"),
    # A missing value must fail the build, never render as an empty string into a config.
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Protobuf text format accepts JSON's double-quoted escapes for the strings we emit.
_ENV.filters["pbstr"] = lambda value: json.dumps(str(value))


def render(template: str, **values: Any) -> str:
    """Render one template from templates/ with strict undefined checking."""
    return _ENV.get_template(template).render(**values)
