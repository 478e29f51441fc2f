"""The LLMDeployment status: what the operator observed and decided."""

from typing import Annotated, Literal

from pydantic import Field

from llmops.api.base import ApiModel
from llmops.api.enums import Accelerator, ModelFormat, Phase, Protocol, Quantization, Runtime


class ConversionStep(ApiModel):
    """One format-to-format step of the conversion."""

    from_: Annotated[ModelFormat, Field(alias="from", description="Input format.")]
    to: Annotated[ModelFormat, Field(description="Output format.")]


class PlanStatus(ApiModel):
    """The plan the operator chose."""

    accelerator: Annotated[Accelerator, Field(description="Accelerator class replicas run on.")]
    runtime: Annotated[Runtime, Field(description="Serving runtime.")]
    format: Annotated[ModelFormat, Field(description="The format the runtime serves.")]
    quantization: Annotated[Quantization, Field(description="Quantization of the served artifact.")]
    conversion: Annotated[list[ConversionStep], Field(description="Conversion steps, in order; empty if none.")]
    reason: Annotated[str, Field(description="Why this plan: the rule of the compatibility matrix applied.")]


class ArtifactStatus(ApiModel):
    """The artifact the runtime serves."""

    key: Annotated[str, Field(description="Content key (sha256) of the artifact; equal keys share one artifact.")]
    path: Annotated[str, Field(description="Where the artifact lives, as pvc://CLAIM/PATH.")]
    resolved_revision: Annotated[str | None, Field(description="The commit the source revision resolved to.")] = None
    cached: Annotated[bool, Field(description="True when the artifact existed and no conversion ran.")] = False


class EndpointStatus(ApiModel):
    """Where clients reach the model."""

    url: Annotated[str, Field(description="In-cluster URL of the Service.")]
    protocol: Annotated[Protocol, Field(description="openai, or kserve-v2 for Triton.")]


class Condition(ApiModel):
    """A KEP-1623 condition."""

    type: Annotated[str, Field(description="Condition type, e.g. Ready.", max_length=316)]
    status: Annotated[Literal["True", "False", "Unknown"], Field(description="True, False or Unknown.")]
    reason: Annotated[
        str,
        Field(
            description="CamelCase reason for the last transition.",
            pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            max_length=1024,
        ),
    ]
    message: Annotated[str, Field(description="Human-readable details.", max_length=32768)] = ""
    last_transition_time: Annotated[str, Field(description="When status last changed (RFC 3339).")]
    observed_generation: Annotated[
        int | None, Field(description="metadata.generation the condition was computed from.", ge=0)
    ] = None


class Timings(ApiModel):
    """When each phase started, for dashboards and benchmarks (RFC 3339)."""

    planned: Annotated[str | None, Field(description="When the plan was made.")] = None
    conversion_started: Annotated[str | None, Field(description="When the first conversion Job started.")] = None
    conversion_finished: Annotated[str | None, Field(description="When the artifact became ready.")] = None
    ready: Annotated[str | None, Field(description="When the deployment first became Ready.")] = None


class LLMDeploymentStatus(ApiModel):
    """Observed state of an LLMDeployment."""

    phase: Annotated[Phase | None, Field(description="Lifecycle summary for humans.")] = None
    observed_generation: Annotated[
        int | None, Field(description="metadata.generation this status describes.", ge=0)
    ] = None
    plan: Annotated[PlanStatus | None, Field(description="The chosen plan.")] = None
    artifact: Annotated[ArtifactStatus | None, Field(description="The served artifact.")] = None
    endpoint: Annotated[EndpointStatus | None, Field(description="Where clients reach the model.")] = None
    replicas: Annotated[int | None, Field(description="Current replicas (scale subresource).", ge=0)] = None
    ready_replicas: Annotated[int | None, Field(description="Replicas passing their readiness probe.", ge=0)] = None
    selector: Annotated[
        str | None, Field(description="Label selector of the serving pods, as a string (scale subresource).")
    ] = None
    timings: Annotated[Timings | None, Field(description="When each phase was reached.")] = None
    conditions: Annotated[
        list[Condition],
        Field(
            description="Planned, ArtifactReady, Available and Ready, KEP-1623 shaped.",
            json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        ),
    ] = Field(default_factory=list)
