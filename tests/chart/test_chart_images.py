"""The chart's images.* values: documented defaults equal to the operator's pins, the schema's patterns equal to
the operator's, and a ConfigMap the operator itself accepts, mounted where its argument says."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from llmops.planning import imageconfig, images
from llmops.planning.conversionconfig import parse_conversion_config
from llmops.planning.imageconfig import ImageConfig, PullPolicy, parse_image_config
from tests.chart.chart import CHART, Obj, mounted_config, one, render

VALUES_TEXT = (CHART / "values.yaml").read_text()
SCHEMA = json.loads((CHART / "values.schema.json").read_text())["properties"]["images"]
KEYS = [field.alias for field in ImageConfig.model_fields.values()]


def _images_config(objects: list[Obj]) -> tuple[str, ImageConfig]:
    """The file the operator container is told to read, from the rendered ConfigMap, and the operator's parse."""
    configmaps = {c["metadata"]["name"]: c for c in objects if c["kind"] == "ConfigMap"}
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    text = mounted_config(pod, "--images-config", configmaps.get)
    return text, parse_image_config(yaml.safe_load(text))


def _documented_defaults() -> dict[str, str]:
    """`key: ""` lines under images:, each with the `Default: X` of the comment above it."""
    block = VALUES_TEXT.split("\nimages:\n", 1)[1].split("\n\n", 1)[0]
    found = re.findall(r"#[^\n]*Default: (\S+)\n  (\w+): \"\"", block)
    return {key: default for default, key in found}


def test_values_list_every_key_of_the_operator_configuration_empty() -> None:
    assert yaml.safe_load(VALUES_TEXT)["images"] == dict.fromkeys(KEYS, "")
    assert list(SCHEMA["properties"]) == KEYS


def test_documented_defaults_are_the_operator_pins() -> None:
    expected = {image.value: images.DEFAULTS[image] for image in images.Image}
    assert _documented_defaults() == expected | {"pullPolicy": PullPolicy.IF_NOT_PRESENT.value}
    assert images.NIM.split("/", 1)[1] in VALUES_TEXT  # the registry example shows a real default


def test_schema_patterns_are_the_operators() -> None:
    assert SCHEMA["properties"]["registry"]["pattern"] == f"^(?:{imageconfig.MIRROR}/?)?$"
    assert SCHEMA["properties"]["pullPolicy"]["enum"] == ["", *PullPolicy]
    for image in images.Image:
        assert SCHEMA["properties"][image.value]["pattern"] == f"^(?:{imageconfig.REFERENCE})?$", image


def test_defaults_render_an_empty_configuration_the_operator_reads_as_its_pins(helm: str) -> None:
    text, config = _images_config(render(helm))
    assert text == "{}\n" and config == ImageConfig()


def test_set_values_reach_the_operator_and_empty_ones_stay_out(helm: str) -> None:
    objects = render(
        helm,
        "--set", "images.registry=registry.local:5000",
        "--set", "images.pullPolicy=Never",
        "--set", "images.vllm=registry.local:5000/ai/vllm:v0.11.0-fixed",
        "--set", "images.nim=",
    )  # fmt: skip
    text, config = _images_config(objects)
    assert yaml.safe_load(text) == {
        "registry": "registry.local:5000",
        "pullPolicy": "Never",
        "vllm": "registry.local:5000/ai/vllm:v0.11.0-fixed",
    }
    assert config.reference(images.Image.NIM) == "registry.local:5000/nim/nvidia/llm-nim:2.0.13"
    assert config.reference(images.Image.VLLM) == "registry.local:5000/ai/vllm:v0.11.0-fixed"
    assert config.pull_policy is PullPolicy.NEVER


def test_a_changed_configuration_rolls_the_operator_pod(helm: str) -> None:
    def checksums(*args: str) -> dict[str, str]:
        annotations = one(render(helm, *args), "Deployment")["spec"]["template"]["metadata"]["annotations"]
        return {k: v for k, v in annotations.items() if k.startswith("checksum/")}

    default = checksums()
    assert set(default) == {"checksum/images", "checksum/conversion"}
    assert checksums("--set", "operator.verbose=true") == default
    assert checksums("--set", "images.registry=registry.local:5000")["checksum/images"] != default["checksum/images"]
    moved = checksums("--set", "conversion.hubEndpoint=https://hf-mirror.example.com")
    assert moved["checksum/conversion"] != default["checksum/conversion"]
    annotated = one(render(helm, "--set-string", "podAnnotations.a=b"), "Deployment")
    assert annotated["spec"]["template"]["metadata"]["annotations"] == {**default, "a": "b"}


def test_the_conversion_values_reach_the_operator_as_it_parses_them(helm: str) -> None:
    toleration = {"key": "builds", "operator": "Exists", "effect": "NoSchedule"}
    objects = render(
        helm, "--set", "conversion.hubEndpoint=https://hf-mirror.example.com",
        "--set-json", 'conversion.nodeSelector={"pool":"builds"}',
        "--set-json", f"conversion.tolerations=[{json.dumps(toleration)}]",
    )  # fmt: skip
    configmaps = {c["metadata"]["name"]: c for c in objects if c["kind"] == "ConfigMap"}
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    config = parse_conversion_config(yaml.safe_load(mounted_config(pod, "--conversion-config", configmaps.get)))
    assert config.hub_endpoint == "https://hf-mirror.example.com" and config.node_selector == {"pool": "builds"}
    assert [t.to_api() for t in config.tolerations] == [toleration]
    empty = render(helm)
    default_pod = one(empty, "Deployment")["spec"]["template"]["spec"]
    default_maps = {c["metadata"]["name"]: c for c in empty if c["kind"] == "ConfigMap"}
    assert yaml.safe_load(mounted_config(default_pod, "--conversion-config", default_maps.get)) == {}


def test_airgapped_scenario(helm: str) -> None:
    _, config = _images_config(render(helm, values=[CHART / "ci" / "airgapped-values.yaml"]))
    assert config.reference(images.Image.GGUF_BUILDER) == "registry.local:5000/platform/gguf-builder:0.1.0-patched"
    assert all(config.reference(image).startswith("registry.local:5000/") for image in images.Image)


@pytest.mark.parametrize("name", ["x" * 63, "llmops"])
def test_configmap_name_fits_whatever_the_release_name(helm: str, name: str) -> None:
    objects = render(helm, "--set", f"fullnameOverride={name}")
    names = sorted(c["metadata"]["name"] for c in objects if c["kind"] == "ConfigMap")
    assert len(names) == 2 and all(len(n) <= 63 for n in names)
    assert names[0].endswith("-conversion") and names[1].endswith("-images")
    _images_config(objects)
