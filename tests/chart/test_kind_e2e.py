"""e2e/kind/run.sh cannot run here (no Docker): it is checked statically, against what it drives."""

from __future__ import annotations

import re
import shutil
import subprocess

from tests.chart.chart import ROOT

SCRIPT = ROOT / "e2e" / "kind" / "run.sh"


def test_script_parses_and_is_executable() -> None:
    bash = shutil.which("bash")
    assert bash
    proc = subprocess.run([bash, "-n", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert SCRIPT.stat().st_mode & 0o111
    assert SCRIPT.read_text().startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in SCRIPT.read_text()


def test_bash_n_does_catch_a_syntax_error() -> None:
    proc = subprocess.run(["bash", "-n"], input="if true; then\n", capture_output=True, text=True, check=False)
    assert proc.returncode != 0


def test_script_runs_the_embedded_suite_against_the_kind_cluster() -> None:
    text = SCRIPT.read_text()
    assert 'LLMOPS_TEST_KUBECONFIG="$KUBECONFIG" .venv/bin/pytest tests/integration/test_operator.py -m cluster' in text
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    paths = re.findall(r"(e2e/cluster/[^\s;\"]+|charts/llmops|tests/integration/[^\s;\"]+\.py)", code)
    assert len(paths) >= 5, paths
    for path in paths:
        found = list(ROOT.glob(path)) if "*" in path else [ROOT / path]
        assert found and all(p.exists() for p in found), path
    # the kwok flags are the embedded cluster's (llmops_dev.components), except a pod CIDR clear of kind's
    assert "--manage-nodes-with-label-selector=type=kwok" in text and "--cidr=10.250.0.0/16" in text
    # the in-cluster operator steps aside before the suite starts its own
    assert code.index("--replicas=0") < code.index(".venv/bin/pytest")


def test_script_values_are_accepted_by_the_chart(helm: str) -> None:
    args = ["--set", "image.repository=ghcr.io/llmops-dev/operator", "--set", "image.tag=e2e"]
    args += ["--set", "image.pullPolicy=Never", "--set", "tolerations[0].key=llmops.dev/e2e"]
    args += ["--set", "tolerations[0].operator=Exists"]
    proc = subprocess.run([helm, "template", "llmops", str(ROOT / "charts" / "llmops"), *args], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "image: ghcr.io/llmops-dev/operator:e2e" in proc.stdout
