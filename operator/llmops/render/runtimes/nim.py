"""NVIDIA NIM for LLMs (model-free image): serves the downloaded Hugging Face checkpoint from a local path."""

from llmops.api.enums import Protocol
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import Probe, ServingContainer, env

PORT = 8000
CACHE_PATH = "/opt/nim/.cache"


def container(ctx: RenderContext) -> ServingContainer:
    """The NIM container: /v1/health/{ready,live} probes, Prometheus metrics on /v1/metrics."""
    opt = ctx.spec.optimization
    return ServingContainer(
        image=ctx.plan.serving_image,
        command=[],  # NIM's entrypoint starts the server; it is configured through the environment
        args=[],
        ports={"http": PORT},
        readiness=Probe("/v1/health/ready", "http"),
        liveness=Probe("/v1/health/live", "http"),
        metrics=Probe("/v1/metrics", "http"),
        protocol=Protocol.OPENAI,
        env=[
            env("NIM_MODEL_PATH", ctx.artifact_path),
            env("NIM_SERVED_MODEL_NAME", ctx.served_model_name),
            env("NIM_SERVER_PORT", str(PORT)),
            env("NIM_CACHE_PATH", CACHE_PATH),
            env("NIM_TENSOR_PARALLEL_SIZE", str(opt.tensor_parallel_size)),
            env("NIM_PIPELINE_PARALLEL_SIZE", str(opt.pipeline_parallel_size)),
            env("NIM_MAX_MODEL_LEN", str(opt.max_input_length + opt.max_output_length)),
        ],
        writable_cache=CACHE_PATH,
    )
