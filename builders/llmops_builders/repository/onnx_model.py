"""Triton Python-backend model: greedy generation over an optimum-exported ONNX decoder with its KV cache.

This file is copied verbatim into the model repository as `<model>/1/model.py`, so it depends only on
numpy, onnxruntime and tokenizers (what the Triton-ONNX serving image installs), never on llmops_builders.
Triton's own utilities are imported inside the Triton-only class so the generator is testable anywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]
from tokenizers import Tokenizer  # type: ignore[import-untyped]

_PAST = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")
_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


class OnnxGreedyGenerator:
    """Runs prefill once, then one token per step feeding the returned present.* tensors back as past."""

    def __init__(self, onnx_path: Path, intra_op_threads: int = 0) -> None:
        options = ort.SessionOptions()
        if intra_op_threads > 0:
            options.intra_op_num_threads = intra_op_threads
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.output_names = [o.name for o in self.session.get_outputs()]
        # past_key_values.<layer>.<key|value> has shape [batch, kv_heads, past_len, head_dim].
        self.past_specs: dict[str, tuple[int, int, Any]] = {}
        for spec in self.session.get_inputs():
            match = _PAST.match(spec.name)
            if match:
                heads, head_dim = spec.shape[1], spec.shape[3]
                self.past_specs[spec.name] = (int(heads), int(head_dim), _ORT_DTYPES[spec.type])

    def _empty_past(self) -> dict[str, npt.NDArray[Any]]:
        return {
            name: np.zeros((1, heads, 0, head_dim), dtype=dtype)
            for name, (heads, head_dim, dtype) in self.past_specs.items()
        }

    def _step(
        self, ids: list[int], start: int, past: dict[str, npt.NDArray[Any]]
    ) -> tuple[npt.NDArray[Any], dict[str, npt.NDArray[Any]]]:
        total = start + len(ids)
        feed: dict[str, npt.NDArray[Any]] = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "attention_mask": np.ones((1, total), dtype=np.int64),
            **past,
        }
        if "position_ids" in self.input_names:
            feed["position_ids"] = np.arange(start, total, dtype=np.int64)[None, :]
        named = dict(zip(self.output_names, self.session.run(None, feed), strict=True))
        present = {name: named["present" + name.removeprefix("past_key_values")] for name in self.past_specs}
        return named["logits"], present

    def prompt_logits(self, prompt_ids: list[int]) -> npt.NDArray[Any]:
        """Logits for every prompt position, shape [len, vocab] (the fidelity check uses this)."""
        logits, _ = self._step(prompt_ids, 0, self._empty_past())
        return np.asarray(logits[0])

    def generate(self, prompt_ids: list[int], max_new_tokens: int, eos_ids: frozenset[int]) -> list[int]:
        """Greedy decoding; stops after an end-of-sequence token (which is included) or max_new_tokens."""
        generated: list[int] = []
        past = self._empty_past()
        ids, start = list(prompt_ids), 0
        for _ in range(max_new_tokens):
            logits, past = self._step(ids, start, past)
            start += len(ids)
            token = int(np.argmax(logits[0, -1]))
            generated.append(token)
            if token in eos_ids:
                break
            ids = [token]
        return generated


class TritonPythonModel:
    """The Triton entry points: text in, generated text (and ids) out, one request row at a time."""

    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        version_dir = Path(args["model_repository"]) / args["model_version"]
        self.generator = OnnxGreedyGenerator(version_dir / params["onnx_file"], int(params["intra_op_threads"]))
        self.tokenizer = Tokenizer.from_file(str(version_dir / params["tokenizer_file"]))
        self.eos_ids = frozenset(int(i) for i in json.loads(params["eos_token_ids"]))
        self.default_max_tokens = int(params["default_max_tokens"])
        self.max_seq_len = int(params["max_seq_len"])

    def _generate_row(self, text: str, max_tokens: int) -> list[int]:
        prompt = self.tokenizer.encode(text).ids
        room = self.max_seq_len - len(prompt)
        if room <= 0:
            raise ValueError(f"prompt has {len(prompt)} tokens; the limit is {self.max_seq_len - 1}")
        return self.generator.generate(prompt, min(max_tokens, room), self.eos_ids)

    def execute(self, requests: list[Any]) -> list[Any]:
        # Only the Triton Python-backend stub provides this module.
        import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]  # noqa: PLC0415

        responses = []
        for request in requests:
            try:
                texts = pb_utils.get_input_tensor_by_name(request, "text_input").as_numpy().reshape(-1)
                max_tensor = pb_utils.get_input_tensor_by_name(request, "max_tokens")
                limits = (
                    max_tensor.as_numpy().reshape(-1).tolist()
                    if max_tensor is not None
                    else [self.default_max_tokens] * len(texts)
                )
                rows = []
                for raw, limit in zip(texts, limits, strict=True):
                    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                    rows.append(self._generate_row(text, int(limit)))
                width = max((len(r) for r in rows), default=0)
                # Rows of one request may differ in length: pad ids with -1, lengths say how many are real.
                ids = np.full((len(rows), width), -1, dtype=np.int32)
                for i, row in enumerate(rows):
                    ids[i, : len(row)] = row
                decoded = [self.tokenizer.decode(r, skip_special_tokens=True).encode("utf-8") for r in rows]
                responses.append(
                    pb_utils.InferenceResponse(
                        output_tensors=[
                            pb_utils.Tensor("text_output", np.array(decoded, dtype=object).reshape(-1, 1)),
                            pb_utils.Tensor("output_ids", ids),
                            pb_utils.Tensor("sequence_length", np.array([[len(r)] for r in rows], dtype=np.int32)),
                        ]
                    )
                )
            except Exception as exc:  # a bad request must fail alone, not the model
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(exc))))
        return responses
