"""Typed method options as the methods use them: text from ``--set`` parses into each field's
type, bad values give one-line errors naming the option, Python values of the wrong type are
refused, and what ``prunesim list methods`` prints reads back as the same options."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from prunesim.sim.methods import (
    METHODS,
    aim,
    catp,
    fedtiny,
    lapp,
    ofa,
    sara,
    spatten,
    supertickets,
    vflowopt,
)
from prunesim.sim.methods.network import OPTIMIZER_STATE_BYTES
from prunesim.sim.methods.options import TypedOptions, describe, format_value

OPTION_TYPES = (
    spatten.SpAttenOptions,
    catp.CATPOptions,
    vflowopt.VFlowOptOptions,
    aim.AIMOptions,
    lapp.LAPPOptions,
    fedtiny.FedTinyOptions,
    supertickets.SuperTicketsOptions,
    sara.SaRAOptions,
    ofa.OFAOptions,
)


def _choices(options_type: type, name: str) -> tuple:
    hint = typing.get_type_hints(options_type)[name]
    assert typing.get_origin(hint) is typing.Literal, hint
    return typing.get_args(hint)


def _error(method: str, **overrides: object) -> str:
    with pytest.raises(ValueError) as info:
        METHODS[method].with_options(overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# The options classes


@pytest.mark.parametrize("options_type", OPTION_TYPES, ids=lambda t: t.__name__)
def test_options_are_typed_frozen_dataclasses(options_type: type) -> None:
    assert issubclass(options_type, TypedOptions)
    assert dataclasses.is_dataclass(options_type)
    options = options_type()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.__setattr__(dataclasses.fields(options)[0].name, None)


@pytest.mark.parametrize(
    ("options_type", "name", "choices"),
    [
        (lapp.LAPPOptions, "prune", lapp.PRUNE_CHOICES),
        (fedtiny.FedTinyOptions, "distribution", fedtiny.DISTRIBUTIONS),
        (fedtiny.FedTinyOptions, "budget", fedtiny.BUDGETS),
        (fedtiny.FedTinyOptions, "index_format", fedtiny.INDEX_FORMATS),
        (fedtiny.FedTinyOptions, "optimizer", tuple(OPTIMIZER_STATE_BYTES)),
        (supertickets.SuperTicketsOptions, "sparsity_scope", supertickets.SCOPES),
        (supertickets.SuperTicketsOptions, "weight_init", supertickets.WEIGHT_INITS),
        (sara.SaRAOptions, "tuner", sara.TUNERS),
        (sara.SaRAOptions, "mixed_precision", tuple(sara.MIXED_PRECISION)),
        (sara.SaRAOptions, "attention", ("sdpa", "eager")),
    ],
)
def test_literal_choices_agree_with_the_module_constants(options_type, name, choices) -> None:
    assert _choices(options_type, name) == tuple(choices)


@pytest.mark.parametrize("method", ["spatten", "catp", "vflowopt", "aim", "lapp", "fedtiny",
                                    "supertickets", "sara", "ofa"])  # fmt: skip
def test_listed_options_read_back_as_the_defaults(method: str) -> None:
    """``name=value`` as ``prunesim list methods`` prints it is a valid ``--set``."""
    defaults = METHODS[method].options
    texts = {
        field.name: format_value(getattr(defaults, field.name))
        for field in dataclasses.fields(defaults)
        if field.name != "notes" and getattr(defaults, field.name) is not None
    }
    assert METHODS[method].with_options(texts) == defaults


def test_lists_print_comma_joined_and_empty_prints_nothing() -> None:
    assert "lora_targets=to_q,to_k,to_v,to_out.0 " in describe(sara.SaRAOptions())
    assert " dense_layers= " in describe(fedtiny.FedTinyOptions())
    assert " drop_kernels= " in describe(supertickets.SuperTicketsOptions())
    hidden = supertickets.SuperTicketsOptions(hidden="stage2.b0.block1.k5=12,head.down2.k7=0")
    assert " hidden=stage2.b0.block1.k5=12,head.down2.k7=0 " in describe(hidden)


# ---------------------------------------------------------------------------------------------
# Text in


@pytest.mark.parametrize(
    ("method", "name", "text", "value"),
    [
        ("spatten", "token_keep", "0.4", 0.4),
        ("spatten", "token_ramp_end", "none", None),
        ("spatten", "v_pruning", "on", True),
        ("catp", "ratio", "1", 1.0),
        ("vflowopt", "r2", "0.5", 0.5),
        ("aim", "step", "0.25", 0.25),
        ("lapp", "prune", "internal", "internal"),
        ("lapp", "flops_reduction", "0", 0.0),
        ("lapp", "keep", "conv1=0.5, layer2.0.conv1=0.4", (("conv1", 0.5), ("layer2.0.conv1", 0.4))),  # noqa: E501
        ("lapp", "keep", "0.5, 0.4", (0.5, 0.4)),
        ("fedtiny", "dense_layers", "first, last", ("first", "last")),
        ("fedtiny", "dense_layers", "", ()),
        ("fedtiny", "distribution", "uniform", "uniform"),
        ("fedtiny", "density", "1", 1.0),
        ("supertickets", "drop_kernels", "5,7", (5, 7)),
        ("supertickets", "drop_kernels", "", ()),
        ("supertickets", "hidden", "stage2.b0.block1.k5=12, stage2.b0.block1.k3=0",
         (("stage2.b0.block1.k5", 12), ("stage2.b0.block1.k3", 0))),
        ("supertickets", "hidden", "none", None),
        ("supertickets", "sparsity", "0.5", 0.5),
        ("supertickets", "weight_init", "kaiming-fan-in", "kaiming-fan-in"),
        ("sara", "lora_targets", "to_q, to_v", ("to_q", "to_v")),
        ("sara", "mixed_precision", "bf16", "bf16"),
        ("ofa", "ks", "3,5,7" + ",3" * 17, (3, 5, 7) + (3,) * 17),
        ("ofa", "ks", "5", (5,)),
        ("ofa", "d", " 2, 3,4 ,2,3", (2, 3, 4, 2, 3)),
        ("ofa", "e", "auto", None),
    ],
)  # fmt: skip
def test_text_parses_into_the_typed_field(method, name, text, value) -> None:
    options = METHODS[method].with_options({name: text})
    assert getattr(options, name) == value
    assert type(getattr(options, name)) is type(value)


def test_constructing_with_text_parses_it() -> None:
    assert fedtiny.FedTinyOptions(dense_layers="first, last").dense_layers == ("first", "last")
    assert supertickets.SuperTicketsOptions(drop_kernels="7").drop_kernels == (7,)
    assert sara.SaRAOptions(lora_targets="to_q").lora_targets == ("to_q",)
    assert ofa.OFAOptions(d="2").d == (2,)
    assert spatten.SpAttenOptions(token_keep="0.5").token_keep == 0.5


def test_python_sequences_and_mappings_become_tuples() -> None:
    assert ofa.OFAOptions(ks=[5]).ks == (5,)
    hidden = supertickets.SuperTicketsOptions(hidden={"stage2.b0.block1.k5": 3}).hidden
    assert hidden == (("stage2.b0.block1.k5", 3),)
    assert fedtiny.FedTinyOptions(dense_layers=["conv1"]).dense_layers == ("conv1",)
    assert catp.CATPOptions(ratio=1).ratio == 1.0  # an int where a float is wanted


def test_one_ofa_value_is_broadcast_by_the_method() -> None:
    options = METHODS["ofa"].with_options({"ks": "5", "e": "4", "d": "2", "resolution": "160"})
    spec, origin = ofa.resolve_spec("ofa-mbv3-w1.0", options)
    assert spec.ks == (5,) * 20 and spec.e == (4,) * 20 and spec.d == (2,) * 5
    assert origin.endswith("with ks, e, d, r set")


def test_spec_options_are_typed_values() -> None:
    spec = ofa.PUBLISHED[ofa.DEFAULT_NET["ofa-mbv3-w1.0"]].spec
    options = METHODS["ofa"].with_options(ofa.spec_options(spec))
    assert ofa.resolve_spec("ofa-mbv3-w1.0", options)[0] == spec


# ---------------------------------------------------------------------------------------------
# Bad values: one line naming the option


@pytest.mark.parametrize(
    ("method", "overrides", "message"),
    [
        # a choice that is not one
        ("lapp", {"prune": "outer"}, "prune must be one of all, internal, not 'outer'"),
        ("fedtiny", {"index_format": "zip"}, "index_format must be one of bitmask, csr, none, "
         "not 'zip'"),
        ("supertickets", {"sparsity_scope": "layer"}, "sparsity_scope must be one of global, "
         "local, not 'layer'"),
        ("sara", {"attention": "flash"}, "attention must be one of sdpa, eager, not 'flash'"),
        # a bad list item
        ("supertickets", {"drop_kernels": "7,x"}, "option drop_kernels[1] must be an integer, "
         "not 'x'"),
        ("supertickets", {"drop_kernels": "4"}, "drop_kernels names kernel '4'; the supernet's "
         "kernels are 3, 5, 7"),
        ("ofa", {"ks": "3,y"}, "option ks[1] must be an integer, not 'y'"),
        ("ofa", {"ks": "3,4" + ",3" * 18}, "OFASpec ks[1] must be one of 3, 5, 7, not 4"),
        ("fedtiny", {"dense_layers": "first,,last"}, "option dense_layers must be a "
         "comma-separated list of text with no empty item, not 'first,,last'"),
        ("supertickets", {"hidden": "stage2.b0.block1.k5=x"}, "option hidden "
         "stage2.b0.block1.k5 must be an integer, not 'x'"),
        ("supertickets", {"hidden": "stage2.b0.block1.k5=1,stage2.b0.block1.k5=2"},
         "hidden names 'stage2.b0.block1.k5' twice"),
        # a range
        ("spatten", {"token_keep": "1.5"}, "token_keep must be in (0, 1], not 1.5"),
        ("spatten", {"lsb_fraction": "-0.1"}, "lsb_fraction must be in [0, 1], not -0.1"),
        ("spatten", {"head_ramp_end": "0"}, "head_ramp_end must be in (0, 1], not 0.0"),
        ("catp", {"ratio": "nan"}, "ratio must be in (0, 1], not nan"),
        ("vflowopt", {"r3": "1.5"}, "r3 must be in (0, 1], not 1.5"),
        ("aim", {"step": "0"}, "step must be in (0, 1], not 0.0"),
        ("lapp", {"flops_reduction": "1"}, "flops_reduction must be in [0, 1), not 1.0"),
        ("fedtiny", {"density": "0"}, "density must be in (0, 1], not 0.0"),
        ("fedtiny", {"adjust_alpha": "2"}, "adjust_alpha must be in [0, 1], not 2.0"),
        ("supertickets", {"sparsity": "0.999"}, "sparsity must be in [0, 0.99], not 0.999"),
        # not a number, not a bool
        ("sara", {"lora_rank": "four"}, "option lora_rank must be an integer, not 'four'"),
        ("vflowopt", {"recycle_compensate": "maybe"}, "option recycle_compensate must be true "
         "or false, not 'maybe'"),
        ("spatten", {"nosuch": "1"}, "unknown option 'nosuch' for method spatten"),
    ],
)  # fmt: skip
def test_bad_values_give_one_line_naming_the_option(method, overrides, message) -> None:
    assert _error(method, **overrides).startswith(message)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: fedtiny.FedTinyOptions(dense_layers=3), "dense_layers must be a comma-separated"),
        (lambda: fedtiny.FedTinyOptions(density=True), "density must be a number, not True"),
        (lambda: supertickets.SuperTicketsOptions(drop_kernels=("7",)),
         "drop_kernels[0] must be an integer, not '7'"),
        (lambda: supertickets.SuperTicketsOptions(hidden=(("a", 1.5),)),
         "hidden a must be an integer, not 1.5"),
        (lambda: sara.SaRAOptions(lora_rank=4.0), "lora_rank must be an integer, not 4.0"),
        (lambda: sara.SaRAOptions(tuner=None), "tuner must be one of sara, lora, full, not None"),
        (lambda: ofa.OFAOptions(ks=[3.5]), "ks[0] must be an integer, not 3.5"),
        (lambda: vflowopt.VFlowOptOptions(recycle_compensate=1),
         "recycle_compensate must be true or false, not 1"),
        (lambda: lapp.LAPPOptions(prune="x"), "prune must be one of all, internal, not 'x'"),
        (lambda: spatten.SpAttenOptions(v_keep=0), "v_keep must be in (0, 1], not 0.0"),
    ],
)  # fmt: skip
def test_python_values_of_the_wrong_type_are_refused(make, message) -> None:
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_rules_across_fields_stay_in_validate() -> None:
    # constructing is fine; validate() (which resolve runs) names the rule
    options = spatten.SpAttenOptions(k_bits=30, lsb_bits=4)
    with pytest.raises(ValueError, match=r"^lsb_bits must be in 1..2 \(k_bits \+ lsb_bits"):
        options.validate()
    assert _error("vflowopt", target="none").startswith("r1 must be given when target is None")
    assert _error("ofa", d="2,3,4").startswith("OFASpec d must have 5 entries (or 1), not 3")
    assert _error("lapp", keep="conv1=0.5,0.4").startswith("option keep must be all NAME=VALUE")
