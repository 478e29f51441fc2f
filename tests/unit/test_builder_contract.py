"""The contract between the operator's Job renderer and `llmops-build`: every rendered step parses with the
builders' own command line, and both sides pin the same TensorRT-LLM/Triton pairing."""

from pathlib import Path

import pytest

from llmops.planning import images
from llmops_builders import versions
from llmops_builders.cli import build_parser
from tests.unit.test_render import EXAMPLES, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_job_step_is_a_valid_llmops_build_command(example: Path) -> None:
    parser = build_parser()
    for job in (o for o in render(example).objects if o["kind"] == "Job"):
        pod = job["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert container["command"] == ["llmops-build"]
            args = parser.parse_args(container["args"])  # raises on any flag the builders do not know
            assert args.command == container["args"][2]


def test_engine_image_pairing_is_the_same_on_both_sides() -> None:
    assert images.TRITON_TRTLLM == versions.TRITON_TRTLLM_IMAGE
    assert images.TENSORRT_LLM_VERSION == versions.TENSORRT_LLM_VERSION


def test_builder_images_have_dockerfiles() -> None:
    for image in {*images.BUILDER_BY_FORMAT.values(), images.Image.TRITON_ONNX}:
        name = images.DEFAULTS[image].rsplit("/", 1)[-1].split(":")[0]
        assert (ROOT / "builders" / "docker" / f"{name}.Dockerfile").is_file(), name
