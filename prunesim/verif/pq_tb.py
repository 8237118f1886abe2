# amaranth: UnusedElaboratable=no
"""cocotb tests of :class:`prunesim.rtl.pq.ProgressiveAttention` (the generated Verilog, top module
``pq``).

Launched by ``tests/test_pq_rtl.py`` (pytest, both simulators, several parameter sets) and by
``prunesim bench pq`` (the ``bench`` test), both through :func:`prunesim.verif.runner.
build_and_run`. The design parameters arrive as JSON in ``PRUNESIM_TB_PARAMS`` (any of ``d``,
``q_bits``, ``msb_bits``, ``lsb_bits``, ``prob_bits``, ``max_n``, ``scale_shift``; the others take
their defaults), the test settings as JSON in ``PRUNESIM_TB_CONFIG``:

``seed`` (int)
    Base seed; every test derives its own ``random.Random`` from it and its name, and logs it.
``random_frames`` (int)
    Frames of the ``random_frames`` test (default 40).
``max_n_prob`` (float)
    Probability that a random frame has ``n = max_n`` (default 0.15; the rest: ``n = 1`` 10%,
    uniform in ``1..max_n`` otherwise).
``edge_stalls`` (bool)
    Run every edge case of ``edges`` a second time with gaps and backpressure (default true).
``back_to_back_frames`` (int)
    Frames of ``back_to_back`` per traffic pattern (default 6).
``reset_lengths`` (list of int)
    ``rst`` pulse lengths of ``reset_mid_frame``, each used in all three phases (default
    ``[1, 3]``).
``reset_n`` (int)
    ``n`` of the aborted frames and of the clean frames after each reset (default ``max_n``).

A frame is one query beat (``threshold`` and ``scale`` ride on it as side-band values), ``n``
MSB key beats and, when the block asks for them, ``n`` LSB key beats. The LSB beats are queued
either *eagerly* (when the golden model says they will be needed: they wait on ``i_key_lsb``
before the decision appears, as a prefetching memory system would) or *reactively* (queued when
the decision beat is transferred, following the RTL's decision). Every frame is checked against
:func:`prunesim.golden.pq.attend`: the decision, every probability, the beat structure (one
decision per frame, exactly ``n`` probability beats, ``last`` on the ``n``-th and only there, no
stray beats between frames) and, for frames run with no input gap, no output backpressure and
eager LSBs, ``cycles == ProgressiveAttention.frame_cycles(n, need_lsb)`` (query beat accepted to
last probability transferred). The ``threshold`` and ``scale`` inputs carry random junk while MSB
beats 2..n are offered, so sampling them anywhere but with the query shows. Idle input payloads
are random junk too. A mismatching frame is written to ``failing_frame_<test>.json`` in the run
folder (with its seed and the whole frame) for replay.

The ``bench`` test runs only when ``PRUNESIM_PQ_BENCH`` holds its JSON settings (``cases``: list
of ``[n, need_lsb]``, ``frames`` per case, ``seed``): frames with no stalls, ``need_lsb`` forced
by the frame (a flat frame with the maximum threshold needs the LSBs, a random one with threshold
0 never does); it writes per-frame cycles, the formula's value, total simulated cycles, wall
time and the part of it spent preparing frames (golden model, packing) to the file named by
``PRUNESIM_PQ_BENCH_OUT``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cocotb
import torch
from amaranth.hdl import signed
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, RisingEdge, with_timeout
from cocotb.utils import get_sim_steps

from prunesim.golden.pq import PQParams, attend
from prunesim.rtl.pq import ProgressiveAttention, key_lsb_layout, key_msb_layout, prob_layout
from prunesim.verif.runner import tb_config, tb_params
from prunesim.verif.streams import Beat, LayoutCodec, StreamSink, StreamSource

BENCH_ENV = "PRUNESIM_PQ_BENCH"
BENCH_OUT_ENV = "PRUNESIM_PQ_BENCH_OUT"

PERIOD_NS = 10

#: Frame kinds of :func:`gen_frame`.
KINDS = ("random", "near", "flat", "peaked", "extreme", "extreme_mixed")


@dataclass
class Traffic:
    """Stall settings: gap probabilities of the three inputs, not-ready probabilities of the two
    outputs, ``after_valid`` delays (ready waits for valid) for the outputs, and how the LSB beats
    are queued."""

    query_idle: float = 0.0
    msb_idle: float = 0.0
    lsb_idle: float = 0.0
    decision_bp: float = 0.0
    prob_bp: float = 0.0
    decision_after_valid: int | None = None
    prob_after_valid: int | None = None
    eager_lsb: bool = True

    @property
    def stall_free(self) -> bool:
        """No gap, no backpressure, LSBs queued ahead: ``frame_cycles`` holds exactly."""
        return (
            self.query_idle == self.msb_idle == self.lsb_idle == 0.0
            and self.decision_bp == self.prob_bp == 0.0
            and self.decision_after_valid is None
            and self.prob_after_valid is None
            and self.eager_lsb
        )

    def describe(self) -> str:
        if self.stall_free:
            return "no stalls"
        parts = [
            f"idle q/msb/lsb {self.query_idle}/{self.msb_idle}/{self.lsb_idle}",
            f"bp dec/prob {self.decision_bp}/{self.prob_bp}",
        ]
        if self.decision_after_valid is not None or self.prob_after_valid is not None:
            parts.append(f"after_valid {self.decision_after_valid}/{self.prob_after_valid}")
        parts.append("eager lsb" if self.eager_lsb else "reactive lsb")
        return ", ".join(parts)


NO_STALLS = Traffic()

#: Random traffic presets (the LSB mode is drawn separately).
TRAFFIC_PRESETS = [
    Traffic(0.3, 0.3, 0.3, 0.0, 0.0),
    Traffic(0.0, 0.0, 0.0, 0.3, 0.3),
    Traffic(0.5, 0.5, 0.5, 0.5, 0.5),
    Traffic(0.8, 0.2, 0.5, 0.9, 0.2),
    Traffic(0.1, 0.6, 0.8, 0.2, 0.8),
    Traffic(0.2, 0.2, 0.2, 0.0, 0.0, decision_after_valid=3, prob_after_valid=1),
]


@dataclass
class Frame:
    """A frame in flight: the inputs, the beats, what the golden model expects and what came."""

    q: list[int]
    msb: list[list[int]]
    lsb: list[list[int]]
    threshold: int
    scale: int
    label: str
    traffic: Traffic
    ref_need_lsb: bool
    ref_probs: list[int]
    golden_cycles: int | None  # frame_cycles(n, need_lsb) when the frame runs with no stalls
    query_beat: Beat
    msb_beats: list[Beat]
    lsb_beats: list[Beat]
    lsb_queued: bool = False
    decision: bool | None = None
    decision_cycle: int | None = None
    prob_beats: list[dict[str, int]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.msb)


@dataclass
class FrameResult:
    need_lsb: bool
    probs: list[int]
    cycles: int


class TB:
    """Clock, reset, the three input sources, the two output sinks and a frame feeder around one
    ``pq`` instance."""

    def __init__(self, dut: Any, seed: int, name: str) -> None:
        self.params = PQParams(**tb_params({}))
        p = self.params
        # For frame_cycles() only; never elaborated (hence the linter comment on line 1).
        self.model = ProgressiveAttention(**_param_dict(p))
        self.dut = dut
        self.name = name
        self.seed = seed
        self.rng = random.Random(seed)
        self.log = logging.getLogger(f"cocotb.pq_tb.{name}")
        self.q_codec = LayoutCodec(data.ArrayLayout(signed(p.q_bits), p.d))
        self.msb_codec = LayoutCodec(key_msb_layout(p.d, p.msb_bits))
        self.lsb_codec = LayoutCodec(key_lsb_layout(p.d, p.lsb_bits))
        self.prob_codec = LayoutCodec(prob_layout(p.prob_bits))
        self.decision_codec = LayoutCodec(data.StructLayout({"need_lsb": 1}))
        for port, codec in (
            ("i_query", self.q_codec),
            ("i_key_msb", self.msb_codec),
            ("i_key_lsb", self.lsb_codec),
            ("o_prob", self.prob_codec),
            ("o_decision", self.decision_codec),
        ):
            width = len(getattr(dut, f"{port}__payload"))
            if width != codec.width:
                raise AssertionError(f"{port}__payload has {width} bits, the layout {codec.width}")
        for port, width in (("threshold", p.prob_bits), ("scale", 16)):
            if len(getattr(dut, port)) != width:
                raise AssertionError(f"{port} has {len(getattr(dut, port))} bits, not {width}")
        self.prob_last_shift = self.prob_codec.offset("last")
        self.prob_mask = (1 << p.prob_bits) - 1
        self.prob_shift = self.prob_codec.offset("prob")
        self.need_shift = self.decision_codec.offset("need_lsb")
        self.period_steps = get_sim_steps(PERIOD_NS, "ns")
        self.clock = Clock(dut.clk, PERIOD_NS, unit="ns")

        def rng() -> random.Random:
            return random.Random(self.rng.getrandbits(64))

        kw = {"period_steps": self.period_steps}
        self.query_src = StreamSource.from_dut(dut, "i_query", dut.clk, rng=rng(), **kw)
        self.msb_src = StreamSource.from_dut(dut, "i_key_msb", dut.clk, rng=rng(), **kw)
        self.lsb_src = StreamSource.from_dut(dut, "i_key_lsb", dut.clk, rng=rng(), **kw)
        self.decision_sink = StreamSink.from_dut(
            dut, "o_decision", dut.clk, rng=rng(), on_transfer=self._on_decision, **kw
        )
        self.prob_sink = StreamSink.from_dut(dut, "o_prob", dut.clk, rng=rng(), **kw)
        self.sources = (self.query_src, self.msb_src, self.lsb_src)
        self.sinks = (self.decision_sink, self.prob_sink)

        self._to_send: deque[Frame] = deque()  # waiting for the feeder
        self._send_event = Event()
        self._awaiting_decision: deque[Frame] = deque()  # query queued, decision not yet seen
        self._feeder: Any = None
        self.protocol_errors: list[str] = []
        self.traffic = NO_STALLS
        self.frames_checked = 0
        self.lsb_frames = 0
        self.failure_file = f"failing_frame_{name}.json"
        if os.path.exists(self.failure_file):  # from an earlier run
            os.unlink(self.failure_file)
        self.log.info("%s: %s seed=%d", name, _param_dict(p), seed)

    # -- set-up --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the clock and the drivers, then reset."""
        self.dut.rst.value = 1
        self.dut.threshold.value = 0
        self.dut.scale.value = 0
        self.clock.start(start_high=False)
        for driver in (*self.sources, *self.sinks):
            driver.start()
        await self.reset(cycles=3)

    async def reset(self, cycles: int = 1) -> None:
        """Pulse ``rst`` for ``cycles`` clock edges; drop every frame and beat in flight."""
        await RisingEdge(self.dut.clk)
        for driver in (*self.sources, *self.sinks):
            driver.set_reset(True)
        if self._feeder is not None:
            self._feeder.cancel()
            self._feeder = None
        self._to_send.clear()
        self._awaiting_decision.clear()
        self.dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        for driver in (*self.sources, *self.sinks):
            driver.set_reset(False)
        self._feeder = cocotb.start_soon(self._feed())

    def set_traffic(self, traffic: Traffic) -> None:
        """Stall settings for the frames sent from now on (they apply to whatever is in flight)."""
        self.traffic = traffic
        self.query_src.set_idle(traffic.query_idle)
        self.msb_src.set_idle(traffic.msb_idle)
        self.lsb_src.set_idle(traffic.lsb_idle)
        self.decision_sink.set_backpressure(
            traffic.decision_bp, after_valid=traffic.decision_after_valid
        )
        self.prob_sink.set_backpressure(traffic.prob_bp, after_valid=traffic.prob_after_valid)

    def random_traffic(self, stall_free_prob: float = 0.25) -> Traffic:
        if self.rng.random() < stall_free_prob:
            return NO_STALLS
        preset = self.rng.choice(TRAFFIC_PRESETS)
        return dataclasses.replace(preset, eager_lsb=self.rng.random() < 0.5)

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await RisingEdge(self.dut.clk)

    def now(self) -> int:
        return get_sim_time("step") // self.period_steps

    # -- frames --------------------------------------------------------------------------------

    async def _feed(self) -> None:
        """Offer the frames in order: a frame's query and MSB beats, then (eager) its LSB beats;
        the next frame once this frame's last MSB beat has been taken. So the junk that MSB beats
        2..n drive on ``threshold``/``scale`` never overlaps the next query's values."""
        while True:
            while not self._to_send:
                self._send_event.clear()
                await self._send_event.wait()
            frame = self._to_send.popleft()
            self._awaiting_decision.append(frame)
            self.query_src.send(frame.query_beat)
            self.msb_src.send_all(frame.msb_beats)
            if frame.traffic.eager_lsb and frame.ref_need_lsb:
                self.lsb_src.send_all(frame.lsb_beats)
                frame.lsb_queued = True
            await self.msb_src.wait_empty()

    def _on_decision(self, beat: Beat) -> None:
        # ReadOnly phase of the transfer cycle: queueing beats is fine, the source drives them
        # after the next edge.
        need = bool((beat.payload >> self.need_shift) & 1)
        if not self._awaiting_decision:
            self.protocol_errors.append(
                f"a decision beat (need_lsb={int(need)}) at edge {beat.cycle} with no frame whose "
                f"decision is outstanding"
            )
            return
        frame = self._awaiting_decision.popleft()
        frame.decision, frame.decision_cycle = need, beat.cycle
        if need and not frame.lsb_queued:  # reactive mode, or the RTL disagrees with the model
            self.lsb_src.send_all(frame.lsb_beats)
            frame.lsb_queued = True

    def make_frame(
        self,
        q: Sequence[int],
        msb: Sequence[Sequence[int]],
        lsb: Sequence[Sequence[int]],
        threshold: int,
        scale: int,
        label: str = "",
    ) -> Frame:
        """Build a frame's beats and run the golden model on it (with the current traffic)."""
        p, rng = self.params, self.rng
        n = len(msb)
        if not 1 <= n <= p.max_n or len(lsb) != n:
            raise ValueError(f"bad frame: n={n}, {len(lsb)} LSB rows, max_n={p.max_n}")
        ref = attend(torch.tensor(q), torch.tensor(msb), torch.tensor(lsb), threshold, scale, p)
        need = bool(ref.need_lsb)
        traffic = self.traffic
        golden_cycles = self.model.frame_cycles(n, need) if traffic.stall_free else None
        query_beat = Beat(
            self.q_codec.pack(q),
            sideband=((self.dut.threshold, threshold), (self.dut.scale, scale)),
        )
        msb_beats = []
        for i, row in enumerate(msb):
            payload = self.msb_codec.pack({"data": row, "last": int(i == n - 1)})
            # Beats 2..n: junk on threshold/scale (the query's values must have been sampled).
            sideband = (
                (
                    (self.dut.threshold, rng.getrandbits(p.prob_bits)),
                    (self.dut.scale, rng.getrandbits(16)),
                )
                if i
                else ()
            )
            msb_beats.append(Beat(payload, sideband=sideband))
        lsb_beats = [
            Beat(self.lsb_codec.pack({"data": row, "last": int(i == n - 1)}))
            for i, row in enumerate(lsb)
        ]
        return Frame(
            q=list(q),
            msb=[list(r) for r in msb],
            lsb=[list(r) for r in lsb],
            threshold=threshold,
            scale=scale,
            label=label,
            traffic=traffic,
            ref_need_lsb=need,
            ref_probs=ref.probs.tolist(),
            golden_cycles=golden_cycles,
            query_beat=query_beat,
            msb_beats=msb_beats,
            lsb_beats=lsb_beats,
        )

    def send(self, frame: Frame) -> Frame:
        """Queue a frame for the feeder."""
        self._to_send.append(frame)
        self._send_event.set()
        return frame

    def send_frame(self, *args: Any, **kwargs: Any) -> Frame:
        return self.send(self.make_frame(*args, **kwargs))

    def _cycle_budget(self, frame: Frame) -> int:
        """Generous bound on the cycles a frame may take (a hang fails instead of waiting)."""
        t = frame.traffic
        work = self.model.frame_cycles(frame.n, True) + 64
        slow_in = 1.0 / max(0.05, 1.0 - max(t.query_idle, t.msb_idle, t.lsb_idle))
        slow_out = 1.0 / max(0.05, 1.0 - max(t.decision_bp, t.prob_bp))
        for delay in (t.decision_after_valid, t.prob_after_valid):
            if delay is not None:
                slow_out = max(slow_out, delay + 2.0)
        return int(4 * work * slow_in * slow_out) + 200

    async def recv_frame(self, frame: Frame, check: bool = True) -> FrameResult:
        """Collect a frame's probability beats (until ``last``, at most ``n``) and its decision,
        and check them."""
        n = frame.n
        errors: list[str] = []

        async def collect() -> list[Beat]:
            beats = []
            while True:
                beat = await self.prob_sink.recv()
                beats.append(beat)
                if (beat.payload >> self.prob_last_shift) & 1 or len(beats) == n:
                    break
            while frame.decision is None:  # the decision may be held back by backpressure
                await RisingEdge(self.dut.clk)
            return beats

        budget = self._cycle_budget(frame)
        try:
            out = await with_timeout(collect(), budget * PERIOD_NS, "ns")
        except cocotb.triggers.SimTimeoutError:
            got = len(self.prob_sink)
            message = (
                f"no complete output within {budget} cycles (decision "
                f"{'missing' if frame.decision is None else int(frame.decision)}, "
                f"{got} probability beats waiting, golden need_lsb={int(frame.ref_need_lsb)})"
            )
            self._dump(frame, message)
            raise AssertionError(f"{frame.label} (n={n}, seed={self.seed}): {message}") from None
        probs = []
        for beat in out:
            prob = (beat.payload >> self.prob_shift) & self.prob_mask
            last = (beat.payload >> self.prob_last_shift) & 1
            probs.append(prob)
            frame.prob_beats.append({"prob": prob, "last": last, "cycle": beat.cycle})
        if len(out) < n:
            errors.append(f"last on probability beat {len(out)} of {n}")
        elif not (out[-1].payload >> self.prob_last_shift) & 1:
            errors.append(f"no last on probability beat {n} (the n-th)")
        assert frame.query_beat.cycle is not None and out[-1].cycle is not None
        result = FrameResult(bool(frame.decision), probs, out[-1].cycle - frame.query_beat.cycle)
        if self.protocol_errors:
            errors.extend(self.protocol_errors)
        if check:
            if result.need_lsb != frame.ref_need_lsb:
                errors.append(
                    f"need_lsb {int(result.need_lsb)} != golden {int(frame.ref_need_lsb)}"
                )
            if probs != frame.ref_probs[: len(probs)]:
                bad = [
                    i
                    for i, (a, b) in enumerate(zip(probs, frame.ref_probs, strict=False))
                    if a != b
                ]
                errors.append(
                    f"{len(bad)} probabilities differ, first at key {bad[0]}: got "
                    f"{_short(probs)}, golden {_short(frame.ref_probs)}"
                )
            if (
                frame.golden_cycles is not None
                and frame.decision
                and frame.lsb_beats[0].cycle != frame.decision_cycle
            ):
                errors.append(
                    f"first LSB beat taken at edge {frame.lsb_beats[0].cycle}, the decision "
                    f"(always ready) at edge {frame.decision_cycle}: with no stalls the LSB pass "
                    f"starts in the cycle the decision appears"
                )
            if frame.golden_cycles is not None and result.cycles != frame.golden_cycles:
                errors.append(
                    f"{result.cycles} cycles from the query to the last probability, "
                    f"frame_cycles({n}, {frame.ref_need_lsb}) = {frame.golden_cycles} (no stalls)"
                )
            if errors:
                self._dump(frame, "; ".join(errors), result)
                small = (
                    f"; q={frame.q} msb={frame.msb} lsb={frame.lsb}"
                    if n * self.params.d <= 64
                    else ""
                )
                raise AssertionError(
                    f"{frame.label} (n={n}, threshold={frame.threshold}, scale={frame.scale}, "
                    f"{frame.traffic.describe()}, seed={self.seed}): " + "; ".join(errors) + small
                )
            self.frames_checked += 1
            self.lsb_frames += result.need_lsb
        return result

    async def run_frame(
        self,
        q: Sequence[int],
        msb: Sequence[Sequence[int]],
        lsb: Sequence[Sequence[int]],
        threshold: int,
        scale: int,
        label: str = "",
        check: bool = True,
    ) -> tuple[bool, list[int], int]:
        """Send one frame and collect its output: ``(need_lsb, probs, cycles)`` where ``cycles``
        counts from the query beat accepted to the last probability transferred."""
        frame = self.send_frame(q, msb, lsb, threshold, scale, label)
        result = await self.recv_frame(frame, check=check)
        return result.need_lsb, result.probs, result.cycles

    async def expect_quiet(self, cycles: int = 8) -> None:
        """No output beat may appear between frames, and no input beat may be left over."""
        await self.cycles(cycles)
        problems = list(self.protocol_errors)
        if len(self.prob_sink):
            beat = self.prob_sink.recv_nowait()
            problems.append(f"unexpected probability beat {self.prob_codec.unpack(beat.payload)}")
        if self._awaiting_decision:
            problems.append(f"{len(self._awaiting_decision)} frames still await a decision")
        for source in self.sources:
            if source.pending:
                problems.append(f"{source.name}: {source.pending} beats never taken")
        if problems:
            raise AssertionError(f"{self.name}: " + "; ".join(problems))

    def _dump(self, frame: Frame, error: str, result: FrameResult | None = None) -> None:
        record = {
            "test": self.name,
            "seed": self.seed,
            "error": error,
            "params": _param_dict(self.params),
            "label": frame.label,
            "traffic": dataclasses.asdict(frame.traffic),
            "n": frame.n,
            "q": frame.q,
            "msb": frame.msb,
            "lsb": frame.lsb,
            "threshold": frame.threshold,
            "scale": frame.scale,
            "golden_need_lsb": frame.ref_need_lsb,
            "golden_probs": frame.ref_probs,
            "golden_cycles": frame.golden_cycles,
            "decision": frame.decision,
            "query_cycle": frame.query_beat.cycle,
            "decision_cycle": frame.decision_cycle,
            "prob_beats": frame.prob_beats,
        }
        if result is not None:
            record.update(got_probs=result.probs, got_cycles=result.cycles)
        with open(self.failure_file, "w") as f:
            json.dump(record, f)


def _param_dict(p: PQParams) -> dict[str, int]:
    return {
        name: getattr(p, name)
        for name in ("d", "q_bits", "msb_bits", "lsb_bits", "prob_bits", "max_n", "scale_shift")
    }


def _short(values: list[int], limit: int = 16) -> str:
    if len(values) <= limit:
        return str(values)
    return f"[{', '.join(map(str, values[:limit]))}, ... ({len(values)} in all)]"


def _seed(name: str) -> int:
    base = int(tb_config().get("seed", 1))
    return random.Random(f"{base}/{name}").getrandbits(32)


# -- Frame generators ------------------------------------------------------------------------------


def gen_frame(
    rng: random.Random, p: PQParams, n: int, kind: str
) -> tuple[list[int], list[list[int]], list[list[int]]]:
    """``(q, msb, lsb)`` of one frame.

    ``random``: uniform values of a random magnitude (so the attention ranges from flat to
    peaked); ``near``: keys that differ by a unit or two of the MSB plane; ``flat``: every key's
    MSB plane equal (LSBs random: the full pass differs); ``peaked``: one dominant key;
    ``extreme``: the most negative query and MSB values and the largest LSB values everywhere;
    ``extreme_mixed``: every element at a bound of its range.
    """
    d = p.d
    q_lo, q_hi = -(1 << (p.q_bits - 1)), (1 << (p.q_bits - 1)) - 1
    m_lo, m_hi = -(1 << (p.msb_bits - 1)), (1 << (p.msb_bits - 1)) - 1
    l_hi = (1 << p.lsb_bits) - 1

    def uniform(bits: int, count: int) -> list[int]:
        return [rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) for _ in range(count)]

    def lsb_rows() -> list[list[int]]:
        return [[rng.randint(0, l_hi) for _ in range(d)] for _ in range(n)]

    if kind == "random":
        qb, mb = rng.randint(1, p.q_bits), rng.randint(1, p.msb_bits)
        q = uniform(qb, d)
        return q, [uniform(mb, d) for _ in range(n)], lsb_rows()
    if kind == "near":
        q = uniform(rng.randint(1, p.q_bits), d)
        base = uniform(p.msb_bits, d)
        msb = [
            [min(m_hi, max(m_lo, v + rng.choice((-1, 0, 0, 1)))) for v in base] for _ in range(n)
        ]
        return q, msb, lsb_rows()
    if kind == "flat":
        q = uniform(p.q_bits, d)
        row = uniform(p.msb_bits, d)
        return q, [list(row) for _ in range(n)], lsb_rows()
    if kind == "peaked":
        msb = [[m_lo] * d for _ in range(n)]
        msb[rng.randrange(n)] = [m_hi] * d
        return [q_hi] * d, msb, lsb_rows()
    if kind == "extreme":
        return [q_lo] * d, [[m_lo] * d for _ in range(n)], [[l_hi] * d for _ in range(n)]
    if kind == "extreme_mixed":
        q = [rng.choice((q_lo, q_hi)) for _ in range(d)]
        msb = [[rng.choice((m_lo, m_hi)) for _ in range(d)] for _ in range(n)]
        lsb = [[rng.choice((0, l_hi)) for _ in range(d)] for _ in range(n)]
        return q, msb, lsb
    raise ValueError(f"unknown frame kind {kind!r}")


def boundary_threshold(p: PQParams, q, msb, scale: int, above: bool) -> int:
    """The threshold right at the decision boundary of this frame's MSB pass: the largest that
    does not ask for the LSBs (``above=False``) or the smallest that does (``above=True``),
    clipped to the threshold's range."""
    ref = attend(torch.tensor(q), torch.tensor(msb), None, 0, scale, p)
    total = int(ref.msb_sum)
    edge = (1 << (p.prob_bits + p.EB)) // total  # edge * total <= 2^(prob_bits + EB)
    return max(0, min((1 << p.prob_bits) - 1, edge + int(above)))


def random_threshold(rng: random.Random, p: PQParams, q, msb, scale: int) -> int:
    top = (1 << p.prob_bits) - 1
    choice = rng.randrange(6)
    if choice == 0:
        return 0
    if choice == 1:
        return top
    if choice in (2, 3):
        return boundary_threshold(p, q, msb, scale, above=choice == 3)
    return rng.randint(0, top)


def random_scale(rng: random.Random) -> int:
    choice = rng.randrange(6)
    if choice == 0:
        return 0
    if choice == 1:
        return 65535
    return rng.getrandbits(rng.randint(1, 16))  # log-uniform magnitude


def random_n(rng: random.Random, max_n: int, max_n_prob: float) -> int:
    r = rng.random()
    if r < max_n_prob:
        return max_n
    if r < max_n_prob + 0.1:
        return 1
    return rng.randint(1, max_n)


# -- Tests -----------------------------------------------------------------------------------------


@cocotb.test()
async def random_frames(dut: Any) -> None:
    """Random n, frame kinds, thresholds (including both sides of the decision boundary) and
    scales; random gaps on the three inputs and backpressure on both outputs (a quarter of the
    frames without stalls, their cycles checked); an idle gap between some frames."""
    tb = TB(dut, _seed("random_frames"), "random_frames")
    await tb.start()
    rng, p = tb.rng, tb.params
    config = tb_config()
    frames = int(config.get("random_frames", 40))
    max_n_prob = float(config.get("max_n_prob", 0.15))
    for i in range(frames):
        n = random_n(rng, p.max_n, max_n_prob)
        kind = rng.choice(KINDS)
        if i == 0 and p.max_n > 1:  # both decisions come up, whatever the seed
            n, kind = max(2, n), "flat"
        q, msb, lsb = gen_frame(rng, p, n, kind)
        scale = random_scale(rng)
        threshold = random_threshold(rng, p, q, msb, scale)
        if i < 2:
            threshold = (1 << p.prob_bits) - 1 if i == 0 else 0
        tb.set_traffic(tb.random_traffic())
        label = f"random frame {i} ({kind}, {tb.traffic.describe()})"
        await tb.run_frame(q, msb, lsb, threshold, scale, label)
        if rng.random() < 0.2:
            await tb.cycles(rng.randint(0, 5))
    await tb.expect_quiet()
    tb.log.info(
        "random_frames: %d frames checked, %d with the LSB pass", tb.frames_checked, tb.lsb_frames
    )
    if frames >= 2 and p.max_n > 1 and not 0 < tb.lsb_frames < tb.frames_checked:
        raise AssertionError(f"only one decision exercised: {tb.lsb_frames} of {frames} frames")


def edge_cases(p: PQParams) -> list[tuple[str, int, str, str, str, bool | None]]:
    """``(label, n, kind, threshold class, scale class, expected need_lsb or None)`` of the
    ``edges`` test (the expectation is checked on the golden model: the case is what it says)."""
    top = p.max_n
    mid = max(2, top // 2)
    flat_n = 1 << (top.bit_length() - 1)  # the largest power of two <= max_n
    if flat_n == 1 or flat_n > 1 << p.prob_bits:
        flat_n = 2
    cases = [
        ("n=1 flat, max threshold (never needs the LSBs)", 1, "flat", "max", "random", False),
        ("n=1 extreme, scale 65535", 1, "extreme", "max", "max", False),
        ("n=1 scale 0", 1, "random", "zero", "zero", False),
        ("n=max_n flat, max threshold", top, "flat", "max", "random", True),
        ("n=max_n flat, threshold 0", top, "flat", "zero", "random", False),
        ("n=max_n peaked, max threshold", top, "peaked", "max", "max", False),
        ("n=max_n extreme, scale 65535, max threshold", top, "extreme", "max", "max", True),
        ("n=max_n extreme_mixed, scale 65535", top, "extreme_mixed", "max", "max", None),
        ("n=max_n extreme_mixed, scale 0", top, "extreme_mixed", "max", "zero", True),
        ("n=max_n random, scale 0, max threshold", top, "random", "max", "zero", True),
        ("just below the decision boundary", mid, "near", "below", "random", None),
        ("just above the decision boundary", mid, "near", "above", "random", None),
        ("peaked, threshold 0", mid, "peaked", "zero", "max", False),
        ("flat n=2, max threshold", 2, "flat", "max", "max", True),
        # S = n 2^EB exactly: the threshold 2^prob_bits / n gives threshold * S = 2^(prob_bits +
        # EB), which must not ask for the LSBs (the comparison is strict); one more must.
        ("flat, threshold * S = 2^(prob_bits + EB)", flat_n, "flat", "below", "random", False),
        ("flat, threshold * S just above", flat_n, "flat", "above", "random", True),
    ]
    # A single key never needs the LSBs (its probability is 1).
    return [(*case[:5], case[5] and case[1] > 1) for case in cases if case[1] <= top]


@cocotb.test()
async def edges(dut: Any) -> None:
    """n = 1 and n = max_n; flat, peaked, extreme frames; threshold 0, maximum and on both sides
    of the decision boundary; scale 0 and 65535; each without stalls (cycles checked) and, unless
    ``edge_stalls`` is false, with gaps and backpressure."""
    tb = TB(dut, _seed("edges"), "edges")
    await tb.start()
    rng, p = tb.rng, tb.params
    top = (1 << p.prob_bits) - 1
    stalled = bool(tb_config().get("edge_stalls", True))
    traffics = [NO_STALLS] + (
        [Traffic(0.4, 0.4, 0.4, 0.4, 0.4, eager_lsb=False)] if stalled else []
    )
    for label, n, kind, threshold_class, scale_class, expected in edge_cases(p):
        for traffic in traffics:
            q, msb, lsb = gen_frame(rng, p, n, kind)
            scale = {"zero": 0, "max": 65535, "random": random_scale(rng)}[scale_class]
            if threshold_class in ("below", "above"):
                threshold = boundary_threshold(p, q, msb, scale, threshold_class == "above")
            else:
                threshold = {"zero": 0, "max": top}[threshold_class]
            tb.set_traffic(traffic)
            frame = tb.send_frame(
                q, msb, lsb, threshold, scale, f"edge: {label} ({traffic.describe()})"
            )
            if expected is not None and frame.ref_need_lsb != expected:
                raise AssertionError(f"edge case '{label}': golden need_lsb {frame.ref_need_lsb}")
            await tb.recv_frame(frame)
    await tb.expect_quiet()
    tb.log.info("edges: %d frames checked, %d with the LSB pass", tb.frames_checked, tb.lsb_frames)


@cocotb.test()
async def back_to_back(dut: Any) -> None:
    """Frames queued back to back, without reset: each query waits on the input while the
    previous frame finishes; no stalls (every frame's cycles checked), then random gaps and
    backpressure with eager and reactive LSBs, then outputs that are ready only after valid."""
    tb = TB(dut, _seed("back_to_back"), "back_to_back")
    await tb.start()
    rng, p = tb.rng, tb.params
    count = int(tb_config().get("back_to_back_frames", 6))
    patterns = [
        NO_STALLS,
        Traffic(0.3, 0.3, 0.3, 0.5, 0.5, eager_lsb=True),
        Traffic(0.0, 0.3, 0.0, 0.3, 0.3, eager_lsb=False),
        Traffic(decision_after_valid=2, prob_after_valid=0, eager_lsb=False),
    ]
    for traffic in patterns:
        tb.set_traffic(traffic)
        frames = []
        for i in range(count):
            n = random_n(rng, p.max_n, 0.1)
            kind = rng.choice(KINDS)
            q, msb, lsb = gen_frame(rng, p, n, kind)
            scale = random_scale(rng)
            threshold = random_threshold(rng, p, q, msb, scale)
            label = f"back-to-back frame {i} ({kind}, {traffic.describe()})"
            frames.append(tb.send_frame(q, msb, lsb, threshold, scale, label))
        ends = []
        for frame in frames:
            await tb.recv_frame(frame)
            ends.append(frame.prob_beats[-1]["cycle"])
        gaps = [f.query_beat.cycle - end for f, end in zip(frames[1:], ends, strict=False)]
        tb.log.info(
            "%s: cycles from a last probability to the next query: %s", traffic.describe(), gaps
        )
        await tb.expect_quiet()
    tb.log.info(
        "back_to_back: %d frames checked, %d with the LSB pass", tb.frames_checked, tb.lsb_frames
    )


@cocotb.test()
async def reset_mid_frame(dut: Any) -> None:
    """Reset during the MSB keys, during the LSB keys and while probabilities come out; nothing
    may come out afterwards, and the next frames (one without stalls, cycles checked, one with)
    must be exact."""
    tb = TB(dut, _seed("reset_mid_frame"), "reset_mid_frame")
    await tb.start()
    rng, p = tb.rng, tb.params
    top = (1 << p.prob_bits) - 1
    config = tb_config()
    n_big = min(p.max_n, max(2, int(config.get("reset_n", p.max_n))))
    lengths = [int(c) for c in config.get("reset_lengths", [1, 3])]

    async def clean_frames(label: str) -> None:
        tb.set_traffic(NO_STALLS)
        q, msb, lsb = gen_frame(rng, p, n_big, "flat")
        await tb.run_frame(q, msb, lsb, top, random_scale(rng), f"{label}: flat, no stalls")
        tb.set_traffic(tb.random_traffic(0.0))
        n = rng.randint(1, n_big)
        kind = rng.choice(KINDS)
        q, msb, lsb = gen_frame(rng, p, n, kind)
        scale = random_scale(rng)
        threshold = random_threshold(rng, p, q, msb, scale)
        await tb.run_frame(q, msb, lsb, threshold, scale, f"{label}: {kind}, stalls")

    async def wait_transfers(source: StreamSource, target: int) -> None:
        while source.transfers < target:
            await RisingEdge(dut.clk)

    if p.max_n < 2:  # one key per frame: no frame is ever cut inside a key stream
        for attempt, cycles in enumerate(lengths):
            tb.set_traffic(NO_STALLS)
            q, msb, lsb = gen_frame(rng, p, 1, "random")
            tb.send_frame(q, msb, lsb, top, random_scale(rng), "aborted frame")
            await wait_transfers(tb.msb_src, tb.msb_src.transfers + 1)
            await tb.cycles(rng.randint(0, 10))
            await tb.reset(cycles)
            await tb.expect_quiet(4)
            await clean_frames(f"after a reset while computing #{attempt}")
        tb.log.info("reset_mid_frame: %d frames checked", tb.frames_checked)
        return
    for attempt, cycles in enumerate(lengths):
        # 1. During the MSB keys: some accepted, not the last.
        tb.set_traffic(Traffic(0.3, 0.3, 0.3, 0.0, 0.0))
        q, msb, lsb = gen_frame(rng, p, n_big, "flat")
        before = tb.msb_src.transfers
        frame = tb.send_frame(q, msb, lsb, top, 0, "aborted during the MSB keys")
        await wait_transfers(tb.msb_src, before + rng.randint(1, n_big - 1))
        if frame.msb_beats[-1].cycle is not None:
            raise AssertionError("the last MSB beat was accepted before the reset")
        await tb.reset(cycles)
        await tb.expect_quiet(4)
        await clean_frames(f"after a reset during the MSB keys #{attempt}")

        # 2. During the LSB keys (a flat frame with the maximum threshold needs them).
        tb.set_traffic(Traffic(0.0, 0.0, 0.3, 0.0, 0.0, eager_lsb=attempt % 2 == 0))
        q, msb, lsb = gen_frame(rng, p, n_big, "flat")
        frame = tb.make_frame(q, msb, lsb, top, random_scale(rng), "aborted during the LSB keys")
        if not frame.ref_need_lsb:
            raise AssertionError("a flat frame with the maximum threshold needs no LSBs")
        before = tb.lsb_src.transfers
        tb.send(frame)
        await wait_transfers(tb.lsb_src, before + rng.randint(1, n_big - 1))
        if frame.decision is not True or frame.lsb_beats[-1].cycle is not None:
            raise AssertionError(f"not in the LSB pass at the reset (decision {frame.decision})")
        await tb.reset(cycles)
        await tb.expect_quiet(4)
        await clean_frames(f"after a reset during the LSB keys #{attempt}")

        # 3. While the probabilities come out: the first taken, not the last.
        tb.set_traffic(Traffic(prob_bp=0.6, eager_lsb=attempt % 2 == 1))
        q, msb, lsb = gen_frame(rng, p, n_big, rng.choice(("flat", "random")))
        threshold = rng.choice((0, top))
        frame = tb.send_frame(q, msb, lsb, threshold, random_scale(rng), "aborted output")
        first = await with_timeout(tb.prob_sink.recv(), tb._cycle_budget(frame) * PERIOD_NS, "ns")
        if (first.payload >> tb.prob_last_shift) & 1:
            raise AssertionError("the aborted frame's first probability beat has last set")
        await tb.cycles(rng.randint(0, n_big // 4))
        while (beat := tb.prob_sink.recv_nowait()) is not None:
            if (beat.payload >> tb.prob_last_shift) & 1:
                raise AssertionError("the aborted frame's output ended before the reset")
        await tb.reset(cycles)
        await tb.expect_quiet(4)
        await clean_frames(f"after a reset during the output #{attempt}")
    await tb.expect_quiet()
    tb.log.info("reset_mid_frame: %d frames checked", tb.frames_checked)


@cocotb.test(skip=BENCH_ENV not in os.environ)
async def bench(dut: Any) -> None:
    """Cycles per frame with no stalls, for given ``(n, need_lsb)``; every frame still checked."""
    settings = json.loads(os.environ[BENCH_ENV])
    out_path = os.environ.get(BENCH_OUT_ENV, "pq_bench.json")
    tb = TB(dut, int(settings.get("seed", 1)), "bench")
    await tb.start()
    tb.set_traffic(NO_STALLS)
    p, rng = tb.params, tb.rng
    top = (1 << p.prob_bits) - 1
    frames = int(settings.get("frames", 3))
    sim_start, wall_start = tb.now(), time.perf_counter()
    prepare_seconds = 0.0  # golden model and beat packing, done while the simulator waits
    cases = []
    for n, need_lsb in settings["cases"]:
        n, need_lsb = int(n), bool(need_lsb)
        if need_lsb and n < 2:
            raise ValueError("a single key never needs the LSBs (its probability is 1)")
        cycles = []
        for i in range(frames):
            kind = "flat" if need_lsb else "random"
            q, msb, lsb = gen_frame(rng, p, n, kind)
            threshold = top if need_lsb else 0
            t0 = time.perf_counter()
            frame = tb.make_frame(
                q, msb, lsb, threshold, random_scale(rng), f"bench n={n} lsb={need_lsb} #{i}"
            )
            prepare_seconds += time.perf_counter() - t0
            tb.send(frame)
            if frame.ref_need_lsb != need_lsb:
                raise AssertionError(f"bench frame n={n}: golden need_lsb {frame.ref_need_lsb}")
            result = await tb.recv_frame(frame)
            cycles.append(result.cycles)
        cases.append(
            {
                "n": n,
                "need_lsb": need_lsb,
                "cycles": cycles,
                "formula": tb.model.frame_cycles(n, need_lsb),
            }
        )
    record = {
        "params": _param_dict(p),
        "cases": cases,
        "total_cycles": tb.now() - sim_start,
        "wall_seconds": time.perf_counter() - wall_start,
        "prepare_seconds": prepare_seconds,
    }
    tmp = f"{out_path}.tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, out_path)
