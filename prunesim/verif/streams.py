"""cocotb 2 drivers for ``amaranth.lib.stream`` interfaces, and layout pack/unpack helpers.

An Amaranth stream port ``<name>`` appears in the generated Verilog as ``<name>__payload``,
``<name>__valid`` and ``<name>__ready``. A transfer happens at a rising clock edge where valid and
ready are both high; once valid, the producer holds valid and payload until the transfer; valid
never waits for ready; ready may depend on valid.

Sampling convention (the classic off-by-one of cocotb testbenches): both drivers write their
outputs right after a rising edge and read the design in the :class:`~cocotb.triggers.ReadOnly`
phase of the same time step. The design's registers change only at clock edges and its
combinational outputs have settled by then, so the values read are exactly the values the next
rising edge samples: a valid & ready seen in ``ReadOnly`` after edge ``e`` is the transfer at edge
``e + 1``. Cycle numbers are edge numbers, ``sim_time // period``: a beat's :attr:`Beat.cycle` is
the number of the edge that transferred it, on the same scale for sources and sinks.

Per-cycle Python work is kept small (cocotb overhead dominates simulation speed): one coroutine
per driver, two triggers per cycle, writes only when a value changes, the payload read only while
valid is high.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cocotb
from amaranth.hdl import Shape
from amaranth.lib import data
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, ReadOnly, RisingEdge

__all__ = [
    "LayoutCodec",
    "pack",
    "unpack",
    "Beat",
    "StreamSource",
    "StreamSink",
]


# -- Layout pack/unpack ----------------------------------------------------------------------------


def _shape_width(shape: Any) -> int:
    return Shape.cast(shape).width


def _compile(shape: Any) -> tuple[Callable[[Any], int], Callable[[int], Any]]:
    """Return ``(pack, unpack)`` closures for an Amaranth shape or layout."""
    if isinstance(shape, data.ArrayLayout):
        elem_pack, elem_unpack = _compile(shape.elem_shape)
        ew = _shape_width(shape.elem_shape)
        length = shape.length

        def pack_array(value: Sequence[Any]) -> int:
            if len(value) != length:
                raise ValueError(f"expected {length} elements for {shape!r}, got {len(value)}")
            raw = 0
            for elem in reversed(value):
                raw = (raw << ew) | elem_pack(elem)
            return raw

        def unpack_array(raw: int) -> list[Any]:
            return [elem_unpack(raw >> (i * ew)) for i in range(length)]

        return pack_array, unpack_array

    if isinstance(shape, data.Layout):  # StructLayout, UnionLayout, FlexibleLayout
        fields = [(name, field.offset, *_compile(field.shape)) for name, field in shape]
        names = {name for name, *_ in fields}

        def pack_struct(value: Mapping[str, Any]) -> int:
            unknown = set(value) - names
            if unknown:
                raise KeyError(f"{sorted(unknown)} are not fields of {shape!r}")
            raw = 0
            for name, offset, field_pack, _ in fields:
                if name in value:
                    raw |= field_pack(value[name]) << offset
            return raw

        def unpack_struct(raw: int) -> dict[str, Any]:
            return {name: field_unpack(raw >> offset) for name, offset, _, field_unpack in fields}

        return pack_struct, unpack_struct

    cast = Shape.cast(shape)
    width, signed = cast.width, cast.signed
    mask = (1 << width) - 1
    lo, hi = (-(1 << width >> 1), (1 << width >> 1) - 1) if signed else (0, mask)

    def pack_int(value: int) -> int:
        value = int(value)
        if not lo <= value <= hi:
            raise ValueError(f"{value} does not fit {cast!r}")
        return value & mask

    if signed:
        sign = 1 << (width - 1)

        def unpack_int(raw: int) -> int:
            raw &= mask
            return raw - (sign << 1) if raw & sign else raw
    else:

        def unpack_int(raw: int) -> int:
            return raw & mask

    return pack_int, unpack_int


class LayoutCodec:
    """Converts between Python values and the integer an Amaranth shape or layout occupies.

    ``StructLayout``/``UnionLayout`` values are mappings (missing fields pack as 0), ``ArrayLayout``
    values are sequences of exactly ``length`` elements, plain shapes are integers (range-checked,
    signed shapes unpack to negative integers). Offsets come from the layout itself (first field in
    the low bits), so nothing depends on a hard-coded bit position.

    >>> codec = LayoutCodec(data.StructLayout({"a": 4, "b": data.ArrayLayout(2, 2)}))
    >>> hex(codec.pack({"a": 3, "b": [1, 2]}))
    '0x93'
    >>> codec.unpack(0x93)
    {'a': 3, 'b': [1, 2]}
    """

    def __init__(self, shape: Any) -> None:
        self.shape = shape
        self.width = _shape_width(shape)
        self._pack, self._unpack = _compile(shape)

    def pack(self, value: Any) -> int:
        """The integer (``0 <= raw < 2**width``) holding ``value``."""
        return self._pack(value)

    def unpack(self, raw: int) -> Any:
        """The Python value held by the integer ``raw`` (bits above ``width`` are ignored)."""
        return self._unpack(raw)

    def offset(self, *path: str | int) -> int:
        """Bit offset of a nested field, e.g. ``codec.offset("data", 3)``."""
        shape, offset = self.shape, 0
        for key in path:
            field = data.Layout.cast(shape)[key]
            shape, offset = field.shape, offset + field.offset
        return offset

    def __repr__(self) -> str:
        return f"LayoutCodec({self.shape!r})"


def pack(shape: Any, value: Any) -> int:
    """One-off :meth:`LayoutCodec.pack` (build a :class:`LayoutCodec` for repeated use)."""
    return LayoutCodec(shape).pack(value)


def unpack(shape: Any, raw: int) -> Any:
    """One-off :meth:`LayoutCodec.unpack` (build a :class:`LayoutCodec` for repeated use)."""
    return LayoutCodec(shape).unpack(raw)


# -- Stream drivers --------------------------------------------------------------------------------


@dataclass(slots=True)
class Beat:
    """One stream beat.

    ``payload`` is the raw integer; ``sideband`` holds ``(handle, value)`` pairs a source writes
    together with the payload (for signals sampled with a beat, such as a frame's ``k``); ``tag``
    is free for the user; ``cycle`` is the edge number of the transfer, set by the driver.
    """

    payload: int
    sideband: tuple[tuple[Any, int], ...] = ()
    tag: Any = None
    cycle: int | None = None


def _stream_handles(dut: Any, name: str) -> tuple[Any, Any, Any]:
    return (
        getattr(dut, f"{name}__valid"),
        getattr(dut, f"{name}__ready"),
        getattr(dut, f"{name}__payload"),
    )


class _Driver:
    def __init__(
        self,
        clk: Any,
        valid: Any,
        ready: Any,
        payload: Any,
        *,
        period_steps: int,
        rng: random.Random | None,
        name: str,
    ) -> None:
        if period_steps <= 0:
            raise ValueError(f"period_steps must be a positive integer, not {period_steps!r}")
        self.clk, self.valid, self.ready, self.payload = clk, valid, ready, payload
        self.period_steps = period_steps
        self.rng = rng if rng is not None else random.Random(0)
        self.name = name
        self.in_reset = False
        self._prob = 0.0
        self._gen: Iterator[bool] | None = None
        self._task: cocotb.task.Task[None] | None = None

    def _set_pattern(self, prob: float, gen: Iterable[bool] | None) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"probability must be in [0, 1], not {prob!r}")
        self._prob = prob
        self._gen = iter(gen) if gen is not None else None

    @property
    def stall_prob(self) -> float:
        """The stall probability per cycle (idle for sources, not-ready for sinks)."""
        return self._prob

    @property
    def patterned(self) -> bool:
        """Whether a generator, not the probability, decides the stalls."""
        return self._gen is not None

    def _stall(self) -> bool:
        if self._gen is not None:
            return next(self._gen, False)
        return self._prob > 0.0 and self.rng.random() < self._prob

    def _next_edge(self) -> int:
        # Called in ReadOnly after edge e (time e * period): the transfer happens at edge e + 1.
        return get_sim_time("step") // self.period_steps + 1

    def start(self) -> None:
        """Start the driver's coroutine (once)."""
        if self._task is None:
            self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class StreamSource(_Driver):
    """Drives ``payload``/``valid`` of a stream from a queue of :class:`Beat` objects.

    Idle cycles: whenever no beat is being held, the source inserts a gap cycle (valid low) with
    probability ``idle_prob`` (drawn from the seeded ``rng``), or as told by an idle generator
    (an iterable of bools, ``True`` = gap; exhausted = no more gaps). During gaps the payload is
    driven with random junk if ``junk_when_idle`` is set, to show the design ignores it.

    :meth:`set_reset` drops everything queued and drives valid low while the design is in reset.
    """

    def __init__(
        self,
        clk: Any,
        valid: Any,
        ready: Any,
        payload: Any,
        *,
        period_steps: int,
        idle_prob: float = 0.0,
        idle_gen: Iterable[bool] | None = None,
        rng: random.Random | None = None,
        junk_when_idle: bool = True,
        on_transfer: Callable[[Beat], None] | None = None,
        name: str = "source",
    ) -> None:
        super().__init__(clk, valid, ready, payload, period_steps=period_steps, rng=rng, name=name)
        self._set_pattern(idle_prob, idle_gen)
        self.junk_when_idle = junk_when_idle
        self.on_transfer = on_transfer
        self._width = len(payload)
        self._queue: deque[Beat] = deque()
        self._current: Beat | None = None
        self._valid_driven = False
        self._empty = Event()
        self._empty.set()
        self.transfers = 0
        self.valid.value = 0

    @classmethod
    def from_dut(cls, dut: Any, name: str, clk: Any, **kwargs: Any) -> StreamSource:
        """A source on the ``<name>__valid/ready/payload`` ports of ``dut``."""
        valid, ready, payload = _stream_handles(dut, name)
        return cls(clk, valid, ready, payload, name=name, **kwargs)

    def set_idle(self, prob: float = 0.0, gen: Iterable[bool] | None = None) -> None:
        """Gap probability per cycle, or an iterable of bools (``True`` = gap) that overrides it."""
        self._set_pattern(prob, gen)

    def send(self, beat: Beat | int) -> Beat:
        """Queue a beat (a :class:`Beat` or a raw payload integer); returns the queued beat."""
        if not isinstance(beat, Beat):
            beat = Beat(int(beat))
        if not 0 <= beat.payload < (1 << self._width):
            raise ValueError(f"{self.name}: payload {beat.payload:#x} exceeds {self._width} bits")
        self._queue.append(beat)
        self._empty.clear()
        return beat

    def send_all(self, beats: Iterable[Beat | int]) -> list[Beat]:
        return [self.send(beat) for beat in beats]

    @property
    def pending(self) -> int:
        """Beats queued or being presented and not yet transferred."""
        return len(self._queue) + (self._current is not None)

    async def wait_empty(self) -> None:
        """Wait until every queued beat has been transferred."""
        while self.pending:
            self._empty.clear()
            await self._empty.wait()

    def set_reset(self, active: bool) -> None:
        """Enter (drop all beats, valid low) or leave the design's reset."""
        self.in_reset = active
        if active:
            self._queue.clear()
            self._current = None
            self._empty.set()
            self.valid.value = 0
            self._valid_driven = False

    async def _run(self) -> None:
        edge, read_only = RisingEdge(self.clk), ReadOnly()
        valid, ready, payload = self.valid, self.ready, self.payload
        while True:
            await edge
            if self._current is None:
                if self._queue and not self.in_reset and not self._stall():
                    beat = self._current = self._queue.popleft()
                    for handle, value in beat.sideband:
                        handle.value = value
                    payload.value = beat.payload
                    if not self._valid_driven:
                        valid.value = 1
                        self._valid_driven = True
                elif self._valid_driven:
                    valid.value = 0
                    self._valid_driven = False
                    if self.junk_when_idle:
                        payload.value = self.rng.getrandbits(self._width)
            if self._current is not None:
                await read_only
                beat = self._current
                if beat is not None and not self.in_reset and ready.value:
                    beat.cycle = self._next_edge()
                    self._current = None
                    self.transfers += 1
                    if not self._queue:
                        self._empty.set()
                    if self.on_transfer is not None:
                        self.on_transfer(beat)


def _known_bits(value: Any) -> tuple[int, int]:
    """``(value with X/Z bits as 0, mask of its X/Z bits)`` of a cocotb ``LogicArray``."""
    text = str(value)
    if set(text) <= {"0", "1"}:
        return int(text, 2), 0
    known = "".join(c if c in "01" else "0" for c in text)
    unknown = "".join("0" if c in "01" else "1" for c in text)
    return int(known, 2), int(unknown, 2)


class StreamSink(_Driver):
    """Drives ``ready`` of a stream and collects the transferred beats.

    Backpressure: each cycle ``ready`` is low with probability ``backpressure_prob`` (seeded
    ``rng``), or as told by a generator of bools (``True`` = not ready); ``ready`` then does not
    look at ``valid``. Or ``ready`` waits for ``valid`` (see :meth:`set_backpressure`).

    The sink checks the stream rules on every cycle and fails the running cocotb test (raises
    :class:`AssertionError` in its coroutine) when, after a cycle with valid high and ready low,
    valid drops or the payload changes. Received beats queue up for :meth:`recv`;
    ``on_transfer`` (called in the ``ReadOnly`` phase of the transfer's cycle, so it may read but
    not write signals) sees each beat first.

    :meth:`set_reset` discards whatever happens while the design is in reset.

    A transferred or offered payload must be all 0/1 bits, except those that ``unspecified``
    (called with the payload, its X/Z bits read as 0) returns as the mask of bits the stream's
    contract leaves unspecified (e.g. lanes at and above ``count``): there X/Z (a simulator's
    uninitialised memory) reads as 0; anywhere else it fails the test.
    """

    def __init__(
        self,
        clk: Any,
        valid: Any,
        ready: Any,
        payload: Any,
        *,
        period_steps: int,
        backpressure_prob: float = 0.0,
        backpressure_gen: Iterable[bool] | None = None,
        rng: random.Random | None = None,
        on_transfer: Callable[[Beat], None] | None = None,
        unspecified: Callable[[int], int] | None = None,
        name: str = "sink",
    ) -> None:
        super().__init__(clk, valid, ready, payload, period_steps=period_steps, rng=rng, name=name)
        self._set_pattern(backpressure_prob, backpressure_gen)
        self.on_transfer = on_transfer
        self.unspecified = unspecified
        self._received: deque[Beat] = deque()
        self._arrived = Event()
        self._hold: int | None = None
        self._held = 0  # cycles the held beat has been offered
        self._after_valid: int | None = None
        self._ready_driven = 1
        self.transfers = 0
        self.ready.value = 1

    @classmethod
    def from_dut(cls, dut: Any, name: str, clk: Any, **kwargs: Any) -> StreamSink:
        """A sink on the ``<name>__valid/ready/payload`` ports of ``dut``."""
        valid, ready, payload = _stream_handles(dut, name)
        return cls(clk, valid, ready, payload, name=name, **kwargs)

    def set_backpressure(
        self,
        prob: float = 0.0,
        gen: Iterable[bool] | None = None,
        *,
        after_valid: int | None = None,
    ) -> None:
        """Not-ready probability per cycle, or an iterable of bools (``True`` = not ready).

        ``after_valid = d`` overrides both: ready stays low until a beat has been offered
        (valid high) for ``d + 1`` cycles, then takes it. A producer whose valid waits for ready
        (a stream rule violation) deadlocks there and the test times out.
        """
        if after_valid is not None and after_valid < 0:
            raise ValueError(f"after_valid must be a non-negative integer, not {after_valid!r}")
        self._set_pattern(prob, gen)
        self._after_valid = after_valid

    @property
    def patterned(self) -> bool:
        return self._gen is not None or self._after_valid is not None

    @property
    def after_valid(self) -> int | None:
        """The delay of ready after valid, when ready waits for valid; else ``None``."""
        return self._after_valid

    def set_reset(self, active: bool) -> None:
        """Enter or leave the design's reset: drops received beats and the stability check."""
        self.in_reset = active
        self._hold = None
        self._held = 0
        if active:
            self._received.clear()

    def __len__(self) -> int:
        return len(self._received)

    async def recv(self) -> Beat:
        """The next received beat (waits for one)."""
        while not self._received:
            self._arrived.clear()
            await self._arrived.wait()
        return self._received.popleft()

    def recv_nowait(self) -> Beat | None:
        return self._received.popleft() if self._received else None

    async def _run(self) -> None:
        edge, read_only = RisingEdge(self.clk), ReadOnly()
        valid, ready, payload = self.valid, self.ready, self.payload
        while True:
            await edge
            if self._after_valid is None:
                rdy = 0 if self._stall() else 1
            else:
                rdy = 1 if self._hold is not None and self._held > self._after_valid else 0
            if rdy != self._ready_driven:
                ready.value = rdy
                self._ready_driven = rdy
            await read_only
            if self.in_reset:
                continue
            if valid.value:
                raw, unknown = _known_bits(payload.value)
                if unknown:
                    allowed = self.unspecified(raw) if self.unspecified is not None else 0
                    if unknown & ~allowed:
                        raise AssertionError(
                            f"{self.name}: payload bits {unknown & ~allowed:#x} are X/Z where "
                            f"the stream's contract specifies them (before edge "
                            f"{self._next_edge()})"
                        )
                hold = self._hold
                if hold is not None and raw != hold:
                    raise AssertionError(
                        f"{self.name}: payload changed from {hold:#x} to {raw:#x} while valid "
                        f"and not ready (before edge {self._next_edge()})"
                    )
                if rdy:
                    self._hold = None
                    self._held = 0
                    beat = Beat(raw, cycle=self._next_edge())
                    self.transfers += 1
                    if self.on_transfer is not None:
                        self.on_transfer(beat)
                    self._received.append(beat)
                    self._arrived.set()
                else:
                    self._hold = raw
                    self._held += 1
            elif self._hold is not None:
                raise AssertionError(
                    f"{self.name}: valid dropped before the transfer of payload {self._hold:#x} "
                    f"(before edge {self._next_edge()})"
                )
