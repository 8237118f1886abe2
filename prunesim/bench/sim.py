"""``prunesim bench sim``: how fast the analytic simulator runs.

Two targets (issue: under 1 s and under 5 s on a 2-core machine):

* one GPT-2-medium generation trace in the SpAtten authors' format (24 layers x 16 heads x 32
  steps = 12,288 query rows, written from the spatten method's workload): parse and validate
  the CSV, then evaluate it on the ``spatten`` preset;
* the full ``prunesim compare`` matrix with its defaults (GPT-2 small and BERT-base, every method,
  every hardware preset);
* ``prunesim compare`` of CATP, VFlowOpt, AIM and SpAtten over every LVLM and every hardware
  preset (prefill; the methods a model does not support are left out);
* ``prunesim compare`` of LAPP, FedTiny, SuperTickets, OFA and SaRA over every CNN and the SD
  UNet on every hardware preset (inference of one image), and SaRA's fine-tuning step at batch 4
  (the targets that cannot run convolutions are left out).

Each is timed ``--repeat`` times in this process; the table gives the best and the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prunesim.argtypes import positive_int
from prunesim.bench import Bench, register_bench

__all__ = ["BENCH", "format_table", "main", "run_bench", "time_runs"]

TARGETS = {
    "trace": 1.0,
    "compare": 5.0,
    "compare lvlm": 5.0,
    "compare cnn": 5.0,
    "compare sara train": 5.0,
}
#: The methods of the CNN issue (each prunes its own models; compare leaves out the others).
CNN_METHODS = ["lapp", "fedtiny", "supertickets", "ofa", "sara"]


def time_runs(function: Callable[[], object], repeat: int) -> list[float]:
    """Seconds of ``repeat`` calls of ``function``, one per call (``time.perf_counter``)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def run_bench(repeat: int) -> list[tuple[str, str, list[float], float | None]]:
    """``[(name, what, seconds per run, target or None), ...]``."""
    from prunesim.models import MODELS, get_model
    from prunesim.sim import evaluate, family_of, load_hardware, make_workload
    from prunesim.sim.compare import compare
    from prunesim.sim.hardware import hardware_names
    from prunesim.sim.methods import METHODS
    from prunesim.sim.trace import format_trace, load_trace
    from prunesim.sim.workload import Generate, Train

    spatten = load_hardware("spatten")
    workload = make_workload("gpt2-medium", "spatten", stage=Generate(992, 32))
    rows: list[tuple[str, str, list[float], float | None]] = []
    with tempfile.TemporaryDirectory(prefix="prunesim-bench-") as folder:
        path = Path(folder) / "gpt2-medium-trace.csv"
        path.write_text(format_trace(workload))
        what = f"{len(workload.attention):,} rows"
        rows.append(("trace load", what, time_runs(lambda: load_trace(path), repeat), None))
        trace = load_trace(path)
        rows.append(
            (
                "trace evaluate",
                what,
                time_runs(lambda: evaluate(trace_workload(trace), spatten), repeat),
                None,
            )
        )
        rows.append(
            (
                "trace",
                "load + evaluate",
                time_runs(lambda: evaluate(trace_workload(load_trace(path)), spatten), repeat),
                TARGETS["trace"],
            )
        )
    hardware = [load_hardware(name) for name in hardware_names()]
    models = ["gpt2-small", "bert-base"]
    methods = [m for m in METHODS if m != "dense" and METHODS[m].can_prune(get_model(models[0]))]
    cells = len(models) * len(hardware) * (len(methods) + 1)
    rows.append(
        (
            "compare",
            f"{len(models)} models x {len(methods) + 1} methods x {len(hardware)} hardware "
            f"= {cells}",
            time_runs(lambda: compare(models, methods, hardware_names()), repeat),
            TARGETS["compare"],
        )
    )
    lvlm_models = [name for name in MODELS if family_of(MODELS[name]).name == "lvlm"]
    lvlm_methods = ["catp", "vflowopt", "aim", "spatten"]
    rows.append(
        (
            "compare lvlm",
            f"{len(lvlm_models)} LVLMs x {len(lvlm_methods)} methods x {len(hardware)} hardware",
            time_runs(lambda: compare(lvlm_models, lvlm_methods, hardware_names()), repeat),
            TARGETS["compare lvlm"],
        )
    )
    networks = [name for name in MODELS if not family_of(MODELS[name]).takes_plans]
    rows.append(
        (
            "compare cnn",
            f"{len(networks)} networks x {len(CNN_METHODS)} methods x {len(hardware)} hardware",
            time_runs(lambda: compare(networks, CNN_METHODS, hardware_names()), repeat),
            TARGETS["compare cnn"],
        )
    )
    rows.append(
        (
            "compare sara train",
            f"sd15-unet, batch 4 x {len(hardware)} hardware",
            time_runs(
                lambda: compare(["sd15-unet"], ["sara"], hardware_names(), stage=Train(4)), repeat
            ),
            TARGETS["compare sara train"],
        )
    )
    return rows


def trace_workload(trace):
    from prunesim.models import get_model
    from prunesim.sim.api import trace_rows_workload

    return trace_rows_workload(get_model("gpt2-medium"), trace)


def format_table(rows: list[tuple[str, str, list[float], float | None]]) -> str:
    from prunesim.sim.tables import text_table

    table = []
    for name, what, times, target in rows:
        best, median = min(times), statistics.median(times)
        verdict = "" if target is None else ("PASS" if median < target else "FAIL")
        table.append(
            [
                name,
                what,
                f"{best * 1e3:.1f}",
                f"{median * 1e3:.1f}",
                "" if target is None else f"< {target * 1e3:.0f}",
                verdict,
            ]
        )
    return text_table(["what", "size", "best ms", "median ms", "target ms", ""], table)


def main(args: argparse.Namespace) -> int:
    rows = run_bench(args.repeat)
    print(format_table(rows))
    failed = [
        name for name, _, times, target in rows if target and statistics.median(times) >= target
    ]
    return 1 if failed else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``prunesim bench sim``."""
    parser.add_argument(
        "--repeat", type=positive_int, default=5, metavar="N", help="runs of each measurement"
    )


BENCH = register_bench(
    Bench(
        name="sim",
        help="time the analytic simulator (a GPT-2-medium trace, the compare matrix)",
        description=(
            "Time the analytic simulator: parsing and evaluating a GPT-2-medium generation\n"
            "trace in the SpAtten authors' format (12,288 query rows; target under 1 s) and\n"
            "the whole default `prunesim compare` matrix (target under 5 s). Prints best and\n"
            "median of REPEAT runs; exit status 1 if a median misses its target.\n\n"
            "example:\n"
            "  prunesim bench sim --repeat 3"
        ),
        order=30,
        add_arguments=add_arguments,
        main=main,
    )
)
