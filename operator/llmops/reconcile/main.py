"""`llmops run`: configure kopf (llmops.dev storage, no log events), serve /metrics and /healthz, run."""

import asyncio
import logging
import os
import socket
from typing import Any

import kopf
from kopf._core.engines.peering import Identity  # kopf's NewType for peering identities (not re-exported)
from prometheus_client import start_http_server

from llmops.planning.conversionconfig import ConversionConfig
from llmops.planning.imageconfig import ImageConfig
from llmops.reconcile import handlers  # noqa: F401 - registers the handlers


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Keep kopf's bookkeeping under llmops.dev and off the Events API."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="llmops.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="llmops.dev", key="last-handled-configuration"
    )
    settings.persistence.finalizer = "llmops.dev/finalizer"
    settings.posting.enabled = False  # log lines are not Events; the operator posts its own, on transitions
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330


def own_identity() -> Identity:
    """This instance's name among peers: the pod's name (its hostname) and pid.

    kopf's default asks getpass.getuser(), which raises in a container whose uid has no passwd entry (the
    chart's 65532): found when the chart first ran the operator image as a real pod.
    """
    return Identity(f"llmops@{socket.gethostname()}/{os.getpid()}")


def run(  # noqa: PLR0917 - the command line's options, one by one
    namespaces: list[str],
    metrics_port: int,
    probe_port: int,
    verbose: bool = False,
    images: ImageConfig | None = None,
    conversion: ConversionConfig | None = None,
) -> int:
    """Run until SIGTERM/SIGINT; kopf stops the daemons gracefully."""
    kopf.configure(verbose=verbose)
    if not verbose:
        # kopf logs every successful handler call at INFO; node heartbeats alone would flood the log.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if metrics_port:
        start_http_server(metrics_port)
    images = images or ImageConfig()
    # What differs from the pins, so the log of a mirrored cluster says where its images come from.
    changed = images.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    logging.getLogger("llmops").info("images configuration: %s", changed or "the pinned defaults")
    conversion = conversion or ConversionConfig()
    placed = conversion.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    logging.getLogger("llmops").info("conversion configuration: %s", placed or "the defaults")
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=True,
            memo=kopf.Memo(images=images, conversion=conversion),
            identity=own_identity(),
            liveness_endpoint=f"http://0.0.0.0:{probe_port}/healthz" if probe_port else None,
        )
    )
    return 0
