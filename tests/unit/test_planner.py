"""The planner, table-driven from every row of the seed's tables, plus property tests."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops.api.enums import Accelerator, DType, ModelFormat, Quantization, Runtime, ScalingMetric, SourceFormat
from llmops.api.resource import SpecError, parse_spec
from llmops.planning.facts import ClusterFacts, NodePool
from llmops.planning.hardware import PROFILES, class_of_product
from llmops.planning.matrix import (
    CONVERSIONS,
    HARDWARE_PATHS,
    SEED_FORMATS,
    SEED_RUNTIME_FORMATS,
    SERVED_FORMATS,
    Support,
    Tier,
)
from llmops.planning.planner import Plan, PlanError, plan

NO_FACTS = ClusterFacts()


def spec(**fields: Any) -> Any:
    raw: dict[str, Any] = {"model": {"source": fields.pop("source", "hf://org/Model-8B")}}
    if "format" in fields:
        raw["model"]["format"] = fields.pop("format")
    raw["hardware"] = {"accelerator": fields.pop("accelerator", "h100")}
    if "gpus" in fields:
        raw["hardware"]["gpus"] = fields.pop("gpus")
    raw.update(fields)
    return parse_spec(raw)


def accepted(result: Plan | PlanError) -> Plan:
    assert isinstance(result, Plan), str(result)
    return result


def refused(result: Plan | PlanError, rule: str) -> PlanError:
    assert isinstance(result, PlanError), f"expected refusal by {rule}, got a plan"
    assert result.rule == rule, str(result)
    return result


# --- "Which path should we use?" (one row per tier, every class of the tier) ---------------------------


@pytest.mark.parametrize("accelerator", [a for a in Accelerator if a is not Accelerator.AUTO])
def test_hardware_path_row_gives_default_runtime_and_format(accelerator: Accelerator) -> None:
    row = HARDWARE_PATHS[PROFILES[accelerator].tier]
    result = accepted(plan(spec(accelerator=accelerator.value), NO_FACTS))
    assert (result.runtime, result.format) == (row.runtime, row.format)
    assert row.seed_row in result.reason


def test_every_tier_has_a_path_and_every_class_a_profile() -> None:
    assert set(HARDWARE_PATHS) == set(Tier)
    assert set(PROFILES) == set(Accelerator) - {Accelerator.AUTO}


# --- "Which runtime supports which format?" (every cell) ----------------------------------------------

CELLS = [(r, f, s) for r, row in SEED_RUNTIME_FORMATS.items() for f, s in row.items()]


@pytest.mark.parametrize(("runtime", "fmt", "support"), CELLS, ids=str)
def test_seed_cell_is_honoured(runtime: Runtime, fmt: ModelFormat, support: Support) -> None:
    served = {s.format for s in SERVED_FORMATS[runtime]}
    if support in (Support.NO, Support.LIMITED):
        assert fmt not in served, f"llmops serves {fmt} with {runtime} although the seed says {support}"
    accelerator = "h100" if runtime is not Runtime.LLAMA_CPP else "edge"
    source = {ModelFormat.GGUF: "pvc://m/x.gguf", ModelFormat.ONNX: "pvc://m/x.onnx",
              ModelFormat.TENSORRT_ENGINE: "pvc://m/engine", ModelFormat.SAFETENSORS: "hf://o/m"}[fmt]  # fmt: skip
    result = plan(spec(source=source, format=fmt.value, runtime=runtime.value, accelerator=accelerator), NO_FACTS)
    if support is Support.NO and not any(CONVERSIONS.get((fmt, s)) for s in served):
        refused(result, "runtime-format-unsupported")
    elif fmt in served:
        chosen = accepted(result)
        assert chosen.format is fmt and not chosen.conversion


@pytest.mark.parametrize(("runtime", "served"), [(r, s) for r, ss in SERVED_FORMATS.items() for s in ss])
def test_served_formats_are_seed_supported(runtime: Runtime, served: Any) -> None:
    cell = SEED_RUNTIME_FORMATS[runtime].get(
        ModelFormat.SAFETENSORS if served.format is ModelFormat.PYTORCH else served.format
    )
    assert cell not in (Support.NO, Support.LIMITED, None)
    assert served.note


@pytest.mark.parametrize("fmt", list(SEED_FORMATS))
def test_format_table_rows_are_transcribed(fmt: ModelFormat) -> None:
    facts = SEED_FORMATS[fmt]
    assert facts.example_file and facts.runs_on


# --- the seed's conversion flows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accelerator", "expected"),
    [
        ("h100", [("safetensors", "tensorrt-checkpoint"), ("tensorrt-checkpoint", "tensorrt-engine")]),
        ("cpu", [("safetensors", "onnx")]),
        ("edge", [("safetensors", "gguf")]),
        ("rtx4090", []),
    ],
)
def test_conversion_flows(accelerator: str, expected: list[tuple[str, str]]) -> None:
    result = accepted(plan(spec(accelerator=accelerator), NO_FACTS))
    assert [(a.value, b.value) for a, b in result.conversion] == expected


# --- refusals name their rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"source": "pvc://m/model.gguf", "runtime": "vllm", "accelerator": "rtx4090"}, "runtime-format-unsupported"),
        ({"source": "pvc://m/model.onnx", "runtime": "llama-cpp", "accelerator": "cpu"}, "runtime-format-unsupported"),
        ({"accelerator": "a100", "optimization": {"quantization": "fp8"}}, "fp8-needs-hopper-or-ada"),
        ({"accelerator": "rtx3090", "optimization": {"quantization": "fp8"}}, "fp8-needs-hopper-or-ada"),
        ({"accelerator": "cpu", "runtime": "tensorrt-llm"}, "runtime-needs-nvidia-gpu"),
        ({"accelerator": "edge", "runtime": "nim"}, "runtime-needs-nvidia-gpu"),
        ({"accelerator": "cpu", "runtime": "vllm"}, "runtime-needs-nvidia-gpu"),
        ({"accelerator": "cpu", "source": "pvc://m/engine", "format": "tensorrt-engine"}, "engine-needs-nvidia-gpu"),
        ({"accelerator": "h100", "optimization": {"quantization": "q4_k_m"}}, "quantization-format-mismatch"),
        ({"accelerator": "edge", "optimization": {"quantization": "int4-awq"}}, "quantization-format-mismatch"),
        (
            {
                "accelerator": "rtx4090",
                "runtime": "llama-cpp",
                "source": "pvc://m/x.gguf",
                "optimization": {"quantization": "q8_0"},
            },
            "quantization-needs-conversion",
        ),
        ({"accelerator": "cpu", "optimization": {"dtype": "bfloat16"}}, "dtype-unsupported"),
        ({"accelerator": "cpu", "optimization": {"tensorParallelSize": 2}}, "parallelism-needs-gpus"),
        ({"accelerator": "h100", "gpus": 2, "optimization": {"tensorParallelSize": 4}}, "parallelism-mismatch"),
        ({"accelerator": "edge", "autoscaling": {"enabled": True, "metric": "queue-time"}}, "metric-unsupported"),
        ({"accelerator": "h100", "runtime": "nim", "autoscaling": {"metric": "kv-cache"}}, "metric-unsupported"),
        ({"accelerator": "auto"}, "accelerator-auto-needs-nodes"),
    ],
)
def test_contradictions_are_refused_with_their_rule(fields: dict[str, Any], rule: str) -> None:
    error = refused(plan(spec(**fields), NO_FACTS), rule)
    assert error.message and not error.retryable


def pools(*entries: tuple[Accelerator, int]) -> ClusterFacts:
    return ClusterFacts(pools={a: NodePool(a, 1, g, frozenset()) for a, g in entries})


def test_auto_picks_the_best_class_present() -> None:
    facts = pools((Accelerator.CPU, 0), (Accelerator.RTX4090, 1), (Accelerator.A100, 8))
    assert accepted(plan(spec(accelerator="auto"), facts)).accelerator is Accelerator.A100
    assert accepted(plan(spec(accelerator="auto"), pools((Accelerator.EDGE, 0)))).accelerator is Accelerator.EDGE


def test_auto_skips_pools_without_enough_gpus() -> None:
    facts = pools((Accelerator.RTX4090, 1), (Accelerator.A100, 8))
    tp4 = spec(accelerator="auto", optimization={"tensorParallelSize": 4})
    assert accepted(plan(tp4, facts)).accelerator is Accelerator.A100
    refused(plan(tp4, pools((Accelerator.RTX4090, 1))), "no-matching-nodes")


def test_missing_class_and_too_many_gpus_are_retryable() -> None:
    facts = pools((Accelerator.H100, 8))
    assert refused(plan(spec(accelerator="a100"), facts), "no-matching-nodes").retryable
    big = spec(accelerator="h100", gpus=16, optimization={"tensorParallelSize": 16})
    assert refused(plan(big, facts), "gpus-exceed-node").retryable


def test_gpu_product_labels_map_to_classes() -> None:
    assert class_of_product("NVIDIA-H100-80GB-HBM3") is Accelerator.H100
    assert class_of_product("NVIDIA-A100-SXM4-40GB") is Accelerator.A100
    assert class_of_product("NVIDIA-L4") is Accelerator.L4
    assert class_of_product("NVIDIA-L40S") is Accelerator.L40S
    assert class_of_product("NVIDIA-GeForce-RTX-4090") is Accelerator.RTX4090
    assert class_of_product("Tesla-T4") is None


def test_quantization_defaults() -> None:
    assert accepted(plan(spec(accelerator="h100"), NO_FACTS)).quantization is Quantization.FP8
    assert accepted(plan(spec(accelerator="a100"), NO_FACTS)).quantization is Quantization.NONE
    assert accepted(plan(spec(accelerator="edge"), NO_FACTS)).quantization is Quantization.Q4_K_M
    assert accepted(plan(spec(accelerator="edge", optimization={"quantization": "none"}), NO_FACTS)).quantization is (
        Quantization.F16
    )


# --- artifact key ---------------------------------------------------------------------------------------


def key_of(**fields: Any) -> str:
    return accepted(plan(spec(**fields), NO_FACTS)).artifact_key


def test_key_depends_on_what_changes_the_bytes() -> None:
    base = key_of(accelerator="h100")
    assert key_of(accelerator="h100") == base
    plain = {"quantization": "none"}
    assert key_of(accelerator="a100", optimization=plain) != key_of(accelerator="h100", optimization=plain)  # sm_80/90
    assert key_of(accelerator="h100", optimization={"maxBatchSize": 16}) != base  # baked into the engine
    assert key_of(accelerator="h100", source="hf://org/Other-8B") != base
    assert key_of(accelerator="h100", serving={"replicas": 3}) == base  # serving-only
    vllm = key_of(accelerator="rtx4090")
    assert key_of(accelerator="rtx4090", optimization={"maxBatchSize": 64}) == vllm  # runtime flag for vLLM
    assert key_of(accelerator="l40s") == vllm  # the same checkpoint, on any GPU
    resolved = accepted(plan(spec(accelerator="h100"), ClusterFacts(resolved_revision="a" * 40))).artifact_key
    assert resolved != base


# --- properties ------------------------------------------------------------------------------------------

spec_strategy = st.fixed_dictionaries(
    {
        "model": st.fixed_dictionaries(
            {
                "source": st.sampled_from(
                    ["hf://o/m", "hf://o/Big-70B", "pvc://c/m.gguf", "pvc://c/m.onnx", "pvc://c/e"]
                ),
                "format": st.sampled_from([f.value for f in SourceFormat]),
            }
        ),
        "hardware": st.fixed_dictionaries({"accelerator": st.sampled_from([a.value for a in Accelerator])}),
        "runtime": st.sampled_from([r.value for r in Runtime]),
        "optimization": st.fixed_dictionaries(
            {
                "quantization": st.sampled_from([q.value for q in Quantization]),
                "dtype": st.sampled_from([d.value for d in DType]),
                "tensorParallelSize": st.sampled_from([1, 2, 8]),
                "maxBatchSize": st.integers(1, 256),
            }
        ),
        "autoscaling": st.fixed_dictionaries({"metric": st.sampled_from([m.value for m in ScalingMetric])}),
    }
)
facts_strategy = st.sampled_from(
    [NO_FACTS, pools((Accelerator.H100, 8), (Accelerator.CPU, 0)), pools((Accelerator.EDGE, 0)), pools()]
)


@settings(max_examples=400, deadline=None)
@given(raw=spec_strategy, facts=facts_strategy)
def test_no_accepted_plan_serves_a_format_its_runtime_does_not(raw: dict[str, Any], facts: ClusterFacts) -> None:
    try:
        parsed = parse_spec(raw)
    except SpecError:
        return
    result = plan(parsed, facts)
    if isinstance(result, PlanError):
        assert result.rule and result.message
        return
    assert result.format in {s.format for s in SERVED_FORMATS[result.runtime]}
    cell = SEED_RUNTIME_FORMATS[result.runtime].get(
        ModelFormat.SAFETENSORS if result.format is ModelFormat.PYTORCH else result.format
    )
    assert cell not in (Support.NO, Support.LIMITED)
    if (
        result.runtime in (Runtime.TENSORRT_LLM, Runtime.NIM, Runtime.VLLM)
        or result.format is ModelFormat.TENSORRT_ENGINE
    ):
        assert result.profile.is_nvidia_gpu
    if result.quantization is Quantization.FP8:
        assert result.profile.supports_fp8
    # equal inputs give equal keys
    again = plan(parse_spec(raw), facts)
    assert isinstance(again, Plan) and again.artifact_key == result.artifact_key
