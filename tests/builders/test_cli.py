"""The CLI contract the operator's Jobs rely on: exit codes and the one-line termination reason."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from llmops_builders import termination

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def test_usage_errors_reach_the_termination_log(cli: CliRunner, termination_log: Path) -> None:
    proc = cli("convert", "--to", "gguf", check=False)
    assert proc.returncode == 1
    assert termination_log.read_text() == (
        "usage: llmops-build convert: the following arguments are required: --src, --out\n"
    )


def test_missing_per_target_flags_are_named(cli: CliRunner, tmp_path: Path, termination_log: Path) -> None:
    proc = cli("convert", "--to", "tensorrt-engine", "--src", str(tmp_path), "--out", str(tmp_path / "e"), check=False)
    assert proc.returncode == 1
    assert termination_log.read_text().strip() == (
        "convert: --to tensorrt-engine needs --max-batch-size, --max-input-len, --max-seq-len"
    )


def test_environment_variable_chooses_the_log_when_no_flag(tmp_path: Path, cli_env: dict[str, str]) -> None:
    log = tmp_path / "from-env"
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_builders.cli", "publish", "--src", "x", "--artifacts-root", str(tmp_path),
         "--key", "bad", "--source", "s", "--revision", "r", "--format", "gguf", "--quantization", "q"],
        env={**cli_env, termination.ENV_VAR: str(log)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert log.read_text().startswith("publish: invalid artifact key 'bad'")


def test_installed_console_script_is_the_cli(tmp_path: Path, cli_env: dict[str, str]) -> None:
    script = Path(sys.executable).parent / "llmops-build"
    proc = subprocess.run([str(script), "--help"], env=cli_env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    for command in ("resolve", "download", "convert", "quantize", "repository", "publish"):
        assert command in proc.stdout


def test_reasons_are_one_short_line_without_tokens(tmp_path: Path) -> None:
    secret = "hf_" + "A1b2" * 10
    os.environ["HF_TOKEN"] = "plainsecretvalue"
    try:
        line = termination.write_reason(
            tmp_path / "log", f"download: failed\nwith {secret} and plainsecretvalue " + "x" * 5000
        )
    finally:
        del os.environ["HF_TOKEN"]
    written = (tmp_path / "log").read_text()
    assert written == line + "\n"
    assert "\n" not in line and len(line.encode()) <= termination.MAX_BYTES
    assert secret not in written and "plainsecretvalue" not in written
    assert line.startswith("download: failed with *** and *** xxx")


def test_unwritable_log_does_not_mask_the_failure(cli_env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_builders.cli", "--termination-log", str(tmp_path / "no" / "dir" / "log"),
         "quantize", "--src", str(tmp_path / "a.gguf"), "--out", str(tmp_path / "b.gguf"), "--type", "q8_0"],
        env=cli_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert f"quantize: no GGUF file at {tmp_path / 'a.gguf'}" in proc.stderr
