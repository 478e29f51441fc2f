"""The LLMDeployment resource as a whole, and parsing it with errors that name the field path."""

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmops.api.spec import LLMDeploymentSpec
from llmops.api.status import LLMDeploymentStatus

GROUP = "llmops.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "LLMDeployment"
PLURAL = "llmdeployments"
SINGULAR = "llmdeployment"
SHORT_NAMES = ["llmd"]
CATEGORIES = ["llmops"]


class ObjectMeta(BaseModel):
    """The metadata fields the operator reads; everything else passes through untouched."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
    namespace: str = "default"
    uid: str = ""
    generation: int = 0


class LLMDeployment(BaseModel):
    """A whole LLMDeployment object."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    api_version: Annotated[str, Field(alias="apiVersion", pattern=f"^{GROUP}/{VERSION}$")] = API_VERSION
    kind: Annotated[str, Field(pattern=f"^{KIND}$")] = KIND
    metadata: ObjectMeta
    spec: LLMDeploymentSpec
    status: LLMDeploymentStatus | None = None


class SpecError(ValueError):
    """An LLMDeployment that does not match the API; the message names every bad field path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def field_problems(error: ValidationError, prefix: str, messages: Mapping[str, str] | None = None) -> list[str]:
    """One line per validation error, naming the field as prefix.a.b[0]; `messages` rewords errors by type."""
    problems = []
    for detail in error.errors():
        # Union members and enum tags add noise to the location; keep the field names only.
        loc = tuple(part for part in detail["loc"] if not str(part).startswith(("function-", "literal[")))
        path = _path(loc)
        where = f"{prefix}.{path}" if prefix and path else prefix or path
        problems.append(f"{where}: {(messages or {}).get(detail['type'], detail['msg'])}")
    return problems


def parse_spec(raw: Any) -> LLMDeploymentSpec:
    """Validate a spec dict; raise SpecError naming each bad field as spec.a.b."""
    try:
        return LLMDeploymentSpec.model_validate(raw)
    except ValidationError as error:
        raise SpecError(field_problems(error, "spec")) from None


def parse_resource(raw: Any) -> LLMDeployment:
    """Validate a whole object (as read from YAML); raise SpecError naming each bad field."""
    try:
        return LLMDeployment.model_validate(raw)
    except ValidationError as error:
        raise SpecError(field_problems(error, "")) from None
