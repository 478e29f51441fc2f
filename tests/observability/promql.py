"""PromQL of the generated dashboards and rules: extraction, parsing (promql-parser) and catalog checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser as pp
import yaml

from llmops.observability.catalog import CATALOG, Kind, Metric, Status
from llmops.observability.conventions import TARGET_LABELS

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "charts" / "llmops" / "files" / "dashboards"
RULES = ROOT / "charts" / "llmops" / "files" / "prometheus-rules.yaml"
# Grafana's range variables, as a query at a 1 s scrape interval would get them.
RANGE_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\)$")


@dataclass(frozen=True)
class Expression:
    where: str  # "<file>: <panel or rule>"
    expr: str


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_expressions(name: str, board: dict[str, Any]) -> Iterator[Expression]:
    """Every panel target's expr, and each query variable's selector (label_values(SELECTOR, label))."""
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield Expression(f"{name}: panel {panel['title']!r} {target['refId']}", target["expr"])
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            match = LABEL_VALUES.match(variable["query"]["query"])
            assert match, f"{name}: variable {variable['name']} is not label_values(selector, label)"
            yield Expression(f"{name}: variable {variable['name']}", match["selector"])


def rule_expressions() -> Iterator[Expression]:
    for group in rule_groups():
        for rule in group["rules"]:
            yield Expression(f"rules: {group['name']}/{rule.get('alert') or rule.get('record')}", rule["expr"])


def all_expressions() -> list[Expression]:
    found = [e for name, board in dashboards().items() for e in dashboard_expressions(name, board)]
    return found + list(rule_expressions())


def substitute(expr: str, variables: dict[str, str] | None = None) -> str:
    """Grafana's variables replaced: range variables by durations, others (in label matchers) by VARIABLES."""
    for name, value in {**RANGE_VARIABLES, **(variables or {})}.items():
        expr = expr.replace(name if name.startswith("$") else f"${name}", value)
    return expr


def parse(expr: str) -> pp.Expr:
    return pp.parse(substitute(expr))


def selectors(node: pp.Expr) -> list[pp.VectorSelector]:
    found: list[pp.VectorSelector] = []

    def visit(child: pp.Expr) -> bool:
        if isinstance(child, pp.VectorSelector):
            found.append(child)
        return True

    pp.walk(node, visit)
    return found


def selector_name(selector: pp.VectorSelector) -> str | None:
    if selector.name:
        return str(selector.name)
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == pp.MatchOp.Equal:
            return str(matcher.value)
    return None


def metrics_of(series: str) -> tuple[Metric, ...]:
    return CATALOG.lookup(series)


def allowed_labels(series: str) -> set[str]:
    labels = set(TARGET_LABELS) | {"__name__"}
    for metric in metrics_of(series):
        labels |= set(metric.labels)
        if metric.kind is Kind.HISTOGRAM and series.endswith("_bucket"):
            labels.add("le")
    return labels


def problems(expression: Expression) -> list[str]:
    """Why an expression is wrong: unparsable, unnamed or unknown series, retired metrics, unknown labels."""
    try:
        node = parse(expression.expr)
    except ValueError as error:
        return [f"{expression.where}: does not parse: {error}"]
    found = []
    for selector in selectors(node):
        name = selector_name(selector)
        if name is None:
            found.append(f"{expression.where}: a selector without a metric name: {selector}")
            continue
        metrics = metrics_of(name)
        if not metrics:
            found.append(f"{expression.where}: {name} is not in the metric catalog")
            continue
        retired = [m for m in metrics if m.status is not Status.CURRENT]
        if retired:
            found.append(f"{expression.where}: {name} is {retired[0].status.value}: {retired[0].note}")
        for matcher in selector.matchers.matchers:
            if matcher.name not in allowed_labels(name):
                found.append(f"{expression.where}: {name} has no label {matcher.name}")
    found += _grouping_problems(expression, node)
    return found


def _grouping_problems(expression: Expression, node: pp.Expr) -> list[str]:
    found: list[str] = []

    def visit(child: pp.Expr) -> bool:
        if isinstance(child, pp.AggregateExpr) and child.modifier is not None:
            inner = {selector_name(s) or "" for s in selectors(child.expr)}
            allowed = set().union(*(allowed_labels(s) for s in inner)) if inner else set()
            for label in child.modifier.labels:
                if label not in allowed:
                    found.append(f"{expression.where}: grouping by {label}, which no series of {sorted(inner)} has")
        return True

    pp.walk(node, visit)
    return found
