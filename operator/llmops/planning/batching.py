"""Concurrent sequences per replica: the user's maxBatchSize, else the runtime's own default for the class."""

from typing import Final

from llmops.api.enums import Runtime
from llmops.planning.hardware import Profile
from llmops.planning.matrix import Tier

# llama-server slots: each slot holds a whole request's context (--ctx-size is slots x per-request length), so the
# count is bounded by the KV cache a card of the class can spare, not by the runtime.
LLAMA_CPP_SLOTS: Final[dict[Tier, int]] = {
    Tier.DATACENTER: 32,
    Tier.DATACENTER_OTHER: 16,
    Tier.CONSUMER: 8,
    Tier.CPU: 4,
    Tier.EDGE: 2,
}

# Static batch of an engine or a Triton model configuration: baked into the artifact, so sized per class.
ENGINE_BATCH: Final[dict[Tier, int]] = {
    Tier.DATACENTER: 256,
    Tier.DATACENTER_OTHER: 64,
    Tier.CONSUMER: 32,
    Tier.CPU: 8,
    Tier.EDGE: 4,
}


def batch_size(runtime: Runtime, profile: Profile, requested: int | None) -> int | None:
    """The batch the runtime is given; None leaves it to vLLM's scheduler, which sizes max_num_seqs to the GPU
    (a fixed small cap made an 836 M and a 13 M model run at the same rate on an H200, bench/gpu/results)."""
    if requested is not None:
        return requested
    if runtime is Runtime.VLLM:
        return None
    if runtime is Runtime.LLAMA_CPP:
        return LLAMA_CPP_SLOTS[profile.tier]
    return ENGINE_BATCH[profile.tier]
