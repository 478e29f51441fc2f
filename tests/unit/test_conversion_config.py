"""The conversion configuration: CPU-side Jobs go to the admin's build nodes, downloads talk to the configured Hub
(the operator's HF_ENDPOINT by default), engine builds and serving pods stay where they were, and a bad
configuration stops the command with the key named."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops import cli
from llmops.api.resource import parse_resource
from llmops.desired import DesiredState, desired_state
from llmops.planning.conversionconfig import ConversionConfig, ConversionConfigError, parse_conversion_config
from llmops.planning.facts import ClusterFacts, pools_from_nodes
from tests.unit.test_render import ROOT

NODES = yaml.safe_load((ROOT / "examples" / "nodes.yaml").read_text())["items"]
BUILD_NODES = {"pool": "builds"}
BUILD_TAINT = {"key": "builds", "operator": "Exists", "effect": "NoSchedule"}
MIRROR = "http://hub.mirror.svc:8080"
Obj = dict[str, Any]


def _state(example: str, conversion: ConversionConfig) -> DesiredState:
    resource = parse_resource(yaml.safe_load((ROOT / "examples" / f"{example}.yaml").read_text()))
    state = desired_state(resource, ClusterFacts(pools=pools_from_nodes(NODES), conversion=conversion))
    assert isinstance(state, DesiredState), state
    return state


def _jobs(state: DesiredState) -> list[Obj]:
    return [o for o in state.objects if o["kind"] == "Job"]


def _pod(obj: Obj) -> Obj:
    return dict(obj["spec"]["template"]["spec"])


CONFIG = parse_conversion_config({"nodeSelector": BUILD_NODES, "tolerations": [BUILD_TAINT], "hubEndpoint": MIRROR})


@pytest.mark.parametrize("example", ["edge-llamacpp", "cpu-triton-onnx", "rtx4090-vllm"])
def test_cpu_side_jobs_run_on_the_build_nodes_and_download_from_the_mirror(example: str) -> None:
    default, configured = _state(example, ConversionConfig()), _state(example, CONFIG)
    assert _jobs(configured)
    for job in _jobs(configured):
        pod = _pod(job)
        assert pod["nodeSelector"] == BUILD_NODES
        assert "affinity" not in pod, "the admin's build nodes replace the default CPU-pool placement"
        assert BUILD_TAINT in pod["tolerations"]
    download = _pod(_jobs(configured)[0])
    step = (download.get("initContainers") or download["containers"])[0]
    assert {"name": "HF_ENDPOINT", "value": MIRROR} in step["env"]
    for job in _jobs(default):
        pod = _pod(job)
        assert "nodeSelector" not in pod and pod["affinity"]["nodeAffinity"]
        env = [e for c in [*pod.get("initContainers", []), *pod["containers"]] for e in c["env"]]
        assert not [e for e in env if e["name"] == "HF_ENDPOINT"]
    # Serving is placed by the LLMDeployment's hardware, never by the conversion configuration.
    serving = [o for o in configured.objects if o["kind"] == "Deployment"]
    assert serving == [o for o in default.objects if o["kind"] == "Deployment"]


def test_an_engine_build_stays_on_the_gpu_it_targets() -> None:
    configured = _state("h100-triton-tensorrt", CONFIG)
    download, build = _jobs(configured)
    assert _pod(download)["nodeSelector"] == BUILD_NODES
    build_pod = _pod(build)
    assert "nodeSelector" not in build_pod or build_pod["nodeSelector"] != BUILD_NODES
    assert build_pod["affinity"] == _pod(_jobs(_state("h100-triton-tensorrt", ConversionConfig()))[1])["affinity"]
    assert BUILD_TAINT not in build_pod.get("tolerations", [])


def test_tolerations_alone_keep_the_default_placement() -> None:
    configured = _state("edge-llamacpp", parse_conversion_config({"tolerations": [BUILD_TAINT]}))
    for job in _jobs(configured):
        pod = _pod(job)
        assert pod["affinity"]["nodeAffinity"] and BUILD_TAINT in pod["tolerations"]


def test_the_operators_hf_endpoint_is_the_default_and_the_file_wins() -> None:
    assert parse_conversion_config(None, hub_endpoint="http://local:1/").hub_endpoint == "http://local:1"
    assert parse_conversion_config({"hubEndpoint": MIRROR}, hub_endpoint="http://local:1").hub_endpoint == MIRROR


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"hubEndpoint": "hub.local"}, "conversion.hubEndpoint: 'hub.local' is not an http(s) URL"),
        ({"nodeSelector": {"pool": 3}}, "conversion.nodeSelector.pool: Input should be a valid string"),
        ({"tolerations": [{"effect": "Sometimes"}]}, "conversion.tolerations[0].effect: Input should be"),
        ({"nodeSelecter": {}}, "conversion.nodeSelecter: unknown key (known: nodeSelector, tolerations, hubEndpoint)"),
        ([], "conversion: must be a mapping of keys to values, not list"),
    ],
)
def test_a_bad_configuration_names_the_key(raw: Any, problem: str) -> None:
    with pytest.raises(ConversionConfigError) as caught:
        parse_conversion_config(raw)
    assert problem in str(caught.value), str(caught.value)


def _llmops(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if k not in (cli.CONVERSION_CONFIG_ENV, "HF_ENDPOINT")}
    command = [sys.executable, "-m", "llmops.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=keep | env, timeout=60)


def test_plan_reads_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "conversion.yaml"
    path.write_text(yaml.safe_dump({"nodeSelector": BUILD_NODES}))
    example = str(ROOT / "examples" / "edge-llamacpp.yaml")
    result = _llmops("plan", "-f", example, "-o", "json", "--conversion-config", str(path), env={"HF_ENDPOINT": MIRROR})
    assert result.returncode == 0, result.stderr
    jobs = [o for o in json.loads(result.stdout)["objects"] if o["kind"] == "Job"]
    assert jobs and all(_pod(j)["nodeSelector"] == BUILD_NODES for j in jobs)
    assert {"name": "HF_ENDPOINT", "value": MIRROR} in _pod(jobs[0])["containers"][0]["env"]


@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_bad_configuration_stops_the_command_at_start_with_one_line(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "conversion.yaml"
    bad.write_text("hubEndpoint: ftp://hub\n")
    args = ["-f", str(ROOT / "examples" / "edge-llamacpp.yaml")] if command == "plan" else []
    env = {"KUBECONFIG": str(tmp_path / "absent"), cli.CONVERSION_CONFIG_ENV: str(bad)}
    result = _llmops(command, *args, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: conversion config {bad}: conversion.hubEndpoint: 'ftp://hub' is not an http(s) URL such as "
        "https://hf-mirror.example.com"
    ]


def test_a_bad_hf_endpoint_in_the_environment_is_named_too(tmp_path: Path) -> None:
    result = _llmops("run", env={"KUBECONFIG": str(tmp_path / "absent"), "HF_ENDPOINT": "not a url"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: conversion config ($HF_ENDPOINT): conversion.hubEndpoint: 'not a url'")
