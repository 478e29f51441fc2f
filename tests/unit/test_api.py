"""The API models: defaults, unknown fields refused, every error names its field path."""

import pytest

from llmops.api.enums import Accelerator, Quantization, Runtime
from llmops.api.resource import SpecError, parse_resource, parse_spec

MINIMAL = {"model": {"source": "hf://org/model"}}


def test_minimal_spec_gets_the_documented_defaults() -> None:
    spec = parse_spec(MINIMAL)
    assert spec.model.revision == "main"
    assert spec.hardware.accelerator is Accelerator.AUTO
    assert spec.runtime is Runtime.AUTO
    assert spec.optimization.quantization is Quantization.AUTO
    assert (spec.optimization.max_batch_size, spec.optimization.max_input_length) == (None, 4096)
    assert spec.serving.replicas == 1
    assert (spec.autoscaling.enabled, spec.autoscaling.min_replicas, spec.autoscaling.max_replicas) == (False, 1, 4)
    assert spec.monitoring.enabled is True


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"model": {"source": "hf://a/b", "tokn": {}}}, "spec.model.tokn"),
        ({"model": {"source": "s3://bucket/x"}}, "spec.model.source"),
        ({**MINIMAL, "hardware": {"accelerator": "tpu"}}, "spec.hardware.accelerator"),
        ({**MINIMAL, "hardware": {"tolerations": [{"effect": "Sometimes"}]}}, "spec.hardware.tolerations[0].effect"),
        ({**MINIMAL, "optimization": {"tensorParallelSize": 0}}, "spec.optimization.tensorParallelSize"),
        (
            {
                **MINIMAL,
                "serving": {
                    "env": [{"name": "A", "value": "1", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
                },
            },
            "spec.serving.env[0]",
        ),
        ({**MINIMAL, "autoscaling": {"minReplicas": 5, "maxReplicas": 2}}, "spec.autoscaling"),
        ({**MINIMAL, "hardware": {"accelerator": "cpu", "gpus": 1}}, "spec.hardware"),
        ({**MINIMAL, "storage": {"size": "lots"}}, "spec.storage.size"),
        ({**MINIMAL, "extra": True}, "spec.extra"),
    ],
)
def test_bad_input_names_the_field_path(raw: dict[str, object], path: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert any(problem.startswith(path + ":") for problem in caught.value.problems), caught.value.problems


def test_cross_field_rule_message_is_actionable() -> None:
    with pytest.raises(SpecError, match=r"minReplicas must be less than or equal to autoscaling\.maxReplicas"):
        parse_spec({**MINIMAL, "autoscaling": {"minReplicas": 5, "maxReplicas": 2}})


def test_resource_checks_kind_and_metadata_name() -> None:
    with pytest.raises(SpecError, match=r"^kind"):
        parse_resource({"kind": "Deployment", "metadata": {"name": "x"}, "spec": MINIMAL})
    with pytest.raises(SpecError, match=r"metadata\.name"):
        parse_resource({"metadata": {"name": "Not_A_Name"}, "spec": MINIMAL})


def test_spec_round_trips_in_api_casing() -> None:
    raw = {**MINIMAL, "optimization": {"maxBatchSize": 16}, "serving": {"resources": {"limits": {"cpu": 4}}}}
    dumped = parse_spec(raw).to_api()
    assert dumped["optimization"]["maxBatchSize"] == 16
    assert dumped["serving"]["resources"]["limits"]["cpu"] == 4
    assert parse_spec(dumped) == parse_spec(raw)
