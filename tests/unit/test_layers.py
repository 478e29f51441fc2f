"""Layer rule: api ← planning ← render (and desired) import no kopf, no Kubernetes client and do no I/O."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "llmops"
PURE_LAYERS = ["api", "planning", "render"]
# What a pure module may import from outside llmops: data modelling, hashing, text. No os/io/net/process.
ALLOWED_EXTERNAL = {
    "__future__", "collections", "dataclasses", "enum", "hashlib", "json", "math", "re", "typing",
    "pydantic", "pydantic_core", "yaml",
}  # fmt: skip
LAYER_ORDER = {"api": 0, "planning": 1, "render": 2}
FORBIDDEN_CALLS = {"open", "exec", "eval", "__import__", "input"}


def pure_modules() -> list[Path]:
    files = [p for layer in PURE_LAYERS for p in (PACKAGE / layer).rglob("*.py")]
    return [*files, PACKAGE / "desired.py"]


def imported_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_module_imports_only_allowed_things(path: Path) -> None:
    tree = ast.parse(path.read_text())
    layer = path.relative_to(PACKAGE).parts[0]
    for name in imported_names(tree):
        root = name.split(".")[0]
        if root == "llmops":
            target = name.split(".")[1]
            assert target in LAYER_ORDER, f"{path.name} imports {name}, outside the pure layers"
            if layer in LAYER_ORDER:
                assert LAYER_ORDER[target] <= LAYER_ORDER[layer], f"{path.name} ({layer}) imports up into {name}"
        else:
            assert root in ALLOWED_EXTERNAL, f"{path.name} imports {name}: not allowed in a pure layer"
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not calls & FORBIDDEN_CALLS, f"{path.name} calls {calls & FORBIDDEN_CALLS}"


def test_importing_the_pure_layers_loads_no_kubernetes_client() -> None:
    code = (
        "import sys, llmops.desired, llmops.api.crd, llmops.cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('kopf', 'kubernetes', 'aiohttp', 'lightkube')]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
