"""The workload options ``prunesim simulate`` and ``prunesim compare`` share (``--stage``,
``--tokens`` ... ``--set``, ``--json``), and the stage they ask of a model (its family decides:
:meth:`prunesim.sim.families.Family.stage`)."""

from __future__ import annotations

import argparse
from typing import Any

from prunesim.argtypes import Assignments, assignment, int_in, nonnegative_int, positive_int

__all__ = ["add_workload_arguments", "stage_request", "stage_of"]


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


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the workload options to ``parser``. Their limits are stated in the help; a value
    past one is refused (exit 2, one line) before any work: counts are positive integers, a
    text transformer's tokens (``--tokens``, ``--prompt`` + ``--generate``) fit its positions,
    an LVLM's input (``--images`` x its visual tokens per image + ``--text-tokens``, +
    ``--generate`` when decoding) its LLM's context (the family's ``check_stage``), ``--batch``
    is at most :data:`~prunesim.sim.workload.MAX_BATCH`, ``--weight-bits`` within
    :data:`~prunesim.sim.methods.base.BITS`; ``--set`` names each option once."""
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
        help="override a method option, e.g. --set token_keep=0.4 (repeatable, each option "
        "once; token-keep is token_keep; `prunesim list methods` shows them)",
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
        mode=args.mode,
        weight_bits=args.weight_bits,
    )


def stage_of(args: argparse.Namespace, model_name: str) -> Any:
    """The stage the options ask of the model called ``model_name``; ValueError (one line)."""
    from prunesim.models import get_model
    from prunesim.sim.families import family_of

    model = get_model(model_name)
    return family_of(model).stage(model, stage_request(args))
