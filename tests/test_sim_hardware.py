"""Hardware descriptions: the shipped presets, the loader's validation and the energy tables."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from prunesim.sim import hardware as hw_module
from prunesim.sim.costs.accelerator import Accelerator
from prunesim.sim.costs.processor import Processor
from prunesim.sim.costs.published import Published
from prunesim.sim.costs.systolic import Systolic
from prunesim.sim.hardware import (
    EnergyTable,
    HardwareError,
    hardware_names,
    load_hardware,
)
from prunesim.sim.hwfile import Field, layout_paths

PRESET_DIR = Path(hw_module.__file__).parent / "hardware"
PRESETS = {
    "a100": Processor,
    "a3": Published,
    "h100": Processor,
    "h200": Processor,
    "jetson-agx-orin": Processor,
    "jetson-nano": Processor,
    "mnnfast": Published,
    "raspberry-pi-4": Processor,
    "spatten": Accelerator,
    "spatten-e2e": Accelerator,
    "spatten-eighth": Accelerator,
    "systolic-32": Systolic,
    "systolic-32-sparse": Systolic,
    "titan-xp": Processor,
    "tpu-v1": Systolic,
    "xeon-e5-2640-v4": Processor,
}


# ---------------------------------------------------------------------------------------------
# Presets.


def test_hardware_names_lists_the_presets_sorted():
    assert hardware_names() == sorted(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_loads_with_positive_fields(name):
    hw = load_hardware(name)
    assert isinstance(hw, PRESETS[name])
    assert hw.name == name  # the file stem
    assert hw.kind == PRESETS[name].kind  # the class attribute holds the default
    assert hw.description
    optional = {
        spec.attr
        for spec in layout_paths(hw.LAYOUT).values()
        if isinstance(spec, Field) and spec.optional
    }
    for f in dataclasses.fields(hw):
        value = getattr(hw, f.name)
        if isinstance(value, bool) or isinstance(value, str):
            assert value is True or value is False or value.strip(), f.name
        elif isinstance(value, int | float):
            assert value > 0 and math.isfinite(value), f.name
        elif isinstance(value, EnergyTable):
            assert value.source and value.points
            assert all(s > 0 and e > 0 for s, e in value.points.items()), f.name
        elif f.name == "latency_cycles":
            assert set(value) >= {"qk", "softmax", "pv"}
            assert all(isinstance(c, int) and c >= 0 for c in value.values())
        elif f.name == "peak_tflops":
            assert value and all(p > 0 for p in value.values())
        elif value is None:  # only optional fields and the optional area:/static: groups
            assert f.name in optional or f.name.startswith(("area_", "static_")), f.name
        else:
            assert f.name == "sources"
            assert all(isinstance(s, str) and s for s in value.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        hw.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_cites_every_figure(name):
    hw = load_hardware(name)
    cited = set(hw.sources)
    numbers = {
        f.name
        for f in dataclasses.fields(hw)
        if isinstance(getattr(hw, f.name), int | float | EnergyTable)
    }
    if isinstance(hw, Accelerator):
        numbers |= {f"latency_cycles.{step}" for step in hw.latency_cycles}
        assert hw.dram_source == hw.sources["dram_pj_per_bit"]
    if isinstance(hw, Processor):
        numbers.add("dtype")
        numbers |= {f"peak_tflops.{p}" for p in hw.peak_tflops}
    assert numbers <= cited, sorted(numbers - cited)


def test_spatten_figures():
    hw = load_hardware("spatten")
    assert isinstance(hw, Accelerator)
    assert hw.peak_ops_per_s == 2 * 1024 * 1e9  # the paper's 2 TFLOPS compute roof
    assert hw.dram_bytes_per_s == 512e9
    assert hw.dram_bytes_per_cycle == 512
    assert hw.latency_cycles == {"qk": 11, "softmax": 87, "pv": 3}
    assert (hw.multiplier_bits, hw.sram_word_bits, hw.softmax_lanes) == (12, 12, 8)
    assert hw.softmax_pipelined and hw.topk_comparators == 16
    assert hw.k_sram_kb == hw.v_sram_kb == 196
    assert hw.dram_pj_per_bit == 3.9 and hw.sram_read_bits == 64
    assert "8.30 W" in hw.sources["reported_power"]

    eighth = load_hardware("spatten-eighth")
    assert isinstance(eighth, Accelerator)
    assert eighth.qk_multipliers + eighth.pv_multipliers == 128
    assert eighth.dram_bytes_per_s == 64e9
    assert "assumption" in eighth.sources["softmax_lanes"].lower()
    assert eighth.mult_pj == hw.mult_pj and eighth.sram_pj_per_read == hw.sram_pj_per_read


def test_baseline_figures():
    a3, mnnfast = load_hardware("a3"), load_hardware("mnnfast")
    assert isinstance(a3, Published) and isinstance(mnnfast, Published)
    assert (a3.gops, a3.gops_per_j, mnnfast.gops, mnnfast.gops_per_j) == (221, 269, 120, 120)
    titan = load_hardware("titan-xp")
    assert isinstance(titan, Processor)
    assert titan.peak_ops_per_s == pytest.approx(3840 * 2 * 1.582e9, rel=1e-3)
    assert titan.dtype == "fp32" and titan.dtype_bytes == 4
    a100 = load_hardware("a100")
    assert isinstance(a100, Processor)
    assert a100.dtype == "fp32" and a100.peak_tflops["fp16"] == 312
    for name in ("titan-xp", "a100", "xeon-e5-2640-v4", "jetson-nano", "raspberry-pi-4"):
        hw = load_hardware(name)
        assert 1 <= hw.kernel_overhead_us <= 100, name


def test_modern_gpu_figures():
    h100, h200 = load_hardware("h100"), load_hardware("h200")
    orin = load_hardware("jetson-agx-orin")
    for hw in (h100, h200, orin):
        assert isinstance(hw, Processor)
        assert "fp16" in hw.peak_tflops and hw.dtype == "fp16" and hw.dtype_bytes == 2
        assert 1 <= hw.kernel_overhead_us <= 100, hw.name
    # the H200 is the H100's GPU with faster memory: equal compute, more bandwidth, same power
    assert h200.peak_tflops == h100.peak_tflops and h200.clock_ghz == h100.clock_ghz
    assert h200.dram_bytes_per_s > h100.dram_bytes_per_s
    assert (h100.memory_gb_per_s, h200.memory_gb_per_s) == (3350, 4800)
    assert h100.power_w == h200.power_w == 700
    assert h100.peak_ops_per_s == 989.4e12  # dense fp16 tensor cores, half the sparse 1979
    assert h100.peak_tflops["int8"] == pytest.approx(2 * h100.peak_tflops["fp16"], rel=1e-3)
    # the edge GPU: 2048 cores x 2 x 1.3 GHz; dense fp16 = 170 sparse int8 TOPS / 4; derived
    assert orin.peak_tflops["fp32"] == pytest.approx(2048 * 2 * 1.3e9 / 1e12, rel=1e-3)
    assert orin.peak_tflops["fp16"] == 170 / 4 and orin.memory_gb_per_s == 204.8
    assert orin.power_w == 60
    for precision in ("fp32", "fp16", "bf16", "int8"):
        assert "derived" in orin.sources[f"peak_tflops.{precision}"].lower()


def test_spatten_e2e_is_spatten_hardware():
    spatten, e2e = load_hardware("spatten"), load_hardware("spatten-e2e")
    assert isinstance(e2e, Accelerator)
    fields = [f.name for f in dataclasses.fields(e2e)]
    differs = {name for name in fields if getattr(e2e, name) != getattr(spatten, name)}
    assert differs == {"name", "description", "sources"}
    assert {k: v for k, v in e2e.sources.items() if k in spatten.sources} == spatten.sources
    assert set(e2e.sources) - set(spatten.sources) == {"reported_e2e_speedup"}
    reported = e2e.sources["reported_e2e_speedup"]
    assert all(figure in reported for figure in ("35x", "122x", "24x", "83x"))


def test_load_by_path_equals_load_by_name(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text((PRESET_DIR / "spatten.yaml").read_text())
    assert load_hardware(str(path)) == load_hardware("spatten")
    assert load_hardware(path) == load_hardware("spatten")


def test_unknown_name_lists_the_presets():
    with pytest.raises(HardwareError) as info:
        load_hardware("spaten")
    message = str(info.value)
    assert message.startswith("unknown hardware 'spaten' (choose from ")
    assert "give a path to a .yaml file" in message
    for name in PRESETS:
        assert name in message


def test_missing_path_is_unknown(tmp_path):
    with pytest.raises(HardwareError, match="unknown hardware"):
        load_hardware(str(tmp_path / "nope.yaml"))


def test_not_a_name_or_path():
    with pytest.raises(TypeError):
        load_hardware(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Bad files: each names the file, the line and the field.


def _preset(name: str) -> list[str]:
    return (PRESET_DIR / f"{name}.yaml").read_text().splitlines()


def _find(lines: list[str], start: str, after: int = 0) -> int:
    """0-based index of the first line at or after ``after`` whose text starts with ``start``."""
    for i in range(after, len(lines)):
        if lines[i].startswith(start):
            return i
    raise AssertionError(f"no line starts with {start!r}")


def _drop(lines: list[str], i: int) -> list[str]:
    """Remove line ``i`` and the more-indented lines that continue it."""

    def indent(line: str) -> int:
        return len(line) - len(line.lstrip())

    j = i + 1
    while j < len(lines) and lines[j].strip() and indent(lines[j]) > indent(lines[i]):
        j += 1
    return lines[:i] + lines[j:]


def _error(tmp_path: Path, lines: list[str]) -> tuple[Path, str]:
    path = tmp_path / "bad.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HardwareError) as info:
        load_hardware(str(path))
    return path, str(info.value)


def _replace(name: str, start: str, new: str, after: str | None = None) -> tuple[list[str], int]:
    lines = _preset(name)
    i = _find(lines, start, _find(lines, after) if after else 0)
    lines[i] = new
    return lines, i + 1


# (preset, line to change (its start), new text, text that must follow "file:line: ")
BAD_VALUES = [
    (
        "spatten",
        "  channels: 16",
        "  channels: 0",
        "dram.channels: must be a positive integer, not 0",
    ),
    (
        "spatten",
        "  channel_gb_per_s:",
        "  channel_gb_per_s: -32.0",
        "dram.channel_gb_per_s: must be a positive number, not -32.0",
    ),
    ("spatten", "  k_kb:", "  k_kb: lots", "sram.k_kb: must be a positive number, not 'lots'"),
    ("spatten", "  qk: 512", "  qk: 12.5", "multipliers.qk: must be a positive integer, not 12.5"),
    ("spatten", "  qk: 512", "  qk: true", "multipliers.qk: must be a positive integer, not true"),
    (
        "spatten",
        "  channel_gb_per_s:",
        "  channel_gb_per_s: 3.2e1",
        "dram.channel_gb_per_s: must be a positive number, not '3.2e1' (YAML reads it as text",
    ),
    (
        "spatten",
        "  pipelined:",
        "  pipelined: maybe",
        "softmax.pipelined: must be true or false, not 'maybe'",
    ),
    (
        "spatten",
        "  softmax: 87",
        "  softmax: -1",
        "latency_cycles.softmax: must be a non-negative integer, not -1",
    ),
    (
        "spatten",
        "kind: accelerator",
        "kind: acelerator",
        "kind: must be one of accelerator, processor, published, systolic, not 'acelerator'",
    ),
    ("spatten", "  channels: 16", "  chanels: 16", "dram.chanels: unknown field"),
    ("spatten", "  k_kb:", "  k_KB: 196", "sram.k_KB: unknown field"),
    ("spatten", "clock_ghz:", "clock_hz:", "clock_hz: unknown field"),
    ("spatten", "  qk: 11", "  q_k: 11", "latency_cycles.q_k: unknown pipeline step"),
    ("spatten", "name: spatten", "name: [a, b]", "name: must be a non-empty text, not a list"),
    (
        "spatten",
        "    value: 3.9",
        "    value: .nan",
        "energy.dram_pj_per_bit: must be a positive number, not nan",
    ),
    ("a3", "  value: 221.0", "  value: 0", "gops: must be a positive number, not 0"),
    ("titan-xp", "  value: fp32", "  value: fp16", "dtype: 'fp16' has no peak in peak_tflops"),
    ("titan-xp", "  value: fp32", "  value: fp23", "dtype: must be one of fp32, tf32, fp16"),
    ("titan-xp", "  fp32:", "  fp23:", "peak_tflops.fp23: unknown precision"),
    (
        "titan-xp",
        "  value: 10.0",
        "  value: -10",
        "kernel_overhead_us: must be a positive number, not -10",
    ),
    (
        "spatten",
        "    scaling: quadratic",
        "    scaling: cubic",
        "energy.mult_pj.scaling: must be one of quadratic, linear, log, not 'cubic'",
    ),
    (
        "spatten",
        "    points: {8: 0.2, 32: 3.1}",
        "    points: {8: 0.2, 32: 0}",
        "energy.mult_pj.points.32: must be a positive number, not 0",
    ),
    (
        "spatten",
        "    points: {8: 10, 32: 20, 1024: 100}",
        "    points: {8: 10, 32: 5, 1024: 100}",
        "energy.sram_pj_per_read.points: energy must not decrease as size grows",
    ),
]


@pytest.mark.parametrize(("preset", "start", "new", "expected"), BAD_VALUES)
def test_bad_value_names_file_line_and_field(tmp_path, preset, start, new, expected):
    lines, line = _replace(preset, start, new)
    path, message = _error(tmp_path, lines)
    assert message.startswith(f"{path}:{line}: {expected}"), message


def test_typo_suggests_the_field(tmp_path):
    lines, _ = _replace("spatten", "  channels: 16", "  chanels: 16")
    _, message = _error(tmp_path, lines)
    assert "did you mean 'channels'?" in message
    assert "expected one of channels, channel_gb_per_s, transaction_bytes" in message


@pytest.mark.parametrize(
    ("start", "parent", "field"),
    [
        ("  channels: 16", "dram:", "dram.channels"),
        ("  word_bits: 12", "sram:", "sram.word_bits"),
        ("  pv: 3", "latency_cycles:", "latency_cycles.pv"),
        ("multipliers:", None, "multipliers"),
        ("description:", None, "description"),
    ],
)
def test_missing_field_names_its_group(tmp_path, start, parent, field):
    lines = _preset("spatten")
    i = _find(lines, start)
    expected_line = _find(lines, parent) + 1 if parent else _find(lines, "name:") + 1
    path, message = _error(tmp_path, _drop(lines, i))
    assert message == f"{path}:{expected_line}: {field}: missing", message


def test_energy_table_without_source(tmp_path):
    lines = _preset("spatten")
    table = _find(lines, "  mult_pj:")
    path, message = _error(tmp_path, _drop(lines, _find(lines, "    source:", table)))
    assert message == f"{path}:{table + 1}: energy.mult_pj.source: missing", message


def test_dram_energy_without_source(tmp_path):
    lines = _preset("spatten")
    i = _find(lines, "  dram_pj_per_bit:")
    lines = _drop(lines, i)
    lines.insert(i, "  dram_pj_per_bit: 3.9")
    path, message = _error(tmp_path, lines)
    assert message.startswith(f"{path}:{i + 1}: energy.dram_pj_per_bit: must name its source")


def test_cited_value_without_source(tmp_path):
    lines = _preset("a3")
    i = _find(lines, "gops:")
    path, message = _error(tmp_path, _drop(lines, _find(lines, "  source:", i)))
    assert message == f"{path}:{i + 1}: gops.source: missing", message


def test_duplicate_field(tmp_path):
    lines = _preset("spatten")
    first = _find(lines, "name:")
    lines.insert(first + 1, "name: again")
    path, message = _error(tmp_path, lines)
    assert message == f"{path}:{first + 2}: name: given twice (first on line {first + 1})"


def test_source_note_clashing_with_a_cited_field(tmp_path):
    lines = _preset("a3")
    lines.insert(_find(lines, "sources:") + 1, "  gops: another source")
    path, message = _error(tmp_path, lines)
    assert f"{path}:" in message and "sources.gops: 'gops' already has a source" in message


def test_python_tags_are_refused(tmp_path):
    marker = tmp_path / "ran"
    lines, line = _replace(
        "spatten", "name: spatten", f"name: !!python/object/apply:os.system ['touch {marker}']"
    )
    path, message = _error(tmp_path, lines)
    assert message.startswith(f"{path}:{line}: name: cannot read this value")
    assert not marker.exists()


def test_yaml_syntax_error_has_a_line(tmp_path):
    lines = _preset("spatten")
    i = _find(lines, "topk:")
    lines.insert(i, "broken: [1, 2")
    path, message = _error(tmp_path, lines)
    assert message.startswith(f"{path}:") and "not valid YAML" in message
    assert int(message.split(":")[1]) > i


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1: the file is empty"),
        ("- a\n- b\n", "1: must be a mapping (indented fields), not a list"),
        ("name: x\nkind: gpu\n", "2: kind: must be one of accelerator, processor, published"),
        ("name: x\nknd: processor\n", "2: knd: unknown field; did you mean 'kind'?"),
        ("name: x\n", "1: kind: missing"),
    ],
)
def test_malformed_documents(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(HardwareError) as info:
        load_hardware(str(path))
    assert str(info.value).startswith(f"{path}:{expected}"), str(info.value)


def test_zero_latency_is_allowed(tmp_path):
    lines, _ = _replace("spatten", "  pv: 3", "  pv: 0")
    path = tmp_path / "ok.yaml"
    path.write_text("\n".join(lines) + "\n")
    hw = load_hardware(str(path))
    assert isinstance(hw, Accelerator) and hw.latency_cycles["pv"] == 0


def test_minimal_processor_file(tmp_path):
    """A user file may give plain values and no sources (except for energy entries)."""
    path = tmp_path / "gpu.yaml"
    path.write_text(
        "name: my-gpu\nkind: processor\ndescription: a test GPU\nclock_ghz: 1.5\n"
        "peak_tflops: {fp32: 10, fp16: 40}\ndtype: fp16\nmemory_gb_per_s: 900\n"
        "kernel_overhead_us: 5\npower_w: 300\n"
    )
    hw = load_hardware(path)
    assert hw == Processor(
        name="my-gpu",
        description="a test GPU",
        clock_ghz=1.5,
        peak_tflops={"fp32": 10.0, "fp16": 40.0},
        dtype="fp16",
        memory_gb_per_s=900.0,
        kernel_overhead_us=5.0,
        power_w=300.0,
    )
    assert hw.dtype_bytes == 2 and hw.peak_ops_per_s == 40e12


# ---------------------------------------------------------------------------------------------
# Energy tables.

MULT = EnergyTable({8: 0.2, 32: 3.1}, "quadratic", "Horowitz 2014")
ADD = EnergyTable({8: 0.03, 32: 0.1}, "linear", "Horowitz 2014")
SRAM = EnergyTable({8: 10, 32: 20, 1024: 100}, "log", "Horowitz 2014")


def test_exact_points_are_returned_exactly():
    for table in (MULT, ADD, SRAM):
        for size, energy in table.points.items():
            assert table(size) == energy
            assert table(float(size)) == energy


def test_quadratic_scales_the_nearest_point():
    assert MULT(12) == pytest.approx(0.2 * (12 / 8) ** 2)  # 8 is nearer than 32
    assert MULT(24) == pytest.approx(3.1 * (24 / 32) ** 2)
    assert MULT(64) == pytest.approx(3.1 * 4)
    assert MULT(4) == pytest.approx(0.2 / 4)


def test_linear_scales_the_nearest_point_smaller_on_a_tie():
    assert ADD(24) == pytest.approx(0.1 * 24 / 32)
    assert ADD(16) == pytest.approx(0.03 * 2)  # 16 is as far from 8 as from 32


def test_log_interpolates_sram_by_capacity():
    e = SRAM(196)
    assert 20 < e < 100
    assert e == pytest.approx(20 + 80 * math.log(196 / 32) / math.log(1024 / 32))
    assert SRAM(16) == pytest.approx(15)  # halfway between 8 and 32 in log
    assert SRAM(2048) == pytest.approx(100 + 80 / 5)  # last segment extended: 80 pJ per 32x


def test_log_holds_the_smallest_point_below_it():
    assert SRAM(1) == 10  # extrapolating the first segment would give -5 pJ
    sizes = [0.5, 1, 4, 8, 12, 32, 100, 196, 1024, 4096]
    energies = [SRAM(s) for s in sizes]
    assert energies == sorted(energies) and min(energies) > 0


def test_size_must_be_positive():
    for table in (MULT, SRAM):
        with pytest.raises(ValueError):
            table(0)
        with pytest.raises(ValueError):
            table(-8)


def test_preset_tables_match_the_cited_points():
    hw = load_hardware("spatten")
    assert isinstance(hw, Accelerator)
    assert hw.mult_pj(hw.multiplier_bits) == pytest.approx(0.2 * (12 / 8) ** 2)
    assert hw.add_pj(2 * hw.multiplier_bits) == pytest.approx(0.1 * 24 / 32)
    assert 20 < hw.sram_pj_per_read(hw.k_sram_kb) < 100
