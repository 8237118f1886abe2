"""Make the committed synthesis records (:mod:`prunesim.synth.records`) of the default blocks.

``python -m prunesim.bench.synth_records [--blocks topk,pq,sorter] [--targets asic,fpga-ecp5]
[--frames F] [--build-dir DIR] [--out DIR]``: each block at its defaults through
``prunesim bench synth``'s two steps (the cocotb bench on Verilator: cycles and switching
activity; then each target, cached under ``DIR/synth``), one record per (block, target) written
to ``--out`` (default the package's :data:`~prunesim.synth.records.RECORD_DIR`). The sorter's
ECP5 place and route takes hours at its default size: it runs on the ASIC target only unless
``--blocks`` names it alone. Time on a 2-core VM: the ASIC records a few minutes each, the
top-k engine's and PQ datapath's ECP5 records tens of minutes.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from prunesim.bench.synth import BLOCK_BENCHES, Config, run_configs

__all__ = ["main"]

BLOCKS = ("topk", "pq", "sorter")
TARGETS = ("asic", "fpga-ecp5")


def main(argv: list[str] | None = None) -> int:
    from prunesim import __version__
    from prunesim.files import write_text_atomic
    from prunesim.rtl.blocks import get_block
    from prunesim.synth.flow import verilog_sha256
    from prunesim.synth.records import RECORD_DIR, Record, record_path
    from prunesim.synth.report import SynthReport

    parser = argparse.ArgumentParser(prog="python -m prunesim.bench.synth_records")
    parser.add_argument("--blocks", default=",".join(BLOCKS))
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--out", default=str(RECORD_DIR))
    args = parser.parse_args(argv)
    blocks = [b for b in args.blocks.split(",") if b]
    targets = tuple(t for t in args.targets.split(",") if t)
    bad = [f"block {b!r}" for b in blocks if b not in BLOCKS]
    bad += [f"target {t!r}" for t in targets if t not in TARGETS]
    if not blocks or not targets:
        bad.append("empty --blocks or --targets")
    if args.frames < 1:
        bad.append(f"--frames {args.frames} (at least 1)")
    if bad:
        print(f"prunesim: error: bad {bad[0]}", file=sys.stderr)
        return 2
    command = "python -m prunesim.bench.synth_records " + shlex.join(
        [
            f"--blocks={','.join(blocks)}",
            f"--targets={','.join(targets)}",
            f"--frames={args.frames}",
            f"--seed={args.seed}",
        ]
    )
    for block in blocks:
        chosen = targets if block != "sorter" or blocks == ["sorter"] else ("asic",)
        chosen = tuple(t for t in chosen if t in targets)
        if not chosen:
            continue
        defaults = get_block(block).defaults()
        rows = run_configs([Config(block, {}, chosen)], args.frames, args.seed, args.build_dir)
        bench = BLOCK_BENCHES[block]
        operation, ops = bench.operation, bench.operations_per_frame(defaults)
        for row in rows:
            record = Record(
                report=SynthReport.from_dict(row.report),
                verilog_sha256=verilog_sha256(block, {}),
                bench={
                    "frames": args.frames,
                    "seed": args.seed,
                    "n": int(defaults["max_n"]),
                    **({} if block == "pq" else {"k": int(defaults["max_n"]) // 2}),
                    "cycles": row.cycles,
                    "cycles_lsb": row.cycles_lsb,
                    "operation": operation,
                    "operations_per_frame": ops,
                },
                command=command,
                prunesim_version=__version__,
            )
            path = record_path(block, row.target, Path(args.out))
            write_text_atomic(path, json.dumps(record.to_dict(), indent=1) + "\n")
            print(f"{block} {row.target}: {path}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
