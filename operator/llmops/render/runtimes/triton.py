"""Triton Inference Server: the TensorRT-LLM backend for engines, the Python backend + ONNX Runtime for ONNX."""

from llmops.api.enums import Protocol
from llmops.render.context import RenderContext
from llmops.render.runtimes.base import Probe, ServingContainer, env

HTTP_PORT, GRPC_PORT, METRICS_PORT = 8000, 8001, 8002
REPOSITORY_DIR = "triton"


def container(ctx: RenderContext) -> ServingContainer:
    """The tritonserver container: KServe v2 on 8000/8001, Prometheus nv_* metrics on 8002."""
    args = [
        f"--model-repository={ctx.artifact_path}/{REPOSITORY_DIR}",
        f"--http-port={HTTP_PORT}",
        f"--grpc-port={GRPC_PORT}",
        f"--metrics-port={METRICS_PORT}",
        "--allow-metrics=true",
        f"--allow-gpu-metrics={'true' if ctx.plan.gpus else 'false'}",
        "--allow-cpu-metrics=true",
        "--exit-on-error=true",
        "--disable-auto-complete-config",
    ]
    extra_env = []
    if ctx.is_engine and ctx.plan.gpus > 1:
        # Orchestrator mode: one tritonserver process spawns the TensorRT-LLM MPI ranks itself.
        extra_env.append(env("TRTLLM_ORCHESTRATOR", "1"))
    return ServingContainer(
        image=ctx.plan.serving_image,
        command=["tritonserver"],
        args=args,
        ports={"http": HTTP_PORT, "grpc": GRPC_PORT, "metrics": METRICS_PORT},
        readiness=Probe("/v2/health/ready", "http"),
        liveness=Probe("/v2/health/live", "http"),
        metrics=Probe("/metrics", "metrics"),
        protocol=Protocol.KSERVE_V2,
        env=extra_env,
    )
