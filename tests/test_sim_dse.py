"""The design-space sweep (prunesim.sim.sweep), its names and hardware variants: every row equals
simulate of the same point, bad names and values are one-line errors before any work."""

from __future__ import annotations

import dataclasses
import math

import pandas
import pytest

import prunesim
import prunesim.sim as sim
from prunesim.models import get_model
from prunesim.sim import dse
from prunesim.sim.families import family_of
from prunesim.sim.hardware import HardwareError, load_hardware, variant
from prunesim.sim.names import parse_name, with_stage

OUTPUTS = ("cycles", "seconds", "dram_bytes", "energy_j", "macs")


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def _simulate_row(row: dict, grid: dict, file: str) -> sim.SimResult:
    """simulate() of the point a row describes, rebuilt from its swept columns."""
    model = get_model(row["model"])
    hw, stage_fields, options = {}, {}, {}
    for text in grid:
        value = row[text]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue  # the name does not apply to this point
        name = parse_name(text)
        if name.space == "hw":
            hw[name.key] = value
        elif name.space == "stage":
            stage_fields[name.key] = int(value)
        elif name.applies_to_method(row["method"]):
            options[name.key] = value
    target = variant(load_hardware(file), hw)
    stage = with_stage(family_of(model).default_stage(model), stage_fields)
    return sim.simulate(model, row["method"], target, stage=stage, **options)


SWEEPS = {
    "accelerator-transformer": (
        ["bert-base", "gpt2-small"],
        ["spatten", "dense"],
        "spatten",
        {
            "hw.multipliers.qk": [128, 512, 1024],
            "hw.topk.comparators": [8, 32],
            "hw.dram.channels": [8, 32],
            "spatten.token_keep": [0.3, 0.6, 0.9],
        },
        10,
    ),
    "systolic-cnn": (
        "resnet18",
        ["fedtiny", "lapp"],
        "systolic-32",
        {"hw.array.rows": [16, 64], "hw.array.columns": [8, 32], "hw.dram.channels": [1, 4]},
        6,
    ),
    "gpu-lvlm": (
        "llava-onevision-7b",
        "aim",
        "a100",
        {
            "stage.images": [4, 16],
            "stage.text_tokens": [50, 300],
            "hw.memory_gb_per_s": [900.0, 2000.0],
        },
        5,
    ),
}


@pytest.mark.parametrize("which", sorted(SWEEPS))
def test_rows_equal_simulate(which: str) -> None:
    model, method, hardware, grid, samples = SWEEPS[which]
    frame = sim.sweep(model, method, hardware, grid=grid, samples=samples, seed=3)
    assert len(frame) == samples
    assert list(frame.columns) == dse.columns(list(grid))
    for row in frame.to_dict("records"):
        assert pandas.isna(row["skipped"])
        expected = _simulate_row(row, grid, hardware)
        assert row["hardware"] == expected.hardware
        assert row["stage"] == expected.stage
        for key in OUTPUTS:
            assert _same(row[key], getattr(expected, key)), (which, key, row)


def test_a_chunk_prices_its_accelerators_in_one_call(monkeypatch) -> None:
    """evaluate_chunk prices a chunk's accelerators with one price_many call (never price one
    by one), the other kinds with price; the rows still equal simulate's."""
    from prunesim.sim.costs.accelerator import Accelerator

    calls = []
    many = Accelerator.price_many.__func__

    def counted(cls, workload, targets):
        calls.append([t.name for t in targets])
        return many(cls, workload, targets)

    def refused(self, workload):
        raise AssertionError(f"{self.name} priced one by one")

    monkeypatch.setattr(Accelerator, "price_many", classmethod(counted))
    monkeypatch.setattr(Accelerator, "price", refused)
    grid = {
        "hw.topk.comparators": [1, 16, 1024],
        "hw.softmax.pipelined": [True, False],
        "token_keep": [0.3, 0.7],
    }
    frame = sim.sweep("gpt2-small", "spatten", ["spatten", "a100", "spatten-eighth"], grid=grid)
    monkeypatch.undo()
    assert [len(names) for names in calls] == [12, 12]  # per workload: 2 x 6 variants, not a100
    assert len(frame) == 26 and frame.skipped.isna().all()
    assert set(frame.bound) >= {"topk", "qk_softmax"}
    for row in frame.to_dict("records"):
        expected = _simulate_row(row, grid, row["hardware_file"])
        assert row["hardware"] == expected.hardware
        for key in (*OUTPUTS, "area_mm2", "static_w", "bound"):
            value = getattr(expected, key)
            assert pandas.isna(row[key]) if value is None else row[key] == value, (key, row)


def test_the_product_and_names_that_do_not_apply() -> None:
    grid = {"hw.multipliers.qk": [256, 512], "token_keep": [0.4, 0.8]}
    frame = sim.sweep("bert-base", ["dense", "spatten"], ["spatten", "a100"], grid=grid)
    # spatten x spatten: 2 x 2; spatten x a100: 2 (no multipliers); dense x spatten: 2 (token_keep
    # is not dense's unless named dense.token_keep); dense x a100: 1
    counts = frame.groupby(["method", "kind"]).size().to_dict()
    assert counts == {
        ("dense", "accelerator"): 2,
        ("dense", "processor"): 1,
        ("spatten", "accelerator"): 4,
        ("spatten", "processor"): 2,
    }
    gpu = frame[frame.kind == "processor"]
    assert gpu["hw.multipliers.qk"].isna().all()
    assert set(gpu.hardware) == {"a100"}
    assert list(frame.hardware[:3]) == [f"spatten[multipliers.qk={n}]" for n in (256, 512)] + [
        "a100"
    ]
    assert set(frame.prunesim_version) == {prunesim.__version__}
    assert (frame.hardware_file.iloc[0], len(frame.hardware_sha256.iloc[0])) == ("spatten", 64)
    spatten = frame[(frame.method == "spatten") & (frame.kind == "accelerator")]
    assert list(spatten.token_keep) == [0.4, 0.8, 0.4, 0.8]
    assert spatten.options.str.contains("token_keep=0.4").sum() == 2


def test_unsupported_pairs_are_rows_with_a_reason() -> None:
    frame = sim.sweep(["resnet18", "bert-base"], "lapp", ["systolic-32", "spatten"])
    reasons = dict(zip(zip(frame.model, frame.hardware, strict=True), frame.skipped, strict=True))
    assert pandas.isna(reasons[("resnet18", "systolic-32")])
    assert "bert-base" in reasons[("bert-base", "spatten")]  # lapp cannot prune bert-base
    assert reasons[("resnet18", "spatten")]  # the accelerator cannot run convolutions
    skipped = frame[frame.skipped.notna()]
    assert skipped.cycles.isna().all()


def test_samples_are_distinct_reproducible_and_bounded() -> None:
    grid = {"hw.multipliers.qk": [64, 128, 256, 512], "token_keep": [0.2, 0.4, 0.6, 0.8]}
    first = sim.sweep("bert-base", "spatten", "spatten", grid=grid, samples=7, seed=1)
    again = sim.sweep("bert-base", "spatten", "spatten", grid=grid, samples=7, seed=1)
    assert first.equals(again)
    pairs = set(zip(first["hw.multipliers.qk"], first["token_keep"], strict=True))
    assert len(pairs) == 7
    whole = sim.sweep("bert-base", "spatten", "spatten", grid=grid, samples=16)
    assert len(whole) == 16
    with pytest.raises(ValueError, match=r"samples must be 1\.\.16 .*not 17"):
        dse.check("bert-base", "spatten", "spatten", grid=grid, samples=17)


def test_a_space_past_the_limit_is_refused_before_work_and_can_be_sampled() -> None:
    grid = {f"hw.{path}": list(range(1, 21)) for path in ("multipliers.qk", "multipliers.pv")}
    grid |= {"hw.dram.channels": list(range(1, 21)), "hw.softmax.lanes": list(range(1, 21))}
    grid["hw.topk.comparators"] = list(range(1, 11))  # 1.6 million points
    with pytest.raises(ValueError, match=r"1,600,000 points, more than 1,000,000 at once"):
        dse.check("bert-base", "spatten", "spatten", grid=grid)
    plan = dse.check("bert-base", "spatten", "spatten", grid=grid, samples=3)
    assert plan.points == 3


def test_progress_counts_every_point() -> None:
    done = []
    frame = sim.sweep(
        "bert-base", "spatten", "spatten", grid={"token_keep": [0.3, 0.5]}, progress=done.append
    )
    assert sum(done) == len(frame) == 2


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"hw.multipliers.qq": [1]}, r"'hw.multipliers.qq'.*did you mean 'multipliers.qk'"),
        ({"hw.multipliers.qk": [256, 0]}, r"^spatten: multipliers.qk: must be a positive integer"),
        ({"hw.topk.comparators": [2000]}, r"topk.comparators: must be between 1 and 1024, not"),
        ({"spaten.token_keep": [0.5]}, r"unknown name 'spaten.token_keep'.*'spatten'"),
        ({"catp.ratio": [0.5]}, r"'catp.ratio' names method catp, which is not run here"),
        ({"token_kep": [0.5]}, r"unknown option 'token_kep'.*did you mean 'token_keep'"),
        ({"token_keep": [1.5]}, r"token_keep must be in \(0, 1\], not 1.5"),
        ({"stage.tokns": [64]}, r"unknown stage field in 'stage.tokns'.*'stage.tokens'"),
        ({"stage.tokens": [64, 600]}, r"tokens 600 exceeds bert-base's 512 positions"),
        ({"stage.prompt": [8]}, r"no stage of this sweep has prompt"),
        ({"token_keep": []}, r"has no values"),
        (
            {"token_keep": [0.5, 0.1]},
            r"^bert-base spatten \(summarize 128 tokens, token_keep=0.1\): keep ratio 0.1 is too",
        ),
    ],
)
def test_bad_names_and_values_fail_before_any_work(
    grid: dict, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_work(chunk: object) -> None:
        raise AssertionError("priced before the check")

    monkeypatch.setattr(dse, "evaluate_chunk", no_work)
    with pytest.raises(ValueError, match=message) as info:
        sim.sweep("bert-base", "spatten", "spatten", grid=grid)
    assert "\n" not in str(info.value)


def test_a_bad_value_that_is_not_drawn_is_still_refused() -> None:
    grid = {"hw.dram.channels": [16] * 50 + [0]}
    with pytest.raises(HardwareError, match="dram.channels: must be a positive integer, not 0"):
        dse.check("bert-base", "spatten", "spatten", grid=grid, samples=1, seed=0)


def test_chunks_are_plain_picklable_data() -> None:
    import pickle

    plan = dse.check("bert-base", "spatten", "spatten", grid={"hw.dram.channels": [8, 16]})
    chunks = pickle.loads(pickle.dumps(plan.chunks()))
    rows = [row for chunk in chunks for row in dse.evaluate_chunk(chunk)]
    frame = dse.run(plan)
    assert [r["cycles"] for r in rows] == list(frame.cycles)


# -- variants --------------------------------------------------------------------------------


def test_variant_names_values_and_sources() -> None:
    spatten = load_hardware("spatten")
    changed = variant(spatten, {"multipliers.qk": 256, "dram.channels": "32"})
    assert changed.name == "spatten[multipliers.qk=256,dram.channels=32]"
    assert (changed.qk_multipliers, changed.dram_channels) == (256, 32)
    assert dataclasses.replace(changed, name=spatten.name, sources=spatten.sources) == (
        dataclasses.replace(spatten, qk_multipliers=256, dram_channels=32)
    )
    assert "variant of spatten" in changed.sources["qk_multipliers"]
    assert variant(spatten, {}) is spatten
    assert variant(spatten, {"clock_ghz": 2.0}).name == "spatten[clock_ghz=2]"
    latency = variant(spatten, {"latency_cycles.qk": 7}).latency_cycles
    assert latency == {**spatten.latency_cycles, "qk": 7}
    # half the Q.K multipliers: a compute-bound run takes longer
    assert changed.price(sim.make_workload("bert-base")).cycles > (
        spatten.price(sim.make_workload("bert-base")).cycles
    )


@pytest.mark.parametrize(
    ("hardware", "values", "message"),
    [
        ("spatten", {"multipliers.qk": 0}, "spatten: multipliers.qk: must be a positive integer"),
        ("spatten", {"multipliers.qk": 2.5}, "must be a positive integer, not 2.5"),
        ("spatten", {"softmax.pipelined": 1}, "softmax.pipelined: must be true or false, not 1"),
        ("spatten", {"energy.mult_pj": 1}, "energy.mult_pj: is an energy table"),
        ("spatten", {"dram.chanels": 4}, "unknown hardware field 'dram.chanels' of spatten"),
        ("a100", {"multipliers.qk": 4}, r"of a100 \(kind processor\)"),
        ("a100", {"memory_gb_per_s": 1.0e9}, "must be between 0.001 and 1e\\+08, not"),
        ("jetson-nano", {"dtype": "int8"}, r"jetson-nano\[dtype=int8\]: dtype: 'int8' has no"),
    ],
)
def test_variant_refuses_as_a_file_does(hardware: str, values: dict, message: str) -> None:
    with pytest.raises(HardwareError, match=message) as info:
        variant(load_hardware(hardware), values)
    assert "\n" not in str(info.value)


def test_a_file_and_a_variant_word_a_bad_value_alike(tmp_path) -> None:
    from prunesim.sim.hardware import PRESET_DIR

    text = (PRESET_DIR / "spatten.yaml").read_text().replace("  qk: 512", "  qk: 0")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(HardwareError) as from_file:
        load_hardware(path)
    with pytest.raises(HardwareError) as from_variant:
        variant(load_hardware("spatten"), {"multipliers.qk": 0})
    assert str(from_file.value).split(": ", 1)[1] == str(from_variant.value).split(": ", 1)[1]


# -- to_frame --------------------------------------------------------------------------------


def test_to_frame_has_a_row_per_layer() -> None:
    result = sim.simulate("bert-base", "spatten", "spatten")
    frame = result.to_frame()
    assert len(frame) == len(result.layers)
    assert list(frame.columns[:6]) == ["model", "method", "hardware", "stage", "mode", "layer"]
    assert set(frame.model) == {"bert-base"}
    assert list(frame.cycles) == [layer.cycles for layer in result.layers]
    assert frame.macs.sum() == sum(layer.macs for layer in result.layers)


# -- --set NAME=VALUE in simulate and compare ------------------------------------------------


def test_simulate_set_takes_hw_stage_and_method_prefixed_names(tmp_path) -> None:
    import json

    from cli_helpers import run_cli

    out = run_cli(
        "simulate", "--model", "bert-base", "--hw", "spatten", "--json",
        "--set", "hw.multipliers.qk=256", "--set", "spatten.token_keep=0.4",
        "--set", "stage.tokens=64", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    expected = sim.simulate(
        "bert-base",
        "spatten",
        variant(load_hardware("spatten"), {"multipliers.qk": 256}),
        stage=sim.Summarize(64),
        token_keep=0.4,
    )
    assert document["hardware"] == "spatten[multipliers.qk=256]"
    assert document["inputs"]["options"]["token_keep"] == 0.4
    assert (document["cycles"], document["energy_j"]) == (expected.cycles, expected.energy_j)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (
            ("compare", "--model", "bert-base", "--method", "spatten", "--hw", "spatten,a100"),
            r"unknown hardware field 'multipliers.qk' of a100 \(kind processor\)",
        ),
        (
            ("simulate", "--model", "bert-base", "--method", "spatten", "--hw", "spatten"),
            r"spatten: multipliers.qk: must be between 1 and 1048576, not 2000000",
        ),
    ],
)
def test_set_hw_errors_are_one_line(tmp_path, args: tuple, pattern: str) -> None:
    from cli_helpers import assert_one_line_error, run_cli

    value = "4" if args[0] == "compare" else "2000000"
    result = run_cli(*args, "--set", f"hw.multipliers.qk={value}", cwd=tmp_path)
    assert_one_line_error(result, pattern)


def test_compare_set_method_prefixed_applies_to_that_method_only() -> None:
    from prunesim.sim.compare import compare

    results = compare(
        ["bert-base"],
        ["spatten-token", "spatten"],
        ["spatten"],
        method_options={"spatten": {"token_keep": 0.3}},
    )
    seconds = {m: e.result.seconds for (m, _), e in results[0].entries.items()}
    assert seconds["spatten"] == sim.simulate("bert-base", "spatten", token_keep=0.3).seconds
    assert seconds["spatten-token"] == sim.simulate("bert-base", "spatten-token").seconds


def test_compare_record_holds_method_prefixed_options() -> None:
    from prunesim.provenance import compare_inputs

    record = compare_inputs(
        model="bert-base",
        methods=["spatten-token", "spatten"],
        overrides={"token_keep": 0.5},
        hardware=[],
        stage=sim.Summarize(128),
        mode="attention",
        weight_bits=None,
        per_method={"spatten": {"token_keep": 0.3}},
    )
    keep = {m["name"]: m["options"]["token_keep"] for m in record["methods"]}
    assert keep == {"dense": get_method_default("dense"), "spatten-token": 0.5, "spatten": 0.3}


def get_method_default(name: str) -> float:
    return sim.get_method(name).options.token_keep


def test_a_variant_of_a_target_without_an_optional_group() -> None:
    # a100's file has area: but no static: (no published idle power); the rule on static.idle_w
    # (below the busy power) must not run on the missing value
    a100 = load_hardware("a100")
    assert a100.static_idle_w is None
    faster = variant(a100, {"memory_gb_per_s": 2000.0})
    assert faster.memory_gb_per_s == 2000.0 and faster.static_idle_w is None
    with pytest.raises(HardwareError, match=r"static\.idle_w: must be below power_w"):
        variant(a100, {"static.idle_w": 1000.0})
