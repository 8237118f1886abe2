"""Properties of the simulator over its registries (see below)."""

from __future__ import annotations

from prunesim.sim.methods import METHODS
from prunesim.sim.methods.options import parse


def test_none_text_overrides_an_optional_text_option_with_none() -> None:
    """``--set net=none`` gives None for a ``str | None`` option, as :func:`parse` and the
    options module say (it was kept as the text ``"none"``: "unknown OFA sub-net 'none'")."""
    assert parse("net", "none", str | None) is None
    for text in ("none", "None", "auto", ""):
        assert METHODS["ofa"].with_options({"net": text}) == METHODS["ofa"].options, text
    assert METHODS["ofa"].with_options({"spec": "none"}).spec is None
    # A text option that is not optional keeps its text.
    assert METHODS["sara"].with_options({"lora_targets": "to_q"}).lora_targets == ("to_q",)
