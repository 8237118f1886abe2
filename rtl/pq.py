"""SpAtten's progressive-quantization datapath: Q.K, fixed-point softmax and the LSB decision."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from prunesim.golden.pq_params import PQParams

from .dot_product import DotProduct
from .fixed_exp import ExpUnit
from .multiplier import Multiplier
from .params import Limit
from .reciprocal import Reciprocal

__all__ = ["ProgressiveAttention", "key_lsb_layout", "key_msb_layout", "prob_layout"]

#: Why the operand widths end at 32 bits (in ``--help``).
_OPERANDS = (
    "wider operands serve no quantized attention; "
    "and q_bits + msb_bits + lsb_bits + ceil(log2(d)) <= 45"
)


def key_msb_layout(d: int, msb_bits: int) -> data.StructLayout:
    """Payload of :attr:`ProgressiveAttention.i_key_msb`: one key's MSB plane."""
    return data.StructLayout({"data": data.ArrayLayout(signed(msb_bits), d), "last": 1})


def key_lsb_layout(d: int, lsb_bits: int) -> data.StructLayout:
    """Payload of :attr:`ProgressiveAttention.i_key_lsb`: one key's LSB plane."""
    return data.StructLayout({"data": data.ArrayLayout(unsigned(lsb_bits), d), "last": 1})


def prob_layout(prob_bits: int) -> data.StructLayout:
    """Payload of :attr:`ProgressiveAttention.o_prob`: one key's attention probability."""
    return data.StructLayout({"prob": unsigned(prob_bits), "last": 1})


#: Register stages of the dot product's adder tree (the products are one more stage).
DOT_TREE_STAGES = 3
#: Stages of the exponential passes before the ExpUnit: the buffer read, its data registered,
#: the distance to the maximum; then the multiply by ``scale``.
_READ_STAGES, _SCALE_STAGES = 3, 2
#: Stages of the probability multiply and of the decision's ``threshold * S``.
_PROB_STAGES, _DECIDE_STAGES = 3, 3


class _State:
    """The signals :class:`ProgressiveAttention`'s control FSM shares with its datapath.

    The frame's registers, the key counter of the score pass, the issue side of the exponential
    passes, the sum of the exponentials and the decision.
    """

    def __init__(self, p: PQParams) -> None:
        count_shape = range(p.max_n + 1)
        # Frame registers.
        self.query = Signal(data.ArrayLayout(signed(p.q_bits), p.d))
        self.threshold = Signal(unsigned(p.prob_bits))
        self.scale = Signal(unsigned(16))
        self.n_keys = Signal(count_shape)
        self.full_pass = Signal()  # the scores include the LSB planes
        # Score pass.
        self.key_in = Signal()  # a key beat (MSB or LSB) is accepted this cycle
        self.key_index = Signal(count_shape)
        # Exponential passes over the score buffer.
        self.x_advance = Signal()  # the pass moves this cycle
        self.x_issue = Signal()
        self.x_last_issue = Signal()
        self.x_index = Signal(count_shape)
        self.summing = Signal()  # exponentials go into the sum (else to o_prob)
        self.exp_sum = Signal(p.EB + p.LOGN + 1)
        # Decision.
        self.need_lsb = Signal()
        self.decision_pending = Signal()
        self.decide_product = Signal(p.prob_bits + len(self.exp_sum))
        self.decide_wait = Signal(range(_DECIDE_STAGES))


class ProgressiveAttention(wiring.Component):
    """Attention probabilities of one query with keys fetched MSB plane first, LSB plane on demand.

    Contract
    --------
    A frame starts with one :attr:`i_query` beat (``threshold`` and ``scale`` are sampled with
    it), then the frame's ``n`` keys (``1 <= n <= max_n``) on :attr:`i_key_msb`, one key per beat,
    ``last = 1`` on the ``n``-th. After the last MSB beat, :attr:`o_decision` carries exactly one
    beat: ``need_lsb``. Only when ``need_lsb = 1``, :attr:`i_key_lsb` takes the same ``n`` keys'
    LSB planes in the same order. Then :attr:`o_prob` carries ``n`` beats, one probability per key
    in key order, ``last = 1`` on the ``n``-th; they come from the full-precision keys when
    ``need_lsb = 1``, otherwise from the MSB keys. Every stream follows Amaranth's stream rules;
    any pattern of input gaps and output backpressure gives the same result; frames follow each
    other without a reset (the next query is accepted once the frame's last probability and its
    decision have been taken).

    Arithmetic (bit-exact with :mod:`prunesim.golden.pq`, which documents it in full): key values
    are ``msb * 2**lsb_bits`` (MSB pass) or ``msb * 2**lsb_bits + lsb`` (full pass); scores
    ``s_i = sum_j q_j k_ij`` are exact; logits are ``s_i * scale / 2**scale_shift``. The softmax
    is fixed point: ``exp(l_i - l_max)`` as a power of two whose fraction comes from a 65-entry
    table with linear interpolation, the sum ``S`` of the exponentials, one reciprocal per frame
    (a restoring divider) and one multiply per probability, rounded and saturated at
    ``2**prob_bits - 1``; every probability is within 4 units of the exact softmax times
    ``2**prob_bits``. ``need_lsb = 1`` exactly when ``threshold * S > 2**(prob_bits + EB)``, that is
    when the MSB pass's maximum probability ``2**EB / S`` is below ``threshold / 2**prob_bits``;
    ``threshold = 0`` never asks for the LSBs.

    Timing
    ------
    One key per cycle on either key stream when nothing stalls (``d`` multipliers and an adder
    tree), one exponential per cycle on the passes over the score buffer. Every stage is
    registered so that no path holds more than two adders, one multiplier or one memory read (the
    adder tree every ``ceil(ceil(log2(d)) / 3)`` levels, wide products as DSP-sized pieces; the
    default parameters placed at 108 MHz on an ECP5-85k, YoWASP Yosys 0.70 and nextpnr 0.11,
    against 48 MHz unpipelined); the pipeline depth is the same for every ``d``, so the latency
    depends on ``prob_bits`` and ``max_n`` only. Cycles from the query beat to the last
    probability, with no stalls:
    ``3 n + b`` without the LSB pass and ``5 n + b'`` with it (passes: MSB keys, the exponent sum,
    [LSB keys, the exponent sum again,] the output); :meth:`frame_cycles` gives ``b`` and ``b'``
    (``3 n + 69`` and ``5 n + 90`` for the default parameters); the tests check it against the
    RTL and ``prunesim bench pq`` measures it.

    Parameters
    ----------
    d, q_bits, msb_bits, lsb_bits, prob_bits, max_n, scale_shift : int
        As :class:`prunesim.golden.pq.PQParams`. Each has the range of :data:`LIMITS`, checked
        first (``TypeError`` if it is not an integer, ``ValueError`` naming it and its range), then
        :class:`~prunesim.golden.pq_params.PQParams` checks the joint limits of the arithmetic:
        ``q_bits + msb_bits + lsb_bits + ceil(log2(d)) <= 45`` and
        ``prob_bits + ceil(log2(max_n)) <= 27`` (so ``max_n = 65536`` needs ``prob_bits <= 11``).
        Both before anything is built. Within them generating the Verilog takes at most about
        15 s of CPU and 450 MB (``prunesim verilog pq``, one core of a 2-core VM; the corner
        ``d = 256``, ``max_n = 65536``, 32-bit queries: 16 s, 420 MB). The ranges:

        - ``d``: 1..256 multipliers, the largest head dimension of common transformers (SpAtten's
          is 64); 256 take about 3 s, 1024 about 23 s and 230 MB.
        - ``q_bits``, ``msb_bits``: 2..32; ``lsb_bits``: 1..32. Wider multiplier operands serve
          no quantized attention (SpAtten: 12-bit queries, 8-bit MSB and 4-bit LSB planes); the
          joint limit above is the tighter one for most ``d``.
        - ``prob_bits``: 2..16 and ``scale_shift``: 0..32, the ranges of the fixed-point
          arithmetic (:class:`~prunesim.golden.pq_params.PQParams`).
        - ``max_n``: 1..65536 keys, the depth of the score buffer (65536 scores of 31 bits for
          the default widths: 2 Mbit of block RAM; about 8 s and 300 MB to generate). SpAtten's
          frames are a few thousand tokens.

    Members
    -------
    threshold : ``In(unsigned(prob_bits))``
        Decision threshold on the MSB pass's maximum probability, in units of ``2**-prob_bits``.
    scale : ``In(unsigned(16))``
        Logit scale (``logit = score * scale / 2**scale_shift``).
    i_query : ``In(stream.Signature(ArrayLayout(signed(q_bits), d)))``
        The query; one beat starts a frame.
    i_key_msb : ``In(stream.Signature(key_msb_layout(d, msb_bits)))``
        The keys' MSB planes.
    o_decision : ``Out(stream.Signature(StructLayout({"need_lsb": 1})))``
        Whether the LSB planes are needed.
    i_key_lsb : ``In(stream.Signature(key_lsb_layout(d, lsb_bits)))``
        The keys' LSB planes, only when asked for.
    o_prob : ``Out(stream.Signature(prob_layout(prob_bits)))``
        One probability per key.
    """

    #: The range of each constructor parameter, checked by the constructor before
    #: :class:`~prunesim.golden.pq_params.PQParams` checks the joint limits, and stated by
    #: ``prunesim verilog pq --help`` (through :mod:`prunesim.rtl.blocks`).
    LIMITS: Mapping[str, Limit] = MappingProxyType(
        {
            "d": Limit(1, 256, "the largest head dimension of common transformers"),
            "q_bits": Limit(2, 32, _OPERANDS),
            "msb_bits": Limit(2, 32, _OPERANDS),
            "lsb_bits": Limit(1, 32, _OPERANDS),
            "prob_bits": Limit(2, 16, "and prob_bits + ceil(log2(max_n)) <= 27"),
            "max_n": Limit(
                1, 65536, "2 Mbit of score buffer; and prob_bits + ceil(log2(max_n)) <= 27"
            ),
            "scale_shift": Limit(0, 32, "the range of the fixed-point softmax"),
        }
    )

    def __init__(
        self,
        d: int = 64,
        q_bits: int = 12,
        msb_bits: int = 8,
        lsb_bits: int = 4,
        prob_bits: int = 12,
        max_n: int = 1024,
        scale_shift: int = 32,
    ) -> None:
        values = dict(
            d=d,
            q_bits=q_bits,
            msb_bits=msb_bits,
            lsb_bits=lsb_bits,
            prob_bits=prob_bits,
            max_n=max_n,
            scale_shift=scale_shift,
        )
        for name, value in values.items():
            self.LIMITS[name].check(name, value)
        self.params = PQParams(**values)
        self.params.validate()
        super().__init__(
            {
                "threshold": In(unsigned(prob_bits)),
                "scale": In(unsigned(16)),
                "i_query": In(stream.Signature(data.ArrayLayout(signed(q_bits), d))),
                "i_key_msb": In(stream.Signature(key_msb_layout(d, msb_bits))),
                "o_decision": Out(stream.Signature(data.StructLayout({"need_lsb": 1}))),
                "i_key_lsb": In(stream.Signature(key_lsb_layout(d, lsb_bits))),
                "o_prob": Out(stream.Signature(prob_layout(prob_bits))),
            }
        )

    def frame_cycles(self, n: int, need_lsb: bool) -> int:
        """Cycles from the query beat accepted to the frame's last probability transferred.

        Holds when every key beat is valid as soon as the block is ready for it (the LSB beats
        from the cycle the decision appears) and the output is always ready (the next query is
        then accepted one cycle after the last probability, so frames repeat every
        ``frame_cycles + 1`` cycles):
        ``3 n + 42 + R`` without the LSB pass, ``5 n + 63 + R`` with it, where
        ``R = prob_bits + G + 1`` cycles of the reciprocal (``G = LOGN + 4`` guard bits;
        ``R = 27`` for the default parameters: ``3 n + 69`` and ``5 n + 90``).
        """
        divide = self.params.prob_bits + self.params.G + 1
        return (5 * n + 63 + divide) if need_lsb else (3 * n + 42 + divide)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        s = _State(p)
        m.submodules.scores = scores = Memory(shape=signed(p.SB), depth=p.max_n, init=[])
        sc_w, sc_r = scores.write_port(), scores.read_port()
        key_read, s_max, score_busy = self._add_scores(m, s, sc_w, sc_r)
        exp, exp_busy = self._add_exponentials(m, s, sc_r, key_read, s_max)
        reciprocal = self._add_sum_and_reciprocal(m, s, exp)
        self._drive_probabilities(m, s, exp, reciprocal)
        self._drive_decision(m, s)
        self._add_control(m, s, reciprocal, score_busy, exp_busy)
        return m

    def _add_scores(
        self, m: Module, s: _State, sc_w: WritePort, sc_r: ReadPort
    ) -> tuple[Signal, Signal, Value]:
        """Scores: the key plane registered, DotProduct, the new score registered, then the
        score buffer write and the running maximum.

        On the LSB pass the MSB score of the same key is read (and registered) while its LSB part
        is summed. Returns the score buffer's read address on the LSB pass, the frame's maximum
        score, and "a key is still being scored".
        """
        p = self.params
        d, n_max = p.d, p.max_n
        score_shape = signed(p.SB)
        operand_shape = signed(max(p.msb_bits, p.lsb_bits + 1))
        m.submodules.dot = dot = DotProduct(d, signed(p.q_bits), operand_shape, DOT_TREE_STAGES)
        # The key beat's plane, registered: the MSB/LSB choice then drives no multiplier.
        key = Signal(data.ArrayLayout(operand_shape, d))
        key_valid = Signal()
        m.d.sync += key_valid.eq(s.key_in)
        with m.If(s.key_in):
            m.d.sync += [
                key[j].eq(
                    Mux(s.full_pass, self.i_key_lsb.payload.data[j], self.i_key_msb.payload.data[j])
                )
                for j in range(d)
            ]
        m.d.comb += [dot.i_valid.eq(key_valid), dot.i_a.eq(s.query), dot.i_b.eq(key)]
        latency = 1 + dot.latency  # from a key beat to its sum
        # index[k]: the index of the key accepted k cycles ago.
        index = [Signal(range(n_max), name=f"key_index_d{k}") for k in range(latency + 2)]
        m.d.comb += index[0].eq(s.key_index)
        m.d.sync += [index[k].eq(index[k - 1]) for k in range(1, len(index))]
        with m.If(s.key_in):
            m.d.sync += s.key_index.eq(s.key_index + 1)
        # The MSB score read two cycles before the sum comes out, registered.
        old_score = Signal(score_shape)
        m.d.sync += old_score.eq(sc_r.data)
        new_score = Signal(score_shape)
        m.d.sync += new_score.eq(Mux(s.full_pass, old_score + dot.o_sum, dot.o_sum << p.lsb_bits))
        new_valid = Signal()
        m.d.sync += new_valid.eq(dot.o_valid)
        new_index = index[latency + 1]
        s_max = Signal(score_shape)
        with m.If(new_valid):
            m.d.sync += s_max.eq(Mux((new_index == 0) | (new_score > s_max), new_score, s_max))
        m.d.comb += [sc_w.addr.eq(new_index), sc_w.data.eq(new_score), sc_w.en.eq(new_valid)]
        return index[latency - 2], s_max, s.key_in | key_valid | dot.busy | new_valid

    def _add_exponentials(
        self, m: Module, s: _State, sc_r: ReadPort, key_read: Signal, s_max: Signal
    ) -> tuple[ExpUnit, Value]:
        """Exponentials over the score buffer: read, register, ``s_max - s``, times ``scale``
        (a 2-stage :class:`Multiplier`), ExpUnit; every stage advances with ``x_advance``.

        Returns the ExpUnit and "an exponential is still in the pipeline".
        """
        p = self.params
        en = s.x_advance
        valid, last = [s.x_issue], [s.x_last_issue]
        for k in range(1, _READ_STAGES + _SCALE_STAGES + 1):
            valid.append(Signal(name=f"x{k}_valid"))
            last.append(Signal(name=f"x{k}_last"))
            with m.If(en):
                m.d.sync += [valid[k].eq(valid[k - 1]), last[k].eq(last[k - 1])]
        # x1: the read port's data; x2: registered; x3: the distance to the maximum.
        score = Signal(signed(p.SB))
        distance = Signal(unsigned(p.SB))
        with m.If(en):
            m.d.sync += [score.eq(sc_r.data), distance.eq((s_max - score).as_unsigned())]
        m.submodules.scale_mul = scale_mul = Multiplier(p.SB, 16, _SCALE_STAGES)
        m.d.comb += [scale_mul.en.eq(en), scale_mul.i_a.eq(distance), scale_mul.i_b.eq(s.scale)]
        m.submodules.exp = exp = ExpUnit(p, p.SB + 16)
        m.d.comb += [
            exp.en.eq(en),
            exp.i_valid.eq(valid[-1]),
            exp.i_last.eq(last[-1]),
            exp.i_v.eq(scale_mul.o_p),
        ]
        exp_busy = Cat(*valid[1:]).any() | exp.busy
        m.d.comb += [
            sc_r.addr.eq(Mux(s.x_issue, s.x_index, key_read)),
            sc_r.en.eq(en),
        ]
        with m.If(en & s.x_issue):
            m.d.sync += s.x_index.eq(s.x_index + 1)
        return exp, exp_busy

    def _add_sum_and_reciprocal(self, m: Module, s: _State, exp: ExpUnit) -> Reciprocal:
        """Sum the exponentials while ``summing``; add the reciprocal of the sum."""
        p = self.params
        with m.If(s.x_advance & exp.o_valid & s.summing):
            m.d.sync += s.exp_sum.eq(s.exp_sum + exp.o_exp)
        m.submodules.reciprocal = reciprocal = Reciprocal(
            numerator_log2=p.EB + p.prob_bits + p.G,
            divisor_bits=len(s.exp_sum),
            divisor_min_log2=p.EB,
        )
        m.d.comb += reciprocal.divisor.eq(s.exp_sum)
        m.submodules.decide_mul = decide_mul = Multiplier(
            p.prob_bits, len(s.exp_sum), _DECIDE_STAGES
        )
        m.d.comb += [
            decide_mul.en.eq(1),
            decide_mul.i_a.eq(s.threshold),
            decide_mul.i_b.eq(s.exp_sum),
            s.decide_product.eq(decide_mul.o_p),
        ]
        return reciprocal

    def _drive_probabilities(
        self, m: Module, s: _State, exp: ExpUnit, reciprocal: Reciprocal
    ) -> None:
        """While not ``summing``: each exponential times the reciprocal, rounded and saturated,
        onto :attr:`o_prob`; the exponential pass moves when the output can take a beat."""
        p = self.params
        en = s.x_advance
        shift = p.EB + p.G
        prob_max = (1 << p.prob_bits) - 1
        half = 1 << (shift - 1)
        m.submodules.prob_mul = prob_mul = Multiplier(
            len(exp.o_exp), len(reciprocal.quotient), _PROB_STAGES
        )
        m.d.comb += [
            prob_mul.en.eq(en),
            prob_mul.i_a.eq(exp.o_exp),
            prob_mul.i_b.eq(reciprocal.quotient),
        ]
        valid, last = exp.o_valid & ~s.summing, exp.o_last
        for k in range(_PROB_STAGES):
            valid_k, last_k = Signal(name=f"p{k}_valid"), Signal(name=f"p{k}_last")
            with m.If(en):
                m.d.sync += [valid_k.eq(valid), last_k.eq(last)]
            valid, last = valid_k, last_k
        product = prob_mul.o_p
        # rounded > prob_max exactly when product + half >= (prob_max + 1) << shift.
        saturated = product >= ((prob_max + 1) << shift) - half
        rounded = (product + half) >> shift
        with m.If(self.o_prob.valid & self.o_prob.ready):
            m.d.sync += self.o_prob.valid.eq(0)
        with m.If(en & ~s.summing):
            m.d.sync += [
                self.o_prob.valid.eq(valid),
                self.o_prob.payload.prob.eq(Mux(saturated, prob_max, rounded)),
                self.o_prob.payload.last.eq(last),
            ]
        m.d.comb += s.x_advance.eq(s.summing | ~self.o_prob.valid | self.o_prob.ready)

    def _drive_decision(self, m: Module, s: _State) -> None:
        """:attr:`o_decision` holds ``need_lsb`` while a decision is pending."""
        m.d.comb += [
            self.o_decision.valid.eq(s.decision_pending),
            self.o_decision.payload.need_lsb.eq(s.need_lsb),
        ]
        with m.If(self.o_decision.valid & self.o_decision.ready):
            m.d.sync += s.decision_pending.eq(0)

    def _add_control(
        self, m: Module, s: _State, reciprocal: Reciprocal, score_busy: Value, exp_busy: Value
    ) -> None:
        """The control FSM: query, MSB keys, sum, decision, [LSB keys, sum,] reciprocal, probs."""
        with m.FSM(name="pq_fsm"):
            with m.State("QUERY"):
                self._accept_query(m, s)
            with m.State("MSB_KEYS"):
                m.d.comb += [self.i_key_msb.ready.eq(1), s.key_in.eq(self.i_key_msb.valid)]
                with m.If(self.i_key_msb.valid & self.i_key_msb.payload.last):
                    m.d.sync += s.n_keys.eq(s.key_index + 1)
                    m.next = "SCORES_DRAIN"
            with m.State("SCORES_DRAIN"):
                with m.If(~score_busy):
                    m.d.sync += [s.x_index.eq(0), s.summing.eq(1), s.exp_sum.eq(0)]
                    m.next = "SUM"
            with m.State("SUM"):
                m.d.comb += [s.x_issue.eq(1), s.x_last_issue.eq(s.x_index == s.n_keys - 1)]
                with m.If(s.x_last_issue):
                    m.next = "SUM_DRAIN"
            with m.State("SUM_DRAIN"):
                with m.If(~exp_busy):
                    with m.If(s.full_pass):
                        m.d.comb += reciprocal.start.eq(1)
                        m.next = "RECIPROCAL"
                    with m.Else():
                        m.d.sync += s.decide_wait.eq(_DECIDE_STAGES - 1)
                        m.next = "DECIDE"
            with m.State("DECIDE"):
                self._decide(m, s, reciprocal)
            with m.State("LSB_KEYS"):
                m.d.comb += [self.i_key_lsb.ready.eq(1), s.key_in.eq(self.i_key_lsb.valid)]
                with m.If(self.i_key_lsb.valid & self.i_key_lsb.payload.last):
                    m.next = "SCORES_DRAIN"
            with m.State("RECIPROCAL"):
                with m.If(~reciprocal.busy):
                    m.d.sync += [s.x_index.eq(0), s.summing.eq(0)]
                    m.next = "PROBS"
            with m.State("PROBS"):
                m.d.comb += [s.x_issue.eq(1), s.x_last_issue.eq(s.x_index == s.n_keys - 1)]
                with m.If(s.x_advance & s.x_last_issue):
                    m.next = "PROBS_DRAIN"
            with m.State("PROBS_DRAIN"):
                with m.If(self.o_prob.valid & self.o_prob.ready & self.o_prob.payload.last):
                    m.next = "QUERY"

    def _accept_query(self, m: Module, s: _State) -> None:
        """QUERY: once the previous decision is taken, sample a query and its parameters."""
        m.d.comb += self.i_query.ready.eq(~s.decision_pending)
        with m.If(self.i_query.valid & self.i_query.ready):
            m.d.sync += [
                s.query.eq(self.i_query.payload),
                s.threshold.eq(self.threshold),
                s.scale.eq(self.scale),
                s.full_pass.eq(0),
                s.key_index.eq(0),
            ]
            m.next = "MSB_KEYS"

    def _decide(self, m: Module, s: _State, reciprocal: Reciprocal) -> None:
        """DECIDE, after the MSB pass's sum: wait for ``threshold * S`` (a :class:`Multiplier`
        of ``_DECIDE_STAGES`` stages, always advancing), post ``need_lsb``; fetch the LSB planes
        or go on to the reciprocal."""
        p = self.params
        lsb_needed = s.decide_product > (1 << (p.prob_bits + p.EB))
        with m.If(s.decide_wait != 0):
            m.d.sync += s.decide_wait.eq(s.decide_wait - 1)
        with m.Elif(lsb_needed):
            m.d.sync += [s.need_lsb.eq(1), s.decision_pending.eq(1)]
            m.d.sync += [s.full_pass.eq(1), s.key_index.eq(0)]
            m.next = "LSB_KEYS"
        with m.Else():
            m.d.sync += [s.need_lsb.eq(0), s.decision_pending.eq(1)]
            m.d.comb += reciprocal.start.eq(1)
            m.next = "RECIPROCAL"
