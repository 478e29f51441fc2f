"""The tensor interface of TensorRT-LLM's Triton models (inflight_batcher_llm) at the pinned release, as data.

The upstream preprocessing/postprocessing model.py files look their tensors up by name when they
load, so every name they touch must be declared here; the templates render these tables.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tensor:
    """One config.pbtxt input or output."""

    name: str
    data_type: str
    dims: tuple[int, ...]
    optional: bool = False

    @property
    def dims_text(self) -> str:
        return ", ".join(str(d) for d in self.dims)


def _t(name: str, data_type: str, *dims: int, optional: bool = False) -> Tensor:
    return Tensor(name, f"TYPE_{data_type}", dims, optional)


PREPROCESSING_INPUTS = (
    _t("QUERY", "STRING", 1),
    _t("DECODER_QUERY", "STRING", 1, optional=True),
    _t("IMAGE_BYTES", "UINT8", -1, -1, -1, -1, optional=True),
    _t("IMAGE_URL", "STRING", 1, optional=True),
    _t("IMAGES", "STRING", -1, optional=True),
    _t("VIDEO_BYTES", "UINT8", -1, -1, -1, -1, optional=True),
    _t("REQUEST_OUTPUT_LEN", "INT32", 1),
    _t("BAD_WORDS_DICT", "STRING", -1, optional=True),
    _t("STOP_WORDS_DICT", "STRING", -1, optional=True),
    _t("EMBEDDING_BIAS_WORDS", "STRING", -1, optional=True),
    _t("EMBEDDING_BIAS_WEIGHTS", "FP32", -1, optional=True),
    _t("END_ID", "INT32", 1, optional=True),
    _t("PAD_ID", "INT32", 1, optional=True),
    _t("PROMPT_TABLE_EXTRA_ID", "UINT64", 1, optional=True),
)
PREPROCESSING_OUTPUTS = (
    _t("INPUT_ID", "INT32", -1),
    _t("REQUEST_INPUT_LEN", "INT32", 1),
    _t("DECODER_INPUT_ID", "INT32", -1),
    _t("REQUEST_DECODER_INPUT_LEN", "INT32", 1),
    _t("BAD_WORDS_IDS", "INT32", 2, -1),
    _t("STOP_WORDS_IDS", "INT32", 2, -1),
    _t("EMBEDDING_BIAS", "FP32", -1),
    _t("REQUEST_OUTPUT_LEN", "INT32", -1),
    _t("OUT_END_ID", "INT32", 1),
    _t("OUT_PAD_ID", "INT32", 1),
    _t("OUT_PROMPT_TABLE_EXTRA_IDS", "UINT64", -1),
    _t("PIXEL_VALUES", "FP16", -1, -1, -1, -1),
    _t("ASPECT_RATIO_IDS", "INT64", -1),
    _t("ASPECT_RATIO_MASK", "INT64", -1, -1),
    _t("CROSS_ATTENTION_MASK", "INT64", -1, -1, -1),
    _t("IMAGE_SIZES", "INT64", -1, 2),
    _t("IS_VIDEO_INPUT", "BOOL", 1),
    _t("ATTENTION_MASK", "INT64", -1),
    _t("IMAGE_GRID_THW", "INT64", 3),
    _t("VISION_INPUT_ID", "INT32", -1),
)

# The C++ tensorrtllm backend: the text-generation subset of its request tensors.
TENSORRT_LLM_INPUTS = (
    _t("input_ids", "INT32", -1),
    _t("input_lengths", "INT32", 1),
    _t("request_output_len", "INT32", 1),
    _t("decoder_input_ids", "INT32", -1, optional=True),
    _t("decoder_input_lengths", "INT32", 1, optional=True),
    _t("end_id", "INT32", 1, optional=True),
    _t("pad_id", "INT32", 1, optional=True),
    _t("stop_words_list", "INT32", 2, -1, optional=True),
    _t("bad_words_list", "INT32", 2, -1, optional=True),
    _t("embedding_bias", "FP32", -1, optional=True),
    _t("beam_width", "INT32", 1, optional=True),
    _t("temperature", "FP32", 1, optional=True),
    _t("runtime_top_k", "INT32", 1, optional=True),
    _t("runtime_top_p", "FP32", 1, optional=True),
    _t("len_penalty", "FP32", 1, optional=True),
    _t("repetition_penalty", "FP32", 1, optional=True),
    _t("min_tokens", "INT32", 1, optional=True),
    _t("presence_penalty", "FP32", 1, optional=True),
    _t("frequency_penalty", "FP32", 1, optional=True),
    _t("seed", "UINT64", 1, optional=True),
    _t("return_log_probs", "BOOL", 1, optional=True),
    _t("exclude_input_in_output", "BOOL", 1, optional=True),
    _t("streaming", "BOOL", 1, optional=True),
)
TENSORRT_LLM_OUTPUTS = (
    _t("output_ids", "INT32", -1, -1),
    _t("sequence_length", "INT32", -1),
    _t("cum_log_probs", "FP32", -1),
    _t("output_log_probs", "FP32", -1, -1),
)

POSTPROCESSING_INPUTS = (
    _t("TOKENS_BATCH", "INT32", -1, -1),
    _t("SEQUENCE_LENGTH", "INT32", -1),
)
POSTPROCESSING_OUTPUTS = (_t("OUTPUT", "STRING", -1),)

# The ensemble a client calls: text in, text out, plus the common sampling knobs.
ENSEMBLE_INPUTS = (
    _t("text_input", "STRING", 1),
    _t("max_tokens", "INT32", 1),
    _t("bad_words", "STRING", -1, optional=True),
    _t("stop_words", "STRING", -1, optional=True),
    _t("end_id", "INT32", 1, optional=True),
    _t("pad_id", "INT32", 1, optional=True),
    _t("top_k", "INT32", 1, optional=True),
    _t("top_p", "FP32", 1, optional=True),
    _t("temperature", "FP32", 1, optional=True),
    _t("repetition_penalty", "FP32", 1, optional=True),
    _t("min_tokens", "INT32", 1, optional=True),
    _t("presence_penalty", "FP32", 1, optional=True),
    _t("frequency_penalty", "FP32", 1, optional=True),
    _t("seed", "UINT64", 1, optional=True),
    _t("return_log_probs", "BOOL", 1, optional=True),
    _t("exclude_input_in_output", "BOOL", 1, optional=True),
    _t("stream", "BOOL", 1, optional=True),
)
ENSEMBLE_OUTPUTS = (
    _t("text_output", "STRING", -1),
    _t("cum_log_probs", "FP32", -1),
    _t("output_log_probs", "FP32", -1, -1),
)

# Ensemble steps as (model, {model input: ensemble tensor}, {model output: ensemble tensor}).
PREPROCESSING_MAP = (
    {
        "QUERY": "text_input",
        "REQUEST_OUTPUT_LEN": "max_tokens",
        "BAD_WORDS_DICT": "bad_words",
        "STOP_WORDS_DICT": "stop_words",
        "END_ID": "end_id",
        "PAD_ID": "pad_id",
    },
    {
        "INPUT_ID": "_INPUT_ID",
        "REQUEST_INPUT_LEN": "_REQUEST_INPUT_LEN",
        "REQUEST_OUTPUT_LEN": "_REQUEST_OUTPUT_LEN",
        "STOP_WORDS_IDS": "_STOP_WORDS_IDS",
        "BAD_WORDS_IDS": "_BAD_WORDS_IDS",
        "OUT_END_ID": "_PREPROCESSOR_END_ID",
        "OUT_PAD_ID": "_PREPROCESSOR_PAD_ID",
    },
)
TENSORRT_LLM_MAP = (
    {
        "input_ids": "_INPUT_ID",
        "input_lengths": "_REQUEST_INPUT_LEN",
        "request_output_len": "_REQUEST_OUTPUT_LEN",
        "end_id": "_PREPROCESSOR_END_ID",
        "pad_id": "_PREPROCESSOR_PAD_ID",
        "stop_words_list": "_STOP_WORDS_IDS",
        "bad_words_list": "_BAD_WORDS_IDS",
        "runtime_top_k": "top_k",
        "runtime_top_p": "top_p",
        "temperature": "temperature",
        "repetition_penalty": "repetition_penalty",
        "min_tokens": "min_tokens",
        "presence_penalty": "presence_penalty",
        "frequency_penalty": "frequency_penalty",
        "seed": "seed",
        "return_log_probs": "return_log_probs",
        "exclude_input_in_output": "exclude_input_in_output",
        "streaming": "stream",
    },
    {
        "output_ids": "_TOKENS_BATCH",
        "sequence_length": "_SEQUENCE_LENGTH",
        "cum_log_probs": "cum_log_probs",
        "output_log_probs": "output_log_probs",
    },
)
POSTPROCESSING_MAP = (
    {"TOKENS_BATCH": "_TOKENS_BATCH", "SEQUENCE_LENGTH": "_SEQUENCE_LENGTH"},
    {"OUTPUT": "text_output"},
)
