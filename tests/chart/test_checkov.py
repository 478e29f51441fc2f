"""checkov on the rendered chart: clean except the skips listed, with reasons, in tests/chart/checkov*.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.chart import CHART, CI_VALUES, hook_pod, one, render
from tests.chart.tools import run_checkov

HERE = Path(__file__).parent
CONFIG = HERE / "checkov.yaml"
HOOK_CONFIG = HERE / "checkov-test-hook.yaml"


def _skips(config: Path) -> set[str]:
    return set(yaml.safe_load(config.read_text())["skip-check"])


def _checkov(objects: list[dict[str, Any]], tmp_path: Path, *args: str) -> tuple[set[str], dict[str, Any]]:
    """Failed check ids and the summary of checkov on these objects."""
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    proc = run_checkov("-f", str(manifest), "--framework", "kubernetes", "-o", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    reports = json.loads(proc.stdout)
    report = reports[0] if isinstance(reports, list) else reports
    if "results" not in report:  # checkov's shape when every check passed and nothing was skipped
        return set(), dict(report)
    failed = {f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]}
    return failed, dict(report["summary"])


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_chart_passes_checkov_with_the_listed_skips(tmp_path: Path, helm: str, values: Path) -> None:
    objects = render(helm, "--skip-tests", values=[values])
    failed, summary = _checkov(objects, tmp_path, "--config-file", str(CONFIG))
    assert not failed, failed
    assert summary["passed"] > 50, summary


def _hook_and_its_network_policy(helm: str) -> list[dict[str, Any]]:
    objects = render(helm)
    return [hook_pod(objects), one(objects, "NetworkPolicy")]


def test_helm_test_pod_passes_checkov_with_its_listed_skips(tmp_path: Path, helm: str) -> None:
    failed, summary = _checkov(_hook_and_its_network_policy(helm), tmp_path, "--config-file", str(HOOK_CONFIG))
    assert not failed, failed
    assert summary["passed"] > 20, summary


def test_every_skip_is_still_needed(tmp_path: Path, helm: str) -> None:
    """Without the skips checkov fails exactly the skipped checks: none is stale, and checkov does check."""
    failed, _ = _checkov(render(helm, "--skip-tests"), tmp_path)
    assert {f.split()[0] for f in failed} == _skips(CONFIG)
    failed, _ = _checkov(_hook_and_its_network_policy(helm), tmp_path)
    assert {f.split()[0] for f in failed} == _skips(HOOK_CONFIG)


def test_a_digest_satisfies_the_digest_check(tmp_path: Path, helm: str) -> None:
    production = render(helm, "--skip-tests", values=[CHART / "ci" / "production-values.yaml"])
    failed, _ = _checkov(production, tmp_path, "--check", "CKV_K8S_43")
    assert not failed
