"""`trtllm-serve` (TensorRT-LLM's PyTorch backend, OpenAI API), serving the Hugging Face checkpoint directly."""

from llmops.api.enums import Protocol
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import Probe, ServingContainer, env

PORT = 8000


def container(ctx: RenderContext) -> ServingContainer:
    """The trtllm-serve container: /health for probes, Prometheus metrics on /prometheus/metrics."""
    opt = ctx.spec.optimization
    args = [
        ctx.artifact_path,
        "--host", "0.0.0.0",
        "--port", str(PORT),
        "--backend", "pytorch",
        "--tp_size", str(opt.tensor_parallel_size),
        "--pp_size", str(opt.pipeline_parallel_size),
        "--max_batch_size", str(ctx.plan.batch_size),
        "--max_seq_len", str(opt.max_input_length + opt.max_output_length),
    ]  # fmt: skip
    return ServingContainer(
        image=ctx.plan.serving_image,
        command=["trtllm-serve"],
        args=args,
        ports={"http": PORT},
        readiness=Probe("/health", "http"),
        liveness=Probe("/health", "http"),
        metrics=Probe("/prometheus/metrics", "http"),
        protocol=Protocol.OPENAI,
        env=[env("HF_HUB_OFFLINE", "1")],
    )
