"""The one typed object every renderer receives: which LLMDeployment, its spec, its plan, the cluster facts."""

import re
from dataclasses import dataclass

from llmops.api.enums import ModelFormat
from llmops.api.spec import LLMDeploymentSpec
from llmops.planning.artifact import STAGING_DIR, artifact_dir, key_hex
from llmops.planning.facts import ClusterFacts
from llmops.planning.planner import Plan

MODELS_CLAIM = "llmops-models"
MODELS_MOUNT = "/models"
SOURCE_PVC_ROOT = "/mnt/pvc"


@dataclass(frozen=True)
class Owner:
    """The LLMDeployment that owns the rendered children."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True)
class RenderContext:
    """Everything a renderer may read."""

    owner: Owner
    spec: LLMDeploymentSpec
    plan: Plan
    facts: ClusterFacts

    @property
    def claim(self) -> str:
        """The claim holding models and artifacts."""
        return self.spec.storage.existing_claim or MODELS_CLAIM

    @property
    def key_hex(self) -> str:
        """The artifact key's hex digest."""
        return key_hex(self.plan.artifact_key)

    @property
    def source_pvc(self) -> tuple[str, str] | None:
        """(claim, path) of a pvc:// source, or None for hf://."""
        if not self.spec.model.source.startswith("pvc://"):
            return None
        claim, _, path = self.spec.model.source.removeprefix("pvc://").partition("/")
        return claim, path

    @property
    def serves_source_in_place(self) -> bool:
        """A pvc:// source the runtime serves as is: no Job, the artifact is the source itself."""
        return self.source_pvc is not None and not self.plan.conversion

    @property
    def artifact_path(self) -> str:
        """Where the served artifact is mounted in the serving pod."""
        source = self.source_pvc
        if source is not None and self.serves_source_in_place:
            return f"{SOURCE_PVC_ROOT}/{source[0]}/{source[1]}"
        return f"{MODELS_MOUNT}/{artifact_dir(self.plan.artifact_key)}"

    @property
    def artifact_uri(self) -> str:
        """The artifact as status.artifact.path shows it."""
        source = self.source_pvc
        if source is not None and self.serves_source_in_place:
            return self.spec.model.source
        return f"pvc://{self.claim}/{artifact_dir(self.plan.artifact_key)}"

    @property
    def staging_path(self) -> str:
        """Scratch space of the conversion Jobs for this artifact, on the models claim."""
        return f"{MODELS_MOUNT}/{STAGING_DIR}/{self.key_hex}"

    @property
    def source_path(self) -> str:
        """Where conversion steps read the source checkpoint."""
        source = self.source_pvc
        if source is not None:
            return f"{SOURCE_PVC_ROOT}/{source[0]}/{source[1]}"
        return f"{self.staging_path}/source"

    @property
    def served_model_name(self) -> str:
        """The model name clients send; derived from the source so shared artifacts agree on it."""
        tail = self.spec.model.source.rstrip("/").rsplit("/", 1)[-1]
        tail = re.sub(r"\.(gguf|onnx|engine|plan)$", "", tail, flags=re.IGNORECASE)
        return re.sub(r"[^a-z0-9-]+", "-", tail.lower()).strip("-") or "model"

    @property
    def is_engine(self) -> bool:
        """True when the runtime serves a TensorRT engine."""
        return self.plan.format is ModelFormat.TENSORRT_ENGINE
