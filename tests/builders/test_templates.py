"""Every config.pbtxt comes from a jinja2 template rendered with StrictUndefined."""

from __future__ import annotations

import jinja2
import pytest

from llmops_builders.repository import render


def test_a_missing_value_fails_instead_of_rendering_empty() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("onnx_python.pbtxt.j2", name="m", max_batch_size=1, instance_count=1, parameters={})


def test_strings_are_escaped_for_protobuf_text() -> None:
    text = render(
        "onnx_python.pbtxt.j2",
        name='we"ird',
        max_batch_size=1,
        max_queue_delay_us=0,
        instance_count=1,
        parameters={"k": 'a\\b"c'},
    )
    assert 'name: "we\\"ird"' in text
    assert 'value: { string_value: "a\\\\b\\"c" }' in text
