"""The planner: `plan(spec, facts)` picks accelerator, runtime, served format, quantization and conversion
path from the compatibility matrix, or refuses with the rule that forbids the combination."""

from dataclasses import dataclass

from llmops.api.enums import (
    Accelerator,
    DType,
    ModelFormat,
    Quantization,
    Runtime,
    ScalingMetric,
    SourceFormat,
    Toggle,
)
from llmops.api.spec import LLMDeploymentSpec
from llmops.api.status import ConversionStep, PlanStatus
from llmops.planning import batching, images
from llmops.planning import fit as fitting
from llmops.planning.artifact import ArtifactInputs
from llmops.planning.facts import ClusterFacts
from llmops.planning.hardware import PLANNED_RESOURCES, PROFILES, Profile, quantity_bytes
from llmops.planning.matrix import (
    ACCELERATOR_PREFERENCE,
    CONVERSIONS,
    HARDWARE_PATHS,
    NVIDIA_ONLY_RUNTIMES,
    SEED_RUNTIME_FORMATS,
    SERVED_FORMATS,
)
from llmops.planning.metrics import CPU_DEFAULT_TARGET, SCALING_SIGNALS, ScalingSignal
from llmops.planning.modelfacts import billions


@dataclass(frozen=True)
class PlanError:
    """A refusal. `rule` names the rule that forbids the spec; `retryable` when the cluster may change it."""

    rule: str
    message: str
    retryable: bool = False

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass(frozen=True)
class Scaling:
    """What the HPA targets: cpu utilization, or one of the runtime's own metrics."""

    metric: ScalingMetric
    target: str
    signal: ScalingSignal | None  # None for cpu


@dataclass(frozen=True)
class Plan:
    """Everything rendering needs beyond the spec."""

    accelerator: Accelerator
    runtime: Runtime
    source_format: ModelFormat
    format: ModelFormat
    quantization: Quantization
    dtype: DType
    gpus: int
    conversion: tuple[tuple[ModelFormat, ModelFormat], ...]
    reason: str
    artifact: ArtifactInputs
    serving_image: str
    builder_image: str  # the image that runs the conversion steps
    scaling: "Scaling"
    fit: fitting.Fit | None = None  # the memory estimate; None when the model's sizes are unknown

    @property
    def profile(self) -> Profile:
        """The accelerator's hardware profile."""
        return PROFILES[self.accelerator]

    @property
    def batch_size(self) -> int | None:
        """Concurrent sequences per replica (planning/batching.py); None: the runtime's scheduler decides."""
        return self.artifact.max_batch_size

    @property
    def artifact_key(self) -> str:
        """The content key of the served artifact."""
        return self.artifact.key()

    def status(self) -> PlanStatus:
        """The plan as status.plan shows it."""
        return PlanStatus(
            accelerator=self.accelerator,
            runtime=self.runtime,
            format=self.format,
            quantization=self.quantization,
            conversion=[ConversionStep.model_validate({"from": a, "to": b}) for a, b in self.conversion],
            reason=self.reason,
        )


QUANTIZATIONS: dict[ModelFormat, tuple[Quantization, ...]] = {
    ModelFormat.TENSORRT_ENGINE: (Quantization.NONE, Quantization.FP8, Quantization.INT8, Quantization.INT4_AWQ),
    ModelFormat.GGUF: (Quantization.Q4_K_M, Quantization.Q5_K_M, Quantization.Q8_0, Quantization.F16),
    ModelFormat.ONNX: (Quantization.NONE,),
    ModelFormat.SAFETENSORS: (Quantization.NONE, Quantization.FP8),
    ModelFormat.PYTORCH: (Quantization.NONE, Quantization.FP8),
}
# Runtimes that quantize a Hugging Face checkpoint on load (vLLM's online fp8); others serve it as is.
ONLINE_QUANTIZERS = frozenset({Runtime.VLLM})


def _source_format(spec: LLMDeploymentSpec) -> ModelFormat:
    if spec.model.format is not SourceFormat.AUTO:
        return ModelFormat(spec.model.format.value)
    path = spec.model.source.lower()
    if path.endswith(".gguf"):
        return ModelFormat.GGUF
    if path.endswith(".onnx"):
        return ModelFormat.ONNX
    if path.endswith((".engine", ".plan")):
        return ModelFormat.TENSORRT_ENGINE
    return ModelFormat.SAFETENSORS


def _auto_candidates(spec: LLMDeploymentSpec, facts: ClusterFacts) -> list[Accelerator]:
    """The classes present that fit the GPUs per replica, best first."""
    world = spec.optimization.tensor_parallel_size * spec.optimization.pipeline_parallel_size
    gpus = spec.hardware.gpus or world
    found = []
    for candidate in ACCELERATOR_PREFERENCE:
        pool = (facts.pools or {}).get(candidate)
        if pool is None:
            continue
        if PROFILES[candidate].is_nvidia_gpu and pool.max_gpus_per_node < gpus:
            continue
        if not PROFILES[candidate].is_nvidia_gpu and world > 1:
            continue
        found.append(candidate)
    return found


def _pick_accelerator(spec: LLMDeploymentSpec, facts: ClusterFacts) -> Accelerator | PlanError:
    world = spec.optimization.tensor_parallel_size * spec.optimization.pipeline_parallel_size
    wanted = spec.hardware.accelerator
    if wanted is not Accelerator.AUTO:
        if facts.pools is not None and wanted not in facts.pools:
            present = ", ".join(sorted(a.value for a in facts.pools)) or "none"
            return PlanError(
                "no-matching-nodes",
                f"no schedulable node has accelerator class {wanted.value} (classes present: {present})",
                retryable=True,
            )
        return wanted
    if facts.pools is None:
        return PlanError(
            "accelerator-auto-needs-nodes",
            "hardware.accelerator is auto but no node facts are known; pass --nodes or name the accelerator",
        )
    candidates = _auto_candidates(spec, facts)
    if candidates:
        return candidates[0]
    gpus = spec.hardware.gpus or world
    return PlanError(
        "no-matching-nodes",
        f"hardware.accelerator is auto but no node pool fits {gpus} GPU(s) per replica",
        retryable=True,
    )


def _pick_runtime(spec: LLMDeploymentSpec, source: ModelFormat, profile: Profile) -> Runtime:
    if spec.runtime is not Runtime.AUTO:
        return spec.runtime
    # A prebuilt artifact decides its runtime: nothing converts out of gguf, onnx or an engine.
    by_source = {ModelFormat.GGUF: Runtime.LLAMA_CPP, ModelFormat.ONNX: Runtime.TRITON}
    if source in by_source:
        return by_source[source]
    if source is ModelFormat.TENSORRT_ENGINE:
        return Runtime.TRITON
    return HARDWARE_PATHS[profile.tier].runtime


def _seed_cell(runtime: Runtime, fmt: ModelFormat) -> str:
    cell = SEED_RUNTIME_FORMATS[runtime].get(ModelFormat.SAFETENSORS if fmt is ModelFormat.PYTORCH else fmt)
    return cell.value if cell else "not listed"


def _pick_format(
    runtime: Runtime, source: ModelFormat, profile: Profile
) -> tuple[ModelFormat, tuple[tuple[ModelFormat, ModelFormat], ...]] | PlanError:
    candidates = [s.format for s in SERVED_FORMATS[runtime]]
    if runtime is Runtime.TRITON:
        # Engines need an NVIDIA GPU; elsewhere Triton serves ONNX through its Python backend.
        preferred = ModelFormat.TENSORRT_ENGINE if profile.is_nvidia_gpu else ModelFormat.ONNX
        candidates.sort(key=lambda f: f is not preferred)
        if source is ModelFormat.TENSORRT_ENGINE and not profile.is_nvidia_gpu:
            return PlanError(
                "engine-needs-nvidia-gpu",
                f"a TensorRT engine runs only on the NVIDIA GPU it was built for, not on {profile.accelerator.value}",
            )
    if source in candidates:
        return source, ()
    for target in candidates:
        chain = CONVERSIONS.get((source, target))
        if chain:
            steps, previous = [], source
            for step in chain:
                steps.append((previous, step))
                previous = step
            return target, tuple(steps)
    served = ", ".join(f.value for f in candidates)
    return PlanError(
        "runtime-format-unsupported",
        f"runtime {runtime.value} cannot serve a {source.value} source (seed matrix: {runtime.value} x "
        f"{source.value} = {_seed_cell(runtime, source)}), and llmops has no conversion from {source.value} to "
        f"what it serves ({served})",
    )


def _pick_quantization(
    spec: LLMDeploymentSpec, runtime: Runtime, served: ModelFormat, converted: bool, profile: Profile
) -> Quantization | PlanError:
    asked = spec.optimization.quantization
    if asked is Quantization.AUTO:
        if served is ModelFormat.TENSORRT_ENGINE:
            return Quantization.FP8 if profile.supports_fp8 else Quantization.NONE
        if served is ModelFormat.GGUF:
            return Quantization.Q4_K_M if converted else Quantization.NONE
        return Quantization.NONE
    if served is ModelFormat.GGUF and asked is Quantization.NONE:
        return Quantization.F16
    if not converted and asked is not Quantization.NONE and runtime not in ONLINE_QUANTIZERS:
        return PlanError(
            "quantization-needs-conversion",
            f"the {served.value} source is served as is by {runtime.value}; quantization {asked.value} needs a "
            "conversion step, so use quantization auto or none",
        )
    allowed = QUANTIZATIONS.get(served, (Quantization.NONE,))
    if runtime in (Runtime.NIM, Runtime.TENSORRT_LLM):
        allowed = (Quantization.NONE,)
    if asked not in allowed:
        return PlanError(
            "quantization-format-mismatch",
            f"quantization {asked.value} does not apply to {served.value} served by {runtime.value}; "
            f"choose one of {', '.join(q.value for q in allowed)}",
        )
    if asked is Quantization.FP8 and not profile.supports_fp8:
        return PlanError(
            "fp8-needs-hopper-or-ada",
            f"fp8 needs FP8 tensor cores (compute capability >= 8.9: Hopper or Ada); {profile.accelerator.value} is "
            f"{profile.architecture} ({profile.sm}); use int8, int4-awq or none",
        )
    return asked


def _pick_dtype(spec: LLMDeploymentSpec, served: ModelFormat) -> DType | PlanError:
    asked = spec.optimization.dtype
    if served is ModelFormat.ONNX and asked is not DType.AUTO:
        return PlanError(
            "dtype-unsupported",
            f"ONNX export for CPU serving is float32; dtype {asked.value} needs a GPU runtime, so use dtype auto",
        )
    if asked is DType.AUTO and served in (ModelFormat.TENSORRT_ENGINE, ModelFormat.GGUF):
        return DType.FLOAT16  # TensorRT-LLM's and llama.cpp's converters default to float16
    return asked


def _check_parallelism(
    spec: LLMDeploymentSpec, runtime: Runtime, profile: Profile, facts: ClusterFacts
) -> int | PlanError:
    tp, pp = spec.optimization.tensor_parallel_size, spec.optimization.pipeline_parallel_size
    world = tp * pp
    if not profile.is_nvidia_gpu:
        if world > 1:
            return PlanError(
                "parallelism-needs-gpus",
                f"tensorParallelSize x pipelineParallelSize is {world} but {profile.accelerator.value} has no GPUs; "
                "set both to 1",
            )
        return 0
    if runtime is Runtime.LLAMA_CPP:
        if world > 1:
            return PlanError(
                "parallelism-unsupported",
                "llama-cpp splits layers across GPUs itself; keep tensorParallelSize and pipelineParallelSize at 1 "
                "and set hardware.gpus",
            )
        gpus = spec.hardware.gpus or 1
    else:
        gpus = spec.hardware.gpus or world
        if gpus != world:
            return PlanError(
                "parallelism-mismatch",
                f"tensorParallelSize x pipelineParallelSize ({tp} x {pp} = {world}) must equal hardware.gpus ({gpus})",
            )
    pool = facts.pools.get(profile.accelerator) if facts.pools is not None else None
    if pool is not None and gpus > pool.max_gpus_per_node:
        return PlanError(
            "gpus-exceed-node",
            f"{gpus} GPUs per replica, but {profile.accelerator.value} nodes have at most {pool.max_gpus_per_node}",
            retryable=True,
        )
    return gpus


def _auto_metric(runtime: Runtime, profile: Profile, batch: int | None) -> ScalingMetric:
    """On GPUs the runtime's own load: running requests where its scheduler is unbounded (nothing ever waits), else
    waiting requests; cpu elsewhere."""
    signals = SCALING_SIGNALS[runtime]
    if not profile.is_nvidia_gpu:
        return ScalingMetric.CPU
    if batch is None and ScalingMetric.REQUESTS_RUNNING in signals:
        return ScalingMetric.REQUESTS_RUNNING
    return ScalingMetric.REQUESTS_WAITING if ScalingMetric.REQUESTS_WAITING in signals else ScalingMetric.CPU


def _pick_scaling(
    spec: LLMDeploymentSpec, runtime: Runtime, profile: Profile, batch: int | None
) -> Scaling | PlanError:
    signals = SCALING_SIGNALS[runtime]
    asked = spec.autoscaling.metric
    if asked is ScalingMetric.AUTO:
        asked = _auto_metric(runtime, profile, batch)
    if asked is ScalingMetric.CPU:
        return Scaling(asked, spec.autoscaling.target or CPU_DEFAULT_TARGET, None)
    signal = signals.get(asked)
    if signal is None:
        offered = ", ".join(["cpu", *(m.value for m in signals)])
        return PlanError(
            "metric-unsupported",
            f"autoscaling.metric {asked.value} has no {runtime.value} metric; choose one of {offered}",
        )
    target = spec.autoscaling.target or signal.default_target
    if asked is ScalingMetric.REQUESTS_RUNNING and batch is not None and float(target) > batch:
        return PlanError(
            "target-unreachable",
            f"autoscaling.target {target} running requests can never be reached with optimization.maxBatchSize "
            f"{batch}; set a target of at most {batch}, or use requests-waiting",
        )
    return Scaling(asked, target, signal)


def _cpu_memory(spec: LLMDeploymentSpec, profile: Profile) -> int | None:
    limit = spec.serving.resources.limits.get("memory") or PLANNED_RESOURCES.get(profile.accelerator.value, {}).get(
        "memory"
    )
    return quantity_bytes(limit) if limit is not None else None


def _check_fit(  # noqa: PLR0917 - the plan's choices so far, in the order they are made
    spec: LLMDeploymentSpec,
    runtime: Runtime,
    profile: Profile,
    quantization: Quantization,
    gpus: int,
    facts: ClusterFacts,
) -> fitting.Fit | PlanError | None:
    """The memory estimate (planning/fit.py), or the refusal when one full-length sequence (or the asked batch)
    does not fit; None when the model's sizes are unknown or the check is disabled."""
    model = facts.model
    if model is None or spec.hardware.fit_check is Toggle.DISABLED:
        return None
    opt = spec.optimization
    tokens = opt.max_input_length + opt.max_output_length
    parallel = gpus if profile.is_nvidia_gpu and runtime is not Runtime.LLAMA_CPP else 1
    cpu_memory = _cpu_memory(spec, profile)
    where = fitting.Placement(runtime, profile, quantization, tokens, parallel, cpu_memory)
    estimate = fitting.estimate(model, where)
    asked = opt.max_batch_size
    if estimate.fits and (asked is None or asked <= estimate.sequences):
        return estimate
    others = [p for p in PROFILES.values() if p.accelerator is not profile.accelerator]
    instead = fitting.alternatives(model, where, others)
    served = model.dtype if quantization in (Quantization.NONE, Quantization.AUTO) else quantization.value
    size = f"{model.architecture} ({billions(model.parameters)} parameters, {served})"
    if estimate.fits:
        problem = f"optimization.maxBatchSize {asked} full-length sequences do not fit: {estimate.sequences} do"
    else:
        problem = f"{size} does not fit {profile.accelerator.value}"
    would = f"; would fit: {', or '.join(instead)}" if instead else ""
    return PlanError(
        "model-does-not-fit",
        f"{problem}: {estimate.describe()}{would}; hardware.fitCheck: disabled overrides the estimate",
    )


def plan(spec: LLMDeploymentSpec, facts: ClusterFacts) -> Plan | PlanError:
    """Choose how to serve `spec` on the cluster `facts` describe, or say which rule forbids it. With
    `accelerator: auto` and the model's sizes known, only classes the model fits are chosen."""
    if spec.hardware.accelerator is not Accelerator.AUTO or facts.model is None or facts.pools is None:
        return _plan(spec, facts)
    refusals: list[str] = []
    for candidate in _auto_candidates(spec, facts):
        hardware = spec.hardware.model_copy(update={"accelerator": candidate})
        result = _plan(spec.model_copy(update={"hardware": hardware}), facts)
        if isinstance(result, PlanError) and result.rule == "model-does-not-fit":
            refusals.append(f"{candidate.value}: {result.message}")
            continue
        return result
    if refusals:
        return PlanError(
            "model-does-not-fit", "hardware.accelerator is auto and no class present fits: " + " | ".join(refusals)
        )
    return _plan(spec, facts)


def _plan(spec: LLMDeploymentSpec, facts: ClusterFacts) -> Plan | PlanError:
    source = _source_format(spec)
    accelerator = _pick_accelerator(spec, facts)
    if isinstance(accelerator, PlanError):
        return accelerator
    profile = PROFILES[accelerator]
    runtime = _pick_runtime(spec, source, profile)
    if runtime in NVIDIA_ONLY_RUNTIMES and not profile.is_nvidia_gpu:
        return PlanError(
            "runtime-needs-nvidia-gpu",
            f"runtime {runtime.value} needs an NVIDIA GPU and {accelerator.value} has none; on cpu use triton "
            "(ONNX), on edge use llama-cpp",
        )
    picked = _pick_format(runtime, source, profile)
    if isinstance(picked, PlanError):
        return picked
    served, conversion = picked
    quantization = _pick_quantization(spec, runtime, served, bool(conversion), profile)
    if isinstance(quantization, PlanError):
        return quantization
    dtype = _pick_dtype(spec, served)
    if isinstance(dtype, PlanError):
        return dtype
    gpus = _check_parallelism(spec, runtime, profile, facts)
    if isinstance(gpus, PlanError):
        return gpus
    estimate = _check_fit(spec, runtime, profile, quantization, gpus or 1, facts)
    if isinstance(estimate, PlanError):
        return estimate
    batch = batching.batch_size(runtime, profile, spec.optimization.max_batch_size)
    if estimate is not None and batch is not None and spec.optimization.max_batch_size is None:
        batch = max(1, min(batch, estimate.sequences))  # llama.cpp allocates every slot's context up front
    scaling = _pick_scaling(spec, runtime, profile, batch)
    if isinstance(scaling, PlanError):
        return scaling
    opt, builder = spec.optimization, images.BUILDER_BY_FORMAT[served]
    serving = spec.serving.image or facts.images.reference(images.serving_image(runtime, served, profile.is_nvidia_gpu))
    inputs = ArtifactInputs(
        source=spec.model.source,
        revision=facts.resolved_revision or spec.model.revision,
        format=served,
        quantization=quantization,
        dtype=dtype,
        tensor_parallel_size=opt.tensor_parallel_size,
        pipeline_parallel_size=opt.pipeline_parallel_size,
        max_batch_size=batch,
        max_input_length=opt.max_input_length,
        max_output_length=opt.max_output_length,
        builder_image=facts.images.identity(builder),
        gpu_architecture=profile.sm,
    )
    return Plan(
        accelerator=accelerator,
        runtime=runtime,
        source_format=source,
        format=served,
        quantization=quantization,
        dtype=dtype,
        gpus=gpus,
        conversion=conversion,
        reason=_reason(spec, profile, runtime, served),
        artifact=inputs,
        serving_image=serving,
        builder_image=facts.images.reference(builder),
        scaling=scaling,
        fit=estimate,
    )


def _reason(spec: LLMDeploymentSpec, profile: Profile, runtime: Runtime, served: ModelFormat) -> str:
    row = HARDWARE_PATHS[profile.tier]
    chosen = "requested" if spec.runtime is not Runtime.AUTO else "default"
    why = next(s.note for s in SERVED_FORMATS[runtime] if s.format is served)
    return (
        f"{profile.accelerator.value} is {profile.tier.value} class ({profile.architecture}); runtime "
        f"{runtime.value} ({chosen}) serves {served.value}: {why} (seed: {row.seed_row})"
    )
