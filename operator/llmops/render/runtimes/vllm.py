"""vLLM's OpenAI-compatible server (`vllm serve`), serving the Hugging Face checkpoint from the models claim."""

from llmops.api.enums import DType, Protocol, Quantization
from llmops.render import compilecache
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import Probe, ServingContainer, env

PORT = 8000


def container(ctx: RenderContext) -> ServingContainer:
    """The vLLM container: /health for probes, /metrics (vllm:*) on the API port."""
    opt = ctx.spec.optimization
    args = [
        ctx.artifact_path,
        "--served-model-name", ctx.served_model_name,
        "--host", "0.0.0.0",
        "--port", str(PORT),
        "--tensor-parallel-size", str(opt.tensor_parallel_size),
        "--pipeline-parallel-size", str(opt.pipeline_parallel_size),
        "--max-model-len", str(opt.max_input_length + opt.max_output_length),
        "--dtype", ctx.plan.dtype.value if ctx.plan.dtype is not DType.AUTO else "auto",
    ]  # fmt: skip
    if ctx.plan.batch_size is not None:
        args += ["--max-num-seqs", str(ctx.plan.batch_size)]
    if ctx.plan.quantization is Quantization.FP8:
        args += ["--quantization", "fp8"]
    return ServingContainer(
        image=ctx.plan.serving_image,
        command=["vllm", "serve"],
        args=args,
        ports={"http": PORT},
        readiness=Probe("/health", "http"),
        liveness=Probe("/health", "http"),
        metrics=Probe("/metrics", "http"),
        protocol=Protocol.OPENAI,
        # The models claim is read-only; vLLM's compile caches go to the writable /tmp, restored and published
        # per key by render/compilecache.py.
        env=[env("HF_HUB_OFFLINE", "1"), env("VLLM_NO_USAGE_STATS", "1"), *compilecache.env()],
        compile_cache=True,
    )
