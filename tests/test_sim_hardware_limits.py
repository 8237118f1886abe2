"""Hardware files at the edges: physical ranges of every number, nesting depth, the spelling of
numbers YAML reads as text, two targets of one name, and paths as ``pathlib.Path``."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pytest
import yaml
from cli_helpers import assert_one_line_error, run_cli

from prunesim.sim import hardware as hw_module
from prunesim.sim.api import make_workload, simulate
from prunesim.sim.compare import compare
from prunesim.sim.costs import KINDS
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import (
    HardwareError,
    as_target,
    hardware_names,
    load_hardware,
    load_targets,
)
from prunesim.sim.hwfile import ANY, MAX_DEPTH, EnergyTable, Field, MappingField, Range
from prunesim.sim.ofa_sweep import ofa_sweep

PRESET_DIR = Path(hw_module.__file__).parent / "hardware"
SHIPPED_KINDS = {
    name: cls for name, cls in KINDS.items() if cls.__module__.startswith("prunesim.sim.costs.")
}


def _lines(preset: str) -> list[str]:
    return (PRESET_DIR / f"{preset}.yaml").read_text().splitlines()


def _edit(preset: str, start: str, new: str, after: str | None = None) -> tuple[str, int]:
    """The preset's text with the first line starting with ``start`` (after the first line
    starting with ``after``) replaced by ``new``, and that line's number."""
    lines = _lines(preset)
    first = next(i for i, line in enumerate(lines) if line.startswith(after)) if after else 0
    i = next(i for i in range(first, len(lines)) if lines[i].startswith(start))
    lines[i] = new
    return "\n".join(lines) + "\n", i + 1


def _load_error(path: Path) -> str:
    with pytest.raises(HardwareError) as info:
        load_hardware(path)
    return str(info.value)


def _numeric_specs(layout: dict) -> list[Field | MappingField]:
    specs = []
    for spec in layout.values():
        if isinstance(spec, dict):
            specs += _numeric_specs(spec)
        elif isinstance(spec, MappingField) or spec.kind in ("int", "float", "cited", "table"):
            specs.append(spec)
    return specs


# ---------------------------------------------------------------------------------------------
# Physical ranges.

# (preset, line to change (its start), after the line starting with, new text, message after
# "file:line: ")
OUT_OF_RANGE = [
    (
        "systolic-32",
        "  rows:",
        None,
        "  rows: 100000000000000000000",
        "array.rows: must be between 1 and 1048576, not 100000000000000000000",
    ),
    (
        "systolic-32",
        "  columns:",
        None,
        "  columns: 1.0e+20",
        "array.columns: must be between 1 and 1048576, not 100000000000000000000",
    ),
    (
        "a100",
        "  value: 1555.0",
        None,
        "  value: 1.0e-300",
        "memory_gb_per_s: must be between 0.001 and 1e+08, not 1e-300",
    ),
    (
        "a100",
        "  value: 1555.0",
        None,
        "  value: 1.0e+300",
        "memory_gb_per_s: must be between 0.001 and 1e+08, not 1e+300",
    ),
    (
        "a100",
        "  value: 1555.0",
        None,
        "  value: -1555.0",
        "memory_gb_per_s: must be a positive number, not -1555.0",
    ),
    (
        "a100",
        "  value: 1.41",
        None,
        "  value: 1000.0",
        "clock_ghz: must be between 0.001 and 100, not 1000.0",
    ),
    (
        "a100",
        "  value: 7.0",
        None,
        "  value: 1.0e+7",
        "kernel_overhead_us: must be between 0.001 and 1000000, not 10000000.0",
    ),
    (
        "a100",
        "  fp32: 19.5",
        None,
        "  fp32: 1.0e-9",
        "peak_tflops.fp32: must be between 1e-06 and 1000000, not 1e-09",
    ),
    (
        "a3",
        "  value: 269.0",
        None,
        "  value: 1.0e+12",
        "gops_per_j: must be between 0.001 and 1e+09, not 1000000000000.0",
    ),
    (
        "spatten",
        "  channels: 16",
        None,
        "  channels: 2097152",
        "dram.channels: must be between 1 and 1048576, not 2097152",
    ),
    (
        "spatten",
        "  softmax: 87",
        None,
        "  softmax: 1048577",
        "latency_cycles.softmax: must be between 0 and 1048576, not 1048577",
    ),
    (
        "spatten",
        "    value: 16",
        "  comparators:",
        "    value: 4096",
        "topk.comparators: must be between 1 and 1024, not 4096",
    ),
    (
        "spatten",
        "    points: {8: 0.2, 32: 3.1}",
        None,
        "    points: {8: 0.2, 32: 1.0e+7}",
        "energy.mult_pj.points.32: must be between 1e-06 and 1000000, not 10000000.0",
    ),
    (
        "spatten",
        "    points: {8: 0.2, 32: 3.1}",
        None,
        "    points: {8: 0.2, 1.0e+9: 3.1}",
        "energy.mult_pj.points (a size): must be between 1 and 4096, not 1000000000.0",
    ),
    (
        "spatten",
        "  word_bits: 12",
        None,
        "  word_bits: 100000",
        "sram.word_bits: must be between 1 and 4096, not 100000",
    ),
]


@pytest.mark.parametrize(("preset", "start", "after", "new", "expected"), OUT_OF_RANGE)
def test_out_of_range_value_names_file_line_and_range(
    tmp_path, preset, start, after, new, expected
):
    text, line = _edit(preset, start, new, after)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert _load_error(path) == f"{path}:{line}: {expected}"


@pytest.mark.parametrize(
    ("preset", "start", "new", "expected"),
    [
        ("systolic-32", "  rows:", "  rows: 100000000000000000000", r"array\.rows: must be"),
        ("a100", "  value: 1555.0", "  value: 1.0e-300", r"memory_gb_per_s: must be between"),
    ],
)
def test_cli_refuses_out_of_range_values(tmp_path, preset, start, new, expected):
    text, line = _edit(preset, start, new)
    (tmp_path / "bad.yaml").write_text(text)
    model = "resnet18" if preset.startswith("systolic") else "gpt2-small"
    for command in (
        ("simulate", "--model", model, "--method", "dense", "--hw", "bad.yaml", "--json"),
        ("compare", "--model", model, "--method", "dense", "--hw", "bad.yaml", "--json"),
    ):
        result = run_cli(*command, cwd=tmp_path)
        assert_one_line_error(result, rf"error: bad\.yaml:{line}: {expected}")


def test_every_number_of_every_shipped_kind_declares_its_range():
    assert set(SHIPPED_KINDS) == {"accelerator", "processor", "published", "systolic"}
    for kind, cls in SHIPPED_KINDS.items():
        specs = _numeric_specs(cls.LAYOUT)
        assert specs, kind
        for spec in specs:
            assert isinstance(spec.bounds, Range), (kind, spec.attr)
            assert 0 <= spec.bounds.low < spec.bounds.high < math.inf, (kind, spec.attr)
            if isinstance(spec, Field) and spec.kind == "table":
                assert isinstance(spec.sizes, Range), (kind, spec.attr)


@pytest.mark.parametrize("name", hardware_names())
def test_preset_values_lie_within_their_ranges(name):
    """Every preset loads (the ranges refuse none of them) and every number lies in its range."""
    hw = load_hardware(name)
    for spec in _numeric_specs(hw.LAYOUT):
        value = getattr(hw, spec.attr)
        if value is None:  # an optional field, or one of an optional group (area:, static:)
            optional = isinstance(spec, Field) and spec.optional
            assert optional or spec.attr.startswith(("area_", "static_")), (name, spec.attr)
        elif isinstance(value, EnergyTable):
            assert all(s in spec.sizes for s in value.points), (name, spec.attr)
            assert all(e in spec.bounds for e in value.points.values()), (name, spec.attr)
        elif isinstance(value, dict):
            assert all(v in spec.bounds for v in value.values()), (name, spec.attr)
        else:
            assert value in spec.bounds, (name, spec.attr)


def _at_ends(hw, pick) -> object:
    """``hw`` with every number set to an end of its range: ``pick(i)`` is ``"low"`` or
    ``"high"`` for the i-th numeric field (tables: both sizes at that end's energy)."""
    changes = {}
    for i, spec in enumerate(_numeric_specs(hw.LAYOUT)):
        end = pick(i)
        bounds = spec.bounds or ANY
        value = bounds.low if end == "low" else bounds.high
        if isinstance(spec, MappingField):
            value = int(value) if spec.kind == "int" else value
            changes[spec.attr] = dict.fromkeys(getattr(hw, spec.attr), value)
        elif spec.kind == "table":
            table = getattr(hw, spec.attr)
            points = {spec.sizes.low: value, spec.sizes.high: value}
            changes[spec.attr] = EnergyTable(points, table.scaling, table.source)
        else:
            changes[spec.attr] = int(value) if spec.kind == "int" else value
    return dataclasses.replace(hw, **changes)


CORNERS = {
    "all low": lambda i: "low",
    "all high": lambda i: "high",
    "alternating": lambda i: ("low", "high")[i % 2],
    "alternating the other way": lambda i: ("high", "low")[i % 2],
}
CORNER_WORKLOADS = [
    ("gpt2-small", "spatten", {}),
    ("bert-base", "dense", {"mode": "e2e"}),
    ("resnet20", "fedtiny", {}),
]


@pytest.mark.parametrize("preset", ["spatten", "a100", "a3", "systolic-32-sparse"])
@pytest.mark.parametrize("corner", sorted(CORNERS))
def test_results_are_finite_at_the_corners_of_the_ranges(preset, corner):
    """The ranges are what keeps a cost model's arithmetic finite: every total and per-layer
    figure of representative workloads is a finite number at the ends of every range."""
    hw = _at_ends(load_hardware(preset), CORNERS[corner])
    assert SHIPPED_KINDS[hw.kind] is type(hw)
    priced = 0
    for model, method, options in CORNER_WORKLOADS:
        workload = make_workload(model, method, **options)
        if hw.unsupported(workload) is not None:
            continue
        result = evaluate(workload, hw).to_dict()
        json.dumps(result, allow_nan=False)  # raises on inf and nan anywhere
        assert result["cycles"] > 0 and result["seconds"] > 0, (model, method)
        priced += 1
    assert priced >= 1


# ---------------------------------------------------------------------------------------------
# Nesting depth.


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "{" * 100_000,
        "- " * 100_000 + "x\n",
        "name: x\nkind: processor\nsources:\n  deep: " + "[" * 100_000 + "]" * 100_000 + "\n",
    ],
    ids=["flow lists", "flow mappings", "block lists", "inside a field"],
)
def test_deep_nesting_is_one_error_not_a_recursion_error(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    line = text[: text.find("[" if "[" in text else ("{" if "{" in text else "-"))].count("\n")
    message = _load_error(path)
    assert message == f"{path}:{line + 1}: nesting deeper than {MAX_DEPTH} levels"


def test_nesting_up_to_the_limit_is_read():
    """MAX_DEPTH levels compose (the file is then refused for what it says, not its depth)."""
    nested = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    with pytest.raises(HardwareError) as info:
        hw_module.read_hardware("f.yaml", f"name: {nested}\n", {})
    assert str(info.value).startswith("f.yaml:1: kind: missing")
    deeper = "[" + nested + "]"
    with pytest.raises(HardwareError, match=f"^f.yaml:1: nesting deeper than {MAX_DEPTH}"):
        hw_module.read_hardware("f.yaml", f"name: {deeper}\n", {})


def test_cli_refuses_deep_nesting(tmp_path):
    (tmp_path / "deep.yaml").write_text("[" * 100_000)
    result = run_cli("simulate", "--hw", "deep.yaml", cwd=tmp_path)
    assert_one_line_error(result, rf"error: deep\.yaml:1: nesting deeper than {MAX_DEPTH} levels$")


# ---------------------------------------------------------------------------------------------
# Numbers that YAML reads as text.


@pytest.mark.parametrize(
    "spelling", ["1.0e+9", "1.e+9", "2.5e-3", "1.0E+9", "-1.0e+9", "32.0", ".5e+3"]
)
def test_numbers_the_format_documents_read_as_numbers(spelling):
    assert isinstance(yaml.safe_load(f"x: {spelling}")["x"], float)


@pytest.mark.parametrize("spelling", ["1e9", "1.0e9", "1e+9", "3.2e1", "1e-3", "2E10"])
def test_hint_spells_a_number_that_yaml_reads(tmp_path, spelling):
    assert isinstance(yaml.safe_load(f"x: {spelling}")["x"], str)  # YAML 1.1 reads it as text
    text, line = _edit("a100", "  value: 1555.0", f"  value: {spelling}")
    path = tmp_path / "text.yaml"
    path.write_text(text)
    message = _load_error(path)
    prefix = f"{path}:{line}: memory_gb_per_s: must be a positive number, not {spelling!r} "
    assert message.startswith(prefix + "(YAML reads it as text: write "), message
    written = re.search(r"write (\S+);", message).group(1)
    read = yaml.safe_load(f"x: {written}")["x"]
    assert isinstance(read, float) and read == float(spelling)
    assert "decimal point and a signed exponent" in message


def test_text_that_is_no_number_gets_no_hint(tmp_path):
    for value in ("lots", "inf", "nan", "1,5"):
        text, line = _edit("a100", "  value: 1555.0", f"  value: {value}")
        path = tmp_path / "text.yaml"
        path.write_text(text)
        expected = f"{path}:{line}: memory_gb_per_s: must be a positive number, not {value!r}"
        assert _load_error(path) == expected


# ---------------------------------------------------------------------------------------------
# Two targets of one name.


def _renamed_copy(tmp_path: Path, preset: str, name: str | None = None) -> Path:
    """A copy of ``preset`` with half its memory bandwidth; still named ``preset`` unless
    ``name`` is given."""
    text = (PRESET_DIR / f"{preset}.yaml").read_text()
    assert text.count("  value: 1555.0\n") == 1
    text = text.replace("  value: 1555.0\n", "  value: 777.5\n")
    if name is not None:
        text = text.replace(f"name: {preset}\n", f"name: {name}\n")
    path = tmp_path / f"my-{preset}.yaml"
    path.write_text(text)
    return path


def test_compare_refuses_two_targets_of_one_name(tmp_path):
    copy = _renamed_copy(tmp_path, "a100")
    with pytest.raises(HardwareError) as info:
        compare(["gpt2-small"], ["spatten"], ["a100", copy])
    assert str(info.value) == (
        f"hardware 'a100' is named twice: a100.yaml and {copy}; "
        "give the copy a name of its own (its name: field)"
    )
    loaded = [load_hardware("a100"), load_hardware(copy)]
    with pytest.raises(HardwareError, match="^hardware 'a100' is named twice: a loaded Proc"):
        compare(["gpt2-small"], ["spatten"], loaded)


def test_compare_keeps_both_once_renamed(tmp_path):
    copy = _renamed_copy(tmp_path, "a100", name="a100-half-bandwidth")
    [result] = compare(["gpt2-small"], ["spatten"], ["a100", copy])
    assert result.hardware == ["a100", "a100-half-bandwidth"]
    full = result.entries[("spatten", "a100")].result.seconds
    assert result.entries[("spatten", "a100-half-bandwidth")].result.seconds > full


def test_the_same_target_twice_counts_once():
    by_path = PRESET_DIR / "titan-xp.yaml"
    assert [t.name for t in load_targets(["titan-xp", by_path, str(by_path)])] == ["titan-xp"]
    loaded = load_hardware("titan-xp")
    assert load_targets([loaded, load_hardware("titan-xp")]) == [loaded]
    [result] = compare(["gpt2-small"], ["spatten"], ["titan-xp", by_path])
    assert result.hardware == ["titan-xp"] and result.baselines == ["titan-xp"]


def test_cli_compare_refuses_two_targets_of_one_name(tmp_path):
    _renamed_copy(tmp_path, "a100")
    result = run_cli(
        "compare",
        "--model",
        "gpt2-small",
        "--method",
        "spatten",
        "--hw",
        "a100,./my-a100.yaml",
        cwd=tmp_path,
    )
    assert_one_line_error(
        result, r"hardware 'a100' is named twice: a100\.yaml and \./my-a100\.yaml; give the copy"
    )


# ---------------------------------------------------------------------------------------------
# Paths as os.PathLike.


def test_simulate_takes_a_pathlib_path():
    by_path = simulate("gpt2-small", "spatten", hardware=PRESET_DIR / "spatten.yaml")
    assert by_path.to_dict() == simulate("gpt2-small", "spatten", hardware="spatten").to_dict()


def test_compare_takes_a_pathlib_path():
    [by_path] = compare(["gpt2-small"], ["spatten"], [PRESET_DIR / "spatten.yaml", "titan-xp"])
    [by_name] = compare(["gpt2-small"], ["spatten"], ["spatten", "titan-xp"])
    assert by_path.to_dict() == by_name.to_dict()


def test_ofa_sweep_takes_a_pathlib_path():
    from prunesim.models.ofa import OFASpec

    specs = [OFASpec.uniform(3, 3, 2)]
    by_path = ofa_sweep(specs, [PRESET_DIR / "systolic-32.yaml"])
    assert by_path == ofa_sweep(specs, ["systolic-32"])


def test_as_target_loads_names_and_paths_and_passes_targets():
    loaded = load_hardware("spatten")
    assert as_target("spatten") == as_target(PRESET_DIR / "spatten.yaml") == loaded
    assert as_target(loaded) is loaded
