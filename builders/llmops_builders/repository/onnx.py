"""The ONNX model repository: one Python-backend model (ONNX Runtime, greedy loop) per deployment."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from llmops_builders.errors import BuildError
from llmops_builders.repository import render

STEP = "repository"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "config.json",
)


@dataclass(frozen=True)
class OnnxOptions:
    """What the config.pbtxt needs besides file locations."""

    model_name: str
    max_batch_size: int
    max_seq_len: int | None = None
    default_max_tokens: int = 128
    instance_count: int = 1
    intra_op_threads: int = 0
    max_queue_delay_us: int = 1000


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _eos_ids(tokenizer_dir: Path, onnx_dir: Path) -> list[int]:
    """generation_config.json first (what generate() uses), then config.json."""
    for directory in (tokenizer_dir, onnx_dir):
        for name in ("generation_config.json", "config.json"):
            value = _read_json(directory / name).get("eos_token_id")
            if isinstance(value, int):
                return [value]
            if isinstance(value, list) and value:
                return [int(v) for v in value]
    raise BuildError(STEP, f"no eos_token_id in {tokenizer_dir} or {onnx_dir} (generation_config.json/config.json)")


def _max_positions(tokenizer_dir: Path, onnx_dir: Path) -> int:
    for directory in (onnx_dir, tokenizer_dir):
        value = _read_json(directory / "config.json").get("max_position_embeddings")
        if isinstance(value, int):
            return value
    raise BuildError(STEP, "max sequence length unknown: pass --max-seq-len (no max_position_embeddings found)")


def model_py_source() -> str:
    """The text of the Python-backend model shipped inside this package."""
    return resources.files("llmops_builders.repository").joinpath("onnx_model.py").read_text(encoding="utf-8")


def build(onnx_dir: Path, tokenizer_dir: Path, out: Path, opts: OnnxOptions) -> Path:
    """Write OUT/<model_name>/{config.pbtxt,1/model.py,1/model.onnx*,1/tokenizer/}; return the model dir."""
    if not (onnx_dir / "model.onnx").is_file():
        raise BuildError(STEP, f"no model.onnx in {onnx_dir}")
    if not (tokenizer_dir / "tokenizer.json").is_file():
        raise BuildError(STEP, f"no tokenizer.json (a fast tokenizer) in {tokenizer_dir}")
    if opts.max_batch_size < 1:
        raise BuildError(STEP, "--max-batch-size must be >= 1")
    model_dir = out / opts.model_name
    version_dir = model_dir / "1"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    (version_dir / "tokenizer").mkdir(parents=True)
    # External-data files (large models) must sit next to model.onnx under their original names.
    for path in sorted(onnx_dir.iterdir()):
        if path.is_file() and (
            path.name == "model.onnx" or path.name.startswith("model.onnx") or path.suffix == ".onnx_data"
        ):
            shutil.copy2(path, version_dir / path.name)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copy2(tokenizer_dir / name, version_dir / "tokenizer" / name)
    (version_dir / "model.py").write_text(model_py_source(), encoding="utf-8")
    max_seq_len = opts.max_seq_len or _max_positions(tokenizer_dir, onnx_dir)
    parameters = {
        "onnx_file": "model.onnx",
        "tokenizer_file": "tokenizer/tokenizer.json",
        "eos_token_ids": json.dumps(_eos_ids(tokenizer_dir, onnx_dir)),
        "default_max_tokens": str(opts.default_max_tokens),
        "max_seq_len": str(max_seq_len),
        "intra_op_threads": str(opts.intra_op_threads),
    }
    config = render(
        "onnx_python.pbtxt.j2",
        name=opts.model_name,
        max_batch_size=opts.max_batch_size,
        max_queue_delay_us=opts.max_queue_delay_us,
        instance_count=opts.instance_count,
        parameters=parameters,
    )
    (model_dir / "config.pbtxt").write_text(config, encoding="utf-8")
    return model_dir
