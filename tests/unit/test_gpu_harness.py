"""The GPU harness's committed results still describe the operator: same pins, same rendered args, names seen."""

import json
from pathlib import Path
from typing import Any

import pytest

from bench.gpu.device import bench
from llmops.api.enums import Runtime
from llmops.observability.catalog import names_used
from llmops.planning import images
from llmops_builders import versions

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "gpu" / "results" / "2026-12-02"
PAGES = {Runtime.VLLM: "vllm-0.26.0.txt", Runtime.LLAMA_CPP: "llama-server-0c1e57098.txt"}


def committed_plan() -> dict[str, Any]:
    return dict(json.loads((RESULTS / "plan.json").read_text()))


@pytest.mark.parametrize("runtime", list(PAGES), ids=lambda r: r.value)
def test_every_metric_the_dashboards_alerts_and_hpas_read_was_exported_by_the_real_server(runtime: Runtime) -> None:
    page = (RESULTS / "metrics" / PAGES[runtime]).read_text()
    missing = bench.missing_names(page, sorted(names_used(runtime)))  # the harness's own check, on its page
    assert not missing, f"not exported by the server the GPU harness measured: {missing}"


def test_the_image_pins_are_the_versions_the_harness_measured() -> None:
    installed = json.loads((RESULTS / "install.json").read_text())
    assert installed["vllm"] == images.VLLM_VERSION, "moving the vLLM pin needs a new bench/gpu run"
    assert committed_plan()["versions"]["llama_cpp_python"] == versions.LLAMA_CPP_PYTHON_VERSION


def test_the_measured_serving_args_are_what_the_operator_renders_today() -> None:
    from bench.gpu.plan import document  # noqa: PLC0415 - renders every bench deployment

    current = document()["deployments"]
    for name, entry in committed_plan()["deployments"].items():
        main, now = entry["pod"]["containers"][0], current[name]["pod"]["containers"][0]
        assert (main["command"], main["args"], main["env"]) == (now["command"], now["args"], now["env"]), (
            f"{name}: the operator now renders other serving args than bench/gpu measured; run the harness again "
            "(bench/gpu/README.md) and update the README's GPU table"
        )
