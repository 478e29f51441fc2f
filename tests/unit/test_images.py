"""The images configuration: every rendered image comes from it, a mirror moves every default, an explicit image
wins, the pull policy reaches every container, and a bad configuration stops `llmops plan` and `llmops run` with
the key named."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops import cli
from llmops.api.resource import parse_resource
from llmops.planning import imageconfig, images
from llmops.planning.facts import ClusterFacts
from llmops.planning.imageconfig import ImageConfig, ImageConfigError, PullPolicy, parse_image_config
from llmops.planning.images import DEFAULTS, Image
from llmops.planning.planner import Plan, plan
from tests.unit.test_render import EXAMPLES, ROOT

MIRROR = "registry.local:5000"
NODES = str(ROOT / "examples" / "nodes.yaml")


def containers(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            pod = obj["spec"]["template"]["spec"]
            yield from [*pod.get("initContainers", []), *pod["containers"]]


def plan_all(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: dict[str, Any] | None) -> list[Any]:
    """`llmops plan -o json [--images-config FILE]` on every example, as the command prints it."""
    extra: list[str] = []
    if config is not None:
        (tmp_path / "images.yaml").write_text(yaml.safe_dump(config))
        extra = ["--images-config", str(tmp_path / "images.yaml")]
    documents = []
    for example in EXAMPLES:
        auto = yaml.safe_load(example.read_text())["spec"].get("hardware", {}).get("accelerator", "auto") == "auto"
        assert cli.main(["plan", "-f", str(example), "-o", "json", *(["--nodes", NODES] if auto else []), *extra]) == 0
        documents.append(json.loads(capsys.readouterr().out))
    return documents


def rendered_images(documents: list[Any]) -> set[str]:
    return {c["image"] for d in documents for c in containers(d["objects"])}


def test_one_key_per_image_and_every_default_is_a_fully_qualified_reference() -> None:
    assert [f.alias for f in ImageConfig.model_fields.values()] == ["registry", "pullPolicy", *Image]
    for image in Image:
        reference = DEFAULTS[image]
        assert re.fullmatch(imageconfig.REFERENCE, reference), reference
        # the mirror replaces the first component: it must be a registry host, never a Docker Hub namespace
        assert re.fullmatch(imageconfig.MIRROR, reference.split("/", 1)[0]), reference


def test_the_default_configuration_renders_the_pins(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert ClusterFacts().images == ImageConfig() == parse_image_config({})
    assert rendered_images(plan_all(capsys, tmp_path, None)) == set(DEFAULTS.values())  # every pin is reached


def test_a_mirror_moves_every_rendered_image_and_keeps_the_artifact_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = plan_all(capsys, tmp_path, None)
    mirrored = plan_all(capsys, tmp_path, {"registry": MIRROR})
    assert rendered_images(mirrored) == {f"{MIRROR}/{ref.split('/', 1)[1]}" for ref in DEFAULTS.values()}
    # a mirror serves the same bytes: no artifact is rebuilt for moving to one
    assert [d["artifact"]["key"] for d in mirrored] == [d["artifact"]["key"] for d in plain]


@pytest.mark.parametrize("image", list(Image))
def test_an_explicit_image_wins_over_the_mirror(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, image: Image
) -> None:
    explicit = f"example.com/custom/{image.value.lower()}:1.0"
    documents = plan_all(capsys, tmp_path, {"registry": f"{MIRROR}/", image.value: explicit})
    others = {f"{MIRROR}/{ref.split('/', 1)[1]}" for other, ref in DEFAULTS.items() if other is not image}
    assert rendered_images(documents) == others | {explicit}


def test_an_explicit_builder_may_be_another_toolchain_so_it_changes_the_artifact_key() -> None:
    spec = parse_resource(yaml.safe_load((ROOT / "examples" / "edge-llamacpp.yaml").read_text())).spec

    def key(config: ImageConfig) -> str:
        chosen = plan(spec, ClusterFacts(images=config))
        assert isinstance(chosen, Plan), chosen
        return chosen.artifact_key

    local = ImageConfig(gguf_builder="localhost/llmops/gguf-builder:0123abcd")
    assert key(local) != key(ImageConfig()) == key(ImageConfig(registry=MIRROR))
    assert ImageConfig(registry=MIRROR).identity(Image.GGUF_BUILDER) == images.GGUF_BUILDER


def test_the_spec_image_wins_over_the_configuration(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "examples" / "l4-vllm.yaml").read_text())
    raw["spec"].setdefault("serving", {})["image"] = "example.com/mine/vllm:dev"
    (tmp_path / "l4.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "images.yaml").write_text(yaml.safe_dump({"registry": MIRROR, "vllm": "example.com/vllm:x"}))
    assert (
        cli.main(
            ["plan", "-f", str(tmp_path / "l4.yaml"), "-o", "json", "--images-config", str(tmp_path / "images.yaml")]
        )
        == 0
    )
    (deployment,) = [o for o in json.loads(capsys.readouterr().out)["objects"] if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "example.com/mine/vllm:dev"


@pytest.mark.parametrize("policy", [None, "", "Always", "Never", "IfNotPresent"])
def test_the_pull_policy_reaches_every_container(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: str | None
) -> None:
    documents = plan_all(capsys, tmp_path, None if policy is None else {"pullPolicy": policy})
    expected = policy or PullPolicy.IF_NOT_PRESENT.value  # IfNotPresent: never pulls a locally loaded image
    assert {c["imagePullPolicy"] for d in documents for c in containers(d["objects"])} == {expected}


@pytest.mark.parametrize(
    "reference",
    [
        "localhost/llmops/gguf-builder:0123abcd",
        "localhost:5000/llmops/gguf-builder:dev",
        "10.0.0.1:5000/a/b:1",
        "vllm/vllm-openai:v0.11.0",  # Docker Hub, implicitly
        "nvcr.io/nim/nvidia/llm-nim@sha256:" + "a" * 64,
        "nvcr.io/nim/nvidia/llm-nim:2.0.13@sha256:" + "a" * 64,
        "my-registry.example.com/a__b/c.d/e-f:X_y.z-1",
    ],
)
def test_valid_references_are_accepted(reference: str) -> None:
    assert parse_image_config({"nim": reference}).reference(Image.NIM) == reference


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"nimm": "nvcr.io/x:1"}, "images.nimm: unknown key (known: registry, pullPolicy, tritonTrtllm,"),
        ({"vllm": "docker.io/vllm/vllm-openai"}, "images.vllm: 'docker.io/vllm/vllm-openai' is not a full image"),
        ({"vllm": "Docker.io/Vllm:1"}, "images.vllm: 'Docker.io/Vllm:1' is not a full image reference"),
        ({"ggufBuilder": "a b:1"}, "images.ggufBuilder: 'a b:1' is not a full image reference"),
        ({"nim": "x@sha256:abc"}, "images.nim: 'x@sha256:abc' is not a full image reference"),
        ({"nim": 5}, "images.nim: Input should be a valid string"),
        ({"registry": "mirror"}, "images.registry: 'mirror' is not a registry host"),
        ({"registry": "https://registry.local"}, "images.registry: 'https://registry.local' is not a registry host"),
        ({"pullPolicy": "sometimes"}, "images.pullPolicy: Input should be 'Always', 'IfNotPresent' or 'Never'"),
        (["nim"], "images: must be a mapping of keys to values, not list"),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_key(raw: Any, problem: str) -> None:
    with pytest.raises(ImageConfigError) as caught:
        parse_image_config(raw)
    assert problem in str(caught.value), str(caught.value)


def test_a_mirror_with_a_path_and_a_trailing_slash() -> None:
    config = parse_image_config({"registry": "harbor.example.com/proxy/"})
    assert config.reference(Image.VLLM) == f"harbor.example.com/proxy/vllm/vllm-openai:v{images.VLLM_VERSION}"


def _llmops(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != cli.IMAGES_CONFIG_ENV} | (env or {})
    command = [sys.executable, "-m", "llmops.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=environment, timeout=60)


@pytest.mark.parametrize("how", ["flag", "env"])
@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_bad_configuration_stops_the_command_at_start_with_one_line(tmp_path: Path, how: str, command: str) -> None:
    bad = tmp_path / "images.yaml"
    bad.write_text("registry: registry.local:5000\nnim: nvcr.io/nim/nvidia/llm-nim\n")
    args = ["-f", str(ROOT / "examples" / "h100-nim.yaml")] if command == "plan" else []
    # KUBECONFIG points nowhere: `run` must fail on the configuration before it looks for a cluster
    env = {"KUBECONFIG": str(tmp_path / "absent")}
    if how == "env":
        result = _llmops(command, *args, env=env | {cli.IMAGES_CONFIG_ENV: str(bad)})
    else:
        result = _llmops(command, *args, "--images-config", str(bad), env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: images config {bad}: images.nim: 'nvcr.io/nim/nvidia/llm-nim' is not a full image reference: "
        "[registry/]repository:tag, or @sha256:<digest>"
    ]


@pytest.mark.parametrize(("content", "problem"), [(None, "No such file"), ("nim: [\n", "while parsing")])
def test_an_unreadable_configuration_is_one_line_too(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "images.yaml"
    if content is not None:
        path.write_text(content)
    result = _llmops("run", "--images-config", str(path), env={"KUBECONFIG": str(tmp_path / "absent")})
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and problem in result.stderr


def test_the_environment_variable_configures_plan(tmp_path: Path) -> None:
    (tmp_path / "images.yaml").write_text(f"registry: {MIRROR}\n")
    env = {cli.IMAGES_CONFIG_ENV: str(tmp_path / "images.yaml")}
    result = _llmops("plan", "-f", str(ROOT / "examples" / "edge-llamacpp.yaml"), "-o", "json", env=env)
    assert result.returncode == 0, result.stderr
    assert {c["image"].split("/", 1)[0] for c in containers(json.loads(result.stdout)["objects"])} == {MIRROR}
