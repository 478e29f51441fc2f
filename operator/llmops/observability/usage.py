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
does. The PromQL reader below knows the subset of PromQL the generated files use; it raises ValueError
on a selector it cannot name (a regex `__name__` matcher) or on a series the catalog does not know.
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

# Aggregation operators and keywords (PromQL reads them case-insensitively): identifiers that name no metric.
_AGGREGATIONS = frozenset({"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                           "bottomk", "topk", "quantile", "limitk", "limit_ratio"})  # fmt: skip
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
                       "and", "or", "unless", "atan2", "inf", "nan"})  # fmt: skip
# Followed by a parenthesised list of label names, not of expressions.
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[a-zA-Z]*)
  | (?P<variable>\$\{?\w+\}?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<open>[({\[])
  | (?P<close>[)}\]])
  | (?P<other>[^\s"'`$a-zA-Z0-9_:(){}\[\]]+)
    """,
    re.VERBOSE,
)
_MATCHER = re.compile(
    r"""\s*(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(?:,|$)"""
)
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


def _unquote(literal: str) -> str:
    if literal.startswith("`"):
        return literal[1:-1]
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _matchers(block: str, expr: str) -> list[tuple[str, str, str]]:
    """The label matchers of a `{...}` block's inside, as (label, op, value)."""
    found: list[tuple[str, str, str]] = []
    position = 0
    while position < len(block) and block[position:].strip():
        match = _MATCHER.match(block, position)
        if not match:
            raise ValueError(f"cannot read the label matchers {{{block}}} of {expr!r}")
        found.append((match["label"], match["op"], _unquote(match["value"])))
        position = match.end()
    return found


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def _tokens(expr: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if not match or match.lastgroup is None:
            raise ValueError(f"cannot read {expr!r} at {expr[position:]!r}")
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup, match[0], match.start(), match.end()))
        position = match.end()
    return tokens


def _closing(tokens: list[_Token], start: int, expr: str) -> int:
    """The index of the token that closes the bracket at `start`."""
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].kind == "open"
        depth -= tokens[index].kind == "close"
        if depth == 0:
            return index
    raise ValueError(f"unbalanced brackets in {expr!r}")


def _is(token: _Token | None, kind: str, text: str) -> bool:
    return token is not None and token.kind == kind and token.text == text


def selectors(expr: str) -> list[Selector]:
    """The selectors of a PromQL expression, in order (of the subset of PromQL llmops' files use)."""
    tokens = _tokens(expr)
    found: list[Selector] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if _is(token, "open", "["):  # a range or a subquery's range: durations only
            index = _closing(tokens, index, expr) + 1
        elif token.kind == "ident" and token.text.lower() in _LABEL_LISTS and _is(following, "open", "("):
            index = _closing(tokens, index + 1, expr) + 1
        elif token.kind == "ident" and (_is(following, "open", "(") or token.text.lower() in _AGGREGATIONS | _KEYWORDS):
            index += 1  # a function, an aggregation operator or a keyword
        elif token.kind == "ident" or _is(token, "open", "{"):
            selector, index = _selector(tokens, index, expr)
            found.append(selector)
        else:
            index += 1
    return found


def _selector(tokens: list[_Token], index: int, expr: str) -> tuple[Selector, int]:
    """The selector that starts at tokens[index] (a name, or a `{`), and the index of the token after it."""
    name = tokens[index].text if tokens[index].kind == "ident" else None
    brace = index + 1 if name is not None else index
    matchers: list[tuple[str, str, str]] = []
    after = index + 1
    if brace < len(tokens) and _is(tokens[brace], "open", "{"):
        close = _closing(tokens, brace, expr)
        matchers = _matchers(expr[tokens[brace].end : tokens[close].start], expr)
        after = close + 1
    for label, op, value in matchers:
        if label == "__name__":
            if op != "=":
                raise ValueError(f"a selector whose name is a pattern ({op}{value!r}) in {expr!r}")
            name = value
    if name is None:
        raise ValueError(f"a selector without a metric name in {expr!r}")
    equal = tuple((label, value) for label, op, value in matchers if op == "=" and label != "__name__")
    return Selector(name, equal), after


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
