"""Render the bench's LLMDeployments for an H200 and write what the GPU harness runs: pods, pins, metric names.

Run here (not on the device): `.venv/bin/python bench/gpu/plan.py OUT.json`. Every command, argument and environment
variable the device runs comes from the operator's own renderer; nothing is retyped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from llmops.api.enums import Runtime
from llmops.api.resource import parse_resource
from llmops.desired import DesiredState, desired_state
from llmops.observability.catalog import names_used
from llmops.planning import images
from llmops.planning.facts import ClusterFacts
from llmops.render import compilecache
from llmops_builders import versions

HERE = Path(__file__).resolve().parent
DEPLOYMENTS = HERE / "deployments"


def _state(path: Path) -> DesiredState:
    state = desired_state(parse_resource(yaml.safe_load(path.read_text())), ClusterFacts())
    if not isinstance(state, DesiredState):
        raise SystemExit(f"{path.name}: refused: {state}")
    return state


def entry(path: Path) -> dict[str, Any]:
    """One deployment: its serving pod template and what the harness needs to place the model and reach it."""
    state = _state(path)
    ctx, plan = state.context, state.plan
    deployment = next(o for o in state.objects if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    main = pod["containers"][0]
    return {
        "runtime": plan.runtime.value,
        "model": ctx.spec.model.source.rpartition("/")[2],
        "served_model_name": ctx.served_model_name,
        "artifact_path": ctx.artifact_path,
        "quantization": plan.quantization.value,
        "port": main["ports"][0]["containerPort"],
        "health_path": main["readinessProbe"]["httpGet"]["path"],
        "compile_cache_key": compilecache.key(ctx) if plan.runtime is Runtime.VLLM else None,
        "pod": pod,
    }


def document() -> dict[str, Any]:
    """The whole plan the device reads."""
    return {
        "versions": {"vllm": images.VLLM_VERSION, "llama_cpp_python": versions.LLAMA_CPP_PYTHON_VERSION},
        "images": {"vllm": images.VLLM, "llama-cpp": images.LLAMA_CPP_CUDA},
        "compile_cache": {"volume_dir": compilecache.VOLUME_DIR, "mount": compilecache.MOUNT},
        "metric_names": {r.value: sorted(names_used(r)) for r in (Runtime.VLLM, Runtime.LLAMA_CPP)},
        "deployments": {p.stem: entry(p) for p in sorted(DEPLOYMENTS.glob("*.yaml"))},
    }


def main(argv: list[str] | None = None) -> int:
    """Write the plan to OUT (or stdout)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", type=Path)
    args = parser.parse_args(argv)
    text = json.dumps(document(), indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
