"""Hardware profiles: GPU product labels → accelerator class, memory, compute capability, tier."""

import re
from dataclasses import dataclass

from llmops.api.enums import Accelerator
from llmops.planning.matrix import Tier

GPU_RESOURCE = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
CLASS_LABEL = "llmops.dev/accelerator"
GPU_TAINT_KEY = "nvidia.com/gpu"


@dataclass(frozen=True)
class Profile:
    """What llmops needs to know about an accelerator class."""

    accelerator: Accelerator
    tier: Tier
    gpu_memory_gib: int  # per GPU; 0 for cpu/edge
    compute_capability: tuple[int, int] | None  # None: not an NVIDIA GPU
    architecture: str  # hopper, ampere, ada, or cpu
    product_pattern: str  # matches nvidia.com/gpu.product values of this class
    example_product: str

    @property
    def is_nvidia_gpu(self) -> bool:
        """True for NVIDIA GPU classes."""
        return self.compute_capability is not None

    @property
    def sm(self) -> str:
        """The CUDA SM architecture tag engines are built for (an engine only runs on its own SM)."""
        if self.compute_capability is None:
            return "none"
        major, minor = self.compute_capability
        return f"sm_{major}{minor}"

    @property
    def supports_fp8(self) -> bool:
        """FP8 tensor cores exist from compute capability 8.9 (Ada) and 9.0 (Hopper)."""
        return self.compute_capability is not None and self.compute_capability >= (8, 9)


PLANNED_RESOURCES: dict[str, dict[str, str]] = {
    # Per replica on CPU classes; GPU classes get this per GPU.
    "gpu": {"cpu": "4", "memory": "32Gi"},
    Accelerator.CPU.value: {"cpu": "2", "memory": "8Gi"},
    Accelerator.EDGE.value: {"cpu": "1", "memory": "2Gi"},
}

_BINARY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity_bytes(quantity: str | int) -> int | None:
    """A Kubernetes memory quantity in bytes (8Gi, 512M, 1073741824), or None if it is not one."""
    text = str(quantity)
    for suffixes in (_BINARY, _DECIMAL):
        for suffix, factor in suffixes.items():
            if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
                return int(float(text[: -len(suffix)]) * factor)
    return int(text) if text.isdigit() else None


PROFILES: dict[Accelerator, Profile] = {
    p.accelerator: p
    for p in (
        Profile(Accelerator.H200, Tier.DATACENTER, 141, (9, 0), "hopper", r"H200", "NVIDIA-H200"),
        Profile(Accelerator.H100, Tier.DATACENTER, 80, (9, 0), "hopper", r"H100", "NVIDIA-H100-80GB-HBM3"),
        Profile(Accelerator.A100, Tier.DATACENTER, 80, (8, 0), "ampere", r"A100", "NVIDIA-A100-SXM4-80GB"),
        Profile(Accelerator.L40S, Tier.DATACENTER_OTHER, 48, (8, 9), "ada", r"L40S", "NVIDIA-L40S"),
        Profile(Accelerator.L4, Tier.DATACENTER_OTHER, 24, (8, 9), "ada", r"(^|-)L4($|-)", "NVIDIA-L4"),
        Profile(Accelerator.A10G, Tier.DATACENTER_OTHER, 24, (8, 6), "ampere", r"A10G", "NVIDIA-A10G"),
        Profile(Accelerator.RTX4090, Tier.CONSUMER, 24, (8, 9), "ada", r"RTX-4090", "NVIDIA-GeForce-RTX-4090"),
        Profile(Accelerator.RTX4080, Tier.CONSUMER, 16, (8, 9), "ada", r"RTX-4080", "NVIDIA-GeForce-RTX-4080"),
        Profile(Accelerator.RTX3090, Tier.CONSUMER, 24, (8, 6), "ampere", r"RTX-3090", "NVIDIA-GeForce-RTX-3090"),
        Profile(Accelerator.CPU, Tier.CPU, 0, None, "cpu", r"$^", ""),
        Profile(Accelerator.EDGE, Tier.EDGE, 0, None, "cpu", r"$^", ""),
    )
}


def class_of_product(product: str) -> Accelerator | None:
    """The accelerator class of an nvidia.com/gpu.product label value, or None if llmops does not know it."""
    for profile in PROFILES.values():
        if profile.is_nvidia_gpu and re.search(profile.product_pattern, product, re.IGNORECASE):
            return profile.accelerator
    return None


def node_selector(accelerator: Accelerator) -> dict[str, str]:
    """The labels a node of this class carries (GPU Feature Discovery's product label, or llmops' own)."""
    profile = PROFILES[accelerator]
    if profile.is_nvidia_gpu:
        return {PRODUCT_LABEL: profile.example_product}
    if accelerator is Accelerator.EDGE:
        return {CLASS_LABEL: Accelerator.EDGE.value}
    return {}
