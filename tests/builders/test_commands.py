"""Golden upstream command lines: what each conversion step runs, exactly."""

from __future__ import annotations

import pytest

from llmops_builders import commands, versions


def test_convert_hf_to_gguf_runs_llama_cpps_own_converter() -> None:
    argv = commands.convert_hf_to_gguf(
        python="python3", llama_cpp_dir="/opt/llama.cpp", src="/in", out="/out/model.gguf", outtype="f16"
    )
    assert argv == [
        "python3", "/opt/llama.cpp/convert_hf_to_gguf.py", "/in", "--outtype", "f16", "--outfile", "/out/model.gguf",
    ]  # fmt: skip


@pytest.mark.parametrize(("qtype", "upstream"), [("q4_k_m", "Q4_K_M"), ("q5_k_m", "Q5_K_M"), ("q8_0", "Q8_0")])
def test_llama_quantize_uses_upstream_type_names(qtype: commands.GgufQuantType, upstream: str) -> None:
    argv = commands.llama_quantize(binary="llama-quantize", src="/a.gguf", out="/b.gguf", qtype=qtype)
    assert argv == ["llama-quantize", "/a.gguf", "/b.gguf", upstream]


def test_optimum_export_keeps_the_kv_cache() -> None:
    assert commands.optimum_export_onnx(src="/in", out="/out") == [
        "optimum-cli", "export", "onnx", "--model", "/in", "--task", "text-generation-with-past", "/out",
    ]  # fmt: skip


def test_trtllm_checkpoint_plain_uses_the_llama_example_script() -> None:
    argv = commands.trtllm_checkpoint(
        python="python3", trtllm_root="/opt/tensorrt_llm", src="/hf", out="/ckpt",
        dtype="bfloat16", tp=2, pp=1, quantization="none",
    )  # fmt: skip
    assert argv == [
        "python3", "/opt/tensorrt_llm/examples/models/core/llama/convert_checkpoint.py",
        "--model_dir", "/hf", "--output_dir", "/ckpt", "--dtype", "bfloat16", "--tp_size", "2", "--pp_size", "1",
    ]  # fmt: skip


def test_trtllm_checkpoint_int8_is_weight_only() -> None:
    argv = commands.trtllm_checkpoint(
        python="python3", trtllm_root="/t", src="/hf", out="/ckpt", dtype="float16", tp=1, pp=2, quantization="int8"
    )
    assert argv[1] == "/t/examples/models/core/llama/convert_checkpoint.py"
    assert argv[-3:] == ["--use_weight_only", "--weight_only_precision", "int8"]
    assert argv[argv.index("--pp_size") + 1] == "2"


def test_trtllm_fp8_goes_through_modelopt_quantize() -> None:
    argv = commands.trtllm_checkpoint(
        python="python3", trtllm_root="/t", src="/hf", out="/ckpt", dtype="float16", tp=4, pp=1, quantization="fp8"
    )
    assert argv == [
        "python3", "/t/examples/quantization/quantize.py", "--model_dir", "/hf", "--dtype", "float16",
        "--qformat", "fp8", "--kv_cache_dtype", "fp8", "--calib_size", "512",
        "--output_dir", "/ckpt", "--tp_size", "4", "--pp_size", "1",
    ]  # fmt: skip


def test_trtllm_int4_awq_goes_through_modelopt_quantize() -> None:
    argv = commands.trtllm_checkpoint(
        python="python3", trtllm_root="/t", src="/hf", out="/ckpt", dtype="bfloat16", tp=1, pp=1,
        quantization="int4-awq",
    )  # fmt: skip
    assert argv == [
        "python3", "/t/examples/quantization/quantize.py", "--model_dir", "/hf", "--dtype", "bfloat16",
        "--qformat", "int4_awq", "--awq_block_size", "128", "--calib_size", "32",
        "--output_dir", "/ckpt", "--tp_size", "1", "--pp_size", "1",
    ]  # fmt: skip


def test_trtllm_build_sets_the_planned_limits() -> None:
    argv = commands.trtllm_build(
        checkpoint_dir="/ckpt", out="/engine", max_batch_size=8, max_input_len=4096, max_seq_len=5120
    )
    assert argv == [
        "trtllm-build", "--checkpoint_dir", "/ckpt", "--output_dir", "/engine", "--gemm_plugin", "auto",
        "--max_batch_size", "8", "--max_input_len", "4096", "--max_seq_len", "5120",
    ]  # fmt: skip


@pytest.mark.parametrize(("batch", "max_input", "max_seq"), [(0, 1, 1), (1, 10, 5)])
def test_trtllm_build_refuses_impossible_limits(batch: int, max_input: int, max_seq: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        commands.trtllm_build(
            checkpoint_dir="/c", out="/e", max_batch_size=batch, max_input_len=max_input, max_seq_len=max_seq
        )


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValueError, match="outtype"):
        commands.convert_hf_to_gguf(python="p", llama_cpp_dir="/l", src="/s", out="/o", outtype="q4_0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="parallel"):
        commands.trtllm_checkpoint(
            python="p", trtllm_root="/t", src="/s", out="/o", dtype="float16", tp=0, pp=1, quantization="none"
        )


def test_pins_name_a_release_with_the_engine_backend() -> None:
    major, minor, _ = (int(p) for p in versions.TENSORRT_LLM_VERSION.split("."))
    assert (major, minor) <= (1, 2)
    assert versions.TRITON_TRTLLM_IMAGE.endswith("-trtllm-python-py3")


def test_shell_line_quotes_arguments() -> None:
    assert commands.shell_line(["a", "b c"]) == "a 'b c'"
