"""The conversion configuration: where CPU-side conversion Jobs run, and the Hub endpoint their downloads use."""

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from llmops.api.resource import field_problems
from llmops.api.spec import Toleration

HF_ENDPOINT_ENV: Final = "HF_ENDPOINT"
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$")


class ConversionConfigError(ValueError):
    """A conversion configuration llmops cannot use; the message names every bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _endpoint(value: str) -> str:
    value = value.rstrip("/")
    if value and not _ENDPOINT.match(value):
        raise PydanticCustomError(
            "hub_endpoint", "'{value}' is not an http(s) URL such as https://hf-mirror.example.com", {"value": value}
        )
    return value


class ConversionConfig(BaseModel):
    """What `--conversion-config` holds (the chart writes it from values `conversion.*`); every key is optional.

    node_selector, when set, replaces the default placement of the Jobs that run on CPU nodes (downloads, and
    every conversion but a TensorRT engine build, which runs on the GPU it targets): the cluster's admin names
    its build nodes. hub_endpoint is the Hugging Face Hub, or a mirror of it, that download Jobs talk to
    (HF_ENDPOINT in their environment); empty means huggingface.co.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    node_selector: Annotated[dict[str, str], Field(default_factory=dict)]
    tolerations: Annotated[tuple[Toleration, ...], Field(default_factory=tuple)]
    hub_endpoint: Annotated[str, AfterValidator(_endpoint)] = ""


def parse_conversion_config(raw: Any, hub_endpoint: str = "", where: str = "conversion") -> ConversionConfig:
    """Validate a configuration mapping (an empty hubEndpoint falls back to HUB_ENDPOINT, the operator's own
    HF_ENDPOINT); raise ConversionConfigError naming each bad key as conversion.<key>."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConversionConfigError([f"{where}: must be a mapping of keys to values, not {type(raw).__name__}"])
    if hub_endpoint and not raw.get("hubEndpoint"):
        raw = {**raw, "hubEndpoint": hub_endpoint}
    try:
        return ConversionConfig.model_validate(raw)
    except ValidationError as error:
        known = ", ".join(field.alias or name for name, field in ConversionConfig.model_fields.items())
        raise ConversionConfigError(
            field_problems(error, where, {"extra_forbidden": f"unknown key (known: {known})"})
        ) from None
