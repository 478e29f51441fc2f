"""Does the model fit? Memory per GPU (or per CPU replica) for the planned format, before any GPU time is spent.

weights   = parameters x bytes per parameter of the served quantization (embeddings and output head stay at
            16 bits under fp8/int8/int4-awq), or the checkpoint's own bytes when it is served as is,
            divided by tensorParallelSize x pipelineParallelSize
kv        = 2 x layers x KV heads x head size x 2 bytes (fp16 KV cache) per token, times maxInputLength +
            maxOutputLength tokens for one full-length sequence, divided by the same GPUs
usable    = the class's memory per GPU x the runtime's usable fraction (vLLM's gpu_memory_utilization 0.92,
            TensorRT-LLM's KV fraction 0.9, llama.cpp 0.95), or the pod's memory limit x 0.9 on cpu/edge
fits when weights + RUNTIME_OVERHEAD + kv <= usable; sequences = (usable - weights - overhead) / kv
"""

from dataclasses import dataclass, replace
from typing import Final

from llmops.api.enums import Quantization, Runtime
from llmops.planning.hardware import Profile
from llmops.planning.modelfacts import DTYPE_BYTES, ModelFacts

GIB: Final = 1024**3

# Bits per weight of each quantization; GGUF K-quants mix block types (llama.cpp's quantize reports ~4.85 bpw
# for Q4_K_M and ~5.69 for Q5_K_M on Llama models), int4-awq carries a 16-bit scale and zero per 128 weights.
BITS_PER_WEIGHT: Final[dict[Quantization, float]] = {
    Quantization.FP8: 8.0,
    Quantization.INT8: 8.0,
    Quantization.INT4_AWQ: 4.25,
    Quantization.Q4_K_M: 4.85,
    Quantization.Q5_K_M: 5.69,
    Quantization.Q8_0: 8.5,
    Quantization.F16: 16.0,
}
# Quantizers that leave the embeddings and the output head at 16 bits (GGUF quantizes them too).
KEEPS_EMBEDDINGS: Final = frozenset({Quantization.FP8, Quantization.INT8, Quantization.INT4_AWQ})

USABLE_FRACTION: Final[dict[Runtime, float]] = {
    Runtime.VLLM: 0.92,  # vLLM's default gpu_memory_utilization (its own log on an H200: 0.92)
    Runtime.TRITON: 0.90,  # TensorRT-LLM's kv_cache_free_gpu_memory_fraction default
    Runtime.TENSORRT_LLM: 0.90,
    Runtime.NIM: 0.90,
    Runtime.LLAMA_CPP: 0.95,
}
CPU_USABLE_FRACTION: Final = 0.9
# Activations, CUDA graphs, the CUDA context and the runtime's own buffers, per GPU (vLLM 0.26 on an H200 left
# 1.3 GiB of its budget to these for a 0.84 B model; larger hidden sizes need more).
RUNTIME_OVERHEAD_GIB: Final[dict[Runtime, float]] = {
    Runtime.VLLM: 2.0,
    Runtime.TRITON: 2.0,
    Runtime.TENSORRT_LLM: 2.0,
    Runtime.NIM: 2.0,
    Runtime.LLAMA_CPP: 0.5,
}


@dataclass(frozen=True)
class Fit:
    """The estimate for one replica's device (a GPU, or the pod's memory on cpu/edge)."""

    weights_bytes: int
    kv_bytes_per_sequence: int
    overhead_bytes: int
    usable_bytes: int
    devices: int

    @property
    def fits(self) -> bool:
        """One full-length sequence fits next to the weights."""
        return self.sequences >= 1

    @property
    def sequences(self) -> int:
        """How many full-length sequences the KV cache holds."""
        free = self.usable_bytes - self.weights_bytes - self.overhead_bytes
        return max(0, free // self.kv_bytes_per_sequence) if self.kv_bytes_per_sequence else 0

    def describe(self) -> str:
        """The numbers, per device."""
        where = f"on each of {self.devices} GPUs" if self.devices > 1 else "per device"
        return (
            f"{self.weights_bytes / GIB:.1f} GiB of weights + {self.overhead_bytes / GIB:.1f} GiB runtime + "
            f"{self.kv_bytes_per_sequence / GIB:.2f} GiB KV cache for one full-length sequence {where}, "
            f"{self.usable_bytes / GIB:.1f} GiB usable"
        )


def weights_bytes(model: ModelFacts, quantization: Quantization) -> int:
    """The served weights' bytes: the checkpoint's own when served unquantized, else from the parameter count."""
    bits = BITS_PER_WEIGHT.get(quantization)
    if bits is None:
        if model.weight_bytes:
            return model.weight_bytes
        return model.parameters * DTYPE_BYTES.get(model.dtype, 2)
    if quantization in KEEPS_EMBEDDINGS:
        rest = model.parameters - model.embedding_parameters
        return int(rest * bits / 8) + model.embedding_parameters * 2
    return int(model.parameters * bits / 8)


@dataclass(frozen=True)
class Placement:
    """What is served where: the runtime and quantization, the class, one sequence's tokens, GPUs per replica."""

    runtime: Runtime
    profile: Profile
    quantization: Quantization
    sequence_tokens: int
    parallel: int = 1  # GPUs a replica's weights and KV cache are split over (1 on cpu/edge and for llama.cpp)
    cpu_memory_bytes: int | None = None  # the pod's memory limit, on cpu/edge

    def but(self, **changes: object) -> "Placement":
        """The same placement with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def estimate(model: ModelFacts, where: Placement) -> Fit:
    """Memory per device for serving MODEL as WHERE says."""
    devices = max(1, where.parallel)
    if where.profile.is_nvidia_gpu:
        usable = int(where.profile.gpu_memory_gib * GIB * USABLE_FRACTION.get(where.runtime, 0.9))
    else:
        usable = int((where.cpu_memory_bytes or 0) * CPU_USABLE_FRACTION)
    return Fit(
        weights_bytes=weights_bytes(model, where.quantization) // devices,
        kv_bytes_per_sequence=model.kv_bytes_per_token() * where.sequence_tokens // devices,
        overhead_bytes=int(RUNTIME_OVERHEAD_GIB.get(where.runtime, 1.0) * GIB),
        usable_bytes=usable,
        devices=devices,
    )


def _smaller_quantizations(runtime: Runtime, profile: Profile, current: Quantization) -> list[Quantization]:
    """Quantizations the runtime serves on this class with fewer bits per weight than CURRENT."""
    if runtime is Runtime.LLAMA_CPP:
        offered = [Quantization.Q8_0, Quantization.Q5_K_M, Quantization.Q4_K_M]
    elif runtime in (Runtime.TRITON, Runtime.TENSORRT_LLM):
        offered = [Quantization.FP8, Quantization.INT8, Quantization.INT4_AWQ]
    elif runtime is Runtime.VLLM:
        offered = [Quantization.FP8]
    else:
        offered = []
    if Quantization.FP8 in offered and not profile.supports_fp8:
        offered.remove(Quantization.FP8)
    bits = BITS_PER_WEIGHT.get(current, 16.0)
    return [q for q in offered if BITS_PER_WEIGHT[q] < bits]


def alternatives(model: ModelFacts, where: Placement, others: list[Profile]) -> list[str]:
    """What would fit instead, as spec changes: a quantization, more tensor-parallel GPUs, a class, a context."""
    found: list[str] = []
    profile = where.profile
    for q in _smaller_quantizations(where.runtime, profile, where.quantization):
        if estimate(model, where.but(quantization=q)).fits:
            found.append(f"optimization.quantization {q.value}")
            break
    if profile.is_nvidia_gpu and where.runtime is not Runtime.LLAMA_CPP:
        more = (n for n in (2, 4, 8, 16) if n > where.parallel and estimate(model, where.but(parallel=n)).fits)
        tp = next(more, None)
        if tp:
            found.append(f"optimization.tensorParallelSize {tp} ({tp} GPUs per replica)")
    bigger = [p for p in others if p.is_nvidia_gpu and estimate(model, where.but(profile=p)).fits]
    if profile.is_nvidia_gpu and bigger:
        found.append(f"hardware.accelerator {min(bigger, key=lambda p: p.gpu_memory_gib).accelerator.value}")
    fit = estimate(model, where)
    free = fit.usable_bytes - fit.weights_bytes - fit.overhead_bytes
    per_token = fit.kv_bytes_per_sequence / max(1, where.sequence_tokens)
    if free > 0 and per_token:
        tokens = int(free / per_token) // 256 * 256
        if tokens >= 256:
            found.append(f"maxInputLength + maxOutputLength <= {tokens}")
    if not profile.is_nvidia_gpu:
        need = fit.weights_bytes + fit.overhead_bytes + fit.kv_bytes_per_sequence
        found.append(f"serving.resources.limits.memory >= {int(need / CPU_USABLE_FRACTION / GIB) + 1}Gi")
    return found
