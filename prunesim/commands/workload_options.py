"""The workload options ``prunesim simulate`` and ``prunesim compare`` share (``--stage``,
``--tokens`` ... ``--set``, ``--json``), and the stage they ask of a model (its family decides:
:meth:`prunesim.sim.families.Family.stage`)."""

from __future__ import annotations

import argparse
from typing import Any

from prunesim.argtypes import Assignments, assignment, int_in, nonnegative_int, positive_int

__all__ = [
    "add_workload_arguments",
    "method_overrides",
    "settings_of",
    "stage_of",
    "stage_request",
    "variants_of",
]


def _positions(family: str) -> str:
    """``bert-base 512, ...``: each zoo model of ``family`` with its positions (an LVLM: its
    LLM's context length)."""
    from prunesim.models import MODELS
    from prunesim.sim.families import family_of

    return ", ".join(
        f"{name} {model.max_positions}"
        for name, model in MODELS.items()
        if family_of(model).name == family
    )


def add_workload_arguments(parser: argparse.ArgumentParser, *, stage_only: bool = False) -> None:
    """Add the workload options to ``parser`` (``stage_only``: only those that choose the stage,
    ``--stage`` .. ``--generate``, as ``prunesim sweep`` takes them). Their limits are stated in
    the help; a value past one is refused (exit 2, one line) before any work: counts are
    positive integers, a text transformer's tokens (``--tokens``, ``--prompt`` + ``--generate``)
    fit its positions, an LVLM's input (``--images`` x its visual tokens per image +
    ``--text-tokens``, + ``--generate`` when decoding) its LLM's context (the family's
    ``check_stage``), ``--batch`` is at most :data:`~prunesim.sim.workload.MAX_BATCH`,
    ``--weight-bits`` within :data:`~prunesim.sim.methods.base.BITS`; ``--set`` names each
    option once."""
    from prunesim.sim.families import STAGE_NAMES
    from prunesim.sim.families.transformer import DEFAULT_GENERATION, DEFAULT_SUMMARIZATION_TOKENS
    from prunesim.sim.methods.base import BITS
    from prunesim.sim.workload import MAX_BATCH

    transformer_positions = _positions("transformer")
    lvlm_context = (
        "images x the model's visual tokens per image + text tokens (+ --generate when "
        f"decoding) must fit the LLM's context ({_positions('lvlm')})"
    )
    bits_low, bits_high = int(BITS.low), int(BITS.high)

    parser.add_argument(
        "--stage",
        choices=STAGE_NAMES,
        default="auto",
        help="summarize TOKENS at once, or generate after a prompt (auto: generate for "
        "decoders, summarize for encoders); for a multimodal model (LVLM): prefill its images "
        "and text, or decode GENERATE tokens after them (auto: prefill); for a CNN or the SD "
        "UNet: infer a batch (one denoising step for the UNet), or one training step on it "
        "(auto: infer)",
    )
    parser.add_argument(
        "--batch",
        type=int_in(1, MAX_BATCH),
        default=None,
        metavar="N",
        help=f"CNN / SD UNet: inputs per batch, 1..{MAX_BATCH} (default 1)",
    )
    parser.add_argument(
        "--images",
        type=positive_int,
        default=None,
        metavar="N",
        help="LVLM: images (crops, video frames) in the input (default: the model's, "
        f"`prunesim list models`); {lvlm_context}",
    )
    parser.add_argument(
        "--text-tokens",
        type=positive_int,
        default=None,
        metavar="T",
        help="LVLM: text tokens in the input (default: the model's); see --images for the limit",
    )
    parser.add_argument(
        "--tokens",
        type=positive_int,
        default=None,
        metavar="L",
        help=f"tokens to summarize (default {DEFAULT_SUMMARIZATION_TOKENS}), at most the "
        f"model's positions ({transformer_positions})",
    )
    parser.add_argument(
        "--prompt",
        type=nonnegative_int,
        default=None,
        metavar="P",
        help=f"prompt tokens before generation (default {DEFAULT_GENERATION.prompt})",
    )
    parser.add_argument(
        "--generate",
        type=positive_int,
        default=None,
        metavar="G",
        help=f"tokens to generate (default {DEFAULT_GENERATION.generate}); --prompt + "
        "--generate must fit the model's positions (see --tokens); an LVLM's: see --images",
    )
    if stage_only:
        return
    parser.add_argument(
        "--mode",
        choices=("attention", "e2e"),
        default=None,
        help="attention only, or end to end (QKV, projection, FFN, LM head too); default: "
        "attention for BERT/GPT-2 (SpAtten's setting), e2e for LVLMs",
    )
    parser.add_argument(
        "--weight-bits",
        type=int_in(bits_low, bits_high),
        default=None,
        metavar="B",
        help=f"bits per weight in DRAM in e2e mode, {bits_low}..{bits_high} (default 8 for "
        "BERT/GPT-2, SpAtten's end-to-end setting; 16 for LVLMs)",
    )
    parser.add_argument(
        "--set",
        dest="options",
        type=assignment,
        action=Assignments,
        default={},
        metavar="NAME=VALUE",
        help="override a method option, e.g. --set token_keep=0.4 (every method's but "
        "dense's) or --set spatten.token_keep=0.4 (that method's only); a value of the "
        "hardware file by its path, e.g. --set hw.multipliers.qk=256 (every target, renamed "
        "spatten[multipliers.qk=256]); a stage field, e.g. --set stage.tokens=64 (repeatable, "
        "each name once; token-keep is token_keep; `prunesim list methods` shows the options)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def stage_request(args: argparse.Namespace) -> Any:
    """The :class:`~prunesim.sim.families.StageRequest` of the parsed options."""
    from prunesim.sim.families import StageRequest

    return StageRequest(
        stage=args.stage,
        tokens=args.tokens,
        prompt=args.prompt,
        generate=args.generate,
        images=args.images,
        text_tokens=args.text_tokens,
        batch=args.batch,
        mode=getattr(args, "mode", None),
        weight_bits=getattr(args, "weight_bits", None),
    )


def settings_of(args: argparse.Namespace) -> Any:
    """``--set``'s names sorted by namespace (:func:`prunesim.sim.names.split_settings`: ``hw.``,
    ``stage.``, options); ValueError (one line) for a bad name."""
    from prunesim.sim.names import split_settings

    return split_settings(dict(args.options))


def stage_of(args: argparse.Namespace, model_name: str) -> Any:
    """The stage the options ask of the model called ``model_name``, with ``--set stage.<field>``
    values in it, checked by its family; ValueError (one line)."""
    from prunesim.models import get_model
    from prunesim.sim.families import family_of
    from prunesim.sim.names import with_stage

    model = get_model(model_name)
    family = family_of(model)
    stage = family.stage(model, stage_request(args))
    fields = settings_of(args).stage
    if fields:
        stage = with_stage(stage, fields)
        family.check_stage(model, stage)
    return stage


def variants_of(args: argparse.Namespace, targets: list[Any]) -> list[Any]:
    """Each target with ``--set hw.<path>`` values (:func:`prunesim.sim.hardware.variant`):
    HardwareError (one line) naming a target whose kind lacks a path, or a bad value."""
    from prunesim.sim.hardware import variant

    values = settings_of(args).hw
    return [variant(target, values) for target in targets]


def method_overrides(args: argparse.Namespace, methods: list[str]) -> tuple[dict, dict]:
    """``--set``'s options: ``(every, per_method)``: the unprefixed ones by name as given (every
    method's, as ``--set`` always was) and ``{method: {option: value}}`` of the prefixed ones;
    ValueError naming a prefixed name whose method is not run, or one option set both ways."""
    from prunesim.sim.methods.options import option_name

    every: dict[str, Any] = {}
    per_method: dict[str, dict[str, Any]] = {}
    for name, value in settings_of(args).options.items():
        if name.method is None:
            every[name.text] = value
        elif name.method in methods:
            per_method.setdefault(name.method, {})[name.key] = value
        else:
            raise ValueError(
                f"{name.text!r} names method {name.method}, which is not run here "
                f"(methods: {', '.join(methods)})"
            )
    for method, own in per_method.items():
        for key in own:
            if key in {option_name(k) for k in every}:
                raise ValueError(f"{key} is set both for every method and as {method}.{key}")
    return every, per_method
