"""Model facts from a model's own files: config.json and the weights' sizes, read from a local directory."""

import json
from pathlib import Path

from llmops.planning.modelfacts import ModelFacts, from_config

INDEX = "model.safetensors.index.json"


def weight_bytes(directory: Path) -> int | None:
    """The checkpoint's bytes: the safetensors index's metadata.total_size, else the weight files' sizes."""
    index = directory / INDEX
    if index.is_file():
        total = json.loads(index.read_text()).get("metadata", {}).get("total_size")
        if isinstance(total, int):
            return total
    files = [*directory.glob("*.safetensors"), *directory.glob("*.bin"), *directory.glob("*.gguf")]
    return sum(f.stat().st_size for f in files) or None


def from_directory(directory: Path) -> ModelFacts:
    """ModelFacts of the model in DIRECTORY (its config.json is required)."""
    config = directory / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no config.json, so the model's sizes are unknown")
    return from_config(json.loads(config.read_text()), weight_bytes(directory))
