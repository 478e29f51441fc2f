"""The artifact key: a content hash of everything that changes the bytes of a converted artifact."""

import hashlib
import json
from dataclasses import dataclass

from llmops.api.enums import DType, ModelFormat, Quantization

ARTIFACTS_DIR = "artifacts"
STAGING_DIR = ".staging"


@dataclass(frozen=True)
class ArtifactInputs:
    """Inputs of a conversion. Fields that cannot change a format's bytes are left out of its key,
    so a serving-only change (say maxBatchSize for vLLM) never triggers a rebuild."""

    source: str
    revision: str  # the resolved commit when known
    format: ModelFormat
    quantization: Quantization
    dtype: DType
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_batch_size: int | None  # None: the runtime's own scheduler decides (vLLM)
    max_input_length: int
    max_output_length: int
    builder_image: str  # its identity (imageconfig.ImageConfig.identity): the same on any mirror of the registry
    gpu_architecture: str  # sm_90, sm_80 ...; only engines are tied to it

    def hashed_fields(self) -> dict[str, object]:
        """The fields that enter the hash for this format."""
        fields: dict[str, object] = {
            "source": self.source,
            "revision": self.revision,
            "format": self.format.value,
            "builderImage": self.builder_image,
        }
        if self.format in (ModelFormat.GGUF, ModelFormat.ONNX, ModelFormat.TENSORRT_ENGINE):
            fields |= {"quantization": self.quantization.value, "dtype": self.dtype.value}
        if self.format is ModelFormat.TENSORRT_ENGINE:
            # An engine bakes in parallelism, shapes and the SM it was built on.
            fields |= {
                "tensorParallelSize": self.tensor_parallel_size,
                "pipelineParallelSize": self.pipeline_parallel_size,
                "maxBatchSize": self.max_batch_size,
                "maxInputLength": self.max_input_length,
                "maxOutputLength": self.max_output_length,
                "gpuArchitecture": self.gpu_architecture,
            }
        return fields

    def key(self) -> str:
        """sha256 over the canonical JSON of the hashed fields."""
        canonical = json.dumps(self.hashed_fields(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def key_hex(key: str) -> str:
    """The hex digest of a key, used in directory and object names."""
    return key.removeprefix("sha256:")


def artifact_dir(key: str) -> str:
    """Where a published artifact lives, relative to the models claim's root."""
    return f"{ARTIFACTS_DIR}/{key_hex(key)}"
