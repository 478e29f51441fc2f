"""llmops_builders runs inside conversion images without the operator: it must never import llmops."""

from __future__ import annotations

import ast
from pathlib import Path

import llmops_builders

PACKAGE = Path(llmops_builders.__file__).parent


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_imports_the_operator() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10
    offenders = [str(p.relative_to(PACKAGE)) for p in modules if "llmops" in _imported_roots(p)]
    assert offenders == []


def test_commands_module_is_pure() -> None:
    """commands.py is imported by tests and docs: no I/O, no third-party imports."""
    roots = _imported_roots(PACKAGE / "commands.py")
    assert roots <= {"__future__", "shlex", "typing", "llmops_builders"}


def test_generated_triton_model_needs_only_the_serving_image_packages() -> None:
    roots = _imported_roots(PACKAGE / "repository" / "onnx_model.py")
    assert roots <= {"__future__", "json", "re", "pathlib", "typing", "numpy", "onnxruntime", "tokenizers",
                     "triton_python_backend_utils"}  # fmt: skip
