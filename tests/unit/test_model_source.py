"""Model facts from the Hub (a real local hub over HTTP, llmops_dev.hub) and `llmops plan --resolve` / --model-info."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from llmops import modelinfo
from llmops.cli import main
from llmops_dev.hub import ModelHub, Repo

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"
TOKEN = "hf_test_token_0123456789"  # a sentinel: it must appear in no output
SHARDS = {"model-00001-of-00002.safetensors": 10_000_000_000, "model-00002-of-00002.safetensors": 6_060_522_496}


def repo(name: str, shards: dict[str, int], **kwargs: object) -> Repo:
    """The model's real config.json, and weight files the listing gives their real sizes (served empty)."""
    files = {"config.json": (MODELS / name / "config.json").read_bytes(), **{s: b"" for s in shards}}
    return Repo(files, listed_sizes=shards, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def hub() -> Iterator[ModelHub]:
    with ModelHub() as running:
        running.add("meta-llama/Llama-3.1-8B-Instruct", repo("Llama-3.1-8B-Instruct", SHARDS))
        big = {"model-00001-of-00001.safetensors": 141_107_412_992}
        running.add("meta-llama/gated-70b", repo("Llama-3.1-70B-Instruct", big, gated=True, tokens=frozenset({TOKEN})))
        running.add("org/no-config", Repo({"README.md": b"hi"}))
        running.add("org/odd-config", Repo({"config.json": b'{"architectures": ["Mystery"]}'}))
        yield running


def test_a_branch_resolves_to_its_commit_with_config_sizes_and_weight_bytes(hub: ModelHub) -> None:
    facts = modelinfo.from_hub("meta-llama/Llama-3.1-8B-Instruct", "main", endpoint=hub.url)
    expected = hub.repos["meta-llama/Llama-3.1-8B-Instruct"].commit
    assert facts.commit == expected and len(expected) == 40
    assert (facts.architecture, facts.layers, facts.kv_heads) == ("LlamaForCausalLM", 32, 8)
    assert facts.weight_bytes == sum(SHARDS.values())  # from the listing: no weight is downloaded
    assert modelinfo.from_hub("meta-llama/Llama-3.1-8B-Instruct", expected, endpoint=hub.url).commit == expected


@pytest.mark.parametrize(
    ("repo_id", "revision", "token", "reason"),
    [
        ("org/missing", "main", False, modelinfo.NOT_FOUND),
        ("meta-llama/Llama-3.1-8B-Instruct", "no-such-branch", False, modelinfo.REVISION_NOT_FOUND),
        ("meta-llama/gated-70b", "main", False, modelinfo.GATED),
        ("meta-llama/gated-70b", "main", "hf_not_granted", modelinfo.ACCESS_DENIED),
        ("org/no-config", "main", False, modelinfo.CONFIG_MISSING),
        ("org/odd-config", "main", False, modelinfo.CONFIG_UNREADABLE),
    ],
)
def test_each_problem_has_its_own_reason(
    hub: ModelHub, repo_id: str, revision: str, token: str | bool, reason: str
) -> None:
    with pytest.raises(modelinfo.ModelSourceError) as raised:
        modelinfo.from_hub(repo_id, revision, endpoint=hub.url, token=token)
    assert raised.value.reason == reason and not raised.value.retryable
    assert "hf_not_granted" not in str(raised.value)


def test_a_granted_token_reads_a_gated_repo(hub: ModelHub) -> None:
    facts = modelinfo.from_hub("meta-llama/gated-70b", "main", endpoint=hub.url, token=TOKEN)
    assert facts.layers == 80


def test_an_unreachable_hub_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(modelinfo.ModelSourceError) as raised:
        modelinfo.from_hub("org/m", "main", endpoint=f"http://127.0.0.1:{port}")
    assert raised.value.reason == modelinfo.UNREACHABLE and raised.value.retryable


def deployment(tmp_path: Path, source: str, accelerator: str) -> Path:
    path = tmp_path / "llmd.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "llmops.dev/v1alpha1", "kind": "LLMDeployment", "metadata": {"name": "m"},
        "spec": {"model": {"source": source}, "hardware": {"accelerator": accelerator}},
    }))  # fmt: skip
    return path


def test_plan_resolve_checks_the_fit_and_keys_the_artifact_by_commit(
    hub: ModelHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    small = deployment(tmp_path, "hf://meta-llama/Llama-3.1-8B-Instruct", "rtx4090")
    assert main(["plan", "-f", str(small), "--resolve", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["model"]["commit"] == hub.repos["meta-llama/Llama-3.1-8B-Instruct"].commit
    assert document["fit"]["sequences"] == 8
    assert main(["plan", "-f", str(small), "-o", "json"]) == 0  # offline: the branch name, no fit
    offline = json.loads(capsys.readouterr().out)
    assert "fit" not in offline and offline["artifact"]["key"] != document["artifact"]["key"]
    big = deployment(tmp_path, "hf://meta-llama/gated-70b", "rtx4090")
    assert main(["plan", "-f", str(big), "--resolve"]) == 1
    captured = capsys.readouterr()
    assert "model-does-not-fit" in captured.err and TOKEN not in captured.out + captured.err
    missing = deployment(tmp_path, "hf://org/missing", "rtx4090")
    assert main(["plan", "-f", str(missing), "--resolve"]) == 1
    assert "ModelNotFound" in capsys.readouterr().err


def test_plan_model_info_reads_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = deployment(tmp_path, "hf://meta-llama/Llama-3.1-8B-Instruct", "rtx4090")
    index = tmp_path / "model" / "model.safetensors.index.json"
    index.parent.mkdir()
    (index.parent / "config.json").write_bytes((MODELS / "Llama-3.1-8B-Instruct" / "config.json").read_bytes())
    index.write_text(json.dumps({"metadata": {"total_size": 16_060_522_496}, "weight_map": {}}))
    assert main(["plan", "-f", str(small), "--model-info", str(index.parent), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["weightBytes"] == 16_060_522_496
    assert main(["plan", "-f", str(small), "--model-info", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
