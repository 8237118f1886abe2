"""Properties of the simulator over its registries: every model of the zoo, every method with
options drawn from its typed declarations, every stage its family takes, every hardware preset.

* Well-formed: every number of a result (its ``to_dict()``, recursively) is finite and >= 0.
* Monotone: more pruning or fewer bits never costs more DRAM bytes or energy on any target,
  knob by knob (:data:`MORE_PRUNING` says which way each knob prunes more). Exceptions, each a
  property of its own with its bound: the cycles of SpAtten's local-V top-k engine (never DRAM
  or energy); LAPP's bypass layers, added once a channel is pruned; AIM's PageRank scoring, one
  more matrix product where a layer's successor keeps fewer tokens.
* Equivalent inputs give identical results: a preset and a copy of its file, an option written
  as ``0.4`` or ``"4e-1"`` (through the command line's ``--set`` path and the API), the default
  stage and the same stage asked for by name, an option's default and the same value given.

Options are drawn from each method's declarations (:mod:`prunesim.sim.methods.options`):
booleans, ``Literal`` choices and ranged numbers (``Annotated[float, Range(...)]``) over their
whole range, ``*_bits`` integers in 2..16 (the sane range other checks allow); a field with no
declared range or choices (counts, layer indices, tuples, texts) keeps its default. Stages stay
within the model's positions. Inputs the API refuses with a ValueError (a keep ratio a cascade
schedule cannot reach, say) are rejected, not counted.

Determinism: every property runs with ``derandomize=True`` and no example database
(:data:`PROPERTY`), so CI draws the same examples on every run.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import types
import typing
from typing import Annotated, Any, Literal

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from prunesim.argtypes import assignment
from prunesim.cli import main
from prunesim.models import get_model, model_names
from prunesim.sim.api import default_stage, make_workload, simulate
from prunesim.sim.blocks import topk_cycles
from prunesim.sim.engine import evaluate
from prunesim.sim.families import FAMILIES, StageRequest, family_of
from prunesim.sim.hardware import hardware_file, hardware_names, load_hardware
from prunesim.sim.methods import METHODS, method_names
from prunesim.sim.methods.options import Range, field_names, format_value, parse
from prunesim.sim.workload import Prefill

#: Every property: deterministic examples (derandomize, no database), no deadline (a draw prices
#: a workload on up to 16 targets).
PROPERTY = dict(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

MODELS = {name: get_model(name) for name in model_names()}
TARGETS = {name: load_hardware(name) for name in hardware_names()}
#: Relative slack of the comparisons of sums of floats.
REL = 1e-9


# ---------------------------------------------------------------------------------------------
# What the properties draw: options from the declarations, stages from the families.


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None``; ``(annotation, False)`` otherwise; ``(None, ...)`` for a
    union of two types (a list or pairs), which no strategy here draws."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        return (args[0] if len(args) == 1 else None), optional
    return annotation, False


def value_strategy(
    name: str, annotation: Any, *, none: bool = True
) -> st.SearchStrategy[Any] | None:
    """Values of option ``name`` from its annotation (module docstring), None too where the
    annotation allows it (and ``none``); None where the declaration gives no range to draw
    from."""
    base, optional = _strip_optional(annotation)
    strategy: st.SearchStrategy[Any] | None = None
    if base is bool:
        strategy = st.booleans()
    elif typing.get_origin(base) is Literal:
        strategy = st.sampled_from(typing.get_args(base))
    elif typing.get_origin(base) is Annotated:
        kind, *extras = typing.get_args(base)
        bounds = next((e for e in extras if isinstance(e, Range)), None)
        if bounds is not None and kind is float:
            strategy = st.floats(
                bounds.low,
                bounds.high,
                exclude_min=bounds.low_open,
                exclude_max=bounds.high_open,
            )
        elif bounds is not None and kind is int:
            low = None if bounds.low is None else math.ceil(bounds.low) + bounds.low_open
            high = None if bounds.high is None else math.floor(bounds.high) - bounds.high_open
            strategy = st.integers(low, high)
    elif base is int and name.endswith("_bits"):
        strategy = st.integers(2, 16)
    if strategy is not None and optional and none:
        strategy = st.none() | strategy
    return strategy


def option_strategies(method: str, *, none: bool = True) -> dict[str, st.SearchStrategy[Any]]:
    """The drawable options of ``method``, by name (``none``: None among the values where the
    option takes it)."""
    options = METHODS[method].options
    hints = typing.get_type_hints(type(options), include_extras=True)
    strategies = {
        name: value_strategy(name, hints[name], none=none) for name in field_names(options)
    }
    return {name: s for name, s in strategies.items() if s is not None}


def options_of(method: str) -> st.SearchStrategy[dict[str, Any]]:
    """Some of ``method``'s drawable options, each with a drawn value (the rest default)."""
    return st.fixed_dictionaries({}, optional=option_strategies(method))


def supported_methods(model: str) -> list[str]:
    return [name for name in method_names() if METHODS[name].unsupported(MODELS[model]) is None]


def _transformer_request(model: Any) -> st.SearchStrategy[StageRequest]:
    summarize = st.builds(
        StageRequest,
        stage=st.just("summarize"),
        tokens=st.integers(1, model.max_positions),
    )
    if not model.decoder:
        return summarize

    @st.composite
    def generate(draw: st.DrawFn) -> StageRequest:
        count = draw(st.integers(1, 8))
        prompt = draw(st.integers(0, model.max_positions - count))
        return StageRequest(stage="generate", prompt=prompt, generate=count)

    return summarize | generate()


def _lvlm_request(model: Any) -> st.SearchStrategy[StageRequest]:
    @st.composite
    def request(draw: st.DrawFn) -> StageRequest:
        decode = draw(st.booleans())
        count = draw(st.integers(1, 4)) if decode else None
        text = draw(st.integers(1, 256))
        room = model.llm.max_positions - text - (count or 0)
        most = min(model.default_images, room // model.visual_tokens_per_image)
        images = draw(st.integers(1, max(1, most)))
        stage = "decode" if decode else "prefill"
        return StageRequest(stage=stage, images=images, text_tokens=text, generate=count)

    return request()


def _network_request(model: Any) -> st.SearchStrategy[StageRequest]:
    return st.builds(
        StageRequest, stage=st.sampled_from(["infer", "train"]), batch=st.integers(1, 4)
    )


#: The stage requests each family takes (counts within the model's positions).
STAGE_REQUESTS = {
    "transformer": _transformer_request,
    "lvlm": _lvlm_request,
    "cnn": _network_request,
    "unet": _network_request,
}


@st.composite
def runs(draw: st.DrawFn, method: str | None = None) -> dict[str, Any]:
    """``make_workload`` arguments: a model, a method that prunes it, a stage its family takes,
    a mode and weight bits where the family prices linear layers, and drawn options."""
    candidates = [m for m in MODELS if method is None or method in supported_methods(m)]
    model = draw(st.sampled_from(candidates))
    method = method or draw(st.sampled_from(supported_methods(model)))
    config = MODELS[model]
    family = family_of(config)
    stage = family.stage(config, draw(STAGE_REQUESTS[family.name](config)))
    run: dict[str, Any] = dict(model=model, method=method, stage=stage)
    if family.takes_plans:
        run["mode"] = draw(st.sampled_from(["attention", "e2e"]))
        run["weight_bits"] = draw(st.integers(2, 16))
    return run


def workload_or_reject(run: dict[str, Any], **options: Any) -> Any:
    """The workload of ``run`` with ``options``; an input the API refuses is rejected."""
    try:
        return make_workload(**run, **options)
    except ValueError:
        reject()


def numbers(value: Any, path: str = "") -> list[tuple[str, float]]:
    """Every number in a JSON-like value, with where it sits."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float | np.number):
        return [(path, float(value))]
    if isinstance(value, dict):
        return [n for key, item in value.items() for n in numbers(item, f"{path}.{key}")]
    if isinstance(value, list | tuple):
        return [n for i, item in enumerate(value) for n in numbers(item, f"{path}[{i}]")]
    raise TypeError(f"{path}: {type(value).__name__} in a result")


def test_every_family_has_stage_requests() -> None:
    assert set(STAGE_REQUESTS) == set(FAMILIES.names())


def test_options_are_drawn_for_every_pruning_method() -> None:
    """Every method but the network ``dense``/``ofa``/``sara`` ones has a ranged knob drawn."""
    drawn = {name: set(option_strategies(name)) for name in method_names()}
    assert drawn["spatten"] >= {"token_keep", "head_keep", "v_keep", "q_bits", "lsb_fraction"}
    assert {"ratio"} <= drawn["catp"] and {"step"} <= drawn["aim"]
    assert {"r1", "r2", "r3"} <= drawn["vflowopt"]
    assert {"flops_reduction"} <= drawn["lapp"] and {"density", "w_bits"} <= drawn["fedtiny"]
    assert {"sparsity"} <= drawn["supertickets"]


# ---------------------------------------------------------------------------------------------
# 1. Well-formed.


@settings(max_examples=100, **PROPERTY)
@given(data=st.data())
def test_every_number_of_a_result_is_finite_and_nonnegative(data: st.DataObject) -> None:
    run = data.draw(runs(), label="run")
    options = data.draw(options_of(run["method"]), label="options")
    workload = workload_or_reject(run, **options)
    supported = [name for name, hw in TARGETS.items() if hw.unsupported(workload) is None]
    assert supported, run
    target = data.draw(st.sampled_from(supported), label="target")
    result = evaluate(workload, TARGETS[target]).to_dict()
    found = numbers(result)
    assert found
    bad = [(path, value) for path, value in found if not (math.isfinite(value) and value >= 0)]
    assert not bad, (run, options, target, bad[:5])
    json.dumps(result, allow_nan=False)


# ---------------------------------------------------------------------------------------------
# 2. Monotone: more pruning, fewer bits never cost more.

#: Each knob and the value that prunes more: "lower" (keep ratios, densities, bits, the share
#: of queries that fetch LSBs), "higher" (pruned shares, sparsity), or for a switch the value
#: that prunes more (a technique on; progressive quantization off: K at its MSB bits only).
MORE_PRUNING: dict[str, str | bool] = {
    # SpAtten's techniques (and dense, which has SpAtten's options)
    "token_keep": "lower",
    "head_keep": "lower",
    "v_keep": "lower",
    "q_bits": "lower",
    "k_bits": "lower",
    "v_bits": "lower",
    "lsb_bits": "lower",
    "lsb_fraction": "lower",
    "token_pruning": True,
    "head_pruning": True,
    "v_pruning": True,
    "quantization": True,
    "progressive": False,
    # LVLM methods
    "ratio": "higher",  # CATP: share of image tokens pruned
    "r1": "lower",  # VFlowOpt: stage retentions
    "r2": "lower",
    "r3": "lower",
    "step": "higher",  # AIM: share of merged tokens dropped per layer
    # network methods
    "flops_reduction": "higher",  # LAPP
    "density": "lower",  # FedTiny
    "w_bits": "lower",
    "value_bits": "lower",
    "index_bits": "lower",
    "sparsity": "higher",  # SuperTickets
}
#: The knobs of local V pruning: on SpAtten-class accelerators its top-k engine costs cycles
#: (test_local_v_pruning_cycles_rise_at_most_by_its_top_k_stage), never DRAM or energy.
LOCAL_V = ("v_keep", "v_pruning")


def knobs(method: str) -> list[str]:
    """The knobs of :data:`MORE_PRUNING` that ``method`` declares (and the strategies draw)."""
    drawn = option_strategies(method)
    return [name for name in MORE_PRUNING if name in drawn]


def test_every_knob_is_an_option_of_some_method() -> None:
    declared = {name for method in method_names() for name in option_strategies(method)}
    assert set(MORE_PRUNING) <= declared


@st.composite
def knob_pairs(
    draw: st.DrawFn, method: str, among: tuple[str, ...] | None = None
) -> tuple[str, Any, Any]:
    """A knob of ``method`` (``among`` those, if given) and two distinct values of it: (prunes
    more, prunes less)."""
    name = draw(st.sampled_from([k for k in knobs(method) if among is None or k in among]))
    direction = MORE_PRUNING[name]
    if isinstance(direction, bool):
        return name, direction, not direction
    values = option_strategies(method, none=False)[name]
    low, high = sorted(draw(st.lists(values, min_size=2, max_size=2, unique=True)))
    return (name, low, high) if direction == "lower" else (name, high, low)


def costs(workload: Any) -> dict[str, Any]:
    """``workload`` priced on every target that runs it, by target name."""
    return {
        name: evaluate(workload, hw)
        for name, hw in TARGETS.items()
        if hw.unsupported(workload) is None
    }


def assert_no_more_costly(more: Any, less: Any, context: Any) -> None:
    """``more`` costs no more DRAM bytes and energy than ``less`` on any target running both."""
    a_all, b_all = costs(more), costs(less)
    assert set(a_all) == set(b_all), context
    for name, a in a_all.items():
        b = b_all[name]
        if a.dram_bytes is not None:
            assert a.dram_bytes <= b.dram_bytes * (1 + REL), (name, context, "dram")
        assert a.energy_j <= b.energy_j * (1 + REL), (name, context, "energy")


def adds_lapp_bypass(more: Any, less: Any) -> bool:
    """Whether ``more`` has LAPP's bypass layers and ``less`` none (a step that can cost more:
    test_lapp_bypass_is_the_only_rise_of_lapp_pruning)."""
    return more.extras.get("bypass_macs", 0) > 0 and less.extras.get("bypass_macs", 0) == 0


def adds_method_rows(more: Any, less: Any) -> bool:
    """Whether ``more`` has more matrix products than ``less``: a method's own work that
    pruning more switches on (AIM's PageRank scoring at a layer whose successor keeps fewer
    tokens: test_aim_scoring_is_the_only_rise_of_aim_pruning)."""
    return len(more.linear) > len(less.linear)


@settings(max_examples=60, **PROPERTY)
@given(data=st.data())
def test_more_pruning_never_costs_more_dram_or_energy(data: st.DataObject) -> None:
    method = data.draw(st.sampled_from([m for m in method_names() if knobs(m)]), label="method")
    run = data.draw(runs(method), label="run")
    options = data.draw(options_of(method), label="options")
    knob, more, less = data.draw(knob_pairs(method), label="knob")
    pruned = workload_or_reject(run, **{**options, knob: more})
    kept = workload_or_reject(run, **{**options, knob: less})
    if adds_lapp_bypass(pruned, kept) or adds_method_rows(pruned, kept):
        reject()
    assert_no_more_costly(pruned, kept, (run, options, knob, more, less))


# ---------------------------------------------------------------------------------------------
# 2b. The exceptions, each with its bound.


@settings(max_examples=15, **PROPERTY)
@given(data=st.data())
def test_local_v_pruning_cycles_rise_at_most_by_its_top_k_stage(data: st.DataObject) -> None:
    """Local V pruning (``v_keep`` lower, ``v_pruning`` on) never costs DRAM or energy (the
    property above) and never costs time on a target without a local-V top-k engine. On a
    SpAtten-class accelerator each query of a row with ``values < keys`` occupies the top-k
    engine ``ceil(keys / c) + topk_cycles(keys, values, c)`` cycles (``c`` comparators),
    beside Q.K, softmax and prob.V: a row's time grows by at most its queries times that, and
    the whole run's by at most the sum over its rows. (Measured: up to 4.1x the unpruned time,
    BERT-large summarizing 512 tokens on ``spatten`` with ``v_pruning=true``, where Q.K takes
    ``keys / 8`` cycles per query and the top-k engine about ``3.5 keys / 16``.)"""
    method = data.draw(
        st.sampled_from([m for m in method_names() if set(LOCAL_V) <= set(knobs(m))]),
        label="method",
    )
    run = data.draw(runs(method), label="run")
    options = data.draw(options_of(method), label="options")
    knob, more, less = data.draw(knob_pairs(method, LOCAL_V), label="knob")
    pruned = workload_or_reject(run, **{**options, knob: more})
    kept = workload_or_reject(run, **{**options, knob: less})
    context = (run, options, knob, more, less)
    assert_no_more_costly(pruned, kept, context)
    rows = pruned.attention
    assert len(rows) == len(kept.attention) and np.array_equal(rows.keys, kept.attention.keys)
    for name, a in costs(pruned).items():
        b = evaluate(kept, TARGETS[name])
        hw = TARGETS[name]
        if hw.kind != "accelerator":
            assert a.cycles <= b.cycles * (1 + REL), (name, context)
            continue
        c = hw.topk_comparators
        pruned_v = rows.values < rows.keys
        stage = np.ceil(rows.keys / c) + topk_cycles(rows.keys, rows.values, c)
        bound = float(np.sum(np.where(pruned_v, rows.queries * stage, 0.0)))
        assert a.cycles <= b.cycles + bound + REL * b.cycles, (name, context, bound)


@settings(max_examples=10, **PROPERTY)
@given(data=st.data())
def test_lapp_bypass_is_the_only_rise_of_lapp_pruning(data: st.DataObject) -> None:
    """LAPP adds a rank-``bypass_rank`` bypass (two 1x1 convolutions and an add) beside every
    convolution it prunes: going from no channel pruned (``flops_reduction`` 0, no bypass) to
    a few pruned adds those layers and can cost more (measured: up to 1.75x the DRAM bytes of
    the dense ResNet-20, 2.7x the time and energy on a GPU at batch 1, where each extra layer is
    extra kernels). Without the bypass (``bypass_rank=0``) more pruning never costs more, from
    0 on; with it, the property above holds between any two runs that both have it."""
    run = data.draw(runs("lapp"), label="run")
    knob, more, less = data.draw(knob_pairs("lapp"), label="knob")
    less = data.draw(st.sampled_from([less, 0.0]), label="less")
    pruned = workload_or_reject(run, **{knob: more}, bypass_rank=0)
    kept = workload_or_reject(run, **{knob: less}, bypass_rank=0)
    assert pruned.extras["bypass_macs"] == kept.extras["bypass_macs"] == 0
    assert_no_more_costly(pruned, kept, (run, knob, more, less))


@settings(max_examples=10, **PROPERTY)
@given(data=st.data())
def test_aim_scoring_is_the_only_rise_of_aim_pruning(data: st.DataObject) -> None:
    """AIM scores tokens (PageRank, one matrix product) at each layer whose successor keeps
    fewer visual tokens: a larger ``step`` can add such a layer while saving a token or two,
    and the extra kernel costs more than it saves on a GPU (minimal example: LLaVA-1.5-7B,
    one image and one text token, attention mode, ``step`` 1/64 against 5e-324 on H200: 0.07%
    more energy, though 1.3% fewer MACs). Without scoring (``pagerank_iters=0``) more pruning
    never costs more."""
    run = data.draw(runs("aim"), label="run")
    options = data.draw(options_of("aim"), label="options")
    knob, more, less = data.draw(knob_pairs("aim"), label="knob")
    pruned = workload_or_reject(run, **{**options, knob: more}, pagerank_iters=0)
    kept = workload_or_reject(run, **{**options, knob: less}, pagerank_iters=0)
    assert not adds_method_rows(pruned, kept)
    assert_no_more_costly(pruned, kept, (run, options, knob, more, less))


def test_aim_scoring_costs_more_energy_than_it_saves_on_h200() -> None:
    """The exception above, pinned on its minimal example."""
    stage = Prefill(1, 1)
    pruned = make_workload("llava-1.5-7b", "aim", stage=stage, mode="attention", step=1 / 64)
    kept = make_workload("llava-1.5-7b", "aim", stage=stage, mode="attention", step=5e-324)
    assert adds_method_rows(pruned, kept) and pruned.macs < kept.macs
    a, b = evaluate(pruned, TARGETS["h200"]), evaluate(kept, TARGETS["h200"])
    assert a.energy_j > b.energy_j


def test_lapp_bypass_costs_more_than_dense_resnet20() -> None:
    """The exception above, pinned: ResNet-20, 2.5% of the FLOPs removed with the default
    bypass, costs more DRAM bytes and energy than no pruning on A100 and TPU v1."""
    pruned = make_workload("resnet20", "lapp", flops_reduction=0.025)
    dense = make_workload("resnet20", "lapp", flops_reduction=0.0)
    assert adds_lapp_bypass(pruned, dense)
    assert pruned.macs < dense.macs
    for name in ("a100", "tpu-v1"):
        a, b = evaluate(pruned, TARGETS[name]), evaluate(dense, TARGETS[name])
        assert a.dram_bytes > 1.5 * b.dram_bytes and a.energy_j > 1.2 * b.energy_j, name


# ---------------------------------------------------------------------------------------------
# 3. Equivalent inputs give identical results.


def run_cli(*args: str) -> dict[str, Any]:
    """``prunesim simulate ARGS --json`` in this process: its JSON."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["simulate", *args, "--json"])
    assert status == 0, args
    return json.loads(out.getvalue())


def result_of(cli: dict[str, Any]) -> dict[str, Any]:
    """The CLI's JSON less its record of inputs (``"inputs"``), which the API's result does
    not carry: what compares with :func:`as_json` of the API's result."""
    return {key: value for key, value in cli.items() if key != "inputs"}


def as_json(result: Any) -> dict[str, Any]:
    return json.loads(json.dumps(result.to_dict()))


def first_target(workload: Any) -> str:
    return next(name for name, hw in TARGETS.items() if hw.unsupported(workload) is None)


#: One model each method prunes (the first of the zoo), for the deterministic checks.
METHOD_MODEL = {
    method: next(m for m in MODELS if method in supported_methods(m)) for method in METHODS
}


#: One model of each family (the first of the zoo).
FAMILY_MODEL: dict[str, str] = {}
for _name, _config in MODELS.items():
    FAMILY_MODEL.setdefault(family_of(_config).name, _name)


@pytest.mark.parametrize("preset", hardware_names())
def test_a_preset_and_a_copy_of_its_file_give_identical_results(preset: str, tmp_path) -> None:
    """Results name the target by the file's ``name:``, not its path: nothing differs."""
    _, path = hardware_file(preset)
    copy = tmp_path / f"copy-of-{preset}.yaml"
    shutil.copyfile(path, copy)
    assert load_hardware(str(copy)) == TARGETS[preset]
    checked = 0
    for model in FAMILY_MODEL.values():
        workload = make_workload(model, "dense")
        if TARGETS[preset].unsupported(workload) is not None:
            continue
        by_name = simulate(model, "dense", preset).to_dict()
        assert simulate(model, "dense", str(copy)).to_dict() == by_name, model
        assert simulate(model, "dense", load_hardware(copy)).to_dict() == by_name, model
        checked += 1
    assert checked


@settings(max_examples=8, **PROPERTY)
@given(data=st.data())
def test_a_number_and_its_text_in_exponent_form_give_identical_results(
    data: st.DataObject,
) -> None:
    """``--set NAME=4e-1`` (the command line's parse), the API with ``"4e-1"`` and the API with
    ``0.4`` give the same result, for every ranged float option of every method."""
    floats = [
        (method, name)
        for method in method_names()
        for name, hint in typing.get_type_hints(
            type(METHODS[method].options), include_extras=True
        ).items()
        if name in option_strategies(method) and "float" in str(hint)
    ]
    method, name = data.draw(st.sampled_from(floats), label="option")
    values = option_strategies(method, none=False)[name]
    value = data.draw(values, label="value")
    digits = data.draw(st.integers(1, 3), label="digits")
    mantissa = round(value * 10**digits)
    text = f"{mantissa}e-{digits}"
    number = float(text)
    model = METHOD_MODEL[method]
    try:
        expected = simulate(model, method, "a100", **{name: number})
    except ValueError:
        reject()
    key, parsed = assignment(f"{name}={text}")
    assert (key, parsed) == (name, text)
    assert simulate(model, method, "a100", **{key: parsed}).to_dict() == expected.to_dict()
    cli = run_cli("--model", model, "--method", method, "--hw", "a100", "--set", f"{key}={text}")
    assert result_of(cli) == as_json(expected)
    assert cli["inputs"]["options"][key] == number  # the record holds the value, not the text


def test_token_keep_0_4_and_4e_1_are_one_run() -> None:
    """The issue's example, on SpAtten: the API with 0.4, the API and the CLI with "4e-1"."""
    expected = simulate("bert-base", "spatten", "spatten", token_keep=0.4)
    assert simulate("bert-base", "spatten", "spatten", token_keep="4e-1").to_dict() == (
        expected.to_dict()
    )
    cli = run_cli("--model", "bert-base", "--method", "spatten", "--set", "token_keep=4e-1")
    assert result_of(cli) == as_json(expected)
    assert cli == run_cli("--model", "bert-base", "--method", "spatten", "--set", "token_keep=0.4")
    assert expected.to_dict() != simulate("bert-base", "spatten", "spatten").to_dict()


@pytest.mark.parametrize("model", list(MODELS))
def test_the_default_stage_and_the_same_stage_by_name_give_identical_results(model: str) -> None:
    config = MODELS[model]
    stage = default_stage(config)
    family = family_of(config)
    assert family.stage(config, StageRequest(stage=stage.name)) == stage
    expected = simulate(model, "dense", "a100")
    assert simulate(model, "dense", "a100", stage=stage).to_dict() == expected.to_dict()
    cli = run_cli("--model", model, "--method", "dense", "--hw", "a100", "--stage", stage.name)
    assert result_of(cli) == as_json(expected)
    # The default stage, not named: the same result and the same record of inputs.
    assert run_cli("--model", model, "--method", "dense", "--hw", "a100") == cli


@pytest.mark.parametrize("method", list(METHODS))
def test_an_options_default_and_the_same_value_given_give_identical_results(method: str) -> None:
    """Every option of every method, its default given as a value (API) and as the text
    ``prunesim list methods`` shows (``--set`` path): the result of no option given."""
    model = METHOD_MODEL[method]
    defaults = METHODS[method].options
    workload = make_workload(model, method)
    target = TARGETS[first_target(workload)]
    expected = evaluate(workload, target).to_dict()
    for name in field_names(defaults):
        value = getattr(defaults, name)
        given_value = evaluate(make_workload(model, method, **{name: value}), target)
        assert given_value.to_dict() == expected, name
        key, text = assignment(f"{name}={format_value(value) if value is not None else 'none'}")
        given_text = evaluate(make_workload(model, method, **{key: text}), target)
        assert given_text.to_dict() == expected, (name, text)


def test_none_text_overrides_an_optional_text_option_with_none() -> None:
    """``--set net=none`` gives None for a ``str | None`` option, as :func:`parse` and the
    options module say (it was kept as the text ``"none"``: "unknown OFA sub-net 'none'")."""
    assert parse("net", "none", str | None) is None
    for text in ("none", "None", "auto", ""):
        assert METHODS["ofa"].with_options({"net": text}) == METHODS["ofa"].options, text
    assert METHODS["ofa"].with_options({"spec": "none"}).spec is None
    # A text option that is not optional keeps its text.
    assert METHODS["sara"].with_options({"lora_targets": "to_q"}).lora_targets == ("to_q",)
