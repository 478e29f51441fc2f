"""The generated dashboards and rules: up to date, well-formed, and naming only catalogued, current metrics."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from llmops.api.enums import Runtime
from llmops.observability import __main__ as generator
from llmops.observability.catalog import CATALOG, RUNTIME_SOURCES, Source, Status
from llmops.observability.conventions import DEPLOYMENT, OPERATOR_JOB, RUNTIME
from llmops.observability.dashboards import OPERATOR_UID, SERVING_UID
from llmops.observability.rules import rule_file
from tests.observability import prometheus, promql
from tests.observability.promql import ROOT, Expression

PANEL_TYPES = {"row", "timeseries", "stat"}
GRID_WIDTH = 24


def test_generated_files_are_up_to_date(tmp_path: Any) -> None:
    """The committed files are what the generator writes (`python -m llmops.observability` regenerates them)."""
    assert generator.main(["--root", str(ROOT), "--check"]) == 0, "run: python -m llmops.observability"
    # and --check really compares: a changed copy is reported
    for relative, text in generator.outputs().items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    assert generator.main(["--root", str(tmp_path), "--check"]) == 0
    (tmp_path / generator.RULES_FILE).write_text("groups: []\n")
    assert generator.main(["--root", str(tmp_path), "--check"]) == 1


def test_the_generator_imports_neither_kopf_nor_kubernetes() -> None:
    code = "import sys, llmops.observability.__main__; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "{'kopf', 'kubernetes', 'prometheus_client'}))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("expression", promql.all_expressions(), ids=lambda e: e.where)
def test_every_expression_parses_and_names_only_catalogued_current_metrics(expression: Expression) -> None:
    assert promql.problems(expression) == []


def test_the_checker_rejects_what_it_should() -> None:
    """The check above can fail: unknown names, retired names, wrong labels and bad syntax are all caught."""

    def check(expr: str) -> list[str]:
        return promql.problems(Expression("probe", expr))

    assert check("sum(rate(vllm:generation_tokens_total[5m]))") == []
    assert "not in the metric catalog" in check("rate(vllm:generation_tokens[5m])")[0]
    assert "removed" in check("vllm:gpu_cache_usage_perc")[0]
    assert "inter_token_latency" in check("rate(vllm:time_per_output_token_seconds_sum[5m])")[0]
    assert "removed" in check("llamacpp:kv_cache_usage_ratio > 0.8")[0]
    assert "does not parse" in check("sum(rate(up[5m])")[0]
    assert "has no label phases" in check('llmops_llmdeployments{phase="x", phases="y"}')[0]
    assert "grouping by result" in check("sum by (result) (llmops_llmdeployments)")[0]
    assert "without a metric name" in check('{job="x"}')[0]
    assert check('{__name__="up"}') == []


@pytest.mark.parametrize("name", ["llmops-operator.json", "llmops-serving.json"])
def test_dashboard_is_well_formed_for_the_grafana_sidecar(name: str) -> None:
    board = promql.dashboards()[name]
    assert board["uid"] == {"llmops-operator.json": OPERATOR_UID, "llmops-serving.json": SERVING_UID}[name]
    assert board["title"].startswith("llmops / ") and "llmops" in board["tags"]
    assert "id" not in board or board["id"] is None, "a provisioned dashboard carries no numeric id"
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["annotations"] == {"list": []}
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    defined = set(variables) | {"__rate_interval", "__interval", "__range"}

    ids = [p["id"] for p in promql.panels(board)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    cells: set[tuple[int, int]] = set()
    for panel in promql.panels(board):
        assert panel["type"] in PANEL_TYPES, panel["type"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
        if panel["type"] == "row":
            assert panel.get("panels") == [] and not panel.get("collapsed"), "rows are open; panels follow them"
            continue
        assert panel["title"] and panel["description"], "every panel says what it shows"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        targets = panel["targets"]
        assert targets, panel["title"]
        assert len({t["refId"] for t in targets}) == len(targets) and all(t["refId"] for t in targets)
        for target in targets:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            used = set(re.findall(r"\$(\w+)", target["expr"]))
            assert used <= defined, f"{panel['title']}: undefined variables {used - defined}"


def test_serving_dashboard_filters_on_runtime_and_deployment_and_covers_every_runtime() -> None:
    board = promql.dashboards()["llmops-serving.json"]
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "namespace", "runtime", "deployment"]
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == ["Replicas and autoscaling", "vLLM", "llama.cpp", "Triton", "NIM", "TensorRT-LLM (trtllm-serve)"]
    runtimes = {s.value for s in RUNTIME_SOURCES}
    for expression in promql.dashboard_expressions("serving", board):
        if "panel" in expression.where and "kube_" not in expression.expr:
            assert f'{RUNTIME}=~"$runtime"' in expression.expr and f'{DEPLOYMENT}=~"$deployment"' in expression.expr
            pinned = re.findall(rf'{RUNTIME}="([^"]+)"', expression.expr)
            assert set(pinned) <= runtimes, expression.where


def test_operator_dashboard_covers_what_the_issue_asks() -> None:
    board = promql.dashboards()["llmops-operator.json"]
    exprs = " ".join(e.expr for e in promql.dashboard_expressions("operator", board))
    needed = [
        "sum by (result) (rate(controller_runtime_reconcile_total",
        "controller_runtime_reconcile_errors_total",
        "histogram_quantile(0.5,",
        "histogram_quantile(0.95,",
        "histogram_quantile(0.99,",
        "max by (phase) (llmops_llmdeployments",
        "llmops_conversion_duration_seconds_count",
        "llmops_conversion_duration_seconds_bucket",
        "llmops_artifact_cache_hits_total",
        "llmops_artifact_cache_misses_total",
    ]
    for fragment in needed:
        assert fragment in exprs, fragment


def test_rules_have_the_annotations_and_labels_alertmanager_needs() -> None:
    names = []
    for group in promql.rule_groups():
        assert set(group) == {"name", "rules"}
        for rule in group["rules"]:
            names.append(rule["alert"])
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}
            assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
            assert rule["annotations"]["runbook_url"].endswith(f"#{rule['alert'].lower()}")
    assert len(names) == len(set(names))
    operator_down = next(r for g in promql.rule_groups() for r in g["rules"] if r["alert"] == "LLMOpsOperatorDown")
    assert operator_down["expr"] == f'absent(up{{job="{OPERATOR_JOB}"}} == 1)'
    docs = (ROOT / "docs" / "observability.md").read_text()
    for name in names:
        assert f"### {name}" in docs, f"docs/observability.md has no runbook section for {name}"


def test_rule_file_is_what_the_generator_builds() -> None:
    loaded = yaml.safe_load(promql.RULES.read_text())
    assert loaded == rule_file()


def promtool() -> str:
    # Built with Prometheus by e2e/cluster/build-binaries.sh (Debian's package is no longer installed).
    return prometheus.binary("promtool")


def test_promtool_accepts_the_rule_file() -> None:
    proc = subprocess.run(
        [promtool(), "check", "rules", str(promql.RULES)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = sum(len(g["rules"]) for g in promql.rule_groups())
    assert f"SUCCESS: {count} rules found" in proc.stdout


def test_promtool_rejects_a_broken_rule_file(tmp_path: Any) -> None:
    """The promtool check above can fail."""
    broken = tmp_path / "rules.yaml"
    broken.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "A", "expr": "sum(up"}]}]}))
    proc = subprocess.run([promtool(), "check", "rules", str(broken)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0


def test_runtime_sources_name_llmops_runtimes() -> None:
    assert {s.value for s in RUNTIME_SOURCES} == {r.value for r in Runtime} - {Runtime.AUTO.value}
    assert Source.LLAMA_CPP.value == Runtime.LLAMA_CPP.value


def test_no_current_metric_is_listed_twice_by_one_source() -> None:
    keys = [(m.source, m.name) for m in CATALOG.metrics]
    assert len(keys) == len(set(keys))
    for metric in CATALOG.metrics:
        assert metric.reference and metric.help
        if metric.status is not Status.CURRENT:
            assert metric.note or "removed" in metric.reference
