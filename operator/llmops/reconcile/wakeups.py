"""Wake-ups: child and node events poke the daemons of the LLMDeployments they concern."""

import asyncio
from collections import defaultdict

Key = tuple[str, str]  # (namespace, name)


class Wakeups:
    """One asyncio.Event per running LLMDeployment daemon, plus who waits on which artifact."""

    def __init__(self) -> None:
        self._events: dict[Key, asyncio.Event] = {}
        self._artifact_waiters: dict[tuple[str, str], set[Key]] = defaultdict(set)
        self._node_waiters: set[Key] = set()

    def register(self, key: Key) -> asyncio.Event:
        """The event a daemon waits on."""
        return self._events.setdefault(key, asyncio.Event())

    def unregister(self, key: Key) -> None:
        """Forget a stopped daemon."""
        self._events.pop(key, None)
        self._node_waiters.discard(key)
        for waiters in self._artifact_waiters.values():
            waiters.discard(key)

    def wait_for(self, key: Key, artifact: str | None, nodes: bool) -> None:
        """Remember what a daemon waits on, after a reconcile pass."""
        for waiters in self._artifact_waiters.values():
            waiters.discard(key)
        if artifact:
            self._artifact_waiters[(key[0], artifact)].add(key)
        if nodes:
            self._node_waiters.add(key)
        else:
            self._node_waiters.discard(key)

    def wake(self, key: Key) -> None:
        """Poke one LLMDeployment."""
        event = self._events.get(key)
        if event is not None:
            event.set()

    def wake_artifact(self, namespace: str, artifact: str) -> None:
        """Poke every LLMDeployment waiting for an artifact's Jobs."""
        for key in list(self._artifact_waiters.get((namespace, artifact), ())):
            self.wake(key)

    def wake_node_waiters(self) -> None:
        """Poke every LLMDeployment waiting for nodes of its class."""
        for key in list(self._node_waiters):
            self.wake(key)
