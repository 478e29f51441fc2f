"""Running manifests/argocd/health.lua the way ArgoCD runs a custom health check: Lua 5.1 (gopher-lua implements
5.1) with only the libraries ArgoCD opens for it (base, table, package and an os with time/date only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from lupa import lua51  # type: ignore[import-untyped]  # lupa ships no type hints

ARGOCD = Path(__file__).resolve().parents[2] / "manifests" / "argocd"
HEALTH_LUA = ARGOCD / "health.lua"
HEALTH_TESTS = ARGOCD / "health_test.yaml"
STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

# ArgoCD (util/lua/lua.go) opens package, base, table and a "safe" os for custom checks; not string, math, io,
# debug or coroutine. Lua 5.1's string metatable would still give `("x"):upper()`, so it goes too.
_RESTRICT = """
local safe_os = { time = os.time, date = os.date }
local string_metatable = getmetatable("")
string_metatable.__index = nil
string, math, io, debug, coroutine = nil, nil, nil, nil, nil
os = safe_os
package.loaded.string, package.loaded.math, package.loaded.io = nil, nil, nil
package.loaded.debug, package.loaded.coroutine, package.loaded.os = nil, nil, safe_os
"""


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({k: _to_lua(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, v) for v in value])
    return value


def run(script: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Run a health script on an object; the table it returns, as a dict."""
    runtime = lua51.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=False)
    runtime.execute(_RESTRICT)
    runtime.globals().obj = _to_lua(runtime, obj)
    result = runtime.execute(script)
    if lua51.lua_type(result) != "table":
        raise TypeError(f"expect table output from Lua script, not {lua51.lua_type(result)}")
    return {str(k): v for k, v in result.items()}


def health(obj: dict[str, Any]) -> dict[str, Any]:
    """The shipped health check's verdict on an LLMDeployment."""
    return run(HEALTH_LUA.read_text(), obj)


def health_tests() -> list[dict[str, Any]]:
    """The cases of health_test.yaml (ArgoCD's resource_customizations format)."""
    return list(yaml.safe_load(HEALTH_TESTS.read_text())["tests"])
