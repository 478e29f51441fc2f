"""The operator's only door to the API server: server-side apply, create-if-absent, reads, status, events.

Calls run the official (synchronous) client in worker threads so kopf's event loop never blocks.
"""

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException

from llmops.api.resource import GROUP, PLURAL, VERSION
from llmops.reconcile.metrics import API_WRITES

FIELD_MANAGER = "llmops"
T = TypeVar("T")
Obj = dict[str, Any]


class Kube:
    """A thin async facade over the Kubernetes client."""

    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        if api_client is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            api_client = client.ApiClient()
        self.api_client = api_client
        self.dynamic = dynamic.DynamicClient(api_client)
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        # The dynamic client's discovery cache is not thread-safe: resolve each kind once, under a lock.
        self._resources: dict[tuple[str, str], Any] = {}
        self._discovery = threading.Lock()

    @staticmethod
    async def _run(call: Callable[[], T]) -> T:
        return await asyncio.to_thread(call)

    def _resource(self, api_version: str, kind: str) -> Any:
        with self._discovery:
            key = (api_version, kind)
            if key not in self._resources:
                self._resources[key] = self.dynamic.resources.get(api_version=api_version, kind=kind)
            return self._resources[key]

    async def apply(self, obj: Obj) -> Obj:
        """Server-side apply with the operator's one field manager (forcing: the operator owns these fields)."""
        meta = obj["metadata"]
        API_WRITES.labels("apply").inc()

        def call() -> Obj:
            resource = self._resource(obj["apiVersion"], obj["kind"])
            result = resource.server_side_apply(
                body=obj,
                name=meta["name"],
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
            return dict(result.to_dict())

        return await self._run(call)

    async def create_if_absent(self, obj: Obj) -> bool:
        """Create; True if created, False if it already existed (used for shared and immutable objects)."""
        meta = obj["metadata"]
        API_WRITES.labels("create").inc()

        def call() -> bool:
            resource = self._resource(obj["apiVersion"], obj["kind"])
            try:
                resource.create(body=obj, namespace=meta.get("namespace"), field_manager=FIELD_MANAGER)
            except ApiException as error:
                if error.status == 409:
                    return False
                raise
            return True

        return await self._run(call)

    async def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        """An object, or None if absent."""

        def call() -> Obj | None:
            try:
                found = self._resource(api_version, kind).get(name=name, namespace=namespace)
            except ApiException as error:
                if error.status == 404:
                    return None
                raise
            return dict(found.to_dict())

        return await self._run(call)

    async def list(self, api_version: str, kind: str, namespace: str, selector: str) -> list[Obj]:
        """Objects matching a label selector."""

        def call() -> list[Obj]:
            found = self._resource(api_version, kind).get(namespace=namespace, label_selector=selector)
            return [dict(item) for item in found.to_dict()["items"]]

        return await self._run(call)

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        """Delete; absent is fine."""
        API_WRITES.labels("delete").inc()

        def call() -> None:
            try:
                self._resource(api_version, kind).delete(name=name, namespace=namespace)
            except ApiException as error:
                if error.status != 404:
                    raise

        await self._run(call)

    async def has_kind(self, api_version: str, kind: str) -> bool:
        """Whether the API server serves a kind (e.g. ServiceMonitor from prometheus-operator)."""

        def call() -> bool:
            try:
                self._resource(api_version, kind)
            except (dynamic.exceptions.ResourceNotFoundError, ApiException):
                return False
            return True

        return await self._run(call)

    async def patch_status(self, namespace: str, name: str, status: Obj) -> None:
        """Merge-patch the LLMDeployment's status subresource (the only write to an LLMDeployment)."""
        API_WRITES.labels("patch-status").inc()

        def call() -> None:
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, name, {"status": status}
            )

        await self._run(call)

    async def event(self, involved: Obj, type_: str, reason: str, message: str) -> None:
        """Record an Event on the LLMDeployment (only on transitions)."""
        API_WRITES.labels("event").inc()
        meta = involved["metadata"]
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}.", namespace=meta["namespace"]),
            involved_object=client.V1ObjectReference(
                api_version=involved["apiVersion"],
                kind=involved["kind"],
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
            ),
            type=type_,
            reason=reason,
            message=message[:1024],
            source=client.V1EventSource(component="llmops"),
            first_timestamp=datetime.now(UTC),
            last_timestamp=datetime.now(UTC),
            count=1,
        )
        await self._run(lambda: self.core.create_namespaced_event(meta["namespace"], body))
