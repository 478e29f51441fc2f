"""The operator's configuration on the local cluster: its locally built images, the local hub, the real node.

The demo (`python -m llmops_dev.localconfig`) and the end-to-end tests configure `llmops run` the way a user
of an air-gapped cluster would: `--images-config` naming mirrored images, `--conversion-config` naming the
build nodes and the Hub mirror.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from llmops_dev import node, node_runtime, paths
from llmops_dev.errors import ClusterError

# images configuration key → the image e2e/images/build-images.sh built for it.
LOCAL_IMAGES = {
    "ggufBuilder": "gguf-builder",
    "onnxBuilder": "onnx-builder",
    "llamaCppCpu": "llama-cpp-server",
    "tritonOnnx": "triton-onnx",
}
# What puts a pod on the real node: its label, and a toleration of its taint.
ON_REAL_NODE: dict[str, Any] = {
    "nodeSelector": dict(node.NODE_LABELS),
    "tolerations": [{"key": node.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
}


def images_config(images: Mapping[str, node_runtime.Image]) -> dict[str, str]:
    """Every image the real node can run, never pulled (there is no registry)."""
    return {"pullPolicy": "Never", **{key: images[name].ref for key, name in LOCAL_IMAGES.items()}}


def conversion_config(hub_url: str) -> dict[str, Any]:
    """Conversion Jobs on the real node, downloading from the local hub."""
    return {"hubEndpoint": hub_url, **ON_REAL_NODE}


def hub_host(kubeconfig: Path) -> str:
    """The host end of the real node's link, where the apiserver listens: pods reach a hub bound there."""
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    host = urlparse(server).hostname or ""
    if not host or host.startswith("127."):
        raise ClusterError(f"the cluster at {server} has no real node: its pods could not reach a local hub")
    return host


def write(out: Path, hub_url: str, images: Mapping[str, node_runtime.Image]) -> tuple[Path, Path]:
    """Write images.yaml and conversion.yaml into OUT; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    images_file, conversion_file = out / "images.yaml", out / "conversion.yaml"
    images_file.write_text(yaml.safe_dump(images_config(images)))
    conversion_file.write_text(yaml.safe_dump(conversion_config(hub_url)))
    return images_file, conversion_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmops_dev.localconfig", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--hub-port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        host = hub_host(args.kubeconfig)
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write(args.out, f"http://{host}:{args.hub_port}", node_runtime.load_images(paths.images_manifest()))
    print(host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
