"""The fit preflight: parameters and weight bytes against published figures, and the plans it refuses or allows."""

from pathlib import Path
from typing import Any

import pytest

from llmops.api.enums import Accelerator, Quantization, Runtime
from llmops.api.resource import parse_spec
from llmops.modelinfo import from_directory
from llmops.planning.facts import ClusterFacts, NodePool
from llmops.planning.fit import GIB, weights_bytes
from llmops.planning.modelfacts import ModelFacts
from llmops.planning.planner import Plan, PlanError, plan

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"
TOLERANCE = 0.10  # of a published size; the parameter count itself within 0.1 %

# Published figures. Parameters: the model cards / safetensors metadata. Bytes: the Hugging Face file listings of
# the checkpoint (bf16), the FP8 and AWQ-INT4 conversions (neuralmagic/*-FP8, hugging-quants/*-AWQ-INT4) and
# bartowski's Q4_K_M GGUFs; None where no such conversion is published.
PUBLISHED: dict[str, dict[str, Any]] = {
    "Llama-3.1-8B-Instruct": {"parameters": 8_030_261_248, "kv_per_token": 131_072,
                              "bytes": {"none": 16.06e9, "fp8": 9.08e9, "int4-awq": 5.73e9, "q4_k_m": 4.92e9}},
    "Llama-3.1-70B-Instruct": {"parameters": 70_553_706_496, "kv_per_token": 327_680,
                               "bytes": {"none": 141.1e9, "fp8": 72.7e9, "int4-awq": 39.8e9, "q4_k_m": 42.5e9}},
    "Mistral-7B-Instruct-v0.3": {"parameters": 7_248_023_552, "kv_per_token": 131_072,
                                 "bytes": {"none": 14.5e9, "fp8": None, "int4-awq": None, "q4_k_m": 4.37e9}},
    "Qwen2.5-1.5B-Instruct": {"parameters": 1_543_714_304, "kv_per_token": 28_672,
                              "bytes": {"none": 3.09e9, "fp8": None, "int4-awq": None, "q4_k_m": 0.986e9}},
    "Phi-3-mini-4k-instruct": {"parameters": 3_821_079_552, "kv_per_token": 393_216,
                               "bytes": {"none": 7.64e9, "fp8": None, "int4-awq": None, "q4_k_m": 2.39e9}},
}  # fmt: skip


def model(name: str) -> ModelFacts:
    return from_directory(MODELS / name)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameters_and_kv_cache_per_token_match_the_published_figures(name: str) -> None:
    facts, published = model(name), PUBLISHED[name]
    assert facts.parameters == pytest.approx(published["parameters"], rel=1e-3)
    assert facts.kv_bytes_per_token() == published["kv_per_token"]


@pytest.mark.parametrize(
    ("name", "quantization"),
    [(n, q) for n, p in PUBLISHED.items() for q, size in p["bytes"].items() if size is not None],
)
def test_weight_bytes_match_published_checkpoints(name: str, quantization: str) -> None:
    published = PUBLISHED[name]["bytes"][quantization]
    estimated = weights_bytes(model(name), Quantization(quantization))
    assert estimated == pytest.approx(published, rel=TOLERANCE), f"{estimated / 1e9:.2f} GB"


def planned(name: str, pools: dict[Accelerator, NodePool] | None = None, **fields: Any) -> Plan | PlanError:
    raw: dict[str, Any] = {"model": {"source": f"hf://org/{name}"}, "hardware": fields.pop("hardware")}
    raw.update(fields)
    return plan(parse_spec(raw), ClusterFacts(pools=pools, model=model(name)))


def test_70b_on_one_rtx4090_is_refused_with_the_numbers() -> None:
    refused = planned("Llama-3.1-70B-Instruct", hardware={"accelerator": "rtx4090"})
    assert isinstance(refused, PlanError) and refused.rule == "model-does-not-fit"
    message = refused.message
    assert "70.55 B parameters" in message and "does not fit rtx4090" in message
    assert "131.4 GiB of weights" in message and "22.1 GiB usable" in message, message
    assert "optimization.tensorParallelSize 8" in message and "hardware.fitCheck: disabled" in message


def test_70b_fp8_on_two_h100s_and_8b_on_the_rtx4090_are_accepted() -> None:
    fp8 = planned("Llama-3.1-70B-Instruct", hardware={"accelerator": "h100", "gpus": 2},
                  optimization={"quantization": "fp8", "tensorParallelSize": 2})  # fmt: skip
    assert isinstance(fp8, Plan) and fp8.fit is not None and fp8.fit.devices == 2
    assert fp8.fit.weights_bytes / GIB == pytest.approx(33.8, abs=0.5)
    small = planned("Llama-3.1-8B-Instruct", hardware={"accelerator": "rtx4090"})
    assert isinstance(small, Plan) and small.runtime is Runtime.VLLM and small.fit is not None
    # 22.1 GiB usable - 15.0 GiB weights - 2 GiB runtime, over 0.625 GiB per 5,120-token sequence
    assert small.fit.sequences == 8


def test_a_batch_larger_than_the_kv_cache_holds_is_refused() -> None:
    refused = planned("Llama-3.1-8B-Instruct", hardware={"accelerator": "rtx4090"}, optimization={"maxBatchSize": 64})
    assert isinstance(refused, PlanError) and refused.rule == "model-does-not-fit"
    assert "optimization.maxBatchSize 64 full-length sequences do not fit: 8 do" in refused.message
    assert isinstance(planned("Llama-3.1-8B-Instruct", hardware={"accelerator": "rtx4090"},
                              optimization={"maxBatchSize": 8}), Plan)  # fmt: skip


def test_llama_cpp_slots_shrink_to_what_the_card_holds() -> None:
    long = {"maxInputLength": 30000, "maxOutputLength": 2000}  # 32,000 tokens: 9.8 GiB of KV cache each
    slots = planned("Llama-3.1-70B-Instruct", hardware={"accelerator": "h200"}, runtime="llama-cpp", optimization=long)
    assert isinstance(slots, Plan) and slots.fit is not None
    assert slots.batch_size == slots.fit.sequences == 9  # not the class default of 32: those would not fit
    short = planned("Llama-3.1-70B-Instruct", hardware={"accelerator": "h200"}, runtime="llama-cpp")
    assert isinstance(short, Plan) and short.batch_size == 32


def test_cpu_checks_the_pods_memory_limit() -> None:
    refused = planned("Llama-3.1-8B-Instruct", hardware={"accelerator": "cpu"})
    assert isinstance(refused, PlanError) and "serving.resources.limits.memory >=" in refused.message
    roomy = planned("Llama-3.1-8B-Instruct", hardware={"accelerator": "cpu"},
                    serving={"resources": {"limits": {"memory": "64Gi"}}})  # fmt: skip
    assert isinstance(roomy, Plan)


def test_auto_picks_only_a_class_the_model_fits() -> None:
    pools = {
        Accelerator.RTX4080: NodePool(Accelerator.RTX4080, nodes=1, max_gpus_per_node=1),
        Accelerator.CPU: NodePool(Accelerator.CPU, nodes=1, max_gpus_per_node=0),
    }
    roomy = {"resources": {"limits": {"memory": "64Gi"}}}
    picked = planned("Llama-3.1-8B-Instruct", pools, hardware={"accelerator": "auto"}, serving=roomy)
    assert isinstance(picked, Plan) and picked.accelerator is Accelerator.CPU  # 16 GB 4080: 16 GB of weights
    small = planned("Qwen2.5-1.5B-Instruct", pools, hardware={"accelerator": "auto"})
    assert isinstance(small, Plan) and small.accelerator is Accelerator.RTX4080
    none = planned("Llama-3.1-70B-Instruct", pools, hardware={"accelerator": "auto"})
    assert isinstance(none, PlanError) and none.rule == "model-does-not-fit"
    assert "rtx4080:" in none.message and "cpu:" in none.message


def test_the_check_can_be_disabled_and_is_skipped_without_facts() -> None:
    trusted = planned("Llama-3.1-70B-Instruct", hardware={"accelerator": "rtx4090", "fitCheck": "disabled"})
    assert isinstance(trusted, Plan) and trusted.fit is None
    unknown = plan(parse_spec({"model": {"source": "hf://org/m"}, "hardware": {"accelerator": "rtx4090"}}),
                   ClusterFacts())  # fmt: skip
    assert isinstance(unknown, Plan) and unknown.fit is None
