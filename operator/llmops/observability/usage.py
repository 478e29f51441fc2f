"""Which metric names llmops takes from each serving runtime: its dashboards, its rules and its HPA signals.

`names_used(runtime)` is what a check against a real server's /metrics needs: the metric family names as
that server exports them (a histogram by its base name, without _bucket, _sum or _count; a counter with
the _total its exporter gives it), of every series a dashboard query, a dashboard variable, an alert or
recording rule or a scaling signal (llmops.planning.metrics.SCALING_SIGNALS) reads from that runtime.

A selector is the runtime's when it pins the runtime's target label (llmops_dev_runtime="vllm", as every
serving-dashboard row does), or, unpinned, when the catalog lists its series for that runtime. A pinned
selector of a series some runtime exports counts even where the catalog gives it to another runtime, so
such a mistake shows up here rather than being dropped; series no runtime exports (Prometheus' `up`,
kube-state-metrics) never count.

Building the dashboards needs grafana-foundation-sdk (the `dev` extra), as `python -m llmops.observability`
does; the PromQL is read by promql-parser (also a dev dependency). It raises ValueError on a selector it
cannot name (a regex `__name__` matcher) or on a series the catalog does not know.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llmops.api.enums import Runtime
from llmops.observability.catalog import CATALOG, RUNTIME_SOURCES, Source
from llmops.observability.conventions import RUNTIME
from llmops.observability.dashboards import DASHBOARDS
from llmops.observability.rules import rule_file
from llmops.planning.metrics import SCALING_SIGNALS

# Grafana's range variables, replaced by a duration so that promql-parser reads the expression.
_RANGE_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<selector>.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$", re.DOTALL)
_LABEL_VALUES_BARE = re.compile(r"^\s*label_values\(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$")


@dataclass(frozen=True)
class Selector:
    """A vector or matrix selector of a PromQL expression: its series name and its equality matchers."""

    series: str
    equal: tuple[tuple[str, str], ...]  # label="value" matchers only (the others pin nothing)

    def value(self, label: str) -> str | None:
        return next((v for k, v in self.equal if k == label), None)


@dataclass(frozen=True)
class Use:
    """A selector and where it is: `<dashboard file>: <panel or variable>` or `rules: <group>/<rule>`."""

    where: str
    selector: Selector


def selectors(expr: str) -> list[Selector]:
    """The selectors of a PromQL expression (Grafana's variables allowed), read by promql-parser."""
    import promql_parser  # noqa: PLC0415 - the dev extra, like the dashboards' SDK

    for variable, duration in _RANGE_VARIABLES.items():
        expr = expr.replace(variable, duration)
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    result = []
    for selector in found:
        matchers = list(selector.matchers.matchers)
        name = str(selector.name) if selector.name else None
        for m in matchers:
            if m.name == "__name__":
                if m.op != promql_parser.MatchOp.Equal:
                    raise ValueError(f"a selector whose name is a pattern ({m.value!r}) in {expr!r}")
                name = str(m.value)
        if name is None:
            raise ValueError(f"a selector without a metric name in {expr!r}")
        equal = tuple(
            (str(m.name), str(m.value))
            for m in matchers
            if m.op == promql_parser.MatchOp.Equal and m.name != "__name__"
        )
        result.append(Selector(name, equal))
    return result


def _variable_selector(query: Any, where: str) -> str | None:
    """The selector of a dashboard query variable: label_values(SELECTOR, label); None for label_values(label)."""
    text = query.get("query", "") if isinstance(query, dict) else str(query)
    if _LABEL_VALUES_BARE.match(text):
        return None
    match = _LABEL_VALUES.match(text)
    if not match:
        raise ValueError(f"{where}: a query variable that is not label_values(selector, label): {text!r}")
    return match["selector"]


def _dashboard_uses(name: str, board: dict[str, Any]) -> Iterator[Use]:
    panels = [p for top in board.get("panels", []) for p in (top, *top.get("panels", []))]
    for panel in panels:
        for target in panel.get("targets", []):
            for selector in selectors(target["expr"]):
                yield Use(f"{name}: panel {panel['title']!r} {target['refId']}", selector)
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            where = f"{name}: variable {variable['name']}"
            expr = _variable_selector(variable["query"], where)
            for selector in selectors(expr) if expr else []:
                yield Use(where, selector)


@functools.cache
def uses() -> tuple[Use, ...]:
    """Every selector of the generated dashboards and the rule file (as `python -m llmops.observability` writes)."""
    found = [use for name, build in DASHBOARDS.items() for use in _dashboard_uses(name, build())]
    for group in rule_file()["groups"]:
        for rule in group["rules"]:
            where = f"rules: {group['name']}/{rule.get('alert') or rule.get('record')}"
            found += [Use(where, selector) for selector in selectors(rule["expr"])]
    return tuple(found)


def _source(runtime: Runtime | str) -> tuple[Runtime, Source]:
    chosen = Runtime(runtime)
    if chosen is Runtime.AUTO:
        raise ValueError("names_used needs a concrete runtime, not auto")
    return chosen, Source(chosen.value)


def _family(series: str, where: str) -> str:
    """The metric family name a series belongs to (x_bucket -> x for a histogram x)."""
    metrics = CATALOG.lookup(series)
    if not metrics:
        raise ValueError(f"{where}: {series} is not in the metric catalog")
    return metrics[0].name


def names_used(runtime: Runtime | str) -> frozenset[str]:
    """Every metric name llmops' dashboards, rules and HPA scaling signals read from this runtime's /metrics."""
    chosen, source = _source(runtime)
    found: set[str] = set()
    for use in uses():
        family = _family(use.selector.series, use.where)
        sources = {m.source for m in CATALOG.lookup(use.selector.series)}
        pinned = use.selector.value(RUNTIME)
        if (pinned == source.value and sources & set(RUNTIME_SOURCES)) or (pinned is None and source in sources):
            found.add(family)
    for signal in SCALING_SIGNALS.get(chosen, {}).values():
        metrics = CATALOG.lookup(signal.metric)
        found.add(metrics[0].name if metrics else signal.metric)
    return frozenset(found)
