"""A real Prometheus scrapes a really running operator (`llmops run` against the embedded cluster) and loads the
alert rules: every operator metric arrives, every operator dashboard query returns data, every rule evaluates
healthily, and the reconcile-error and operator-down alerts go pending when they should."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops.observability.catalog import CATALOG, Source
from llmops.observability.conventions import OPERATOR_JOB
from llmops_dev.kubectl import Kubectl, wait_for
from tests.integration.operator_fixtures import CRD, OperatorProcess, example, wait_phase
from tests.observability import promql
from tests.observability.prometheus import Prometheus, running, wait_until

pytestmark = pytest.mark.cluster

VARIABLES = {"job": OPERATOR_JOB}


@dataclass
class Stack:
    operator: OperatorProcess
    prometheus: Prometheus
    namespace: str
    failing_namespace: str


def make_namespace(kubectl: Kubectl, stem: str) -> str:
    name = f"{stem}-{secrets.token_hex(3)}"
    kubectl.run("create", "namespace", name)
    wait_for(lambda: kubectl.run("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
             timeout=60, what=f"serviceaccount default in {name}")  # fmt: skip
    return name


@pytest.fixture(scope="module")
def stack(kubeconfig: str, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The operator, Prometheus scraping it every second, and LLMDeployments that exercise every metric:
    an ONNX conversion, a GGUF conversion, a cache hit, and one whose Service a quota forbids (errors)."""
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    kubectl.wait_established("llmdeployments.llmops.dev")
    work = tmp_path_factory.mktemp("observability")
    operator = OperatorProcess(kubeconfig, work / "operator.log")
    operator.start()
    scrape = [{"job_name": OPERATOR_JOB, "static_configs": [{"targets": [f"127.0.0.1:{operator.metrics_port}"]}]}]
    namespaces: list[str] = []
    try:
        with running(work / "prometheus", scrape, [promql.RULES]) as prometheus:
            prometheus.wait_scraped(OPERATOR_JOB)
            # Conversions start only now, so their counters rise while Prometheus watches.
            namespace = make_namespace(kubectl, "obs")
            namespaces.append(namespace)
            kubectl.apply(example("cpu-triton-onnx", name="onnx", serving={"replicas": 1}),
                          example("edge-llamacpp", name="gguf-first"), namespace=namespace)  # fmt: skip
            wait_phase(kubectl, namespace, "onnx", "Ready", timeout=180)
            wait_phase(kubectl, namespace, "gguf-first", "Ready", timeout=180)
            kubectl.apply(example("edge-llamacpp", name="gguf-second"), namespace=namespace)
            second = wait_phase(kubectl, namespace, "gguf-second", "Ready", timeout=120)
            assert second["status"]["artifact"]["cached"] is True
            # A namespace that allows no Service: serving cannot be created and every reconcile raises.
            failing = make_namespace(kubectl, "obs-quota")
            namespaces.append(failing)
            kubectl.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-services"},
                           "spec": {"hard": {"services": "0"}}}, namespace=failing)  # fmt: skip
            kubectl.apply(example("edge-llamacpp", name="no-service"), namespace=failing)
            yield Stack(operator, prometheus, namespace, failing)
    finally:
        for name in namespaces:
            kubectl.run("delete", "namespace", name, "--wait=false", check=False)
        if operator.process is not None:
            operator.stop()


def test_prometheus_scrapes_every_operator_metric(stack: Stack) -> None:
    wanted = {s for source in (Source.OPERATOR, Source.OPERATOR_PROCESS) for m in CATALOG.of(source) for s in m.series}

    def names() -> set[str]:
        found = stack.prometheus.query(f'count by (__name__) ({{job="{OPERATOR_JOB}"}})')
        return {r["metric"]["__name__"] for r in found}

    try:
        wait_until(lambda: wanted <= names(), 120, "every catalogued operator series in Prometheus")
    except AssertionError as error:
        raise AssertionError(f"{error}; missing: {sorted(wanted - names())}") from None
    # and nothing the operator exports under its own prefixes is missing from the catalog
    own = {n for n in names() if n.startswith(("llmops_", "controller_runtime_"))}
    assert own <= CATALOG.series_names(), own - CATALOG.series_names()


def test_reconcile_errors_are_counted(stack: Stack) -> None:
    wait_until(lambda: stack.prometheus.finite(
        'sum(increase(controller_runtime_reconcile_errors_total{controller="llmdeployment"}[5m])) > 0'),
        120, "reconcile errors in the quota-limited namespace")  # fmt: skip


def operator_expressions() -> list[promql.Expression]:
    board = promql.dashboards()["llmops-operator.json"]
    return list(promql.dashboard_expressions("llmops-operator.json", board))


@pytest.mark.parametrize("expression", operator_expressions(), ids=lambda e: e.where)
def test_every_operator_dashboard_query_returns_data(stack: Stack, expression: promql.Expression) -> None:
    query = promql.substitute(expression.expr, VARIABLES)

    def samples() -> list[dict[str, object]] | None:
        return stack.prometheus.finite(query) or None

    found = wait_until(samples, 120, f"data for {expression.where}: {query}", every=2)
    assert all(math.isfinite(float(str(s["value"][1]))) for s in found)  # type: ignore[index]


def test_the_dashboard_job_variable_lists_the_operator_job(stack: Stack) -> None:
    (variable,) = [e for e in operator_expressions() if "variable job" in e.where]
    jobs = {r["metric"]["job"] for r in stack.prometheus.query(f"count by (job) ({variable.expr})")}
    assert jobs == {OPERATOR_JOB}


def test_every_rule_is_loaded_and_evaluates_without_error(stack: Stack) -> None:
    names = {r["alert"] for g in promql.rule_groups() for r in g["rules"]}

    def evaluated() -> list[dict[str, object]] | None:
        rules = [r for g in stack.prometheus.rules() for r in g["rules"]]
        done = all(r["lastEvaluation"] and not str(r["lastEvaluation"]).startswith("0001") for r in rules)
        return rules if done and len(rules) == len(names) else None

    rules = wait_until(evaluated, 30, "every rule to be evaluated once")
    assert {r["name"] for r in rules} == names
    for rule in rules:
        assert rule["health"] == "ok" and not rule.get("lastError"), rule


def active_alerts(prometheus: Prometheus, name: str) -> list[dict[str, object]]:
    return [a for a in prometheus.get("/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == name]


def test_the_reconcile_error_alert_goes_pending_on_real_errors(stack: Stack) -> None:
    (alert,) = wait_until(lambda: active_alerts(stack.prometheus, "LLMOpsReconcileErrors"), 180,
                          "LLMOpsReconcileErrors to become active", every=2)  # fmt: skip
    assert alert["state"] in {"pending", "firing"}
    assert alert["labels"]["job"] == OPERATOR_JOB  # type: ignore[index]
    assert not active_alerts(stack.prometheus, "LLMOpsOperatorDown")


def test_the_operator_down_alert_goes_pending_when_the_operator_stops(stack: Stack, tmp_path: Path) -> None:
    """Runs last in this module: it stops the operator."""
    assert stack.operator.stop() == 0
    (alert,) = wait_until(lambda: active_alerts(stack.prometheus, "LLMOpsOperatorDown"), 60,
                          "LLMOpsOperatorDown to become active", every=1)  # fmt: skip
    assert alert["state"] == "pending"
