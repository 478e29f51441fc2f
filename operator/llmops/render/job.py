"""Conversion Jobs: download (on CPU nodes), then convert → quantize → repository → publish (on the pool the
step needs: the target GPU pool for TensorRT-LLM engines, CPU nodes otherwise).

Job names derive from the artifact key, so LLMDeployments that need the same artifact share one Job and a
restarted operator finds the Job it already made.
"""

from typing import Any

from llmops.api.enums import Accelerator, ModelFormat, Quantization
from llmops.planning.artifact import ARTIFACTS_DIR
from llmops.render import common
from llmops.render.context import MODELS_MOUNT, RenderContext
from llmops.render.runtimes.llamacpp import GGUF_FILE
from llmops.render.runtimes.triton import REPOSITORY_DIR

Obj = dict[str, Any]

BACKOFF_LIMIT = 2
DOWNLOAD_DEADLINE_SECONDS = 6 * 3600
CONVERT_DEADLINE_SECONDS = 12 * 3600
TERMINATION_LOG = "/dev/termination-log"
HF_PATTERNS = ["*.json", "*.safetensors", "tokenizer*", "*.model", "*.tiktoken", "*.txt"]
PYTORCH_PATTERNS = ["*.json", "*.bin", "tokenizer*", "*.model", "*.tiktoken", "*.txt"]
GGUF_OUTTYPES = {Quantization.F16: "f16", Quantization.Q8_0: "q8_0"}


def download_job_name(ctx: RenderContext) -> str:
    """Deterministic: one download per artifact key."""
    return f"llmops-download-{ctx.key_hex[:20]}"


def convert_job_name(ctx: RenderContext) -> str:
    """Deterministic: one conversion per artifact key."""
    return f"llmops-convert-{ctx.key_hex[:20]}"


def _step(ctx: RenderContext, name: str, args: list[str], image: str, extra_env: list[Obj] | None = None) -> Obj:
    mounts = [common.models_volume(ctx, read_only=False)[1], common.scratch_volume("tmp", "/tmp")[1]]
    source = common.source_volume(ctx)
    if source is not None:
        mounts.append(source[1])
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": ctx.facts.images.pull_policy.value,
        "command": ["llmops-build"],
        "args": ["--termination-log", TERMINATION_LOG, *args],
        # One journal per artifact, so publish's manifest.json records every step's argv, tools and timings.
        "env": [
            {"name": "HOME", "value": "/tmp"},
            {"name": "LLMOPS_JOURNAL", "value": f"{ctx.staging_path}/journal.jsonl"},
            *(extra_env or []),
        ],
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "16Gi"}},
        "securityContext": common.container_security_context(),
        "volumeMounts": mounts,
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def _publish_args(ctx: RenderContext, staged: str) -> list[str]:
    plan = ctx.plan
    return [
        "publish",
        "--src", staged,
        "--artifacts-root", f"{MODELS_MOUNT}/{ARTIFACTS_DIR}",
        "--key", plan.artifact_key,
        "--source", ctx.spec.model.source,
        "--revision", ctx.spec.model.revision,
        "--format", plan.format.value,
        "--quantization", plan.quantization.value,
    ]  # fmt: skip


def _download_step(ctx: RenderContext) -> Obj:
    patterns = PYTORCH_PATTERNS if ctx.plan.source_format is ModelFormat.PYTORCH else HF_PATTERNS
    args = ["download", "--source", ctx.spec.model.source, "--revision", ctx.spec.model.revision]
    args += ["--dest", ctx.source_path]
    if ctx.source_pvc is not None:
        args += ["--pvc-root", "/mnt/pvc"]
    else:
        for pattern in patterns:
            args += ["--allow-pattern", pattern]
    secret_env: list[Obj] = [{"name": "HF_HUB_CACHE", "value": f"{MODELS_MOUNT}/.cache/huggingface"}]
    if ctx.facts.conversion.hub_endpoint:
        # A Hub mirror is the operator's setting (never the spec's): huggingface_hub reads HF_ENDPOINT.
        secret_env.append({"name": "HF_ENDPOINT", "value": ctx.facts.conversion.hub_endpoint})
    ref = ctx.spec.model.token_secret_ref
    if ref is not None:
        # The token reaches this container only, by reference: never in args, spec, status or logs.
        secret_env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}})
    return _step(ctx, "download", args, ctx.plan.builder_image, secret_env)


def _conversion_steps(ctx: RenderContext) -> list[Obj]:
    plan, opt, image = ctx.plan, ctx.spec.optimization, ctx.plan.builder_image
    out, work, src = f"{ctx.staging_path}/out", f"{ctx.staging_path}/work", ctx.source_path
    if plan.format is ModelFormat.GGUF:
        if plan.quantization in GGUF_OUTTYPES:
            outtype = GGUF_OUTTYPES[plan.quantization]
            return [_step(ctx, "convert", ["convert", "--to", "gguf", "--src", src, "--out", f"{out}/{GGUF_FILE}",
                                           "--outtype", outtype], image)]  # fmt: skip
        intermediate = f"{work}/model-f16.gguf"
        return [
            _step(ctx, "convert", ["convert", "--to", "gguf", "--src", src, "--out", intermediate,
                                   "--outtype", "bf16" if plan.dtype.value == "bfloat16" else "f16"], image),
            _step(ctx, "quantize", ["quantize", "--src", intermediate, "--out", f"{out}/{GGUF_FILE}",
                                    "--type", plan.quantization.value], image),
        ]  # fmt: skip
    repository = [
        "repository", "--format", plan.format.value, "--tokenizer", src, "--out", f"{out}/{REPOSITORY_DIR}",
        "--model-name", ctx.served_model_name, "--max-batch-size", str(ctx.plan.batch_size),
        "--max-seq-len", str(opt.max_input_length + opt.max_output_length),
    ]  # fmt: skip
    if plan.format is ModelFormat.ONNX:
        return [
            _step(ctx, "convert", ["convert", "--to", "onnx", "--src", src, "--out", f"{out}/onnx"], image),
            _step(ctx, "repository", [*repository, "--src", f"{out}/onnx"], image),
        ]
    if plan.format is ModelFormat.TENSORRT_ENGINE:
        checkpoint = f"{work}/checkpoint"
        return [
            _step(ctx, "convert-checkpoint", [
                "convert", "--to", "tensorrt-checkpoint", "--src", src, "--out", checkpoint,
                "--dtype", plan.dtype.value, "--tp", str(opt.tensor_parallel_size),
                "--pp", str(opt.pipeline_parallel_size), "--quantization", plan.quantization.value,
            ], image),
            _step(ctx, "build-engine", [
                "convert", "--to", "tensorrt-engine", "--src", checkpoint, "--out", f"{out}/engine",
                "--max-batch-size", str(ctx.plan.batch_size), "--max-input-len", str(opt.max_input_length),
                "--max-seq-len", str(opt.max_input_length + opt.max_output_length),
            ], image),
            _step(ctx, "repository", [*repository, "--src", f"{out}/engine",
                                      "--artifact-root", ctx.artifact_path], image),
        ]  # fmt: skip
    return []


def _placement(ctx: RenderContext, on: Accelerator) -> Obj:
    """The pool's placement; for Jobs on CPU nodes, the operator's conversion nodeSelector replaces it."""
    placement = common.placement(ctx, on, with_user_extras=on is ctx.plan.accelerator)
    if on is not Accelerator.CPU:
        return placement
    config = ctx.facts.conversion
    if config.node_selector:
        placement = {"nodeSelector": dict(config.node_selector)}
    tolerations = [*placement.get("tolerations", []), *(t.to_api() for t in config.tolerations)]
    return placement | ({"tolerations": tolerations} if tolerations else {})


def _job(
    ctx: RenderContext, name: str, *, steps: list[Obj], final: Obj, on: Accelerator, gpus: int, deadline: int
) -> Obj:
    volumes = [common.models_volume(ctx, read_only=False)[0], common.scratch_volume("tmp", "/tmp")[0]]
    source = common.source_volume(ctx)
    if source is not None:
        volumes.append(source[0])
    if gpus:
        for container in [*steps, final]:
            container["resources"]["limits"] |= common.gpu_limits(gpus)
    labels = common.base_labels("conversion") | {common.ARTIFACT_LABEL: common.artifact_label(ctx)}
    pod_spec: Obj = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security_context(),
        "containers": [final],
        "volumes": volumes,
        **_placement(ctx, on),
    }
    if steps:
        pod_spec["initContainers"] = steps
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": common.metadata(ctx, name, labels)
        | {"annotations": {common.ARTIFACT_KEY_ANNOTATION: ctx.plan.artifact_key}},
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": deadline,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def conversion_jobs(ctx: RenderContext) -> list[Obj]:
    """The Jobs that produce the artifact, in order; none when a pvc:// source is served as is."""
    if ctx.serves_source_in_place:
        return []
    staged_source = ctx.source_path
    if not ctx.plan.conversion:
        publish = _step(ctx, "publish", _publish_args(ctx, staged_source), ctx.plan.builder_image)
        download = _job(
            ctx, download_job_name(ctx), steps=[_download_step(ctx)], final=publish, on=Accelerator.CPU, gpus=0,
            deadline=DOWNLOAD_DEADLINE_SECONDS,
        )  # fmt: skip
        return [download]
    jobs = []
    if ctx.source_pvc is None:
        jobs.append(
            _job(
                ctx,
                download_job_name(ctx),
                steps=[],
                final=_download_step(ctx),
                on=Accelerator.CPU,
                gpus=0,
                deadline=DOWNLOAD_DEADLINE_SECONDS,
            )
        )
    publish = _step(ctx, "publish", _publish_args(ctx, f"{ctx.staging_path}/out"), ctx.plan.builder_image)
    # Engines are built on the GPU they will run on; every other conversion runs on CPU nodes.
    on, gpus = (ctx.plan.accelerator, ctx.plan.gpus) if ctx.is_engine else (Accelerator.CPU, 0)
    jobs.append(
        _job(
            ctx,
            convert_job_name(ctx),
            steps=_conversion_steps(ctx),
            final=publish,
            on=on,
            gpus=gpus,
            deadline=CONVERT_DEADLINE_SECONDS,
        )
    )
    return jobs
