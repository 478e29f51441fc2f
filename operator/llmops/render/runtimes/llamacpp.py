"""llama.cpp's `llama-server` (OpenAI API, Prometheus metrics with --metrics), serving the GGUF file."""

from llmops.api.enums import Protocol
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import Probe, ServingContainer

PORT = 8080
GGUF_FILE = "model.gguf"


def model_file(ctx: RenderContext) -> str:
    """The GGUF file: the published artifact's model.gguf, or a pvc:// .gguf source in place."""
    return ctx.artifact_path if ctx.serves_source_in_place else f"{ctx.artifact_path}/{GGUF_FILE}"


def container(ctx: RenderContext) -> ServingContainer:
    """The llama-server container: /health for probes, /metrics (llamacpp:*) on the API port."""
    opt, slots = ctx.spec.optimization, ctx.plan.batch_size or 1
    # llama-server splits --ctx-size over its --parallel slots (n_ctx_seq = n_ctx / n_seq_max), so the total is
    # slots x the per-request budget: each request gets maxInputLength + maxOutputLength, as on vLLM.
    args = [
        "--model", model_file(ctx),
        "--host", "0.0.0.0",
        "--port", str(PORT),
        "--metrics",
        "--ctx-size", str(slots * (opt.max_input_length + opt.max_output_length)),
        "--parallel", str(slots),
        "--alias", ctx.served_model_name,
    ]  # fmt: skip
    if ctx.plan.gpus:
        args += ["--n-gpu-layers", "999"]  # offload every layer the GPUs hold
    return ServingContainer(
        image=ctx.plan.serving_image,
        command=["/app/llama-server"],
        args=args,
        ports={"http": PORT},
        readiness=Probe("/health", "http"),
        liveness=Probe("/health", "http"),
        metrics=Probe("/metrics", "http"),
        protocol=Protocol.OPENAI,
        shared_memory=False,
    )
