"""cocotb tests of :class:`prunesim.rtl.topk.TopK` (the generated Verilog, top module ``topk``).

Launched by ``tests/test_topk_rtl.py`` (pytest, both simulators, several parameter sets) and by
``prunesim bench topk`` (the ``bench`` test), both through :func:`prunesim.verif.runner.
build_and_run`. The design parameters arrive as JSON in ``PRUNESIM_TB_PARAMS``
(``width``/``lanes``/``max_n``), the test settings as JSON in ``PRUNESIM_TB_CONFIG``:

``seed`` (int)
    Base seed; every test derives its own ``random.Random`` from it and its name, and logs it.
``random_frames`` (int)
    Frames of :func:`random_frames` (default 100).
``adversarial_max_frames`` (int)
    Cap on the frames of :func:`adversarial` (default: all of them); a capped run still covers
    every score kind, ``n``, class of ``k`` and traffic pattern (:func:`capped_runs`).
``back_to_back_frames`` (int)
    Frames of :func:`back_to_back` per pattern (default 12).
``check_latency`` (bool)
    Check the latency of frames whose output never stalls against the golden cycle model
    (default true).

Every frame's output is compared with :func:`prunesim.golden.topk.topk_reference` (indices,
scores and beat structure: every beat but the last full, one ``last`` per frame), the
``qs_rounds`` register with :class:`prunesim.golden.topk.QuickSelectEngine` (one engine per DUT,
reset with ``rst``) and, for frames whose output never stalls, the latency with the engine's cycle
model. Input beats carry random junk in the lanes above ``count`` and ``k`` is junk except with a
frame's first beat. A mismatching frame is written to ``failing_frame_<test>.json`` in the run
folder (with its seed) for replay.

The ``bench`` test runs only when ``PRUNESIM_TOPK_BENCH`` holds its JSON settings
(``cases``: list of ``[n, k]``, ``frames`` per case, ``seed``); it writes per-frame cycles and
rounds, total simulated cycles and wall time to the file named by ``PRUNESIM_TOPK_BENCH_OUT``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cocotb
import torch
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge, with_timeout
from cocotb.utils import get_sim_steps

from prunesim.golden.topk import QuickSelectEngine, topk_reference
from prunesim.rtl.topk import scores_layout, topk_layout
from prunesim.verif.runner import tb_config, tb_params
from prunesim.verif.streams import Beat, LayoutCodec, StreamSink, StreamSource

BENCH_ENV = "PRUNESIM_TOPK_BENCH"
BENCH_OUT_ENV = "PRUNESIM_TOPK_BENCH_OUT"

PERIOD_NS = 10
_DEFAULT_PARAMS = {"width": 16, "lanes": 16, "max_n": 1024}


@dataclass
class Frame:
    """A frame in flight: what was sent and what the golden models expect."""

    scores: list[int]
    k: int
    label: str
    beats: list[Beat]
    ref_indices: list[int]
    ref_scores: list[int]
    rounds: int
    pivots: list[int]
    round_sizes: list[int]
    golden_cycles: int | None  # the engine's exact latency, when the output is always ready
    out_beats: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.scores)


@dataclass
class FrameResult:
    indices: list[int]
    scores: list[int]
    cycles: int
    rounds: int


class TB:
    """Clock, reset, stream drivers and golden engine around one ``topk`` instance."""

    def __init__(self, dut: Any, seed: int, name: str) -> None:
        params = tb_params(_DEFAULT_PARAMS)
        self.dut = dut
        self.width, self.lanes, self.max_n = params["width"], params["lanes"], params["max_n"]
        self.name = name
        self.seed = seed
        self.rng = random.Random(seed)
        self.log = logging.getLogger(f"cocotb.topk_tb.{name}")
        self.in_codec = LayoutCodec(scores_layout(self.width, self.lanes))
        self.out_codec = LayoutCodec(topk_layout(self.width, self.lanes, self.max_n))
        self.last_shift = self.out_codec.offset("last")
        self.k_bits = len(dut.k)
        if len(dut.i_scores__payload) != self.in_codec.width:
            raise AssertionError(
                f"i_scores__payload has {len(dut.i_scores__payload)} bits, "
                f"scores_layout has {self.in_codec.width}"
            )
        if len(dut.o_topk__payload) != self.out_codec.width:
            raise AssertionError(
                f"o_topk__payload has {len(dut.o_topk__payload)} bits, "
                f"topk_layout has {self.out_codec.width}"
            )
        try:
            self.qs_rounds = dut.qs_rounds
        except AttributeError:
            raise AssertionError("the top module has no register `qs_rounds`") from None
        self.period_steps = get_sim_steps(PERIOD_NS, "ns")
        self.clock = Clock(dut.clk, PERIOD_NS, unit="ns")
        self.source = StreamSource.from_dut(
            dut,
            "i_scores",
            dut.clk,
            period_steps=self.period_steps,
            rng=random.Random(self.rng.getrandbits(64)),
        )
        self.sink = StreamSink.from_dut(
            dut,
            "o_topk",
            dut.clk,
            period_steps=self.period_steps,
            rng=random.Random(self.rng.getrandbits(64)),
            on_transfer=self._on_output,
            unspecified=unspecified_lanes(topk_layout(self.width, self.lanes, self.max_n)),
        )
        self.engine = QuickSelectEngine(self.lanes, self.max_n, self.width)
        self.frames_checked = 0
        self.failure_file = f"failing_frame_{name}.json"
        if os.path.exists(self.failure_file):  # from an earlier run
            os.unlink(self.failure_file)
        self.check_latency = bool(tb_config().get("check_latency", True))
        self.log.info(
            "%s: width=%d lanes=%d max_n=%d seed=%d",
            name,
            self.width,
            self.lanes,
            self.max_n,
            seed,
        )

    # -- set-up --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the clock and the drivers, then reset."""
        self.dut.rst.value = 1
        self.dut.k.value = 0
        self.clock.start(start_high=False)
        self.source.start()
        self.sink.start()
        await self.reset(cycles=3)

    async def reset(self, cycles: int = 1) -> None:
        """Pulse ``rst`` for ``cycles`` clock edges; drop everything in flight; reset the engine."""
        await RisingEdge(self.dut.clk)
        self.source.set_reset(True)
        self.sink.set_reset(True)
        self.dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        self.source.set_reset(False)
        self.sink.set_reset(False)
        self.engine.reset()

    def set_traffic(self, idle: float, backpressure: float, after_valid: int | None = None) -> None:
        """Input gap and output not-ready probabilities; ``after_valid`` makes the output's
        ready wait for valid instead (see :meth:`StreamSink.set_backpressure`)."""
        self.source.set_idle(idle)
        self.sink.set_backpressure(backpressure, after_valid=after_valid)

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await RisingEdge(self.dut.clk)

    def now(self) -> int:
        return get_sim_time("step") // self.period_steps

    # -- frames --------------------------------------------------------------------------------

    def _on_output(self, beat: Beat) -> None:
        # Called in ReadOnly of the transfer cycle: sample qs_rounds with the frame's last beat.
        if (beat.payload >> self.last_shift) & 1:
            beat.tag = int(self.qs_rounds.value)

    def send_frame(self, scores: Sequence[int], k: int, label: str = "") -> Frame:
        """Queue a frame on the input (junk in unused lanes, ``k`` valid only with the first
        beat) and run it through the golden models."""
        n, lanes = len(scores), self.lanes
        if not 1 <= n <= self.max_n or not 0 <= k <= self.max_n:
            raise ValueError(f"bad frame n={n} k={k} for max_n={self.max_n}")
        rng, width = self.rng, self.width
        beats = []
        for start in range(0, n, lanes):
            chunk = list(scores[start : start + lanes])
            count = len(chunk)
            chunk += [rng.getrandbits(width) for _ in range(lanes - count)]
            last = start + lanes >= n
            payload = self.in_codec.pack({"data": chunk, "count": count, "last": int(last)})
            k_value = k if start == 0 else rng.getrandbits(self.k_bits)
            beats.append(Beat(payload, sideband=((self.dut.k, k_value),)))
        tensor = torch.tensor(scores, dtype=torch.int64)
        ref_indices, ref_scores = topk_reference(tensor, k)
        run = self.engine.run(tensor, k)
        if run.indices.tolist() != ref_indices.tolist():  # the golden models disagree
            raise AssertionError(f"QuickSelectEngine and topk_reference disagree on {label}")
        frame = Frame(
            scores=list(scores),
            k=k,
            label=label,
            beats=beats,
            ref_indices=ref_indices.tolist(),
            ref_scores=ref_scores.tolist(),
            rounds=run.rounds,
            pivots=list(run.pivots),
            round_sizes=list(run.round_sizes),
            golden_cycles=self._exact_cycles(run),
        )
        self.source.send_all(beats)
        return frame

    def _exact_cycles(self, run: Any) -> int | None:
        """The golden latency if this frame's output will never stall, else ``None``."""
        if not self.check_latency:
            return None
        if self.sink.stall_prob == 0.0 and not self.sink.patterned:
            return getattr(run, "cycles", None)
        return None

    def _cycle_budget(self, frame: Frame) -> float:
        """Generous bound on the cycles a frame may take (a hang fails instead of waiting)."""
        lanes = self.lanes
        work = sum(math.ceil(m / lanes) + 16 for m in frame.round_sizes)
        work += 4 * math.ceil(frame.n / lanes) + 2 * math.ceil(max(1, frame.k) / lanes) + 200
        slow_in = 1.0 / max(0.05, 1.0 - self.source.stall_prob)
        slow_out = 1.0 / max(0.05, 1.0 - self.sink.stall_prob)
        if self.sink.after_valid is not None:
            slow_out = self.sink.after_valid + 2.0
        return 4 * work * slow_in * slow_out

    async def recv_frame(self, frame: Frame, check: bool = True) -> FrameResult:
        """Collect a frame's output beats (until ``last``) and check them."""

        async def collect() -> list[Beat]:
            beats = []
            while True:
                beat = await self.sink.recv()
                beats.append(beat)
                if (beat.payload >> self.last_shift) & 1:
                    return beats

        budget = self._cycle_budget(frame)
        try:
            out = await with_timeout(collect(), int(budget) * PERIOD_NS, "ns")
        except cocotb.triggers.SimTimeoutError:
            self._dump(frame, f"no last output beat within {int(budget)} cycles")
            raise AssertionError(
                f"{frame.label}: no last output beat within {int(budget)} cycles "
                f"(n={frame.n}, k={frame.k}, {len(self.sink)} beats queued)"
                + (
                    "; the output's ready waits for valid here: does valid wait for ready?"
                    if self.sink.after_valid is not None
                    else ""
                )
            ) from None
        indices: list[int] = []
        scores: list[int] = []
        structure_errors = []
        for i, beat in enumerate(out):
            fields = self.out_codec.unpack(beat.payload)
            count = fields["count"]
            frame.out_beats.append({"count": count, "last": fields["last"], "cycle": beat.cycle})
            is_last = i == len(out) - 1
            if count > self.lanes:
                structure_errors.append(f"beat {i}: count {count} > lanes {self.lanes}")
                count = self.lanes
            if not is_last and count != self.lanes:
                structure_errors.append(f"beat {i}: count {count} in a beat that is not last")
            if is_last and count == 0 and (frame.ref_indices or i > 0):
                structure_errors.append(f"beat {i}: last beat with count 0")
            indices.extend(fields["index"][:count])
            scores.extend(fields["score"][:count])
        in_last = frame.beats[-1].cycle
        rounds = out[-1].tag
        result = FrameResult(indices, scores, out[-1].cycle - in_last, rounds)
        if check:
            errors = list(structure_errors)
            if indices != frame.ref_indices:
                errors.append(f"indices {_short(indices)} != expected {_short(frame.ref_indices)}")
            if scores != frame.ref_scores:
                errors.append(f"scores {_short(scores)} != expected {_short(frame.ref_scores)}")
            if rounds != frame.rounds:
                errors.append(
                    f"qs_rounds {rounds} != golden {frame.rounds} "
                    f"(pivots {frame.pivots}, round sizes {frame.round_sizes})"
                )
            if frame.golden_cycles is not None and result.cycles != frame.golden_cycles:
                errors.append(
                    f"{result.cycles} cycles from the last input beat to the last output beat, "
                    f"golden cycle model says {frame.golden_cycles} (output always ready)"
                )
            if errors:
                self._dump(frame, "; ".join(errors), result)
                raise AssertionError(
                    f"{frame.label} (n={frame.n}, k={frame.k}, seed={self.seed}): "
                    + "; ".join(errors)
                    + (f"; scores={frame.scores}" if frame.n <= 64 else "")
                )
            self.frames_checked += 1
        return result

    async def run_frame(
        self, scores: Sequence[int], k: int, label: str = "", check: bool = True
    ) -> tuple[list[int], list[int], int, int]:
        """Send one frame and collect its output: ``(indices, scores, cycles, rounds)`` where
        ``cycles`` counts from the last input beat accepted to the last output beat."""
        frame = self.send_frame(scores, k, label)
        result = await self.recv_frame(frame, check=check)
        return result.indices, result.scores, result.cycles, result.rounds

    async def expect_quiet(self, cycles: int = 8) -> None:
        """No output beats may appear between frames."""
        await self.cycles(cycles)
        if len(self.sink):
            beat = self.sink.recv_nowait()
            raise AssertionError(f"unexpected output beat {self.out_codec.unpack(beat.payload)}")

    def _dump(self, frame: Frame, error: str, result: FrameResult | None = None) -> None:
        record = {
            "test": self.name,
            "seed": self.seed,
            "error": error,
            "params": {"width": self.width, "lanes": self.lanes, "max_n": self.max_n},
            "label": frame.label,
            "n": frame.n,
            "k": frame.k,
            "scores": frame.scores,
            "expected_indices": frame.ref_indices,
            "golden_rounds": frame.rounds,
            "golden_pivots": frame.pivots,
            "out_beats": frame.out_beats,
            "golden_cycles": frame.golden_cycles,
            "idle_prob": self.source.stall_prob,
            "backpressure_prob": self.sink.stall_prob,
        }
        if result is not None:
            record.update(
                got_indices=result.indices,
                got_scores=result.scores,
                got_rounds=result.rounds,
                got_cycles=result.cycles,
            )
        with open(self.failure_file, "w") as f:
            json.dump(record, f)


def unspecified_lanes(layout: Any) -> Any:
    """For a :func:`~prunesim.rtl.topk.topk_layout` beat: a function of the payload (X/Z bits as
    0) giving the mask of its ``index`` and ``score`` lanes at and above its ``count``, which the
    contract leaves unspecified (the sink then accepts X/Z there, e.g. an uninitialised FIFO
    row's lanes on Icarus)."""
    from amaranth.hdl import Shape

    count = layout["count"]
    count_width = Shape.cast(count.shape).width
    lanes = []  # (offset, element width, lanes) of index and score
    for name in ("index", "score"):
        arr = layout[name]
        lanes.append((arr.offset, Shape.cast(arr.shape.elem_shape).width, arr.shape.length))

    def mask(raw: int) -> int:
        n = (raw >> count.offset) & ((1 << count_width) - 1)
        out = 0
        for offset, width, length in lanes:
            for lane in range(n, length):
                out |= ((1 << width) - 1) << (offset + lane * width)
        return out

    return mask


def _short(values: list[int], limit: int = 24) -> str:
    if len(values) <= limit:
        return str(values)
    return f"[{', '.join(map(str, values[:limit]))}, ... ({len(values)} in all)]"


def _seed(name: str) -> int:
    base = int(tb_config().get("seed", 1))
    return random.Random(f"{base}/{name}").getrandbits(32)


# -- Score generators ------------------------------------------------------------------------------


def gen_scores(rng: random.Random, n: int, width: int, kind: str) -> list[int]:
    top = (1 << width) - 1
    if kind == "uniform":
        return [rng.getrandbits(width) for _ in range(n)]
    if kind == "few":  # a few distinct values
        values = [rng.getrandbits(width) for _ in range(rng.randint(1, 4))]
        return [rng.choice(values) for _ in range(n)]
    if kind == "ties":  # one value dominates, the rest close to it
        base = rng.getrandbits(width)
        return [
            base if rng.random() < 0.7 else min(top, max(0, base + rng.randint(-2, 2)))
            for _ in range(n)
        ]
    if kind == "equal":
        return [rng.getrandbits(width)] * n
    if kind == "ascending":
        return sorted(rng.getrandbits(width) for _ in range(n))
    if kind == "descending":
        return sorted((rng.getrandbits(width) for _ in range(n)), reverse=True)
    if kind == "ramp":  # strictly increasing while the width allows
        return [i & top for i in range(n)]
    if kind == "two":
        a, b = rng.sample(range(top + 1), 2) if top else (0, 1)
        return [rng.choice((a, b)) & top for _ in range(n)]
    if kind == "max":
        return [top] * n
    if kind == "zero":
        return [0] * n
    raise ValueError(kind)


_TRAFFIC = [(0.0, 0.0), (0.3, 0.0), (0.0, 0.3), (0.5, 0.5), (0.8, 0.2), (0.2, 0.8)]


def _random_n(rng: random.Random, lanes: int, max_n: int) -> int:
    r = rng.random()
    if r < 0.1:
        return max_n
    if r < 0.35:
        return rng.randint(1, min(max_n, 2 * lanes + 1))
    return rng.randint(1, max_n)


def _random_k(rng: random.Random, n: int, max_n: int) -> int:
    choice = rng.randrange(8)
    if choice == 0:
        return 0
    if choice == 1:
        return 1
    if choice == 2:
        return n
    if choice == 3:
        return min(max_n, n + 1)
    if choice == 4:
        return rng.randint(n, max_n)
    return rng.randint(0, n)


# -- Tests -----------------------------------------------------------------------------------------


@cocotb.test()
async def random_frames(dut: Any) -> None:
    """Random n, k, score distributions, input gaps and output backpressure."""
    tb = TB(dut, _seed("random_frames"), "random_frames")
    await tb.start()
    rng = tb.rng
    frames = int(tb_config().get("random_frames", 100))
    kinds = ["uniform", "uniform", "few", "ties", "equal", "two", "ascending", "descending"]
    for i in range(frames):
        n = _random_n(rng, tb.lanes, tb.max_n)
        k = _random_k(rng, n, tb.max_n)
        kind = rng.choice(kinds)
        idle, bp = rng.choice(_TRAFFIC)
        after_valid = rng.randint(0, 3) if rng.random() < 0.1 else None
        tb.set_traffic(idle, bp, after_valid)
        output = f"ready {after_valid} cycles after valid" if after_valid is not None else bp
        label = f"random frame {i} ({kind}, idle {idle}, backpressure {output})"
        await tb.run_frame(gen_scores(rng, n, tb.width, kind), k, label)
        if rng.random() < 0.2:
            await tb.cycles(rng.randint(0, 5))
    await tb.expect_quiet()
    tb.log.info("random_frames: %d frames checked", tb.frames_checked)


def adversarial_cases(width: int, lanes: int, max_n: int) -> list[tuple[str, int, int]]:
    """(score kind, n, k) of the adversarial test, deduplicated."""
    candidates = (1, max_n, max_n - 1, lanes, lanes + 1, 2 * lanes - 1, 2 * lanes, 3 * lanes - 1)
    ns = {m for m in candidates if 1 <= m <= max_n}
    cases = []
    seen = set()
    kinds = ["equal", "ascending", "descending", "ramp", "two", "max", "zero"]
    for kind in kinds:
        for n in sorted(ns):
            for k in (0, 1, n // 2, n, n + 1, max_n):
                if not 0 <= k <= max_n:
                    continue
                key = (kind if n > 1 else "single", n, k)
                if key in seen:
                    continue
                seen.add(key)
                cases.append((kind, n, k))
    return cases


def _k_class(n: int, k: int, max_n: int) -> str:
    for name, value in (("0", 0), ("1", 1), ("n", n), ("n+1", n + 1), ("max_n", max_n)):
        if k == value:
            return name
    return "n/2"


def capped_runs(runs: list, limit: int, rng: random.Random, max_n: int) -> list:
    """``limit`` of the adversarial ``((kind, n, k), traffic)`` runs that still cover every score
    kind, every ``n``, every class of ``k`` and both traffic patterns; the rest drawn at random."""
    order = list(runs)
    rng.shuffle(order)
    keys = (
        lambda run: ("kind", run[0][0]),
        lambda run: ("n", run[0][1]),
        lambda run: ("k", _k_class(run[0][1], run[0][2], max_n)),
        lambda run: ("traffic", run[1]),
    )
    chosen: list = []
    covered: set = set()
    for key in keys:
        for run in order:
            if key(run) not in covered and run not in chosen:
                chosen.append(run)
                covered.update(other(run) for other in keys)
    rest = [run for run in order if run not in chosen]
    return chosen + rest[: max(0, limit - len(chosen))]


@cocotb.test()
async def adversarial(dut: Any) -> None:
    """Equal, sorted, two-valued, all-max and all-zero frames; n = 1, max_n, not a multiple of
    lanes; k = 0, 1, n/2, n, n + 1, max_n; each without and with gaps/backpressure."""
    tb = TB(dut, _seed("adversarial"), "adversarial")
    await tb.start()
    cases = adversarial_cases(tb.width, tb.lanes, tb.max_n)
    limit = tb_config().get("adversarial_max_frames")
    runs = [(case, traffic) for case in cases for traffic in ((0.0, 0.0), (0.4, 0.4))]
    if limit is not None and len(runs) > int(limit):
        runs = capped_runs(runs, int(limit), tb.rng, tb.max_n)
    for (kind, n, k), (idle, bp) in runs:
        tb.set_traffic(idle, bp)
        scores = gen_scores(tb.rng, n, tb.width, kind)
        await tb.run_frame(scores, k, f"adversarial {kind} n={n} k={k} idle/bp={idle}")
    await tb.expect_quiet()
    tb.log.info("adversarial: %d frames checked", tb.frames_checked)


@cocotb.test()
async def reset_mid_frame(dut: Any) -> None:
    """Reset during the input, during processing and during the output; the next frame must be
    exact and its rounds must match a freshly reset golden engine."""
    tb = TB(dut, _seed("reset_mid_frame"), "reset_mid_frame")
    await tb.start()
    rng, lanes, max_n, width = tb.rng, tb.lanes, tb.max_n, tb.width
    n_big = max_n
    clean_k = max(1, max_n // 3)

    async def clean_frame(label: str) -> None:
        tb.set_traffic(0.2, 0.2)
        await tb.run_frame(gen_scores(rng, max_n, width, "uniform"), clean_k, label)
        await tb.run_frame(
            gen_scores(rng, rng.randint(1, max_n), width, "few"),
            rng.randint(0, max_n),
            label + " (second)",
        )

    for attempt, cycles in enumerate((1, 3)):
        # 1. during the input: some beats accepted, not the last.
        tb.set_traffic(0.3, 0.0)
        before = tb.source.transfers
        frame = tb.send_frame(gen_scores(rng, n_big, width, "uniform"), clean_k, "aborted input")
        beats = len(frame.beats)
        target = before + rng.randint(1, max(1, beats - 2)) if beats > 1 else before
        while tb.source.transfers < target:
            await RisingEdge(dut.clk)
        if beats > 1 and frame.beats[-1].cycle is not None:
            raise AssertionError("the aborted frame's last beat was accepted before the reset")
        await tb.reset(cycles)
        await tb.expect_quiet(4)
        await clean_frame(f"after reset during input #{attempt}")

        # 2. after the last input beat, before the first output beat (quick-select running).
        tb.set_traffic(0.0, 0.0)
        frame = tb.send_frame(gen_scores(rng, n_big, width, "uniform"), clean_k, "aborted rounds")
        await tb.source.wait_empty()
        await tb.cycles(rng.randint(0, n_big // lanes))
        await tb.reset(cycles)
        await tb.expect_quiet(4)
        await clean_frame(f"after reset during rounds #{attempt}")

        # 3. during the output: the first output beat transferred, not the last (when an output
        # can have two beats at all, max_n > lanes).
        k_out = min(max_n, 3 * lanes)
        tb.set_traffic(0.0, 0.6)
        frame = tb.send_frame(gen_scores(rng, n_big, width, "uniform"), k_out, "aborted output")
        first = await tb.sink.recv()
        if (first.payload >> tb.last_shift) & 1 and k_out > lanes:
            raise AssertionError("aborted-output frame produced a single beat")
        await tb.reset(cycles)
        await tb.expect_quiet(4)
        await clean_frame(f"after reset during output #{attempt}")
    await tb.expect_quiet()
    tb.log.info("reset_mid_frame: %d frames checked", tb.frames_checked)


@cocotb.test()
async def back_to_back(dut: Any) -> None:
    """Frames queued back to back: the next frame's first beat waits on the input with no idle
    cycle; the output always ready, randomly not ready, and ready only after valid."""
    tb = TB(dut, _seed("back_to_back"), "back_to_back")
    await tb.start()
    rng = tb.rng
    count = int(tb_config().get("back_to_back_frames", 12))
    for bp, after_valid in ((0.0, None), (0.5, None), (0.0, 1)):
        tb.set_traffic(0.0, bp, after_valid)
        frames = []
        for i in range(count):
            n = _random_n(rng, tb.lanes, tb.max_n)
            k = _random_k(rng, n, tb.max_n)
            kind = rng.choice(["uniform", "few", "ties"])
            frames.append(
                tb.send_frame(
                    gen_scores(rng, n, tb.width, kind),
                    k,
                    f"back-to-back frame {i} (bp {bp}, after_valid {after_valid}, {kind})",
                )
            )
        for frame in frames:
            await tb.recv_frame(frame)
        await tb.expect_quiet()
    tb.log.info("back_to_back: %d frames checked", tb.frames_checked)


@cocotb.test(skip=BENCH_ENV not in os.environ)
async def bench(dut: Any) -> None:
    """Cycles per frame on uniform random scores, no input gaps, output always ready."""
    settings = json.loads(os.environ[BENCH_ENV])
    out_path = os.environ.get(BENCH_OUT_ENV, "topk_bench.json")
    tb = TB(dut, int(settings.get("seed", 1)), "bench")
    await tb.start()
    tb.set_traffic(0.0, 0.0)
    frames = int(settings.get("frames", 10))
    sim_start, wall_start = tb.now(), time.perf_counter()
    cases = []
    for n, k in settings["cases"]:
        cycles, rounds = [], []
        for i in range(frames):
            scores = [tb.rng.getrandbits(tb.width) for _ in range(n)]
            _, _, c, r = await tb.run_frame(scores, k, f"bench n={n} k={k} frame {i}")
            cycles.append(c)
            rounds.append(r)
        cases.append({"n": n, "k": k, "cycles": cycles, "rounds": rounds})
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
