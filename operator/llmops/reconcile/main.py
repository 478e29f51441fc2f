"""`llmops run`: configure kopf (llmops.dev storage, no log events), serve /metrics and /healthz, run."""

import asyncio
import logging
from typing import Any

import kopf
from prometheus_client import start_http_server

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


def run(namespaces: list[str], metrics_port: int, probe_port: int, verbose: bool = False) -> int:
    """Run until SIGTERM/SIGINT; kopf stops the daemons gracefully."""
    kopf.configure(verbose=verbose)
    if not verbose:
        # kopf logs every successful handler call at INFO; node heartbeats alone would flood the log.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if metrics_port:
        start_http_server(metrics_port)
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=True,
            liveness_endpoint=f"http://0.0.0.0:{probe_port}/healthz" if probe_port else None,
        )
    )
    return 0
