"""Batch defaults per runtime and class (vLLM's own scheduler unless asked, llama.cpp slots of a whole context),
and the scaling signal that follows from them."""

from typing import Any

import pytest

from llmops.api.enums import Accelerator, Runtime, ScalingMetric
from llmops.api.resource import parse_spec
from llmops.planning.batching import ENGINE_BATCH, LLAMA_CPP_SLOTS, batch_size
from llmops.planning.facts import ClusterFacts
from llmops.planning.hardware import PROFILES
from llmops.planning.planner import Plan, PlanError, plan
from tests.unit.test_render import render_object


def serving(runtime: str, accelerator: str, **optimization: Any) -> tuple[list[str], Any]:
    obj = {
        "apiVersion": "llmops.dev/v1alpha1",
        "kind": "LLMDeployment",
        "metadata": {"name": "m"},
        "spec": {
            "model": {"source": "hf://org/Model-8B"},
            "hardware": {"accelerator": accelerator},
            "runtime": runtime,
            "optimization": optimization,
        },
    }
    state = render_object(obj)
    deployment = next(o for o in state.objects if o["kind"] == "Deployment")
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["args"]), state.plan


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


@pytest.mark.parametrize("accelerator", ["h200", "h100", "l4", "rtx4090"])
def test_vllm_keeps_its_own_scheduler_unless_the_user_sets_a_batch(accelerator: str) -> None:
    args, plan = serving("vllm", accelerator)
    assert "--max-num-seqs" not in args and plan.batch_size is None
    args, _ = serving("vllm", accelerator, maxBatchSize=48)
    assert flag(args, "--max-num-seqs") == "48"


@pytest.mark.parametrize("accelerator", ["h200", "l40s", "rtx3090", "cpu", "edge"])
def test_llama_cpp_gives_every_slot_the_whole_request_budget(accelerator: str) -> None:
    args, _plan = serving("llama-cpp", accelerator, maxInputLength=3000, maxOutputLength=1000)
    slots = LLAMA_CPP_SLOTS[PROFILES[Accelerator(accelerator)].tier]
    assert flag(args, "--parallel") == str(slots)
    # llama-server splits --ctx-size over the slots: each request must still get 4000 tokens.
    assert int(flag(args, "--ctx-size") or 0) // slots == 4000
    args, _ = serving("llama-cpp", accelerator, maxBatchSize=3, maxInputLength=3000, maxOutputLength=1000)
    assert (flag(args, "--parallel"), flag(args, "--ctx-size")) == ("3", "12000")


def test_engines_get_a_batch_for_their_class_baked_into_the_key() -> None:
    _, h100 = serving("triton", "h100")
    assert h100.batch_size == ENGINE_BATCH[PROFILES[Accelerator.H100].tier] == 256
    _, explicit = serving("triton", "h100", maxBatchSize=256)
    assert explicit.artifact_key == h100.artifact_key  # the default is the same engine as asking for it
    _, other = serving("triton", "h100", maxBatchSize=16)
    assert other.artifact_key != h100.artifact_key


def test_every_class_has_a_default_for_every_runtime_but_vllm() -> None:
    for profile in PROFILES.values():
        for runtime in Runtime:
            expected_none = runtime is Runtime.VLLM
            assert (batch_size(runtime, profile, None) is None) is expected_none
            assert batch_size(runtime, profile, 7) == 7


def scaling_of(runtime: str, accelerator: str, autoscaling: dict[str, Any], **optimization: Any) -> Any:
    raw = {
        "model": {"source": "hf://org/Model-8B"},
        "hardware": {"accelerator": accelerator},
        "runtime": runtime,
        "optimization": optimization,
        "autoscaling": {"enabled": True, **autoscaling},
    }
    return plan(parse_spec(raw), ClusterFacts())


def test_vllm_scales_on_running_requests_when_its_scheduler_is_unbounded() -> None:
    unbounded = scaling_of("vllm", "h200", {})
    assert isinstance(unbounded, Plan)
    assert unbounded.scaling.metric is ScalingMetric.REQUESTS_RUNNING
    assert (unbounded.scaling.signal and unbounded.scaling.signal.metric) == "vllm:num_requests_running"
    assert unbounded.scaling.target == "32"
    capped = scaling_of("vllm", "h200", {}, maxBatchSize=8)  # a full batch queues the rest: waiting moves
    assert isinstance(capped, Plan) and capped.scaling.metric is ScalingMetric.REQUESTS_WAITING
    llama = scaling_of("llama-cpp", "rtx3090", {})  # slots are bounded: the deferred queue is the signal
    assert isinstance(llama, Plan) and llama.scaling.metric is ScalingMetric.REQUESTS_WAITING


def test_a_running_requests_target_above_the_batch_is_refused() -> None:
    refused = scaling_of("vllm", "h200", {"metric": "requests-running"}, maxBatchSize=8)
    assert isinstance(refused, PlanError) and refused.rule == "target-unreachable"
    assert "autoscaling.target 32" in refused.message and "optimization.maxBatchSize 8" in refused.message
    accepted = scaling_of("vllm", "h200", {"metric": "requests-running", "target": "6"}, maxBatchSize=8)
    assert isinstance(accepted, Plan) and accepted.scaling.target == "6"
    unsupported = scaling_of("llama-cpp", "rtx3090", {"metric": "requests-running"})
    assert isinstance(unsupported, PlanError) and unsupported.rule == "metric-unsupported"
