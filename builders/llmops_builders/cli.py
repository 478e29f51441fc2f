"""`llmops-build`: what conversion Jobs run; a failure leaves one reason in the termination log."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, cast

from llmops_builders import commands, convert, download, publish, termination
from llmops_builders.errors import BuildError
from llmops_builders.repository import onnx, tensorrt

Handler = Callable[[argparse.Namespace], None]


class _Parser(argparse.ArgumentParser):
    """Usage errors become BuildErrors so they reach the termination log like any other failure."""

    def error(self, message: str) -> NoReturn:
        raise BuildError("usage", f"{self.prog}: {message}")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return number


def _resolve(args: argparse.Namespace) -> None:
    print(download.resolve(args.source, args.revision))


def _download(args: argparse.Namespace) -> None:
    fetched = download.download(
        args.source, args.revision, Path(args.dest), args.allow_pattern or None, Path(args.pvc_root)
    )
    print(fetched.path)


def _need(args: argparse.Namespace, target: str, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) is None]
    if missing:
        raise BuildError("convert", f"--to {target} needs {', '.join(missing)}")


def _convert(args: argparse.Namespace) -> None:
    src, out = Path(args.src), Path(args.out)
    if args.to == "gguf":
        convert.to_gguf(src, out, args.outtype)
    elif args.to == "onnx":
        convert.to_onnx(src, out)
    elif args.to == "tensorrt-checkpoint":
        _need(args, args.to, "dtype")
        convert.to_trt_checkpoint(
            src=src, out=out, dtype=args.dtype, tp=args.tp, pp=args.pp, quantization=args.quantization
        )
    else:
        _need(args, args.to, "max_batch_size", "max_input_len", "max_seq_len")
        convert.to_trt_engine(src, out, args.max_batch_size, args.max_input_len, args.max_seq_len)


def _quantize(args: argparse.Namespace) -> None:
    convert.quantize_gguf(Path(args.src), Path(args.out), args.type)


def _repository(args: argparse.Namespace) -> None:
    if args.format == "onnx":
        onnx.build(
            Path(args.src),
            Path(args.tokenizer),
            Path(args.out),
            onnx.OnnxOptions(
                model_name=args.model_name,
                max_batch_size=args.max_batch_size,
                max_seq_len=args.max_seq_len,
                default_max_tokens=args.default_max_tokens,
                instance_count=args.instance_count,
                intra_op_threads=args.intra_op_threads,
            ),
        )
        return
    if not args.artifact_root:
        raise BuildError("repository", "--format tensorrt-engine needs --artifact-root (e.g. /models/artifacts/<hex>)")
    tensorrt.build(
        Path(args.src),
        Path(args.tokenizer),
        Path(args.out),
        tensorrt.TrtOptions(
            model_name=args.model_name,
            max_batch_size=args.max_batch_size,
            artifact_root=args.artifact_root,
            triton_models_dir=Path(args.triton_models_dir or tensorrt.default_triton_models_dir()),
            decoupled=args.decoupled,
            instance_count=args.instance_count,
        ),
    )


def _publish(args: argparse.Namespace) -> None:
    path, created = publish.publish(
        publish.Request(
            staging=Path(args.src),
            root=Path(args.artifacts_root),
            key=args.key,
            source=args.source,
            revision=args.revision,
            resolved_revision=args.resolved_revision,
            format=args.format,
            quantization=args.quantization,
        )
    )
    print(f"{'published' if created else 'already published'}: {path}")


def _add_source_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("resolve", help="print the commit a revision names")
    p.add_argument("--source", required=True)
    p.add_argument("--revision", required=True)
    p.set_defaults(handler=_resolve)

    p = sub.add_parser("download", help="fetch hf:// at a pinned revision, or validate pvc:// in place")
    p.add_argument("--source", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--allow-pattern", action="append", metavar="GLOB")
    p.add_argument("--pvc-root", default="/mnt/pvc")
    p.set_defaults(handler=_download)


def _add_convert_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("convert", help="convert a checkpoint with the upstream tool")
    p.add_argument("--to", required=True, choices=["gguf", "onnx", "tensorrt-checkpoint", "tensorrt-engine"])
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--outtype", choices=commands.GGUF_OUTTYPES, default="f16")
    p.add_argument("--dtype", choices=commands.TRT_DTYPES)
    p.add_argument("--tp", type=_positive, default=1)
    p.add_argument("--pp", type=_positive, default=1)
    p.add_argument("--quantization", choices=commands.TRT_QUANTIZATIONS, default="none")
    p.add_argument("--max-batch-size", type=_positive)
    p.add_argument("--max-input-len", type=_positive)
    p.add_argument("--max-seq-len", type=_positive)
    p.set_defaults(handler=_convert)

    p = sub.add_parser("quantize", help="quantize a GGUF file with llama-quantize")
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--type", required=True, choices=commands.GGUF_QUANT_TYPES)
    p.set_defaults(handler=_quantize)


def _add_output_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("repository", help="write a Triton model repository")
    p.add_argument("--format", required=True, choices=["onnx", "tensorrt-engine"])
    p.add_argument("--src", required=True, help="ONNX export dir, or engine dir")
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--out", required=True, help="the repository root (<staging>/triton)")
    p.add_argument("--model-name", required=True)
    p.add_argument("--max-batch-size", required=True, type=_positive)
    p.add_argument("--max-seq-len", type=_positive, help="onnx: prompt + generated tokens limit")
    p.add_argument("--default-max-tokens", type=_positive, default=128, help="onnx: when a request sets none")
    p.add_argument("--instance-count", type=_positive, default=1)
    p.add_argument("--intra-op-threads", type=int, default=0, help="onnx: ONNX Runtime threads (0 = all cores)")
    p.add_argument("--artifact-root", help="tensorrt-engine: the artifact path in the serving Pod")
    p.add_argument("--triton-models-dir", help="tensorrt-engine: upstream inflight_batcher_llm models")
    p.add_argument("--decoupled", action="store_true", help="tensorrt-engine: streaming responses")
    p.set_defaults(handler=_repository)

    p = sub.add_parser("publish", help="move a staged artifact into ROOT/<hex>/ with a manifest, atomically")
    p.add_argument("--src", required=True)
    p.add_argument("--artifacts-root", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--resolved-revision")
    p.add_argument("--format", required=True, choices=publish.FORMATS)
    p.add_argument("--quantization", required=True)
    p.set_defaults(handler=_publish)


def build_parser() -> argparse.ArgumentParser:
    """The full command line; kept separate so tests and docs can inspect it."""
    parser = _Parser(prog="llmops-build", description=__doc__)
    parser.add_argument("--termination-log", help=f"default ${termination.ENV_VAR} or {termination.DEFAULT_PATH}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_source_commands(sub)
    _add_convert_commands(sub)
    _add_output_commands(sub)
    return parser


def _termination_flag(argv: Sequence[str]) -> str | None:
    """Find --termination-log without argparse, so even a usage error is reported to the right file."""
    for i, arg in enumerate(argv):
        if arg == "--termination-log" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--termination-log="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 1 with a reason in the termination log on failure."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    log_path = termination.resolve_path(_termination_flag(args_list))
    try:
        args = build_parser().parse_args(args_list)
        cast(Handler, args.handler)(args)
    except BuildError as exc:
        line = termination.write_reason(log_path, str(exc))
        print(f"llmops-build: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        termination.write_reason(log_path, "interrupted")
        return 130
    except Exception as exc:  # the operator must get a reason even for bugs
        line = termination.write_reason(log_path, f"internal error: {type(exc).__name__}: {exc}")
        print(f"llmops-build: {line}", file=sys.stderr)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
