"""The LLMDeployment spec: what a user asks for."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from llmops.api.base import ApiModel, Quantity, Rule
from llmops.api.enums import (
    Accelerator,
    DType,
    Quantization,
    Runtime,
    ScalingMetric,
    SourceFormat,
    Toggle,
)

SOURCE_PATTERN = (
    r"^(hf://[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*|pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+)$"
)
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class SecretKeyRef(ApiModel):
    """A key of a Secret in the LLMDeployment's namespace."""

    name: Annotated[str, Field(description="Name of the Secret.", pattern=NAME_PATTERN, max_length=253)]
    key: Annotated[str, Field(description="Key inside the Secret.", min_length=1)] = "token"


class ModelSpec(ApiModel):
    """Where the model comes from."""

    source: Annotated[
        str,
        Field(
            description="Model location: hf://ORG/NAME (Hugging Face Hub) or pvc://CLAIM/PATH (a claim in this "
            "namespace that already holds the files).",
            pattern=SOURCE_PATTERN,
            max_length=512,
        ),
    ]
    revision: Annotated[
        str,
        Field(
            description="Branch, tag or commit of an hf:// source; resolved to a commit in status.artifact.",
            min_length=1,
            max_length=255,
        ),
    ] = "main"
    format: Annotated[
        SourceFormat,
        Field(
            description="Format of the source files; auto detects it from the source (hf:// is safetensors, "
            "a .gguf or .onnx path is that format)."
        ),
    ] = SourceFormat.AUTO
    token_secret_ref: Annotated[
        SecretKeyRef | None,
        Field(description="Secret holding a Hugging Face token; only the download step sees it, as HF_TOKEN."),
    ] = None


class Toleration(ApiModel):
    """A pod toleration (core/v1 Toleration)."""

    key: Annotated[str | None, Field(description="Taint key the toleration applies to.")] = None
    operator: Annotated[Literal["Exists", "Equal"] | None, Field(description="Exists or Equal (default Equal).")] = None
    value: Annotated[str | None, Field(description="Taint value the toleration matches.")] = None
    effect: Annotated[
        Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None,
        Field(description="Taint effect to match; empty matches all effects."),
    ] = None
    toleration_seconds: Annotated[
        int | None, Field(description="How long a NoExecute taint is tolerated, in seconds.")
    ] = None


class HardwareSpec(ApiModel):
    """Where replicas run."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!has(self.gpus) || self.gpus == 0 || !(self.accelerator in ['cpu', 'edge'])",
            "hardware.gpus must be 0 (or unset) when hardware.accelerator is cpu or edge",
            lambda h: not h.gpus or h.accelerator not in (Accelerator.CPU, Accelerator.EDGE),
            ".gpus",
        ),
        Rule(
            "!has(self.gpus) || self.gpus > 0 || self.accelerator in ['cpu', 'edge', 'auto']",
            "hardware.gpus must be at least 1 on a GPU accelerator; use accelerator cpu or edge for CPU-only serving",
            lambda h: (
                h.gpus is None or h.gpus > 0 or h.accelerator in (Accelerator.CPU, Accelerator.EDGE, Accelerator.AUTO)
            ),
            ".gpus",
        ),
    )

    accelerator: Annotated[
        Accelerator,
        Field(description="Accelerator class; auto picks the best class that exists among the cluster's nodes."),
    ] = Accelerator.AUTO
    gpus: Annotated[
        int | None,
        Field(
            description="GPUs per replica; defaults to tensorParallelSize x pipelineParallelSize on GPU classes, "
            "0 on cpu and edge.",
            ge=0,
            le=16,
        ),
    ] = None
    node_selector: Annotated[
        dict[str, str],
        Field(description="Extra node labels, merged with the accelerator's own selector."),
    ] = Field(default_factory=dict)
    tolerations: Annotated[
        list[Toleration],
        Field(description="Extra tolerations, added to the accelerator's own.", max_length=32),
    ] = Field(default_factory=list)
    fit_check: Annotated[
        Toggle,
        Field(
            description="Refuse a plan whose estimated memory per GPU (weights, runtime overhead, KV cache of one "
            "full-length sequence) exceeds the class's (README: the estimate); disabled trusts the spec when the "
            "estimate is wrong for a model. auto and enabled check whenever the model's config is known."
        ),
    ] = Toggle.AUTO


class OptimizationSpec(ApiModel):
    """What the conversion builds."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "self.maxInputLength + self.maxOutputLength <= 1048576",
            "optimization.maxInputLength + optimization.maxOutputLength must not exceed 1048576 tokens",
            lambda o: o.max_input_length + o.max_output_length <= 1048576,
        ),
    )

    quantization: Annotated[
        Quantization,
        Field(
            description="Weight quantization: fp8/int8/int4-awq for TensorRT-LLM engines (fp8 needs Hopper or "
            "Ada), q4_k_m/q5_k_m/q8_0/f16 for GGUF; auto picks the best for the plan."
        ),
    ] = Quantization.AUTO
    dtype: Annotated[DType, Field(description="Compute dtype; auto picks the runtime's default.")] = DType.AUTO
    tensor_parallel_size: Annotated[int, Field(description="Tensor-parallel ranks per replica.", ge=1, le=16)] = 1
    pipeline_parallel_size: Annotated[int, Field(description="Pipeline-parallel stages per replica.", ge=1, le=16)] = 1
    max_batch_size: Annotated[
        int | None,
        Field(
            description="Largest batch (concurrent sequences) the artifact/runtime handles; unset leaves vLLM's "
            "scheduler its own GPU-sized default and gives llama.cpp and engines a default for the class.",
            ge=1,
            le=4096,
        ),
    ] = None
    max_input_length: Annotated[int, Field(description="Longest prompt, in tokens.", ge=1, le=1048576)] = 4096
    max_output_length: Annotated[int, Field(description="Longest generation, in tokens.", ge=1, le=1048576)] = 1024


class KeySelector(ApiModel):
    """A key of a Secret or ConfigMap."""

    name: Annotated[str, Field(description="Name of the object.", pattern=NAME_PATTERN, max_length=253)]
    key: Annotated[str, Field(description="Key inside the object.", min_length=1)]


class EnvVarSource(ApiModel):
    """Where an environment variable's value comes from (a subset of core/v1 EnvVarSource)."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "(has(self.secretKeyRef) ? 1 : 0) + (has(self.configMapKeyRef) ? 1 : 0) == 1",
            "valueFrom needs exactly one of secretKeyRef or configMapKeyRef",
            lambda v: (v.secret_key_ref is None) != (v.config_map_key_ref is None),
        ),
    )

    secret_key_ref: Annotated[KeySelector | None, Field(description="A key of a Secret.")] = None
    config_map_key_ref: Annotated[KeySelector | None, Field(description="A key of a ConfigMap.")] = None


class EnvVar(ApiModel):
    """An environment variable for the serving container; secrets only by reference."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!(has(self.value) && has(self.valueFrom))",
            "serving.env: set value or valueFrom, not both",
            lambda e: e.value is None or e.value_from is None,
        ),
    )

    name: Annotated[str, Field(description="Variable name.", pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", max_length=256)]
    value: Annotated[str | None, Field(description="Literal value (never put a secret here).")] = None
    value_from: Annotated[EnvVarSource | None, Field(description="Value read from a Secret or ConfigMap.")] = None


class ResourceSpec(ApiModel):
    """Compute resources, merged over the planned requests and limits."""

    requests: Annotated[dict[str, Quantity], Field(description="Resource requests, e.g. cpu: 4, memory: 32Gi.")] = (
        Field(default_factory=dict)
    )
    limits: Annotated[
        dict[str, Quantity], Field(description="Resource limits; nvidia.com/gpu is planned from hardware.gpus.")
    ] = Field(default_factory=dict)


class ServingSpec(ApiModel):
    """How the runtime is deployed."""

    replicas: Annotated[
        int, Field(description="Desired replicas (the scale subresource); ignored while autoscaling is on.", ge=0)
    ] = 1
    image: Annotated[str, Field(description="Override of the runtime's default image.", max_length=512)] = ""
    resources: Annotated[ResourceSpec, Field(description="Merged over the planned requests/limits.")] = Field(
        default_factory=ResourceSpec
    )
    env: Annotated[
        list[EnvVar], Field(description="Extra environment variables for the serving container.", max_length=64)
    ] = Field(default_factory=list)
    args: Annotated[
        list[str], Field(description="Extra runtime arguments, appended to the planned ones.", max_length=64)
    ] = Field(default_factory=list)


class AutoscalingSpec(ApiModel):
    """Horizontal autoscaling of the serving Deployment."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "self.minReplicas <= self.maxReplicas",
            "autoscaling.minReplicas must be less than or equal to autoscaling.maxReplicas",
            lambda a: a.min_replicas <= a.max_replicas,
            ".minReplicas",
        ),
    )

    enabled: Annotated[bool, Field(description="Create a HorizontalPodAutoscaler for the serving Deployment.")] = False
    min_replicas: Annotated[int, Field(description="Lower bound of replicas.", ge=1)] = 1
    max_replicas: Annotated[int, Field(description="Upper bound of replicas.", ge=1, le=1000)] = 4
    metric: Annotated[
        ScalingMetric,
        Field(
            description="cpu (works everywhere), requests-running, requests-waiting, queue-time or kv-cache (the "
            "runtime's own metric, served by a custom-metrics adapter); auto picks, on GPUs, requests-running for "
            "vLLM without maxBatchSize (its scheduler lets nothing wait) and requests-waiting otherwise, and cpu "
            "elsewhere."
        ),
    ] = ScalingMetric.AUTO
    target: Annotated[
        str,
        Field(
            description='Target value: a percentage for cpu and kv-cache (e.g. "80"), a count per replica for '
            'requests-running (e.g. "32") and requests-waiting (e.g. "5"), milliseconds for queue-time; empty uses '
            "the default.",
            pattern=r"^([0-9]+(\.[0-9]+)?)?$",
        ),
    ] = ""
    scale_down_stabilization_seconds: Annotated[
        int,
        Field(
            description="Seconds of lower recommendations the HPA waits for before it removes a replica (its "
            "scaleDown stabilization window): model replicas are slow to start, so the default is five minutes.",
            ge=0,
            le=3600,
        ),
    ] = 300


class MonitoringSpec(ApiModel):
    """Metrics scraping."""

    enabled: Annotated[bool, Field(description="Scrape the runtime's metrics endpoint.")] = True
    service_monitor: Annotated[
        Toggle,
        Field(description="Create a ServiceMonitor: auto (if the CRD exists), enabled or disabled."),
    ] = Toggle.AUTO


class StorageSpec(ApiModel):
    """Where models and converted artifacts live."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!has(oldSelf.existingClaim) || oldSelf.existingClaim == '' || "
            "(has(self.existingClaim) && self.existingClaim == oldSelf.existingClaim)",
            "storage.existingClaim is immutable once set: the artifacts already live on that claim",
            None,
            ".existingClaim",
        ),
    )

    size: Annotated[
        str,
        Field(
            description="Size of the models claim; empty derives it from the model name's parameter count.",
            pattern=r"^([0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?)?$",
        ),
    ] = ""
    storage_class_name: Annotated[
        str, Field(description="StorageClass of the models claim; empty uses the cluster default.")
    ] = ""
    existing_claim: Annotated[
        str,
        Field(description="Use this existing claim for models and artifacts instead of llmops-models.", max_length=253),
    ] = ""


class LLMDeploymentSpec(ApiModel):
    """Desired state of an LLMDeployment."""

    model: Annotated[ModelSpec, Field(description="The model to serve.")]
    hardware: Annotated[HardwareSpec, Field(description="The hardware replicas run on.")] = Field(
        default_factory=HardwareSpec
    )
    runtime: Annotated[
        Runtime,
        Field(description="Serving runtime; auto follows the accelerator (see the compatibility matrix)."),
    ] = Runtime.AUTO
    optimization: Annotated[OptimizationSpec, Field(description="What the conversion builds.")] = Field(
        default_factory=OptimizationSpec
    )
    serving: Annotated[ServingSpec, Field(description="How the runtime is deployed.")] = Field(
        default_factory=ServingSpec
    )
    autoscaling: Annotated[AutoscalingSpec, Field(description="Horizontal autoscaling.")] = Field(
        default_factory=AutoscalingSpec
    )
    monitoring: Annotated[MonitoringSpec, Field(description="Metrics scraping.")] = Field(
        default_factory=MonitoringSpec
    )
    storage: Annotated[StorageSpec, Field(description="Model and artifact storage.")] = Field(
        default_factory=StorageSpec
    )

    # Admission-time copies of the planner's plainest refusals, so `kubectl apply` fails fast. The planner
    # enforces the same rules (named alike) for `llmops plan` and for anything that slips past an old CRD.
    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!(self.runtime in ['tensorrt-llm', 'nim']) || !has(self.hardware) || "
            "!(self.hardware.accelerator in ['cpu', 'edge'])",
            "runtime-needs-nvidia-gpu: runtime tensorrt-llm and nim need an NVIDIA GPU accelerator; "
            "on cpu use runtime triton (ONNX), on edge use llama-cpp",
            None,
            ".runtime",
        ),
        Rule(
            "self.runtime != 'vllm' || !has(self.model.format) || "
            "self.model.format in ['auto', 'safetensors', 'pytorch']",
            "runtime-format-unsupported: vllm serves Hugging Face checkpoints (safetensors or pytorch) only; "
            "use llama-cpp for gguf and triton for onnx or tensorrt-engine sources",
            None,
            ".runtime",
        ),
        Rule(
            "self.runtime != 'llama-cpp' || !has(self.model.format) || self.model.format in "
            "['auto', 'safetensors', 'pytorch', 'gguf']",
            "runtime-format-unsupported: llama-cpp serves gguf only (converted from safetensors or pytorch); "
            "onnx and tensorrt-engine sources cannot be converted to gguf",
            None,
            ".runtime",
        ),
    )
