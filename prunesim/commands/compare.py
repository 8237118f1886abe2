"""``prunesim compare``: the matrix of methods x hardware targets (:mod:`prunesim.sim.compare`).

Bad input becomes one line ``prunesim: error: ...`` with exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from prunesim.argtypes import names, user_error
from prunesim.commands import Command, register_command
from prunesim.commands.workload_options import (
    add_workload_arguments,
    method_overrides,
    stage_of,
    variants_of,
)

__all__ = ["COMMAND", "default_methods", "default_models"]


def default_methods() -> list[str]:
    """SpAtten's techniques: every method but ``dense`` made for any transformer (those that
    name no models)."""
    from prunesim.sim.methods import METHODS

    return [name for name, method in METHODS.items() if name != "dense" and method.supports is None]


def default_models(methods: list[str]) -> list[str]:
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
    """Raise the first method's reason (it names the models that method supports) when none of
    ``methods`` can prune ``model_name``: a matrix of dense alone is not what was asked. A model
    that only some methods can prune keeps the others, listed as left out."""
    from prunesim.models import get_model
    from prunesim.sim.methods import get_method

    model = get_model(model_name)
    chosen = [get_method(name) for name in methods]
    if chosen and not any(method.unsupported(model) is None for method in chosen):
        raise ValueError(chosen[0].unsupported(model))


def _with_inputs(
    args: argparse.Namespace,
    sources: list[tuple[str, Any]],
    results: list[Any],
    overrides: dict[str, Any],
) -> list[dict[str, Any]]:
    """Each model's matrix as JSON with its ``"inputs"`` record first
    (:func:`prunesim.provenance.compare_inputs`); a user error if a file cannot be read again."""
    from prunesim.provenance import compare_inputs, hardware_record

    try:
        hardware = [hardware_record(source, target.name) for source, target in sources]
        documents = []
        for result in results:
            inputs = compare_inputs(
                model=result.model,
                methods=result.methods,
                overrides=overrides,
                hardware=hardware,
                stage=stage_of(args, result.model),
                mode=result.mode,
                weight_bits=args.weight_bits,
            )
            documents.append({"inputs": inputs, **result.to_dict()})
    except (OSError, ValueError) as exc:
        raise user_error(exc) from None
    return documents


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
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
    )
    parser.add_argument(
        "--model",
        type=names,
        default=None,
        metavar="LIST",
        help="comma-separated model names (default: the models the methods are made for "
        "when each names them, e.g. lapp's ResNets; otherwise gpt2-small,bert-base)",
    )
    parser.add_argument(
        "--method",
        type=names,
        default=default_methods(),
        metavar="LIST",
        help="comma-separated methods (dense is always added)",
    )
    parser.add_argument(
        "--hw",
        type=names,
        default=None,
        metavar="LIST",
        help="comma-separated hardware names or files (default: every preset)",
    )
    add_workload_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from prunesim.sim.compare import compare
    from prunesim.sim.hardware import hardware_names, load_sources
    from prunesim.sim.tables import format_compare

    hw_names = args.hw or hardware_names()
    try:
        every, per_method = method_overrides(args, list(args.method))
        sources = load_sources(hw_names)
        targets = variants_of(args, [target for _, target in sources])
        sources = [(item, target) for (item, _), target in zip(sources, targets, strict=True)]
        results = []
        for model in args.model or default_models(args.method):
            _check_some_method_prunes(model, args.method)
            stage = stage_of(args, model)
            results += compare(
                [model],
                args.method,
                targets,
                stage=stage,
                mode=args.mode,
                weight_bits=args.weight_bits,
                method_options=per_method,
                **every,
            )
    except ValueError as exc:
        raise user_error(exc) from None
    if args.json:
        print(json.dumps(_with_inputs(args, sources, results, every), indent=2))
        return 0
    accelerators = [t.name for t in targets if not t.BASELINE]
    print("\n\n".join(format_compare(r, accelerators) for r in results))
    return 0


COMMAND = register_command(
    Command(
        name="compare",
        help="the matrix of methods x hardware: speedup, DRAM and energy vs dense and baselines",
        order=50,
        add_arguments=add_arguments,
        run=run,
    )
)
