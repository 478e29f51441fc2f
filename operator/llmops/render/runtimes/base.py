"""What a runtime module returns: a complete description of the serving container."""

from dataclasses import dataclass, field
from typing import Any

from llmops.api.enums import Protocol

Obj = dict[str, Any]


@dataclass(frozen=True)
class Probe:
    """An HTTP GET probe target."""

    path: str
    port: str  # a named container port

    def http_get(self) -> Obj:
        """The probe's httpGet stanza."""
        return {"path": self.path, "port": self.port}


@dataclass(frozen=True)
class ServingContainer:
    """The serving container of one runtime, before placement and merging of user overrides."""

    image: str
    command: list[str]
    args: list[str]
    ports: dict[str, int]  # name → containerPort; "http" is the API port
    readiness: Probe
    liveness: Probe
    metrics: Probe  # where Prometheus scrapes
    protocol: Protocol
    env: list[Obj] = field(default_factory=list)
    shared_memory: bool = True  # NCCL and PyTorch workers need a real /dev/shm
    writable_cache: str | None = None  # a mount path that needs persistent writable space (NIM's cache)
    compile_cache: bool = False  # restore/publish the compile and JIT caches per key (render/compilecache.py)


def env(name: str, value: str) -> Obj:
    """A literal environment variable."""
    return {"name": name, "value": value}
