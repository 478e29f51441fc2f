"""names_used(runtime): every name the dashboards, rules and HPA signals take from a runtime, and only current ones.

The expected names come from the committed generated files, read with promql-parser (tests/observability/
promql.py), independently of usage.py's walk of the same parser."""

from __future__ import annotations

import re
import subprocess
import sys

import promql_parser as pp
import pytest

from llmops.api.enums import Runtime
from llmops.observability import catalog, usage
from llmops.observability.catalog import CATALOG, RUNTIME_SOURCES, Kind, Source, Status
from llmops.observability.conventions import RUNTIME
from llmops.observability.usage import Selector, Use, names_used
from llmops.planning.metrics import SCALING_SIGNALS
from tests.observability import promql

RUNTIMES = [r for r in Runtime if r is not Runtime.AUTO]
# The serving dashboard's row of each runtime.
ROWS = {Runtime.VLLM: "vLLM", Runtime.LLAMA_CPP: "llama.cpp", Runtime.TRITON: "Triton", Runtime.NIM: "NIM",
        Runtime.TENSORRT_LLM: "TensorRT-LLM (trtllm-serve)"}  # fmt: skip


def pinned(selector: pp.VectorSelector) -> str | None:
    for matcher in selector.matchers.matchers:
        if matcher.name == RUNTIME and matcher.op == pp.MatchOp.Equal:
            return str(matcher.value)
    return None


def family(series: str) -> str:
    (first, *_) = CATALOG.lookup(series)
    return first.name


def expected(runtime: Runtime) -> set[str]:
    """What the committed files and the planner read from this runtime (see usage.py for the rule)."""
    source = Source(runtime.value)
    found = set()
    for expression in promql.all_expressions():
        for selector in promql.selectors(promql.parse(expression.expr)):
            name = promql.selector_name(selector)
            assert name, expression.where
            sources = {m.source for m in CATALOG.lookup(name)}
            pin = pinned(selector)
            if (pin == runtime.value and sources & set(RUNTIME_SOURCES)) or (pin is None and source in sources):
                found.add(family(name))
    return found | {family(s.metric) for s in SCALING_SIGNALS[runtime].values()}


@pytest.mark.parametrize("runtime", RUNTIMES, ids=str)
def test_names_used_are_the_names_the_dashboards_rules_and_signals_read(runtime: Runtime) -> None:
    used = names_used(runtime)
    missing = expected(runtime) - used
    assert not missing, f"used by a dashboard, a rule or an HPA signal but not in names_used({runtime}): {missing}"
    assert used == expected(runtime)


@pytest.mark.parametrize("runtime", RUNTIMES, ids=str)
def test_every_query_of_the_runtime_row_and_every_signal_is_in_names_used(runtime: Runtime) -> None:
    """Independently of the label pin: the runtime's own row of the serving dashboard and its HPA signals."""
    board = promql.dashboards()["llmops-serving.json"]
    row, in_row = "", []
    for panel in board["panels"]:
        row = panel["title"] if panel["type"] == "row" else row
        if panel["type"] != "row" and row == ROWS[runtime]:
            in_row += [t["expr"] for t in panel["targets"]]
    assert in_row, ROWS[runtime]
    names = {promql.selector_name(s) or "" for e in in_row for s in promql.selectors(promql.parse(e))}
    used = names_used(runtime)
    assert {family(n) for n in names} <= used
    assert {s.metric for s in SCALING_SIGNALS[runtime].values()} <= used


@pytest.mark.parametrize("runtime", RUNTIMES, ids=str)
def test_every_name_used_is_catalogued_as_current_for_its_runtime(runtime: Runtime) -> None:
    current = {m.name for m in CATALOG.of(Source(runtime.value)) if m.status is Status.CURRENT}
    stale = names_used(runtime) - current
    assert not stale, f"{runtime}: not catalogued as current for this runtime: {stale}"


def test_names_used_are_family_names_as_exported() -> None:
    vllm = names_used(Runtime.VLLM)
    assert {"vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"} <= vllm  # the HPA signals
    assert "vllm:e2e_request_latency_seconds" in vllm and "vllm:request_success_total" in vllm
    assert "vllm:time_per_output_token_seconds" not in vllm
    assert {"llamacpp:requests_deferred", "llamacpp:prompt_tokens_total"} <= names_used("llama-cpp")
    for runtime in RUNTIMES:
        for name in names_used(runtime):
            (metric,) = [m for m in CATALOG.of(Source(runtime.value)) if m.name == name]
            if metric.kind is Kind.HISTOGRAM:
                assert not re.search(r"_(bucket|sum|count)$", name), name
            assert name not in {"up", "scrape_duration_seconds"} and not name.startswith("kube_")


def test_the_catalog_offers_names_used_without_importing_the_dashboards() -> None:
    assert catalog.names_used(Runtime.VLLM) == names_used(Runtime.VLLM)
    heavy = "{'grafana_foundation_sdk', 'llmops.observability.dashboards', 'llmops.observability.usage'}"
    code = f"import sys, llmops.observability.catalog; print(sorted(m for m in sys.modules if m in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_names_used_takes_a_runtime_or_its_name() -> None:
    assert names_used("vllm") == names_used(Runtime.VLLM)
    with pytest.raises(ValueError, match="auto"):
        names_used(Runtime.AUTO)
    with pytest.raises(ValueError):
        names_used("tgi")


def test_names_used_counts_a_pinned_name_of_another_runtime_and_can_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pin decides: NIM's unprefixed name in a vLLM-pinned query is vLLM's (and then not current for it)."""
    vllm_pin = ((RUNTIME, "vllm"),)
    fake = (
        Use("probe: pinned NIM name", Selector("request_failure_total", vllm_pin)),
        Use("probe: histogram", Selector("vllm:inter_token_latency_seconds_bucket", ())),
        Use("probe: up", Selector("up", vllm_pin)),
    )
    monkeypatch.setattr(usage, "uses", lambda: fake)
    used = names_used(Runtime.VLLM)
    assert {"request_failure_total", "vllm:inter_token_latency_seconds"} <= used
    assert "up" not in used and "request_failure_total" not in names_used(Runtime.NIM)
    monkeypatch.setattr(usage, "uses", lambda: (Use("probe", Selector("vllm:not_catalogued", ())),))
    with pytest.raises(ValueError, match="not in the metric catalog"):
        names_used(Runtime.VLLM)


def test_selectors_are_named_with_their_equality_matchers() -> None:
    def read(expr: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        return [(s.series, s.equal) for s in usage.selectors(expr)]

    assert read('{__name__="up", job="x"}') == [("up", (("job", "x"),))]
    assert read("SUM BY (le) (rate(a_bucket[5m] offset 1h)) / ignoring(x) group_left(y) b > bool 1e6") == [
        ("a_bucket", ()),
        ("b", ()),
    ]
    assert read('max_over_time(rate(c_total{l=~"a|b", m="q\\"x"}[5m])[1h:1m])') == [("c_total", (("m", 'q"x'),))]
    with pytest.raises(ValueError, match="pattern"):
        usage.selectors('{__name__=~"vllm:.*"}')
    with pytest.raises(ValueError, match="without a metric name"):
        usage.selectors('{job="x"}')
