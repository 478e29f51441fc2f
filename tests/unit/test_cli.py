"""`llmops plan` and `llmops crd` as a user runs them."""

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.yaml") if p.name != "nodes.yaml")


def llmops(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmops.cli", *args], capture_output=True, text=True, input=stdin, check=False
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_plan_succeeds_on_every_example(example: Path) -> None:
    hardware = yaml.safe_load(example.read_text())["spec"].get("hardware", {})
    needs_nodes = hardware.get("accelerator", "auto") == "auto"
    extra = ["--nodes", str(ROOT / "examples" / "nodes.yaml")] if needs_nodes else []
    result = llmops("plan", "-f", str(example), "-o", "json", *extra)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["plan"]["runtime"] and document["artifact"]["key"].startswith("sha256:")
    for obj in document["objects"]:
        if not obj["apiVersion"].startswith("monitoring.coreos.com"):
            kubernetes_validate.validate(obj, "1.36.0", strict=True)


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        (
            {"model": {"source": "pvc://m/x.gguf"}, "hardware": {"accelerator": "rtx4090"}, "runtime": "vllm"},
            "runtime-format-unsupported",
        ),
        (
            {
                "model": {"source": "hf://o/m"},
                "hardware": {"accelerator": "a100"},
                "optimization": {"quantization": "fp8"},
            },
            "fp8-needs-hopper-or-ada",
        ),
        (
            {"model": {"source": "hf://o/m"}, "hardware": {"accelerator": "cpu"}, "runtime": "tensorrt-llm"},
            "runtime-needs-nvidia-gpu",
        ),
    ],
)
def test_plan_refuses_with_the_rule_and_exits_non_zero(spec: dict[str, object], rule: str) -> None:
    doc = {"apiVersion": "llmops.dev/v1alpha1", "kind": "LLMDeployment", "metadata": {"name": "bad"}, "spec": spec}
    result = llmops("plan", "-f", "-", stdin=yaml.safe_dump(doc))
    assert result.returncode == 1
    assert f"refused by rule {rule}:" in result.stderr
    assert result.stdout == ""


def test_plan_reports_invalid_fields() -> None:
    doc = {"apiVersion": "llmops.dev/v1alpha1", "kind": "LLMDeployment", "metadata": {"name": "bad"},
           "spec": {"model": {"source": "hf://o/m"}, "serving": {"replicas": -1}}}  # fmt: skip
    result = llmops("plan", "-f", "-", stdin=yaml.safe_dump(doc))
    assert result.returncode == 1 and "spec.serving.replicas" in result.stderr


def test_plan_yaml_output_for_several_documents() -> None:
    both = (
        (ROOT / "examples" / "edge-llamacpp.yaml").read_text()
        + "---\n"
        + (ROOT / "examples" / "l4-vllm.yaml").read_text()
    )
    result = llmops("plan", "-f", "-", stdin=both)
    assert result.returncode == 0, result.stderr
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [d["plan"]["runtime"] for d in documents] == ["llama-cpp", "vllm"]


def test_crd_command_prints_the_committed_crd() -> None:
    result = llmops("crd")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "crds" / "llmdeployments.llmops.dev.yaml").read_text()
