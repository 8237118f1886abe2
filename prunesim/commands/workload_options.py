"""The workload options ``prunesim simulate`` and ``prunesim compare`` share (``--stage``,
``--tokens`` ... ``--set``, ``--json``), and the stage they ask of a model (its family decides:
:meth:`prunesim.sim.families.Family.stage`)."""

from __future__ import annotations

import argparse
from typing import Any

from prunesim.argtypes import assignment, nonnegative_int, positive_int

__all__ = ["add_workload_arguments", "stage_request", "stage_of"]


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the workload options to ``parser``."""
    from prunesim.sim.families import STAGE_NAMES
    from prunesim.sim.families.transformer import DEFAULT_GENERATION, DEFAULT_SUMMARIZATION_TOKENS

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
        type=positive_int,
        default=None,
        metavar="N",
        help="CNN / SD UNet: inputs per batch (default 1)",
    )
    parser.add_argument(
        "--images",
        type=positive_int,
        default=None,
        metavar="N",
        help="LVLM: images (crops, video frames) in the input (default: the model's, "
        "`prunesim list models`)",
    )
    parser.add_argument(
        "--text-tokens",
        type=positive_int,
        default=None,
        metavar="T",
        help="LVLM: text tokens in the input (default: the model's)",
    )
    parser.add_argument(
        "--tokens",
        type=positive_int,
        default=None,
        metavar="L",
        help=f"tokens to summarize (default {DEFAULT_SUMMARIZATION_TOKENS})",
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
        help=f"tokens to generate (default {DEFAULT_GENERATION.generate})",
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
        type=positive_int,
        default=None,
        metavar="B",
        help="bits per weight in DRAM in e2e mode (default 8 for BERT/GPT-2, SpAtten's "
        "end-to-end setting; 16 for LVLMs)",
    )
    parser.add_argument(
        "--set",
        dest="options",
        type=assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a method option, e.g. --set token_keep=0.4 (repeatable; "
        "`prunesim list methods` shows them)",
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
