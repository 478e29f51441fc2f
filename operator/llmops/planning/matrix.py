"""The seed's compatibility tables (../shared/seed/inference-runtimes.md), transcribed as data.

Three tables: which runtime supports which format (and how well), which format is what, and which
hardware class gets which path. The planner reads only these; tests walk every row.
"""

from dataclasses import dataclass
from enum import StrEnum

from llmops.api.enums import Accelerator, ModelFormat, Runtime


class Support(StrEnum):
    """A cell of the seed's "Which runtime supports which format?" table."""

    YES = "yes"  # ✅ Yes
    NEEDS_CONVERT = "needs-convert"  # ⚠️ Needs convert
    AUTO_CONVERT = "auto-convert"  # ✅ (auto convert)
    SOME_MODELS = "some-models"  # ✅ Yes (some models)
    LIMITED = "limited"  # ❌ Limited
    NO = "no"  # ❌ No


# Seed table, verbatim, for the runtimes llmops deploys. Columns: safetensors, gguf, onnx, tensorrt-engine.
SEED_RUNTIME_FORMATS: dict[Runtime, dict[ModelFormat, Support]] = {
    Runtime.VLLM: {
        ModelFormat.SAFETENSORS: Support.YES,
        ModelFormat.GGUF: Support.NO,
        ModelFormat.ONNX: Support.LIMITED,
        ModelFormat.TENSORRT_ENGINE: Support.NO,
    },
    Runtime.TENSORRT_LLM: {
        ModelFormat.SAFETENSORS: Support.NEEDS_CONVERT,
        ModelFormat.GGUF: Support.NO,
        ModelFormat.ONNX: Support.NO,
        ModelFormat.TENSORRT_ENGINE: Support.YES,
    },
    Runtime.NIM: {
        ModelFormat.SAFETENSORS: Support.AUTO_CONVERT,
        ModelFormat.GGUF: Support.NO,
        ModelFormat.ONNX: Support.SOME_MODELS,
        ModelFormat.TENSORRT_ENGINE: Support.YES,
    },
    Runtime.TRITON: {
        ModelFormat.SAFETENSORS: Support.YES,
        ModelFormat.GGUF: Support.NO,
        ModelFormat.ONNX: Support.YES,
        ModelFormat.TENSORRT_ENGINE: Support.YES,
    },
    Runtime.LLAMA_CPP: {
        ModelFormat.SAFETENSORS: Support.NO,
        ModelFormat.GGUF: Support.YES,
        ModelFormat.ONNX: Support.NO,
        ModelFormat.TENSORRT_ENGINE: Support.NO,
    },
}


@dataclass(frozen=True)
class Served:
    """A format llmops deploys a runtime with, and why (where it narrows the seed)."""

    format: ModelFormat
    note: str


# What llmops actually renders per runtime: a subset of the seed's "yes" cells, narrowed where upstream
# moved on since the seed was written. Every entry must be a non-NO cell of SEED_RUNTIME_FORMATS (tested).
SERVED_FORMATS: dict[Runtime, tuple[Served, ...]] = {
    Runtime.VLLM: (
        Served(ModelFormat.SAFETENSORS, "vLLM serves Hugging Face checkpoints directly"),
        Served(ModelFormat.PYTORCH, "vLLM also loads .bin Hugging Face checkpoints"),
    ),
    Runtime.TENSORRT_LLM: (
        Served(
            ModelFormat.SAFETENSORS,
            "trtllm-serve's PyTorch backend serves the Hugging Face checkpoint with no engine build "
            "(the seed's 'needs convert' predates it)",
        ),
    ),
    Runtime.NIM: (
        Served(
            ModelFormat.SAFETENSORS,
            "NIM 2.x builds its own optimized profile from the Hugging Face checkpoint; an engine from another "
            "TensorRT-LLM version would not load, so llmops never hands NIM a prebuilt engine",
        ),
    ),
    Runtime.TRITON: (
        Served(ModelFormat.TENSORRT_ENGINE, "Triton's TensorRT-LLM backend serves the engine"),
        Served(ModelFormat.ONNX, "a Triton Python-backend model runs ONNX Runtime with a generation loop"),
    ),
    Runtime.LLAMA_CPP: (Served(ModelFormat.GGUF, "llama-server serves GGUF"),),
}


@dataclass(frozen=True)
class FormatFacts:
    """A row of the seed's "5 main types of LLM model files" table."""

    example_file: str
    what: str
    origin: str
    runs_on: tuple[str, ...]


SEED_FORMATS: dict[ModelFormat, FormatFacts] = {
    ModelFormat.PYTORCH: FormatFacts(
        "pytorch_model.bin", "Raw weights", "Hugging Face, Meta releases",
        ("vLLM", "PyTorch", "Transformers", "Triton", "TensorRT-LLM (after conversion)"),
    ),
    ModelFormat.GGUF: FormatFacts(
        "model.Q4_K_M.gguf", "Quantized CPU/GPU format", "llama.cpp community",
        ("llama.cpp", "Ollama", "koboldcpp", "LM Studio"),
    ),
    ModelFormat.ONNX: FormatFacts(
        "model.onnx", "Framework-agnostic graph format", "Export tools, ONNX Runtime",
        ("ONNX Runtime", "Triton Inference Server"),
    ),
    ModelFormat.TENSORRT_ENGINE: FormatFacts(
        "model.plan", "Optimized GPU execution engine", "TensorRT-LLM build step",
        ("TensorRT Runtime", "NIM", "Triton Server", "trtllm-infer"),
    ),
    ModelFormat.SAFETENSORS: FormatFacts(
        "model-0001-of-0002.safetensors", "Safe, memory-mapped HF weights", "Hugging Face",
        ("vLLM", "Transformers"),
    ),
}  # fmt: skip


class Tier(StrEnum):
    """Rows of the seed's "Which path should we use?" table (plus api.md's split of data-center GPUs)."""

    DATACENTER = "datacenter"  # H100 / A100 GPU server (enterprise)
    DATACENTER_OTHER = "datacenter-other"  # L40S / L4 / A10G
    CONSUMER = "consumer"  # Single GPU consumer cards (4090 / 4080)
    CPU = "cpu"  # CPU only
    EDGE = "edge"  # Laptop / mobile


@dataclass(frozen=True)
class PathRule:
    """Default runtime and served format for a tier, with the seed row it comes from."""

    runtime: Runtime
    format: ModelFormat
    seed_row: str


HARDWARE_PATHS: dict[Tier, PathRule] = {
    Tier.DATACENTER: PathRule(
        Runtime.TRITON, ModelFormat.TENSORRT_ENGINE, "H100 / A100 GPU server (enterprise) → TensorRT-LLM / NIM"
    ),
    Tier.DATACENTER_OTHER: PathRule(
        Runtime.VLLM, ModelFormat.SAFETENSORS, "other data-center GPUs → vLLM (api.md; TensorRT-LLM if asked)"
    ),
    Tier.CONSUMER: PathRule(Runtime.VLLM, ModelFormat.SAFETENSORS, "Single GPU consumer cards (4090 / 4080) → vLLM"),
    Tier.CPU: PathRule(Runtime.TRITON, ModelFormat.ONNX, "CPU only → ONNX Runtime"),
    Tier.EDGE: PathRule(Runtime.LLAMA_CPP, ModelFormat.GGUF, "Laptop / mobile → GGUF + llama.cpp"),
}

# The seed's conversion flows: how to get from a source format to a served one.
CONVERSIONS: dict[tuple[ModelFormat, ModelFormat], tuple[ModelFormat, ...]] = {
    (ModelFormat.SAFETENSORS, ModelFormat.TENSORRT_ENGINE): (
        ModelFormat.TENSORRT_CHECKPOINT, ModelFormat.TENSORRT_ENGINE,
    ),
    (ModelFormat.PYTORCH, ModelFormat.TENSORRT_ENGINE): (
        ModelFormat.TENSORRT_CHECKPOINT, ModelFormat.TENSORRT_ENGINE,
    ),
    (ModelFormat.SAFETENSORS, ModelFormat.ONNX): (ModelFormat.ONNX,),
    (ModelFormat.PYTORCH, ModelFormat.ONNX): (ModelFormat.ONNX,),
    (ModelFormat.SAFETENSORS, ModelFormat.GGUF): (ModelFormat.GGUF,),
    (ModelFormat.PYTORCH, ModelFormat.GGUF): (ModelFormat.GGUF,),
}  # fmt: skip

# Runtimes that need an NVIDIA GPU at all (the engine itself and NIM are CUDA-only).
NVIDIA_ONLY_RUNTIMES = frozenset({Runtime.TENSORRT_LLM, Runtime.NIM, Runtime.VLLM})

# Which accelerator classes may use which tiers' paths; auto picks from this order (best first).
ACCELERATOR_PREFERENCE: tuple[Accelerator, ...] = (
    Accelerator.H200, Accelerator.H100, Accelerator.A100, Accelerator.L40S, Accelerator.RTX4090,
    Accelerator.L4, Accelerator.A10G, Accelerator.RTX3090, Accelerator.RTX4080, Accelerator.CPU, Accelerator.EDGE,
)  # fmt: skip
