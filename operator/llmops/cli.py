"""The `llmops` command: plan, crd, dev (the embedded local cluster) and run (the operator)."""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from llmops import modelinfo
from llmops.api.crd import crd_yaml
from llmops.api.resource import LLMDeployment, SpecError, parse_resource
from llmops.desired import desired_state, plan_document
from llmops.planning.conversionconfig import (
    HF_ENDPOINT_ENV,
    ConversionConfig,
    ConversionConfigError,
    parse_conversion_config,
)
from llmops.planning.facts import ClusterFacts, pools_from_nodes
from llmops.planning.imageconfig import ImageConfig, ImageConfigError, parse_image_config
from llmops.planning.planner import PlanError

IMAGES_CONFIG_ENV = "LLMOPS_IMAGES_CONFIG"
CONVERSION_CONFIG_ENV = "LLMOPS_CONVERSION_CONFIG"


def _load_nodes(path: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(Path(path).read_text()):
        if not doc:
            continue
        nodes.extend(doc.get("items", []) if doc.get("kind", "").endswith("List") else [doc])
    return [n for n in nodes if n.get("kind", "Node") == "Node"]


class _ConfigError(Exception):
    """A configuration file the operator cannot use: which one, and every bad key."""


def _read_config(path: str | None, what: str) -> Any:
    if not path:
        return None
    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise _ConfigError(f"{what} config {path}: {' '.join(str(error).split())}") from None  # YAML errors span lines


def _configuration(args: argparse.Namespace) -> tuple[ImageConfig, ConversionConfig]:
    """The images and conversion configurations (pinned defaults without files); the Hub from HF_ENDPOINT."""
    try:
        images = parse_image_config(_read_config(args.images_config, "images"))
    except ImageConfigError as error:
        raise _ConfigError(f"images config {args.images_config}: {error}") from None
    try:
        raw = _read_config(args.conversion_config, "conversion")
        conversion = parse_conversion_config(raw, os.environ.get(HF_ENDPOINT_ENV, ""))
    except ConversionConfigError as error:
        where = args.conversion_config or f"(${HF_ENDPOINT_ENV})"
        raise _ConfigError(f"conversion config {where}: {error}") from None
    return images, conversion


def _config_error(error: _ConfigError) -> int:
    # One line naming the key, not a traceback: in a pod this is the whole log of the failed start.
    print(f"error: {error}", file=sys.stderr)
    return 2


def _dump(document: Any, output: str) -> str:
    if output == "json":
        return json.dumps(document, indent=2)
    return yaml.safe_dump(document, sort_keys=False, width=120)


def _resolved_facts(resource: LLMDeployment, facts: ClusterFacts, args: argparse.Namespace) -> ClusterFacts | None:
    """FACTS with the model's, from the Hub (--resolve), for an hf:// source; None when the source is wrong."""
    source = resource.spec.model.source
    if not source.startswith("hf://"):
        return facts
    endpoint = facts.conversion.hub_endpoint or os.environ.get(HF_ENDPOINT_ENV) or None
    try:
        model = modelinfo.from_hub(source.removeprefix("hf://"), resource.spec.model.revision, endpoint=endpoint,
                                   token=None)  # fmt: skip
    except modelinfo.ModelSourceError as error:
        print(f"{'warning' if error.retryable else 'error'}: {resource.metadata.name}: {error.reason}: {error}",
              file=sys.stderr)  # fmt: skip
        return facts if error.retryable else None  # unreachable: plan without the model's facts
    return replace(facts, model=model, resolved_revision=model.commit)


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the plan and every object for each LLMDeployment in the file; refusals exit non-zero."""
    try:
        images, conversion = _configuration(args)
    except _ConfigError as error:
        return _config_error(error)
    pools = pools_from_nodes(_load_nodes(args.nodes)) if args.nodes else None
    model = None
    if args.model_info:
        try:
            model = modelinfo.from_directory(Path(args.model_info))
        except (OSError, ValueError) as error:
            print(f"error: --model-info: {error}", file=sys.stderr)
            return 2
    facts = ClusterFacts(pools=pools, images=images, conversion=conversion, model=model)
    documents, failed = [], False
    for raw in yaml.safe_load_all(Path(args.filename).read_text() if args.filename != "-" else sys.stdin.read()):
        if not raw:
            continue
        name = (raw.get("metadata") or {}).get("name", "?")
        try:
            resource = parse_resource(raw)
        except SpecError as error:
            print(f"error: {name}: invalid LLMDeployment: {error}", file=sys.stderr)
            failed = True
            continue
        resolved = _resolved_facts(resource, facts, args) if args.resolve and model is None else facts
        if resolved is None:
            failed = True
            continue
        state = desired_state(resource, resolved)
        if isinstance(state, PlanError):
            print(f"error: {name}: refused by rule {state}", file=sys.stderr)
            failed = True
            continue
        documents.append(plan_document(state))
    for document in documents:
        print(_dump(document, args.output) + ("---" if args.output == "yaml" and len(documents) > 1 else ""))
    return 1 if failed else 0


def cmd_crd(args: argparse.Namespace) -> int:
    """Print (or write) the generated CRD."""
    text = crd_yaml()
    if args.write:
        Path(args.write).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """Delegate to the embedded local cluster."""
    try:
        # The local cluster lives in e2e/ (package llmops_dev), installed only from a source checkout.
        from llmops_dev import cli as dev_cli  # noqa: PLC0415
    except ImportError:
        print("error: `llmops dev` needs a source checkout installed with `pip install -e .`", file=sys.stderr)
        return 2
    return dev_cli.main(list(args.dev_args))


def cmd_run(args: argparse.Namespace) -> int:
    """Run the operator; a bad configuration stops it before it connects to anything."""
    try:
        images, conversion = _configuration(args)
    except _ConfigError as error:
        return _config_error(error)
    from llmops.reconcile import main as operator_main  # noqa: PLC0415 - keeps plan/crd free of kopf

    return operator_main.run(
        args.namespace, args.metrics_port, args.probe_port, verbose=args.verbose, images=images, conversion=conversion
    )


def _config_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--images-config",
        metavar="FILE",
        default=os.environ.get(IMAGES_CONFIG_ENV) or None,
        help=f"images configuration: YAML with registry, pullPolicy, one reference per image (${IMAGES_CONFIG_ENV})",
    )
    command.add_argument(
        "--conversion-config",
        metavar="FILE",
        default=os.environ.get(CONVERSION_CONFIG_ENV) or None,
        help="conversion configuration: YAML with nodeSelector and tolerations of the CPU-side Jobs, and "
        f"hubEndpoint (default: ${HF_ENDPOINT_ENV}) (${CONVERSION_CONFIG_ENV})",
    )


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    root = argparse.ArgumentParser(prog="llmops", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)

    plan = sub.add_parser("plan", help="plan an LLMDeployment and print every object, no cluster needed")
    plan.add_argument("-f", "--filename", required=True, help="LLMDeployment YAML (multi-document; - for stdin)")
    plan.add_argument("--nodes", help="Node objects (kubectl get nodes -o yaml) to plan against")
    plan.add_argument(
        "--model-info",
        metavar="DIR",
        help="a directory with the model's config.json (and model.safetensors.index.json): check that it fits",
    )
    plan.add_argument(
        "--resolve",
        action="store_true",
        help="ask the Hub ($HF_ENDPOINT, HF_TOKEN) for the commit, config.json and weight sizes of hf:// sources",
    )
    plan.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml")
    _config_options(plan)
    plan.set_defaults(func=cmd_plan)

    crd = sub.add_parser("crd", help="print the LLMDeployment CustomResourceDefinition")
    crd.add_argument("--write", metavar="FILE", help="write it to FILE instead of stdout")
    crd.set_defaults(func=cmd_crd)

    dev = sub.add_parser("dev", help="the embedded local cluster: up | down | status")
    dev.add_argument("dev_args", nargs=argparse.REMAINDER)
    dev.set_defaults(func=cmd_dev)

    run = sub.add_parser("run", help="run the operator against the current kubeconfig (or in-cluster config)")
    run.add_argument("-n", "--namespace", action="append", default=[], help="watch only these namespaces")
    run.add_argument("--metrics-port", type=int, default=8080, help="Prometheus /metrics port (0: off)")
    run.add_argument("--probe-port", type=int, default=8081, help="/healthz port (0: off)")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    _config_options(run)
    run.set_defaults(func=cmd_run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmops` console script."""
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
