"""``prunesim simulate``: one model, method and hardware target through the analytic simulator.

Bad input (an unknown model, method or hardware, a bad option value, a broken hardware file or
trace) becomes one line ``prunesim: error: ...`` with exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from prunesim.argtypes import user_error
from prunesim.commands import Command, register_command
from prunesim.commands.workload_options import (
    add_workload_arguments,
    method_overrides,
    settings_of,
    stage_of,
    variants_of,
)

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from prunesim.sim.methods import METHODS

    parser.description = (
        "Estimate the latency, DRAM traffic, MACs and energy of a model pruned by a\n"
        "method on a hardware target, layer by layer (the analytic simulator).\n"
        f"Methods: {', '.join(METHODS)}.\n"
        "`prunesim list` shows the models, methods, hardware and method options.\n\n"
        "examples:\n"
        "  prunesim simulate --model gpt2-small --method spatten --hw spatten\n"
        "  prunesim simulate --model bert-base --method spatten-token --hw spatten \\\n"
        "      --tokens 128 --set token_keep=0.4 --json\n"
        "  prunesim simulate --model gpt2-small --hw my-accelerator.yaml \\\n"
        "      --trace gpt2-small-wikitext2-per8.csv"
    )
    parser.add_argument("--model", default="gpt2-small", help="model name")
    parser.add_argument("--method", default="spatten", help="pruning method")
    parser.add_argument(
        "--hw",
        default="spatten",
        metavar="HW",
        help="hardware preset name or path to a hardware .yaml file",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        default=None,
        metavar="FILE",
        help="a SpAtten per-query trace (CSV) giving the exact work; it must fit --model",
    )
    add_workload_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from prunesim.sim import evaluate, load_hardware, make_workload
    from prunesim.sim.tables import format_result

    try:
        every, per_method = method_overrides(args, [args.method])
        overrides = {**every, **per_method.get(args.method, {})}
        hardware = variants_of(args, [load_hardware(args.hw)])[0]
        if args.trace is not None:
            if settings_of(args).stage:
                raise ValueError("a trace fixes the stage; drop --set stage.*")
            if args.stage != "auto" or args.tokens or args.prompt is not None or args.generate:
                raise ValueError(
                    "a trace fixes the stage; drop --stage/--tokens/--prompt/--generate"
                )
            stage = None
        else:
            stage = stage_of(args, args.model)
        workload = make_workload(
            args.model,
            args.method,
            stage=stage,
            mode=args.mode,
            weight_bits=args.weight_bits,
            trace=args.trace,
            **overrides,
        )
        result = evaluate(workload, hardware)
    except ValueError as exc:
        raise user_error(exc) from None
    if args.json:
        from prunesim.provenance import simulate_inputs

        try:
            inputs = simulate_inputs(
                model=args.model,
                method=args.method,
                overrides=overrides,
                hardware=args.hw,
                hardware_name=hardware.name,
                stage=workload.stage,
                mode=result.mode,
                weight_bits=args.weight_bits,
                trace=args.trace,
            )
        except (OSError, ValueError) as exc:  # a file gone or changed since it was read
            raise user_error(exc) from None
        print(json.dumps({"inputs": inputs, **result.to_dict()}, indent=2))
    else:
        print(format_result(result))
    return 0


COMMAND = register_command(
    Command(
        name="simulate",
        help="estimate latency, DRAM traffic and energy of one model, method and hardware",
        order=40,
        add_arguments=add_arguments,
        run=run,
    )
)
