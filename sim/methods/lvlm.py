"""What the token-pruning methods of multimodal LLMs (CATP, VFlowOpt, AIM) share.

An LVLM method decides how many *visual* tokens the LLM of an
:class:`~prunesim.models.lvlm.LVLMConfig` sees at each layer; text tokens are never pruned and
the vision encoder always runs in full. The method's answer is a :class:`VisualSchedule`: the
visual tokens entering the LLM (after any pruning or merging before it), the visual tokens alive
at every LLM layer's attention, the text tokens, and the extra work the method adds (merging,
scoring) as named MAC counts. Like every method, a schedule never sees hardware: the simulator
turns it into a workload.

Conventions shared by the method modules:

* ``images``: images, crops or video frames in the input, each giving the LLM
  ``model.visual_tokens_per_image`` tokens when nothing is pruned; ``text_tokens``: every
  non-visual token of the prompt (system prompt, questions, answers of in-context examples).
  Both default to the model's ``default_images`` and ``default_text_tokens``.
* ``visual_per_layer[l]``: visual tokens in the sequence that layer ``l``'s attention (and its
  FFN) processes. A method that prunes "after layer ``l``" lowers ``visual_per_layer[l + 1]``.
* Counts are integers; each method module states how it rounds.
* ``overhead_macs``: multiply-accumulates only (one multiply and one add); softmaxes, sorts,
  top-k, norms and element-wise averages are not MACs, and each module says what it left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prunesim.models.lvlm import LVLMConfig

__all__ = [
    "VisualSchedule",
    "check_count",
    "check_fraction",
    "check_input",
    "check_layer",
    "check_supported",
    "dense_schedule",
    "floor_count",
    "mean_retention",
]

#: Slack for products such as ``576 x (1 - 2/3)`` that should be whole but land just below.
_EPS = 1e-9


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as a token count is a bug, not a 1.
    return isinstance(value, int) and not isinstance(value, bool)


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """Return ``value`` if it is an integer >= ``minimum``, else raise ValueError naming it."""
    if not _is_int(value) or value < minimum:
        what = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, not {value!r}")
    return value


def check_fraction(
    name: str, value: object, *, allow_zero: bool = False, allow_one: bool = True
) -> float:
    """Return ``value`` as a float if it lies in (0, 1], else raise ValueError naming ``name``
    and the interval; ``allow_zero`` closes the interval at 0, ``allow_one=False`` opens it at 1.
    """
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not math.isnan(value)
        and (value >= 0 if allow_zero else value > 0)
        and (value <= 1 if allow_one else value < 1)
    )
    if not ok:
        interval = ("[0" if allow_zero else "(0") + (", 1]" if allow_one else ", 1)")
        raise ValueError(f"{name} must be in {interval}, not {value!r}")
    return float(value)


def check_layer(name: str, value: object, model: LVLMConfig, *, last: int | None = None) -> int:
    """Return ``value`` if it is a layer index of ``model``'s LLM (at most ``last``).

    ``last`` defaults to the LLM's last layer; ValueError names the option, the value and the
    valid range.
    """
    top = model.llm.layers - 1 if last is None else last
    if not _is_int(value) or not 0 <= value <= top:
        raise ValueError(
            f"{name} must be a layer in 0..{top} for {model.name} "
            f"({model.llm.layers} LLM layers), not {value!r}"
        )
    return value


def check_supported(method: str, model: object, supported: Sequence[str]) -> LVLMConfig:
    """Return ``model`` if it is an LVLM named in ``supported``.

    Raises ValueError ``catp supports llava-next-7b, llava-next-13b, not 'gpt2-small'`` for any
    other model, LVLM or not.
    """
    name = getattr(model, "name", None)
    if not isinstance(model, LVLMConfig) or name not in supported:
        shown = name if isinstance(name, str) else type(model).__name__
        raise ValueError(f"{method} supports {', '.join(supported)}, not {shown!r}")
    return model


def check_input(
    model: LVLMConfig,
    images: int | None,
    text_tokens: int | None,
    tokens_per_image: int | None = None,
) -> tuple[int, int, int]:
    """The input size: ``images`` (>= 1), ``text_tokens`` (>= 0) and ``tokens_per_image`` (>= 1),
    each defaulting to the model's (``default_images``, ``default_text_tokens``,
    ``visual_tokens_per_image``)."""
    images = model.default_images if images is None else images
    text_tokens = model.default_text_tokens if text_tokens is None else text_tokens
    per_image = model.visual_tokens_per_image if tokens_per_image is None else tokens_per_image
    return (
        check_count("images", images, minimum=1),
        check_count("text_tokens", text_tokens),
        check_count("tokens_per_image", per_image, minimum=1),
    )


def floor_count(total: int, fraction: float) -> int:
    """``floor(total x fraction)``, with a 1e-9 slack so that whole products stay whole."""
    return max(0, math.floor(total * fraction + _EPS))


@dataclass(frozen=True)
class VisualSchedule:
    """What an LVLM token-pruning method leaves, per image and per LLM layer.

    * ``images``: images (crops, frames) in the input.
    * ``encoder_tokens``: tokens the vision encoder runs per image; it always runs in full.
    * ``visual_in``: visual tokens entering the LLM, all images together, after any pruning or
      merging before the LLM.
    * ``visual_per_layer``: visual tokens alive at each LLM layer (one entry per layer), never
      increasing, at most ``visual_in``.
    * ``text_tokens``: never pruned, so every layer sees all of them.
    * ``overhead_macs``: ``(name, MACs)`` pairs for the extra work the method adds (merging,
      scoring), all images together.
    * ``notes``: the readings and assumptions behind the numbers, for reports.
    * ``tokens_per_image``: visual tokens one image gives the LLM without pruning (None: not
      stated); ``images x tokens_per_image`` (:attr:`dense_visual`) is the dense baseline the
      schedule must be compared with, and ``visual_in`` never exceeds it.

    Raises ValueError, naming the field, for negative counts, an empty or growing
    ``visual_per_layer``, a layer count above ``visual_in``, or a malformed overhead entry.
    """

    images: int
    encoder_tokens: int
    visual_in: int
    visual_per_layer: tuple[int, ...]
    text_tokens: int
    overhead_macs: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()
    tokens_per_image: int | None = None

    def __post_init__(self) -> None:
        for name in ("images", "encoder_tokens", "visual_in", "text_tokens"):
            check_count(f"VisualSchedule {name}", getattr(self, name))
        if self.tokens_per_image is not None:
            check_count("VisualSchedule tokens_per_image", self.tokens_per_image)
            if self.visual_in > self.dense_visual:
                raise ValueError(
                    f"VisualSchedule visual_in ({self.visual_in}) exceeds images x "
                    f"tokens_per_image ({self.dense_visual}): a method never adds tokens"
                )
        layers = self.visual_per_layer
        if not isinstance(layers, tuple) or not layers:
            raise ValueError(
                f"VisualSchedule visual_per_layer must be a non-empty tuple, not {layers!r}"
            )
        previous = self.visual_in
        for index, count in enumerate(layers):
            check_count(f"VisualSchedule visual_per_layer[{index}]", count)
            if count > previous:
                where = "visual_in" if index == 0 else f"visual_per_layer[{index - 1}]"
                raise ValueError(
                    f"VisualSchedule visual_per_layer[{index}] ({count}) exceeds {where} "
                    f"({previous}): pruned tokens never come back"
                )
            previous = count
        if not isinstance(self.overhead_macs, tuple):
            raise ValueError(
                f"VisualSchedule overhead_macs must be a tuple of (name, MACs), "
                f"not {self.overhead_macs!r}"
            )
        for entry in self.overhead_macs:
            if (
                not isinstance(entry, tuple)
                or len(entry) != 2
                or not isinstance(entry[0], str)
                or not entry[0]
            ):
                raise ValueError(
                    f"VisualSchedule overhead_macs entries must be (name, MACs), not {entry!r}"
                )
            check_count(f"VisualSchedule overhead_macs[{entry[0]!r}]", entry[1])
        if not isinstance(self.notes, tuple) or not all(isinstance(n, str) for n in self.notes):
            raise ValueError(f"VisualSchedule notes must be a tuple of strings, not {self.notes!r}")

    @property
    def dense_visual(self) -> int:
        """Visual tokens without pruning, ``images x tokens_per_image`` (ValueError if unknown)."""
        if self.tokens_per_image is None:
            raise ValueError("this VisualSchedule does not state tokens_per_image")
        return self.images * self.tokens_per_image

    @property
    def layers(self) -> int:
        """LLM layers the schedule covers."""
        return len(self.visual_per_layer)

    def tokens_per_layer(self) -> tuple[int, ...]:
        """Tokens (text + visual) alive at each LLM layer."""
        return tuple(self.text_tokens + v for v in self.visual_per_layer)

    def total_overhead_macs(self) -> int:
        """The sum of ``overhead_macs``."""
        return sum(macs for _, macs in self.overhead_macs)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (JSON-ready): the fields, ``tokens_per_layer`` and overhead by name."""
        return {
            "images": self.images,
            "encoder_tokens": self.encoder_tokens,
            "visual_in": self.visual_in,
            "visual_per_layer": list(self.visual_per_layer),
            "text_tokens": self.text_tokens,
            "tokens_per_layer": list(self.tokens_per_layer()),
            "overhead_macs": dict(self.overhead_macs),
            "notes": list(self.notes),
            "tokens_per_image": self.tokens_per_image,
        }


def dense_schedule(
    model: LVLMConfig,
    images: int | None = None,
    text_tokens: int | None = None,
    tokens_per_image: int | None = None,
) -> VisualSchedule:
    """No pruning: ``images x tokens_per_image`` visual tokens at every layer.

    ``images``, ``text_tokens`` and ``tokens_per_image`` default to the model's. Raises
    ValueError for a model that is not an LVLM or a bad input size.
    """
    if not isinstance(model, LVLMConfig):
        shown = getattr(model, "name", type(model).__name__)
        raise ValueError(f"dense_schedule needs an LVLM, not {shown!r}")
    images, text_tokens, per_image = check_input(model, images, text_tokens, tokens_per_image)
    visual = images * per_image
    return VisualSchedule(
        images=images,
        encoder_tokens=model.vision.tokens,
        visual_in=visual,
        visual_per_layer=(visual,) * model.llm.layers,
        text_tokens=text_tokens,
        notes=("dense: no visual token pruned",),
        tokens_per_image=per_image,
    )


def mean_retention(schedule: VisualSchedule, dense_visual: int | None = None) -> float:
    """Mean over the LLM layers of ``visual_per_layer[l] / dense_visual``.

    ``dense_visual`` defaults to the schedule's own (``images x tokens_per_image``); this is how
    VFlowOpt states "keep 10%".
    """
    dense = schedule.dense_visual if dense_visual is None else dense_visual
    check_count("dense_visual", dense, minimum=1)
    return sum(schedule.visual_per_layer) / (schedule.layers * dense)
