"""The closed vocabularies of the LLMDeployment API."""

from enum import StrEnum


class Accelerator(StrEnum):
    """Hardware class a replica runs on."""

    AUTO = "auto"
    H200 = "h200"
    H100 = "h100"
    A100 = "a100"
    L40S = "l40s"
    L4 = "l4"
    A10G = "a10g"
    RTX4090 = "rtx4090"
    RTX4080 = "rtx4080"
    RTX3090 = "rtx3090"
    CPU = "cpu"
    EDGE = "edge"


class Runtime(StrEnum):
    """Serving runtime."""

    AUTO = "auto"
    TRITON = "triton"
    TENSORRT_LLM = "tensorrt-llm"
    NIM = "nim"
    VLLM = "vllm"
    LLAMA_CPP = "llama-cpp"


class SourceFormat(StrEnum):
    """Format of the files spec.model.source points at."""

    AUTO = "auto"
    SAFETENSORS = "safetensors"
    PYTORCH = "pytorch"
    GGUF = "gguf"
    ONNX = "onnx"
    TENSORRT_ENGINE = "tensorrt-engine"


class ModelFormat(StrEnum):
    """A concrete model file format: what a source is, what a step produces, what a runtime serves."""

    SAFETENSORS = "safetensors"
    PYTORCH = "pytorch"
    GGUF = "gguf"
    ONNX = "onnx"
    TENSORRT_CHECKPOINT = "tensorrt-checkpoint"
    TENSORRT_ENGINE = "tensorrt-engine"


class Quantization(StrEnum):
    """Weight quantization the conversion builds."""

    AUTO = "auto"
    NONE = "none"
    FP8 = "fp8"
    INT8 = "int8"
    INT4_AWQ = "int4-awq"
    Q4_K_M = "q4_k_m"
    Q5_K_M = "q5_k_m"
    Q8_0 = "q8_0"
    F16 = "f16"


class DType(StrEnum):
    """Activation/weight dtype of the built artifact."""

    AUTO = "auto"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"


class ScalingMetric(StrEnum):
    """What the HorizontalPodAutoscaler scales on."""

    AUTO = "auto"
    CPU = "cpu"
    REQUESTS_WAITING = "requests-waiting"
    REQUESTS_RUNNING = "requests-running"
    QUEUE_TIME = "queue-time"
    KV_CACHE = "kv-cache"


class Toggle(StrEnum):
    """A tri-state switch: decided from cluster facts, or forced."""

    AUTO = "auto"
    ENABLED = "enabled"
    DISABLED = "disabled"


class Phase(StrEnum):
    """Human-readable lifecycle summary in status.phase."""

    PENDING = "Pending"
    PLANNING = "Planning"
    CONVERTING = "Converting"
    DEPLOYING = "Deploying"
    READY = "Ready"
    DEGRADED = "Degraded"
    FAILED = "Failed"


class Protocol(StrEnum):
    """Wire protocol of the served endpoint."""

    OPENAI = "openai"
    KSERVE_V2 = "kserve-v2"
