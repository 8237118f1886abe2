"""cocotb tests of :class:`prunesim.rtl.sorter.BatcherSorter` (the generated Verilog, top module
``sorter``): the top-k engine's testbench structure (:mod:`prunesim.verif.topk_tb`) around the
sorter's golden model.

Launched by ``tests/test_sorter_rtl.py`` through :func:`prunesim.verif.runner.build_and_run`. The
design parameters arrive as JSON in ``PRUNESIM_TB_PARAMS`` (``width``/``lanes``/``max_n``), the
settings as JSON in ``PRUNESIM_TB_CONFIG``: ``seed`` (int), ``random_frames`` (default 60),
``adversarial_max_frames`` (default: all), ``back_to_back_frames`` (per pattern, default 8).

The ``bench`` test runs only when ``PRUNESIM_SORTER_BENCH`` holds its JSON settings (``cases``:
``[[n, k], ...]``, ``frames`` per case, ``seed``): uniform random scores, no input gaps, the
output always ready; every frame is checked as above (its latency against the exact cycle model),
and the record (each case's cycles per frame, total simulated cycles, wall time; the top-k
engine's bench record, ``rounds`` 0) goes to the file named by ``PRUNESIM_SORTER_BENCH_OUT``.

Every frame's output is compared with :func:`prunesim.golden.topk.topk_reference` (indices, scores,
beat structure) and, for frames whose output never stalls, its latency with the exact cycle model
of :class:`prunesim.golden.sorter.SorterModel`. Input beats carry junk in the lanes above
``count`` and ``k`` is junk except with a frame's first beat.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cocotb
import torch
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotb.utils import get_sim_steps, get_sim_time

from prunesim.golden.sorter import SorterModel
from prunesim.golden.topk import topk_reference
from prunesim.rtl.topk import scores_layout, topk_layout
from prunesim.verif.runner import tb_config, tb_params
from prunesim.verif.streams import Beat, LayoutCodec, StreamSink, StreamSource
from prunesim.verif.topk_tb import (
    adversarial_cases,
    capped_runs,
    gen_scores,
    unspecified_lanes,
)

PERIOD_NS = 10
BENCH_ENV = "PRUNESIM_SORTER_BENCH"
BENCH_OUT_ENV = "PRUNESIM_SORTER_BENCH_OUT"
_DEFAULT_PARAMS = {"width": 16, "lanes": 16, "max_n": 1024}
_TRAFFIC = [(0.0, 0.0), (0.3, 0.0), (0.0, 0.3), (0.5, 0.5), (0.8, 0.2), (0.2, 0.8)]


@dataclass
class Frame:
    """A frame in flight: what was sent and what the golden model expects."""

    scores: list[int]
    k: int
    label: str
    beats: list[Beat]
    ref_indices: list[int]
    ref_scores: list[int]
    golden_cycles: int | None  # exact latency, when the output never stalls


class TB:
    """Clock, reset, stream drivers and golden model around one ``sorter`` instance."""

    def __init__(self, dut: Any, name: str) -> None:
        params = tb_params(_DEFAULT_PARAMS)
        self.dut = dut
        self.width, self.lanes, self.max_n = params["width"], params["lanes"], params["max_n"]
        self.seed = random.Random(f"{tb_config().get('seed', 1)}/{name}").getrandbits(32)
        self.rng = random.Random(self.seed)
        self.name = name
        self.log = logging.getLogger(f"cocotb.sorter_tb.{name}")
        self.in_codec = LayoutCodec(scores_layout(self.width, self.lanes))
        self.out_codec = LayoutCodec(topk_layout(self.width, self.lanes, self.max_n))
        self.last_shift = self.out_codec.offset("last")
        self.k_bits = len(dut.k)
        for port, codec in (
            ("i_scores__payload", self.in_codec),
            ("o_topk__payload", self.out_codec),
        ):
            if len(getattr(dut, port)) != codec.width:
                raise AssertionError(
                    f"{port} has {len(getattr(dut, port))} bits, not {codec.width}"
                )
        steps = get_sim_steps(PERIOD_NS, "ns")
        self.clock = Clock(dut.clk, PERIOD_NS, unit="ns")
        self.source = StreamSource.from_dut(
            dut,
            "i_scores",
            dut.clk,
            period_steps=steps,
            rng=random.Random(self.rng.getrandbits(64)),
        )
        self.sink = StreamSink.from_dut(
            dut,
            "o_topk",
            dut.clk,
            period_steps=steps,
            rng=random.Random(self.rng.getrandbits(64)),
            unspecified=unspecified_lanes(topk_layout(self.width, self.lanes, self.max_n)),
        )
        self.model = SorterModel(self.lanes, self.max_n, self.width)
        self.frames_checked = 0
        self.log.info("%s: %s seed=%d", name, params, self.seed)

    async def start(self) -> None:
        self.dut.rst.value = 1
        self.dut.k.value = 0
        self.clock.start(start_high=False)
        self.source.start()
        self.sink.start()
        await self.reset(cycles=3)

    async def reset(self, cycles: int = 1) -> None:
        """Pulse ``rst`` for ``cycles`` clock edges; drop everything in flight."""
        await RisingEdge(self.dut.clk)
        self.source.set_reset(True)
        self.sink.set_reset(True)
        self.dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        self.source.set_reset(False)
        self.sink.set_reset(False)

    def set_traffic(self, idle: float, backpressure: float, after_valid: int | None = None) -> None:
        self.source.set_idle(idle)
        self.sink.set_backpressure(backpressure, after_valid=after_valid)

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await RisingEdge(self.dut.clk)

    def now(self) -> int:
        """The current simulation time in clock cycles."""
        return int(get_sim_time("ns")) // PERIOD_NS

    def send_frame(self, scores: Sequence[int], k: int, label: str) -> Frame:
        """Queue a frame (junk in unused lanes, ``k`` valid only with the first beat)."""
        lanes, rng = self.lanes, self.rng
        beats = []
        for start in range(0, len(scores), lanes):
            chunk = list(scores[start : start + lanes])
            count = len(chunk)
            chunk += [rng.getrandbits(self.width) for _ in range(lanes - count)]
            last = int(start + lanes >= len(scores))
            payload = self.in_codec.pack({"data": chunk, "count": count, "last": last})
            k_value = k if start == 0 else rng.getrandbits(self.k_bits)
            beats.append(Beat(payload, sideband=((self.dut.k, k_value),)))
        tensor = torch.tensor(scores, dtype=torch.int64)
        ref_indices, ref_scores = topk_reference(tensor, k)
        run = self.model.run(tensor, k)
        exact = self.sink.stall_prob == 0.0 and not self.sink.patterned
        frame = Frame(
            list(scores),
            k,
            label,
            beats,
            ref_indices.tolist(),
            ref_scores.tolist(),
            run.cycles if exact else None,
        )
        self.source.send_all(beats)
        return frame

    async def recv_frame(self, frame: Frame) -> None:
        """Collect a frame's output beats (until ``last``) and check them."""

        async def collect() -> list[Beat]:
            beats = []
            while True:
                beats.append(await self.sink.recv())
                if (beats[-1].payload >> self.last_shift) & 1:
                    return beats

        n = len(frame.scores)
        budget = 40 * (n // self.lanes + 2) * (n.bit_length() + 4) + 400
        try:
            out = await with_timeout(collect(), budget * PERIOD_NS, "ns")
        except cocotb.triggers.SimTimeoutError:
            raise AssertionError(f"{frame.label}: no last output beat in {budget} cycles") from None
        indices: list[int] = []
        scores: list[int] = []
        errors = []
        for i, beat in enumerate(out):
            fields = self.out_codec.unpack(beat.payload)
            count = min(fields["count"], self.lanes)
            if i < len(out) - 1 and count != self.lanes:
                errors.append(f"beat {i}: count {count} in a beat that is not last")
            if i == len(out) - 1 and count == 0 and (frame.ref_indices or i > 0):
                errors.append(f"beat {i}: last beat with count 0")
            indices += fields["index"][:count]
            scores += fields["score"][:count]
        if indices != frame.ref_indices:
            errors.append(f"indices {indices[:24]} != expected {frame.ref_indices[:24]}")
        if scores != frame.ref_scores:
            errors.append(f"scores {scores[:24]} != expected {frame.ref_scores[:24]}")
        cycles = out[-1].cycle - frame.beats[-1].cycle
        if frame.golden_cycles is not None and cycles != frame.golden_cycles:
            errors.append(f"{cycles} cycles, the golden cycle model says {frame.golden_cycles}")
        if errors:
            raise AssertionError(
                f"{frame.label} (n={n}, k={frame.k}, seed={self.seed}): " + "; ".join(errors)
            )
        self.frames_checked += 1

    async def run_frame(self, scores: Sequence[int], k: int, label: str) -> None:
        await self.recv_frame(self.send_frame(scores, k, label))

    async def expect_quiet(self, cycles: int = 8) -> None:
        await self.cycles(cycles)
        if len(self.sink):
            raise AssertionError(f"unexpected output beat {self.sink.recv_nowait()}")


def _random_n(rng: random.Random, lanes: int, max_n: int) -> int:
    r = rng.random()
    if r < 0.1:
        return max_n
    if r < 0.35:
        return rng.randint(1, min(max_n, 2 * lanes + 1))
    return rng.randint(1, max_n)


def _random_k(rng: random.Random, n: int, max_n: int) -> int:
    return rng.choice([0, 1, n, min(max_n, n + 1), rng.randint(n, max_n), rng.randint(0, n)])


@cocotb.test()
async def random_frames(dut: Any) -> None:
    """Random n, k, score distributions, input gaps and output backpressure."""
    tb = TB(dut, "random_frames")
    await tb.start()
    kinds = ["uniform", "uniform", "few", "ties", "equal", "two", "ascending", "descending"]
    for i in range(int(tb_config().get("random_frames", 60))):
        n = _random_n(tb.rng, tb.lanes, tb.max_n)
        kind = tb.rng.choice(kinds)
        idle, bp = tb.rng.choice(_TRAFFIC)
        tb.set_traffic(idle, bp)
        scores = gen_scores(tb.rng, n, tb.width, kind)
        k = _random_k(tb.rng, n, tb.max_n)
        await tb.run_frame(scores, k, f"random frame {i} ({kind}, idle {idle}, bp {bp})")
    await tb.expect_quiet()
    tb.log.info("random_frames: %d frames checked", tb.frames_checked)


@cocotb.test()
async def adversarial(dut: Any) -> None:
    """The top-k engine's adversarial cases (equal, sorted, reversed, two-valued, all-max, all-zero;
    k = 0, 1, n/2, n, n + 1, max_n), each without and with gaps and backpressure."""
    tb = TB(dut, "adversarial")
    await tb.start()
    cases = adversarial_cases(tb.width, tb.lanes, tb.max_n)
    runs = [(case, traffic) for case in cases for traffic in ((0.0, 0.0), (0.4, 0.4))]
    limit = tb_config().get("adversarial_max_frames")
    if limit is not None and len(runs) > int(limit):
        runs = capped_runs(runs, int(limit), tb.rng, tb.max_n)
    for (kind, n, k), (idle, bp) in runs:
        tb.set_traffic(idle, bp)
        scores = gen_scores(tb.rng, n, tb.width, kind)
        await tb.run_frame(scores, k, f"adversarial {kind} n={n} k={k} idle/bp={idle}")
    await tb.expect_quiet()
    tb.log.info("adversarial: %d frames checked", tb.frames_checked)


@cocotb.test()
async def back_to_back(dut: Any) -> None:
    """Frames queued back to back; the output always ready, randomly not ready, and ready only
    after valid."""
    tb = TB(dut, "back_to_back")
    await tb.start()
    count = int(tb_config().get("back_to_back_frames", 8))
    for bp, after_valid in ((0.0, None), (0.5, None), (0.0, 1)):
        tb.set_traffic(0.0, bp, after_valid)
        frames = []
        for i in range(count):
            n = _random_n(tb.rng, tb.lanes, tb.max_n)
            scores = gen_scores(tb.rng, n, tb.width, tb.rng.choice(["uniform", "few", "ties"]))
            k = _random_k(tb.rng, n, tb.max_n)
            frames.append(tb.send_frame(scores, k, f"back-to-back {i} (bp {bp}, {after_valid})"))
        for frame in frames:
            await tb.recv_frame(frame)
        await tb.expect_quiet()
    tb.log.info("back_to_back: %d frames checked", tb.frames_checked)


@cocotb.test()
async def reset_mid_frame(dut: Any) -> None:
    """Reset while the frame streams in and while it is being sorted; the next frames are exact."""
    tb = TB(dut, "reset_mid_frame")
    await tb.start()
    for sorting in (False, True):
        tb.set_traffic(0.0, 0.0)
        tb.send_frame(gen_scores(tb.rng, tb.max_n, tb.width, "uniform"), 1, "aborted")
        if sorting:
            await tb.source.wait_empty()
        await tb.cycles(tb.rng.randint(1, max(1, tb.max_n // tb.lanes)))
        await tb.reset(2)
        await tb.expect_quiet(4)
        for i in range(2):
            n = tb.rng.randint(1, tb.max_n)
            scores = gen_scores(tb.rng, n, tb.width, "uniform")
            await tb.run_frame(scores, tb.rng.randint(0, n), f"after reset {sorting} #{i}")
    await tb.expect_quiet()
    tb.log.info("reset_mid_frame: %d frames checked", tb.frames_checked)


@cocotb.test(skip=BENCH_ENV not in os.environ)
async def bench(dut: Any) -> None:
    """Cycles per frame on uniform random scores, no input gaps, output always ready."""
    settings = json.loads(os.environ[BENCH_ENV])
    out_path = os.environ.get(BENCH_OUT_ENV, "sorter_bench.json")
    tb = TB(dut, "bench")
    await tb.start()
    tb.set_traffic(0.0, 0.0)
    frames = int(settings.get("frames", 10))
    rng = random.Random(int(settings.get("seed", 1)))
    sim_start, wall_start = tb.now(), time.perf_counter()
    cases = []
    for n, k in settings["cases"]:
        cycles = []
        for i in range(frames):
            scores = [rng.getrandbits(tb.width) for _ in range(n)]
            frame = tb.send_frame(scores, k, f"bench n={n} k={k} frame {i}")
            if frame.golden_cycles is None:
                raise AssertionError("the bench's output is always ready: every frame is exact")
            await tb.recv_frame(frame)  # checks the latency against golden_cycles
            cycles.append(frame.golden_cycles)
        cases.append({"n": n, "k": k, "cycles": cycles, "rounds": [0] * frames})
    record = {
        "params": {"width": tb.width, "lanes": tb.lanes, "max_n": tb.max_n},
        "cases": cases,
        "total_cycles": tb.now() - sim_start,
        "wall_seconds": time.perf_counter() - wall_start,
    }
    tmp = f"{out_path}.tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, out_path)
