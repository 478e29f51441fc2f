"""The CRD: generated from the models, committed, structural, explained, validated, printable, scalable."""

from pathlib import Path
from typing import Any

import yaml

from llmops.api.crd import crd, crd_yaml

COMMITTED = Path(__file__).resolve().parents[2] / "crds" / "llmdeployments.llmops.dev.yaml"


def schema() -> dict[str, Any]:
    version = crd()["spec"]["versions"][0]
    return dict(version["schema"]["openAPIV3Schema"])


def walk(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)]
    for name, prop in node.get("properties", {}).items():
        found += walk(prop, f"{path}.{name}")
    if "items" in node:
        found += walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        found += walk(node["additionalProperties"], f"{path}{{}}")
    return found


def test_committed_crd_equals_generated() -> None:
    assert COMMITTED.read_text() == crd_yaml(), "run: llmops crd --write crds/llmdeployments.llmops.dev.yaml"


def test_every_property_has_a_description() -> None:
    for path, node in walk(schema()):
        if path and path != ".metadata" and not path.endswith(("[]", "}")):
            assert node.get("description"), f"{path} has no description"


def test_schema_is_structural() -> None:
    for path, node in walk(schema()):
        assert not {"$ref", "anyOf", "oneOf", "allOf", "title", "$defs"} & node.keys(), path
        assert node.get("additionalProperties") is not False, path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path} has no type"
    root = schema()["properties"]
    assert "x-kubernetes-preserve-unknown-fields" not in root["spec"]
    assert "x-kubernetes-preserve-unknown-fields" not in root["status"]


def test_defaults_and_enums_are_in_the_schema() -> None:
    spec = schema()["properties"]["spec"]["properties"]
    assert spec["runtime"]["default"] == "auto"
    assert "llama-cpp" in spec["runtime"]["enum"]
    assert spec["hardware"]["properties"]["accelerator"]["enum"][0] == "auto"
    assert "default" not in spec["optimization"]["properties"]["maxBatchSize"]  # unset: the runtime decides
    # an omitted section defaults to its own filled-in defaults (CEL rules are checked against it)
    assert spec["autoscaling"]["default"] == {
        "enabled": False, "minReplicas": 1, "maxReplicas": 4, "metric": "auto", "target": "",
        "scaleDownStabilizationSeconds": 300,
    }  # fmt: skip
    assert "default" not in spec["model"]["properties"]["tokenSecretRef"]


def test_cel_rules_carry_actionable_messages() -> None:
    rules = {
        path: node["x-kubernetes-validations"] for path, node in walk(schema()) if "x-kubernetes-validations" in node
    }
    messages = " | ".join(r["message"] for group in rules.values() for r in group)
    assert "gpus must be 0" in messages
    assert "minReplicas must be less than or equal" in messages
    assert "existingClaim is immutable" in messages
    assert "runtime-needs-nvidia-gpu" in messages
    assert any("oldSelf" in r["rule"] for group in rules.values() for r in group)


def test_names_columns_and_subresources() -> None:
    spec = crd()["spec"]
    assert spec["names"]["shortNames"] == ["llmd"]
    assert spec["names"]["categories"] == ["llmops"]
    version = spec["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Accelerator", "Runtime", "Format", "Phase", "Ready", "Replicas", "Age",
    ]  # fmt: skip
    assert version["subresources"]["status"] == {}
    assert version["subresources"]["scale"] == {
        "specReplicasPath": ".spec.serving.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    assert schema()["properties"]["status"]["properties"]["selector"]["type"] == "string"


def test_crd_yaml_parses_and_fits_an_annotation() -> None:
    text = crd_yaml()
    assert yaml.safe_load(text)["kind"] == "CustomResourceDefinition"
    assert len(text.encode()) < 262144  # client-side apply's last-applied annotation limit
