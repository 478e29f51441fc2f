"""`promtool test rules`: every alert fires on input series that should fire it, with its rendered annotations,
and stays silent before its `for:` has elapsed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from llmops.observability.conventions import DEPLOYMENT, OPERATOR_JOB, RUNTIME
from tests.observability import promql
from tests.observability.prometheus import binary

OPERATOR = {"job": OPERATOR_JOB, "namespace": "llmops-system"}
CTL = {**OPERATOR, "controller": "llmdeployment"}
SERVING = {"job": "ml/chat", "namespace": "ml", "pod": "chat-0", "instance": "10.0.0.7:8000",
           DEPLOYMENT: "chat", RUNTIME: "vllm"}  # fmt: skip


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def alerts() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in promql.rule_groups() for r in g["rules"]}


def expected(alert: str, labels: dict[str, str], value: str) -> dict[str, Any]:
    """The alert as promtool renders it: the rule's labels and its annotations' templates filled in."""
    rule = alerts()[alert]

    def render(template: str) -> str:
        template = re.sub(r"\{\{ \$value[^}]*\}\}", value, template)
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m[1]], template)

    return {
        "exp_labels": {**labels, **rule["labels"]},
        "exp_annotations": {k: render(v) for k, v in rule["annotations"].items()},
    }


def case(alert: str, at: str, fired: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": fired}


def unit_tests() -> list[dict[str, Any]]:
    minute = [
        series("up", OPERATOR | {"instance": "10.0.0.5:8080"}, "1 1 1 0x20"),
        series("controller_runtime_reconcile_errors_total", CTL, "0+6x40"),
        series("controller_runtime_reconcile_total", CTL | {"result": "error"}, "0+6x40"),
        series("controller_runtime_reconcile_total", CTL | {"result": "success"}, "0+24x40"),
        series("controller_runtime_reconcile_time_seconds_bucket", CTL | {"le": "10"}, "0x60"),
        series("controller_runtime_reconcile_time_seconds_bucket", CTL | {"le": "30"}, "0+1x60"),
        series("controller_runtime_reconcile_time_seconds_bucket", CTL | {"le": "+Inf"}, "0+1x60"),
        series("llmops_llmdeployments", OPERATOR | {"phase": "Failed"}, "0 0 1x30"),
        series("llmops_llmdeployments", OPERATOR | {"phase": "Degraded"}, "0 0 2x30"),
        series("llmops_conversion_duration_seconds_count", OPERATOR | {"format": "gguf"}, "0 0 1x10"),
        series("llmops_conversion_duration_seconds_bucket", OPERATOR | {"format": "gguf", "le": "7200"}, "0x12"),
        series("up", SERVING, "1 0x20"),
    ]
    # Every healthy series covers the 30m evaluation: a series that ended is absent after 5 minutes.
    healthy = [
        series("up", OPERATOR | {"instance": "10.0.0.5:8080"}, "1x40"),
        series("controller_runtime_reconcile_errors_total", CTL, "0+1x40"),
        series("controller_runtime_reconcile_total", CTL | {"result": "success"}, "0+60x40"),
        series("controller_runtime_reconcile_total", CTL | {"result": "error"}, "0+1x40"),
        series("llmops_llmdeployments", OPERATOR | {"phase": "Failed"}, "0x30"),
        series("llmops_conversion_duration_seconds_count", OPERATOR | {"format": "onnx"}, "0 0 1x10"),
        series("llmops_conversion_duration_seconds_bucket", OPERATOR | {"format": "onnx", "le": "7200"}, "0 0 1x10"),
        series("up", SERVING, "1x40"),
    ]
    fmt = OPERATOR | {"format": "gguf"}
    return [
        {
            "interval": "1m",
            "input_series": minute,
            "alert_rule_test": [
                case("LLMOpsOperatorDown", "6m", []),
                # absent() of a comparison carries no labels
                case("LLMOpsOperatorDown", "9m", [expected("LLMOpsOperatorDown", {}, "")]),
                case("LLMOpsReconcileErrors", "10m", []),
                case("LLMOpsReconcileErrors", "25m", [expected("LLMOpsReconcileErrors", OPERATOR, "20%")]),
                case("LLMOpsReconcileSlow", "20m", []),
                case("LLMOpsReconcileSlow", "45m", [expected("LLMOpsReconcileSlow", OPERATOR, "29.8s")]),
                case("LLMDeploymentsFailed", "8m", []),
                case("LLMDeploymentsFailed", "13m", [expected("LLMDeploymentsFailed", OPERATOR, "1")]),
                case("LLMDeploymentsDegraded", "13m", []),
                case("LLMDeploymentsDegraded", "18m", [expected("LLMDeploymentsDegraded", OPERATOR, "2")]),
                case("LLMOpsConversionSlow", "1m", []),
                case("LLMOpsConversionSlow", "10m", [expected("LLMOpsConversionSlow", fmt, "1")]),
                case("LLMDeploymentMetricsDown", "8m", []),
                case("LLMDeploymentMetricsDown", "12m", [expected("LLMDeploymentMetricsDown", SERVING, "")]),
            ],
        },
        {
            "interval": "1m",  # a sparser input would go stale between samples (5 minute lookback)
            "input_series": [series("llmops_llmdeployments", OPERATOR | {"phase": "Converting"}, "1x300")],
            "alert_rule_test": [
                case("LLMOpsConversionStuck", "2h", []),
                case("LLMOpsConversionStuck", "4h", [expected("LLMOpsConversionStuck", OPERATOR, "1")]),
            ],
        },
        {
            "interval": "1m",
            "input_series": healthy,
            "alert_rule_test": [case(name, "30m", []) for name in alerts() if name != "LLMOpsConversionStuck"],
        },
    ]


def run_promtool(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "rules_test.yaml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(promql.RULES)], "evaluation_interval": "1m", "tests": tests}))
    return subprocess.run([binary("promtool"), "test", "rules", str(spec)], capture_output=True, text=True, check=False)


def test_every_alert_fires_on_its_input_and_not_before_its_duration(tmp_path: Path) -> None:
    tests = unit_tests()
    fired = {c["alertname"] for t in tests for c in t["alert_rule_test"] if c["exp_alerts"]}
    assert fired == set(alerts()), "each alert has a firing case"
    proc = run_promtool(tmp_path, tests)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """A wrong expectation (the operator-down alert silent while the operator is down) is reported."""
    tests = unit_tests()
    tests[0]["alert_rule_test"][1] = case("LLMOpsOperatorDown", "9m", [])
    proc = run_promtool(tmp_path, tests)
    assert proc.returncode != 0 and "LLMOpsOperatorDown" in proc.stdout + proc.stderr
