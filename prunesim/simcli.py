"""The simulator's commands: ``prunesim simulate`` and ``prunesim compare`` (see ``--help``).

Bad input (an unknown model, method or hardware, a bad option value, a broken hardware file or
trace) becomes one line ``prunesim: error: ...`` with exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from prunesim.cli import CLIError, _one_line, _positive_int

__all__ = ["add_commands"]


def _user_error(exc: Exception) -> CLIError:
    return CLIError(_one_line(exc))


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"no name in {text!r}")
    return list(dict.fromkeys(names))


def _option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return key.strip().replace("-", "_"), value.strip()


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text!r}")
    return value


def _add_workload_arguments(sub: argparse.ArgumentParser) -> None:
    from prunesim.sim.api import DEFAULT_GENERATION, DEFAULT_SUMMARIZATION_TOKENS

    sub.add_argument(
        "--stage",
        choices=("auto", "summarize", "generate", "prefill", "decode", "infer", "train"),
        default="auto",
        help="summarize TOKENS at once, or generate after a prompt (auto: generate for "
        "decoders, summarize for encoders); for a multimodal model (LVLM): prefill its images "
        "and text, or decode GENERATE tokens after them (auto: prefill); for a CNN or the SD "
        "UNet: infer a batch (one denoising step for the UNet), or one training step on it "
        "(auto: infer)",
    )
    sub.add_argument(
        "--batch",
        type=_positive_int,
        default=None,
        metavar="N",
        help="CNN / SD UNet: inputs per batch (default 1)",
    )
    sub.add_argument(
        "--images",
        type=_positive_int,
        default=None,
        metavar="N",
        help="LVLM: images (crops, video frames) in the input (default: the model's, "
        "`prunesim list models`)",
    )
    sub.add_argument(
        "--text-tokens",
        type=_positive_int,
        default=None,
        metavar="T",
        help="LVLM: text tokens in the input (default: the model's)",
    )
    sub.add_argument(
        "--tokens",
        type=_positive_int,
        default=None,
        metavar="L",
        help=f"tokens to summarize (default {DEFAULT_SUMMARIZATION_TOKENS})",
    )
    sub.add_argument(
        "--prompt",
        type=_nonnegative_int,
        default=None,
        metavar="P",
        help=f"prompt tokens before generation (default {DEFAULT_GENERATION.prompt})",
    )
    sub.add_argument(
        "--generate",
        type=_positive_int,
        default=None,
        metavar="G",
        help=f"tokens to generate (default {DEFAULT_GENERATION.generate})",
    )
    sub.add_argument(
        "--mode",
        choices=("attention", "e2e"),
        default=None,
        help="attention only, or end to end (QKV, projection, FFN, LM head too); default: "
        "attention for BERT/GPT-2 (SpAtten's setting), e2e for LVLMs",
    )
    sub.add_argument(
        "--weight-bits",
        type=_positive_int,
        default=None,
        metavar="B",
        help="bits per weight in DRAM in e2e mode (default 8 for BERT/GPT-2, SpAtten's "
        "end-to-end setting; 16 for LVLMs)",
    )
    sub.add_argument(
        "--set",
        dest="options",
        type=_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a method option, e.g. --set token_keep=0.4 (repeatable; "
        "`prunesim list methods` shows them)",
    )
    sub.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _lvlm_stage(args: argparse.Namespace, model):
    from prunesim.sim.api import DEFAULT_GENERATION
    from prunesim.sim.workload import Decode, Prefill

    if (
        args.stage in ("summarize", "generate")
        or args.tokens is not None
        or (args.prompt is not None)
    ):
        raise ValueError(
            f"{model.name} is multimodal: use --stage prefill|decode with --images, "
            "--text-tokens and --generate"
        )
    images = args.images or model.default_images
    text = args.text_tokens or model.default_text_tokens
    if args.stage == "decode" or (args.stage == "auto" and args.generate is not None):
        return Decode(images, text, args.generate or DEFAULT_GENERATION.generate)
    if args.generate is not None:
        raise ValueError("--generate is for --stage decode")
    return Prefill(images, text)


def _network_stage(args: argparse.Namespace, model):
    from prunesim.sim.api import DEFAULT_BATCH
    from prunesim.sim.workload import Infer, Train

    other = [
        flag
        for flag, value in (
            ("--tokens", args.tokens),
            ("--prompt", args.prompt),
            ("--generate", args.generate),
            ("--images", args.images),
            ("--text-tokens", args.text_tokens),
        )
        if value is not None
    ]
    other += [
        flag
        for flag, value in (("--mode", args.mode), ("--weight-bits", args.weight_bits))
        if value is not None
    ]
    if args.stage not in ("auto", "infer", "train") or other:
        used = f"--stage {args.stage}" if args.stage not in ("auto", "infer", "train") else other[0]
        raise ValueError(f"{model.name} takes --stage infer|train and --batch, not {used}")
    batch = args.batch or DEFAULT_BATCH
    return Train(batch) if args.stage == "train" else Infer(batch)


def _stage(args: argparse.Namespace, model_name: str):
    from prunesim.models import get_model, is_network
    from prunesim.models.lvlm import LVLMConfig
    from prunesim.sim import Generate, Summarize, default_stage
    from prunesim.sim.api import DEFAULT_GENERATION, DEFAULT_SUMMARIZATION_TOKENS

    stage_name = args.stage
    model = get_model(model_name)
    if is_network(model):
        return _network_stage(args, model)
    if stage_name in ("infer", "train") or args.batch is not None:
        raise ValueError(
            f"{model.name} is not a CNN or UNet: --stage infer|train and --batch are for those"
        )
    if isinstance(model, LVLMConfig):
        return _lvlm_stage(args, model)
    if stage_name in ("prefill", "decode") or args.images or args.text_tokens:
        raise ValueError(
            f"{model.name} is not multimodal: --stage prefill|decode, --images and "
            "--text-tokens are for LVLMs"
        )
    if stage_name == "auto":
        if args.tokens is not None:
            stage_name = "summarize"
        elif args.prompt is not None or args.generate is not None:
            stage_name = "generate"
        else:
            return default_stage(model)
    if stage_name == "summarize":
        if args.prompt is not None or args.generate is not None:
            raise ValueError("--prompt and --generate are for --stage generate")
        tokens = args.tokens or DEFAULT_SUMMARIZATION_TOKENS
        if tokens > model.max_positions:
            raise ValueError(
                f"--tokens {tokens} exceeds {model.name}'s {model.max_positions} positions"
            )
        return Summarize(tokens)
    if args.tokens is not None:
        raise ValueError("--tokens is for --stage summarize")
    if not model.decoder:
        raise ValueError(f"{model.name} is an encoder: it cannot generate (use --stage summarize)")
    prompt = DEFAULT_GENERATION.prompt if args.prompt is None else args.prompt
    generate = DEFAULT_GENERATION.generate if args.generate is None else args.generate
    if prompt + generate > model.max_positions:
        raise ValueError(
            f"--prompt {prompt} + --generate {generate} exceeds {model.name}'s "
            f"{model.max_positions} positions"
        )
    return Generate(prompt, generate)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from prunesim.sim import evaluate, load_hardware, make_workload
    from prunesim.sim.tables import format_result

    try:
        hardware = load_hardware(args.hw)
        if args.trace is not None:
            if args.stage != "auto" or args.tokens or args.prompt is not None or args.generate:
                raise ValueError(
                    "a trace fixes the stage; drop --stage/--tokens/--prompt/--generate"
                )
            stage = None
        else:
            stage = _stage(args, args.model)
        workload = make_workload(
            args.model,
            args.method,
            stage=stage,
            mode=args.mode,
            weight_bits=args.weight_bits,
            trace=args.trace,
            **dict(args.options),
        )
        result = evaluate(workload, hardware)
    except ValueError as exc:
        raise _user_error(exc) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_result(result))
    return 0


def _default_models(methods: list[str]) -> list[str]:
    """The models ``methods`` are made for, in registry order, when every method names them;
    otherwise GPT-2 small and BERT-base (SpAtten's)."""
    from prunesim.models import model_names
    from prunesim.sim.methods import get_method

    supported: set[str] = set()
    for name in methods:
        method = get_method(name)
        if method.supports is None:
            return ["gpt2-small", "bert-base"]
        supported.update(method.supports)
    return [name for name in model_names() if name in supported]


def _check_some_method_prunes(model_name: str, methods: list[str]) -> None:
    """Raise the first method's ValueError (it names the models that method supports) when
    none of ``methods`` can prune ``model_name``: a matrix of dense alone is not what was asked.
    A model that only some methods can prune keeps the others, listed as left out."""
    from prunesim.models import get_model
    from prunesim.sim.methods import get_method

    model = get_model(model_name)
    chosen = [get_method(name) for name in methods]
    if chosen and not any(method.can_prune(model) for method in chosen):
        chosen[0].check_model(model)


def _cmd_compare(args: argparse.Namespace) -> int:
    from prunesim.sim.compare import compare
    from prunesim.sim.hardware import Accelerator, Systolic, hardware_names, load_hardware
    from prunesim.sim.tables import format_compare

    hw_names = args.hw or hardware_names()
    try:
        targets = [load_hardware(name) for name in hw_names]
        results = []
        for model in args.model or _default_models(args.method):
            _check_some_method_prunes(model, args.method)
            stage = _stage(args, model)
            results += compare(
                [model],
                args.method,
                targets,
                stage=stage,
                mode=args.mode,
                weight_bits=args.weight_bits,
                **dict(args.options),
            )
    except ValueError as exc:
        raise _user_error(exc) from None
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    accelerators = [t.name for t in targets if isinstance(t, Accelerator | Systolic)]
    print("\n\n".join(format_compare(r, accelerators) for r in results))
    return 0


def add_commands(commands: Any, formatter: type) -> None:
    """Add ``simulate`` and ``compare`` to the ``prunesim`` subcommands."""
    from prunesim.sim.methods import METHODS

    methods = ", ".join(METHODS)
    simulate = commands.add_parser(
        "simulate",
        help="estimate latency, DRAM traffic and energy of one model, method and hardware",
        formatter_class=formatter,
        description=(
            "Estimate the latency, DRAM traffic, MACs and energy of a model pruned by a\n"
            "method on a hardware target, layer by layer (the analytic simulator).\n"
            f"Methods: {methods}.\n"
            "`prunesim list` shows the models, methods, hardware and method options.\n\n"
            "examples:\n"
            "  prunesim simulate --model gpt2-small --method spatten --hw spatten\n"
            "  prunesim simulate --model bert-base --method spatten-token --hw spatten \\\n"
            "      --tokens 128 --set token_keep=0.4 --json\n"
            "  prunesim simulate --model gpt2-small --hw my-accelerator.yaml \\\n"
            "      --trace gpt2-small-wikitext2-per8.csv"
        ),
    )
    simulate.add_argument("--model", default="gpt2-small", help="model name")
    simulate.add_argument("--method", default="spatten", help="pruning method")
    simulate.add_argument(
        "--hw",
        default="spatten",
        metavar="HW",
        help="hardware preset name or path to a hardware .yaml file",
    )
    simulate.add_argument(
        "--trace",
        type=Path,
        default=None,
        metavar="FILE",
        help="a SpAtten per-query trace (CSV) giving the exact work",
    )
    _add_workload_arguments(simulate)
    simulate.set_defaults(handler=_cmd_simulate)

    compare = commands.add_parser(
        "compare",
        help="the matrix of methods x hardware: speedup, DRAM and energy vs dense and baselines",
        formatter_class=formatter,
        description=(
            "Simulate every method on every hardware target and compare each with the\n"
            "dense model on the same target (speedup, DRAM reduction, energy saving) and\n"
            "with the dense model on each baseline (every target that is not an accelerator:\n"
            "GPUs, CPUs, published accelerators). A method is left out of a model it cannot\n"
            "prune, and a target of a workload it cannot run; the output says which.\n\n"
            "examples:\n"
            "  prunesim compare --model gpt2-small,bert-base \\\n"
            "      --method spatten-token,spatten-pq,spatten --hw spatten,titan-xp\n"
            "  prunesim compare --method lapp,fedtiny,supertickets,ofa,sara \\\n"
            "      --hw systolic-32,systolic-32-sparse,a100,jetson-nano"
        ),
    )
    compare.add_argument(
        "--model",
        type=_names,
        default=None,
        metavar="LIST",
        help="comma-separated model names (default: the models the methods are made for "
        "when each names them, e.g. lapp's ResNets; otherwise gpt2-small,bert-base)",
    )
    compare.add_argument(
        "--method",
        type=_names,
        default=[m for m in METHODS if m != "dense" and METHODS[m].supports is None],
        metavar="LIST",
        help="comma-separated methods (dense is always added)",
    )
    compare.add_argument(
        "--hw",
        type=_names,
        default=None,
        metavar="LIST",
        help="comma-separated hardware names or files (default: every preset)",
    )
    _add_workload_arguments(compare)
    compare.set_defaults(handler=_cmd_compare)
