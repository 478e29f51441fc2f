"""The pydantic base of every API model: camelCase on the wire, frozen, unknown fields refused, and
cross-field rules declared once for both the CRD (as CEL) and Python (as a predicate)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, WithJsonSchema, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


@dataclass(frozen=True)
class Rule:
    """A cross-field rule: CEL for the API server, the same predicate in Python for `llmops plan`.

    A transition rule (one that reads oldSelf) has no Python predicate: only the API server sees both sides.
    """

    cel: str
    message: str
    check: Callable[[Any], bool] | None = None
    field_path: str | None = None

    def to_crd(self) -> dict[str, str]:
        """The x-kubernetes-validations entry."""
        entry = {"rule": self.cel, "message": self.message}
        if self.field_path:
            entry["fieldPath"] = self.field_path
        return entry


class ApiModel(BaseModel):
    """Base for spec and status models."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for rule in self.rules:
            if rule.check is not None and not rule.check(self):
                raise ValueError(rule.message)
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        if cls.rules:
            handler.resolve_ref_schema(schema)["x-kubernetes-validations"] = [rule.to_crd() for rule in cls.rules]
        return schema

    def to_api(self) -> dict[str, Any]:
        """Dump in API casing, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# A Kubernetes resource quantity ("24Gi", "500m", 4): the CRD marks it int-or-string like core types do.
Quantity = Annotated[
    str | int,
    WithJsonSchema({"x-kubernetes-int-or-string": True}),
]
