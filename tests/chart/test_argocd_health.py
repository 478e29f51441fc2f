"""The shipped ArgoCD health check, run for real under Lua 5.1 with ArgoCD's restricted libraries."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from lupa import lua51  # type: ignore[import-untyped]  # lupa ships no type hints

from llmops.api.enums import Phase
from llmops.reconcile import conditions
from tests.chart.argocd import ARGOCD, HEALTH_LUA, STATUSES, health, health_tests, run
from tests.chart.chart import CRD_SOURCE

CASES = health_tests()
FIXTURES = sorted((ARGOCD / "testdata").glob("*.yaml"))


def _fixture(path: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ARGOCD / path).read_text()))


@pytest.mark.parametrize("case", CASES, ids=[Path(c["inputPath"]).stem for c in CASES])
def test_health_test_yaml_cases(case: dict[str, Any]) -> None:
    assert health(_fixture(case["inputPath"])) == case["healthStatus"]


def test_every_fixture_has_a_case_and_every_status_is_valid() -> None:
    assert sorted(ARGOCD / c["inputPath"] for c in CASES) == FIXTURES
    assert {c["healthStatus"]["status"] for c in CASES} <= STATUSES
    assert {"Healthy", "Progressing", "Degraded"} <= {c["healthStatus"]["status"] for c in CASES}


def test_every_phase_the_operator_writes_has_a_verdict() -> None:
    """A new Phase must be mapped by health.lua (else it reports Unknown) and covered by a fixture."""
    ready = _fixture("testdata/ready.yaml")
    for phase in Phase:
        obj = copy.deepcopy(ready)
        obj["status"]["phase"] = phase.value
        assert health(obj)["status"] != "Unknown", phase
    covered = {_fixture(c["inputPath"]).get("status", {}).get("phase") for c in CASES}
    assert {p.value for p in Phase} - {"Planning"} <= covered


def _status_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_SOURCE.read_text())
    return dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"])


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixtures_are_valid_llmdeployments(path: Path) -> None:
    """Fixtures keep to the CRD's status schema and the operator's condition vocabulary, so they stay realistic."""
    obj = yaml.safe_load(path.read_text())
    assert obj["apiVersion"] == "llmops.dev/v1alpha1" and obj["kind"] == "LLMDeployment"
    if "status" not in obj:
        return
    status = obj["status"]
    if path.stem == "unknown-phase":  # stands for a newer operator's phase, outside this CRD's enum on purpose
        status = {**status, "phase": Phase.READY.value}
    jsonschema.Draft7Validator(_status_schema()).validate(status)
    reasons = {v for k, v in vars(conditions).items() if k.isupper() and isinstance(v, str)}
    types = {conditions.PLANNED, conditions.ARTIFACT_READY, conditions.AVAILABLE, conditions.READY}
    for condition in obj["status"]["conditions"]:
        assert condition["type"] in types
        assert condition["reason"] in reasons or condition["reason"] == conditions.rule_reason(
            condition["message"].split(":", 1)[0]
        ), condition["reason"]


def test_the_runtime_is_lua_51_without_the_libraries_argocd_withholds() -> None:
    probe = """
    return {
      version = _VERSION,
      string = type(string), math = type(math), io = type(io), debug = type(debug), coroutine = type(coroutine),
      os_exit = type(os.exit), os_time = type(os.time), table = type(table), ipairs = type(ipairs),
      method = pcall(function() return ("x"):upper() end),
    }
    """
    assert run(probe, {}) == {
        "version": "Lua 5.1",
        "string": "nil",
        "math": "nil",
        "io": "nil",
        "debug": "nil",
        "coroutine": "nil",
        "os_exit": "nil",
        "os_time": "function",
        "table": "table",
        "ipairs": "function",
        "method": False,
    }


def test_a_check_using_string_functions_would_fail_under_argocd() -> None:
    with pytest.raises(lua51.LuaError, match="string"):
        run('local hs = {}; hs.status = string.lower("Healthy"); return hs', {})


def test_a_wrong_verdict_is_caught(tmp_path: Path) -> None:
    """The fixture comparison can fail: a script calling everything Healthy disagrees with health_test.yaml."""
    lenient = 'return { status = "Healthy", message = "" }'
    verdicts = [run(lenient, _fixture(c["inputPath"])) == c["healthStatus"] for c in CASES]
    assert not all(verdicts)


def test_health_lua_is_plain_lua() -> None:
    script = HEALTH_LUA.read_text()
    for library in ("string.", "math.", "io.", "os.", "debug.", "require", ":sub(", ":find(", ":match("):
        assert library not in script, library
    assert json.dumps(health({"metadata": {}}))  # no status, no generation: still a verdict
