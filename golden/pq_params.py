"""The progressive-quantization datapath's parameters and the constants derived from them.

Pure Python (no torch): the RTL (:mod:`prunesim.rtl.pq`) and the golden model
(:mod:`prunesim.golden.pq`, which documents the arithmetic in full) share these, so that both are
sized by one definition and generating Verilog imports no PyTorch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Context, Decimal
from functools import lru_cache

__all__ = ["C", "CB", "SCALE_MAX", "PQParams", "check_int", "clog2", "exp_table"]

#: Fraction bits of :data:`C`.
CB = 24
#: ``round(log2(e) * 2^CB)``: multiplies the natural-log exponent into a base-2 one.
C = 24204406

#: Largest value of the unsigned 16-bit ``scale`` input.
SCALE_MAX = (1 << 16) - 1


def clog2(x: int) -> int:
    """``ceil(log2(x))`` for ``x >= 1``."""
    return (x - 1).bit_length()


def check_int(name: str, value, low: int, high: int | None = None) -> None:
    """TypeError unless ``value`` is an int (not a bool); ValueError naming ``name`` unless it is
    ``>= low`` (and ``<= high`` when given)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if high is None:
        if value < low:
            raise ValueError(f"{name} must be an integer >= {low}, not {value!r}")
    elif not low <= value <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high}, not {value!r}")


@lru_cache(maxsize=None)
def _exp_table(eb: int) -> tuple[int, ...]:
    ctx = Context(prec=60)
    one = Decimal(2) ** eb
    table = []
    for j in range(65):
        x = ctx.multiply(one, ctx.power(Decimal(2), ctx.divide(Decimal(-j), Decimal(64))))
        t = int(ctx.add(x, Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))
        # Exact check of t = floor(x + 1/2), i.e. t - 1/2 <= 2^(eb - j/64) < t + 1/2: raise both
        # sides (times 2) to the 64th power, all in integers.
        power = 64 * eb - j + 64
        if not (2 * t - 1) ** 64 <= 1 << power < (2 * t + 1) ** 64:  # pragma: no cover
            raise ArithmeticError(f"exp table entry {j} for EB = {eb} is not exact")
        table.append(t)
    return tuple(table)


def exp_table(eb: int) -> list[int]:
    """The 65 entries ``T[j] = round(2^eb 2^(-j/64))``, ``j = 0..64``, rounded half up, exactly.

    ``T[0] = 2^eb`` and ``T[64] = 2^(eb-1)``. Cached; each call returns a new list. The RTL's ROM
    holds these values (through :meth:`PQParams.exp_table`).
    """
    check_int("eb", eb, 1, 62)
    return list(_exp_table(eb))


@dataclass(frozen=True)
class PQParams:
    """Parameters of the progressive-quantization block and the constants derived from them.

    ``d`` key/query length; ``q_bits``, ``msb_bits`` signed widths of the query and of the MSB
    plane; ``lsb_bits`` unsigned width of the LSB plane; ``prob_bits`` width of the output
    probabilities and the threshold; ``max_n`` most keys per frame; ``scale_shift`` the logits
    are ``s * scale / 2^scale_shift``. Checked on construction (:meth:`validate`).
    """

    d: int = 64
    q_bits: int = 12
    msb_bits: int = 8
    lsb_bits: int = 4
    prob_bits: int = 12
    max_n: int = 1024
    scale_shift: int = 32

    #: Fraction bits of :attr:`C` (class constant).
    CB = CB
    #: ``round(log2(e) * 2^CB)`` (class constant).
    C = C

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the parameter when a value or a joint limit is out of range
        (``TypeError`` when a parameter is not an integer)."""
        check_int("d", self.d, 1)
        check_int("q_bits", self.q_bits, 2)
        check_int("msb_bits", self.msb_bits, 2)
        check_int("lsb_bits", self.lsb_bits, 1)
        check_int("prob_bits", self.prob_bits, 2, 16)
        check_int("max_n", self.max_n, 1)
        check_int("scale_shift", self.scale_shift, 0, 32)
        width = self.q_bits + self.msb_bits + self.lsb_bits + clog2(self.d)
        if width > 45:
            raise ValueError(
                f"q_bits + msb_bits + lsb_bits + ceil(log2(d)) must be <= 45 (score width "
                f"SB + 16 <= 62 keeps scores times the 16-bit scale in 64-bit integers), not "
                f"{width} (q_bits={self.q_bits}, msb_bits={self.msb_bits}, "
                f"lsb_bits={self.lsb_bits}, d={self.d})"
            )
        if self.prob_bits + self.LOGN > 27:
            raise ValueError(
                f"prob_bits + log2(max_n) must be <= 27 (2*prob_bits + 2*LOGN + 8 <= 62 keeps the "
                f"reciprocal in 64-bit integers), not {self.prob_bits + self.LOGN} "
                f"(prob_bits={self.prob_bits}, max_n={self.max_n}, LOGN={self.LOGN})"
            )

    @property
    def LOGN(self) -> int:
        """``max(1, ceil(log2(max_n)))``."""
        return max(1, clog2(self.max_n))

    @property
    def SB(self) -> int:
        """Signed score width: ``q_bits + msb_bits + lsb_bits + ceil(log2(d)) + 1``."""
        return self.q_bits + self.msb_bits + self.lsb_bits + clog2(self.d) + 1

    @property
    def EB(self) -> int:
        """Fraction bits of the exp values (``2^EB`` is 1.0): ``prob_bits + LOGN + 4``."""
        return self.prob_bits + self.LOGN + 4

    @property
    def F(self) -> int:
        """Fraction bits of the base-2 exponent ``u``: ``prob_bits + 4``."""
        return self.prob_bits + 4

    @property
    def SH(self) -> int:
        """Right shift of ``v * C`` into ``u``: ``scale_shift + CB - F`` (>= 4)."""
        return self.scale_shift + CB - self.F

    @property
    def G(self) -> int:
        """Guard bits of the reciprocal: ``LOGN + 4``."""
        return self.LOGN + 4

    @property
    def V_SAT(self) -> int:
        """``ceil(((EB + 1) << (F + SH)) / C)``: from here on ``e = 0``."""
        return -(-((self.EB + 1) << (self.F + self.SH)) // C)

    def exp_table(self) -> list[int]:
        """The 65 table entries for this :attr:`EB` (see :func:`exp_table`)."""
        return exp_table(self.EB)

    def to_dict(self) -> dict:
        """The parameters and the derived constants."""
        out = asdict(self)
        for name in ("LOGN", "SB", "EB", "F", "SH", "G", "V_SAT", "CB", "C"):
            out[name] = getattr(self, name)
        return out
