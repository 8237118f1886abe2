"""``prunesim bench ofa``: how fast Once-for-All sub-nets are priced.

The issue's target: sweeping 1,000 random OFA sub-nets for MACs and latency in under 5 s on a
2-core machine. Rows (each run draws ``--count`` sub-nets of the w1.0 supernet with
:func:`~prunesim.models.ofa.sample_ofa_spec`, seed ``--seed``; drawing is timed too):

* ``macs``: MACs only (:func:`~prunesim.models.ofa.ofa_macs`);
* ``sweep 1 target``: MACs and latency on systolic-32 (:func:`prunesim.sim.ofa_sweep.ofa_sweep`);
* ``sweep all targets``: MACs and latency on every preset that prices convolutions (listed
  under the table; the SpAtten-class and published accelerators price attention only);
* ``one at a time``: the path the sweep replaces, ``ofa_subnet`` + ``network_workload`` +
  ``evaluate`` per sub-net on systolic-32, for a tenth of the count (no target; for scale).

A sweep caches its per-resolution block rows for its own use only (no cache is kept between
calls), so every timed run is a first sweep. Each row is timed ``--repeat``
times; the table gives the best and the median, and the verdict compares the median.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Sequence

from prunesim.argtypes import positive_int
from prunesim.bench import Bench, register_bench
from prunesim.bench.sim import format_table, time_runs

__all__ = ["ONE_TARGET", "TARGET_SECONDS", "conv_targets", "main", "run_bench"]

#: The issue's target for 1,000 sub-nets, MACs and latency.
TARGET_SECONDS = 5.0
#: The one target of the single-target sweep.
ONE_TARGET = "systolic-32"


def conv_targets() -> list[str]:
    """Hardware presets that price convolutions (the systolic arrays, GPUs and CPUs): those whose
    cost model accepts a sub-net's workload."""
    from prunesim.models.ofa import OFASpec
    from prunesim.sim.hardware import hardware_names, load_hardware
    from prunesim.sim.methods.ofa import sweep_workload

    probe = sweep_workload([OFASpec.uniform(3, 3, 2)])
    return [name for name in hardware_names() if load_hardware(name).unsupported(probe) is None]


def run_bench(
    repeat: int, count: int = 1000, seed: int = 0
) -> list[tuple[str, str, list[float], float | None]]:
    """``[(name, what, seconds per run, target or None), ...]``."""
    from prunesim.models import get_model
    from prunesim.models.ofa import ofa_macs, ofa_subnet, sample_ofa_spec
    from prunesim.sim.engine import evaluate
    from prunesim.sim.hardware import load_hardware
    from prunesim.sim.methods.network import network_workload
    from prunesim.sim.ofa_sweep import ofa_sweep
    from prunesim.sim.workload import Infer

    def specs(n: int) -> list:
        rng = random.Random(seed)
        return [sample_ofa_spec(rng, 1.0) for _ in range(n)]

    def swept(targets: list[str]) -> None:
        ofa_sweep(specs(count), targets)

    systolic = load_hardware(ONE_TARGET)
    model = get_model("ofa-mbv3-w1.0")

    def one_at_a_time() -> None:
        for spec in specs(count // 10):
            ofa_macs(spec)
            evaluate(
                network_workload(ofa_subnet(spec), Infer(1), model=model.name, method="ofa"),
                systolic,
            )

    targets = conv_targets()
    size = f"{count:,} sub-nets"
    return [
        (
            "macs",
            size,
            time_runs(lambda: [ofa_macs(s) for s in specs(count)], repeat),
            TARGET_SECONDS,
        ),
        (
            "sweep 1 target",
            f"{size} x {ONE_TARGET}",
            time_runs(lambda: swept([ONE_TARGET]), repeat),
            TARGET_SECONDS,
        ),
        (
            "sweep all targets",
            f"{size} x {len(targets)} targets",
            time_runs(lambda: swept(targets), repeat),
            TARGET_SECONDS,
        ),
        (
            "one at a time",
            f"{count // 10:,} sub-nets x {ONE_TARGET}",
            time_runs(one_at_a_time, repeat),
            None,
        ),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``prunesim bench ofa`` (for a CLI subparser; :func:`main` uses them)."""
    parser.add_argument("--repeat", type=positive_int, default=5, metavar="N", help="runs per row")
    parser.add_argument(
        "--count", type=positive_int, default=1000, metavar="N", help="random sub-nets per run"
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="seed of the random sub-nets"
    )


def main(argv: Sequence[str] | argparse.Namespace | None = None) -> int:
    """Run the benchmark, print the table; 1 if a target is missed, else 0. ``argv``: a list of
    arguments, or a :class:`argparse.Namespace` already parsed with :func:`add_arguments`."""
    if isinstance(argv, argparse.Namespace):
        args = argv
    else:
        parser = argparse.ArgumentParser(
            prog="prunesim bench ofa", description=__doc__.split("\n")[0]
        )
        add_arguments(parser)
        args = parser.parse_args(argv)
    rows = run_bench(args.repeat, args.count, args.seed)
    print(format_table(rows))
    print(f"all targets: {', '.join(conv_targets())}")
    failed = [
        name for name, _, times, target in rows if target and statistics.median(times) >= target
    ]
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


BENCH = register_bench(
    Bench(
        name="ofa",
        help="time sweeping random Once-for-All sub-nets for MACs and latency",
        description=(
            "Time the Once-for-All sweep: MACs of COUNT random MobileNetV3 sub-nets, then\n"
            "their MACs and latency on systolic-32 and on every target that runs CNNs\n"
            "(target under 5 s for 1,000 sub-nets). Prints best and median of REPEAT runs;\n"
            "exit status 1 if a median misses its target.\n\n"
            "example:\n"
            "  prunesim bench ofa --repeat 3"
        ),
        order=40,
        add_arguments=add_arguments,
        main=main,
    )
)
