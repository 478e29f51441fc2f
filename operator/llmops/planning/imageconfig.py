"""The images configuration: a mirror registry, a pull policy and per-image references over the pinned defaults."""

import re
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel, to_snake
from pydantic_core import PydanticCustomError

from llmops.api.resource import field_problems
from llmops.planning.images import DEFAULTS, Image

# The grammar of github.com/distribution/reference (IPv6 hosts left out), with a tag or a digest required: an
# untagged reference means :latest, which IfNotPresent would never refresh. values.schema.json uses the same
# patterns (a test keeps them equal).
_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
REFERENCE: Final = rf"{_NAME}(?::{_TAG}(?:@{_DIGEST})?|@{_DIGEST})"
# A container runtime reads a reference's first component as a registry host only if it has a dot or a port or
# is localhost; anything else would silently mean a Docker Hub namespace.
_HOST = rf"(?:localhost(?::[0-9]+)?|{_LABEL}(?:\.{_LABEL})+(?::[0-9]+)?|{_LABEL}:[0-9]+)"
MIRROR: Final = rf"{_HOST}(?:/{_COMPONENT})*"


class PullPolicy(StrEnum):
    """imagePullPolicy of every rendered container."""

    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class ImageConfigError(ValueError):
    """An images configuration llmops cannot use; the message names every bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _reference(value: str) -> str:
    if value and not re.fullmatch(REFERENCE, value):
        raise PydanticCustomError(
            "image_reference",
            "'{value}' is not a full image reference: [registry/]repository:tag, or @sha256:<digest>",
            {"value": value},
        )
    return value


def _mirror(value: str) -> str:
    value = value.rstrip("/")
    if value and not re.fullmatch(MIRROR, value):
        raise PydanticCustomError(
            "image_registry",
            "'{value}' is not a registry host with an optional path (registry.local:5000, mirror.example.com/"
            "proxy): a host needs a dot or a port, or is localhost",
            {"value": value},
        )
    return value


def _default_when_empty(value: Any) -> Any:
    return PullPolicy.IF_NOT_PRESENT if value == "" else value


Reference = Annotated[str, AfterValidator(_reference)]


class ImageConfig(BaseModel):
    """What `--images-config` holds (the chart writes it from values `images.*`). Every key is optional and an
    empty value means the default: the pin in planning/images.py, on `registry` when that is set."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    registry: Annotated[str, AfterValidator(_mirror)] = ""
    # IfNotPresent suits pinned tags, and never pulls an image loaded into the nodes (kind load, a local build).
    pull_policy: Annotated[PullPolicy, BeforeValidator(_default_when_empty)] = PullPolicy.IF_NOT_PRESENT
    triton_trtllm: Reference = ""
    triton_onnx: Reference = ""
    trtllm_serve: Reference = ""
    nim: Reference = ""
    vllm: Reference = ""
    llama_cpp_cpu: Reference = ""
    llama_cpp_cuda: Reference = ""
    gguf_builder: Reference = ""
    onnx_builder: Reference = ""
    tensorrt_llm_builder: Reference = ""

    def explicit(self, image: Image) -> str:
        """The reference configured for this image, or empty."""
        return str(getattr(self, to_snake(image.value)))

    def reference(self, image: Image) -> str:
        """What the pods pull: the explicit reference, else the pinned default moved onto the mirror, if any."""
        return self.explicit(image) or mirrored(DEFAULTS[image], self.registry)

    def identity(self, image: Image) -> str:
        """What artifact keys name: a mirror serves the same bytes, so moving to one must not rebuild anything;
        an explicit image may be another toolchain, so it does."""
        return self.explicit(image) or DEFAULTS[image]


def mirrored(reference: str, registry: str) -> str:
    """A fully qualified reference with its registry host replaced by `registry` (unchanged when empty)."""
    return f"{registry}/{reference.split('/', 1)[1]}" if registry else reference


def parse_image_config(raw: Any, where: str = "images") -> ImageConfig:
    """Validate a configuration mapping; raise ImageConfigError naming each bad key as images.<key>."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ImageConfigError([f"{where}: must be a mapping of keys to values, not {type(raw).__name__}"])
    try:
        return ImageConfig.model_validate(raw)
    except ValidationError as error:
        known = ", ".join(field.alias or name for name, field in ImageConfig.model_fields.items())
        unknown = f"unknown key (known: {known})"
        raise ImageConfigError(field_problems(error, where, {"extra_forbidden": unknown})) from None
