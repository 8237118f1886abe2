"""Switching activity from VCD waveforms (prunesim.synth.activity) and its propagation through a
netlist (prunesim.synth.netlist.propagate_activity)."""

from __future__ import annotations

import re

import pytest
from synth_helpers import topk_waves

from prunesim.synth.activity import Activity, activity_from_vcd
from prunesim.synth.cells import LibCell, compile_function
from prunesim.synth.netlist import Netlist, propagate_activity

# clk rises at 5, 15, 25, 35 (4 cycles over 0..40); cnt counts 0, 1, 2, 3 from x; q: x, 0, 1, 0;
# sub.c_alias is another name of cnt (same identifier).
VCD = """$date today $end
$timescale 1ns $end
$scope module tb $end
$var reg 1 $ stim $end
$scope module top $end
$var wire 1 ! clk $end
$var wire 3 " cnt [2:0] $end
$scope module sub $end
$var wire 1 # q $end
$var wire 3 " c_alias [2:0] $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
bx "
x#
0$
$end
#5
1!
b0 "
0#
#10
0!
#15
1!
b1 "
1#
#20
0!
#25
1!
b10 "
0#
#30
0!
#35
1!
b11 "
#40
0!
"""


def test_toggles_and_duty_of_a_hand_written_vcd(tmp_path):
    path = tmp_path / "t.vcd"
    path.write_text(VCD)
    activity = activity_from_vcd(path, frames=2)
    assert isinstance(activity, Activity)
    assert activity.cycles == 4
    assert activity.source == f"vcd: {path}"
    assert activity.frames == 2
    # names below the design's scope "top" (the scope of clk with the most below it)
    assert set(activity) == {
        "clk",
        "cnt[0]",
        "cnt[1]",
        "cnt[2]",
        "sub.q",
        "sub.c_alias[0]",
        "sub.c_alias[1]",
        "sub.c_alias[2]",
    }
    # cnt[0]: 0 -> 1 -> 0 -> 1 (3 toggles), cnt[1]: one, cnt[2]: none; x -> 0 is no toggle
    assert activity["cnt[0]"] == pytest.approx(3 / 4)
    assert activity["cnt[1]"] == pytest.approx(1 / 4)
    assert activity["cnt[2]"] == 0
    assert activity["sub.c_alias[0]"] == activity["cnt[0]"]
    assert activity["sub.q"] == pytest.approx(2 / 4)
    assert activity["clk"] == pytest.approx(2.0)
    # time at 1 over 0..40 ns: clk half; cnt[0] 15..25 and 35..40; q 15..25
    assert activity.duty["clk"] == pytest.approx(0.5)
    assert activity.duty["cnt[0]"] == pytest.approx(15 / 40)
    assert activity.duty["sub.q"] == pytest.approx(10 / 40)


def test_the_top_scope_can_be_named(tmp_path):
    # Verilator's layout: the ports in "$rootio", the design beside it
    text = VCD.replace("$scope module tb $end\n$var reg 1 $ stim $end\n", "")
    text = text.replace(
        "$upscope $end\n$upscope $end\n$upscope $end", "$upscope $end\n$upscope $end"
    )
    text = text.replace(
        "$scope module top $end",
        "$scope module $rootio $end\n$var wire 1 ! clk $end\n$upscope $end\n$scope module top $end",
    )
    text = text.replace("0$\n", "")
    path = tmp_path / "v.vcd"
    path.write_text(text)
    assert "cnt[0]" in activity_from_vcd(path)
    assert set(activity_from_vcd(path, top="$rootio")) == {"clk"}
    with pytest.raises(ValueError, match="nowhere"):
        activity_from_vcd(path, top="nowhere")


def test_bad_vcd_files_are_refused(tmp_path):
    path = tmp_path / "t.vcd"
    path.write_text(VCD)
    with pytest.raises(ValueError, match="'clock'"):
        activity_from_vcd(path, clock="clock")
    path.write_text(VCD.split("#5")[0])
    with pytest.raises(ValueError, match="never rises"):
        activity_from_vcd(path)
    path.write_text("not a waveform\n")
    with pytest.raises(ValueError, match="enddefinitions"):
        activity_from_vcd(path)
    with pytest.raises(ValueError, match="frames"):
        Activity({}).with_frames(0)


def _naive_changes(text: str, ident: str) -> list[str]:
    """Every value a 1-bit identifier takes, in order, from the whole text (no streaming)."""
    body = text.split("$enddefinitions", 1)[1]
    return re.findall(rf"^([01xz]){re.escape(ident)}$", body, flags=re.M)


@pytest.mark.rtl
def test_activity_of_a_bench_waveform():
    path, frames = topk_waves()
    activity = activity_from_vcd(path, frames=frames)
    text = path.read_text()
    idents = dict(re.findall(r"\$var \S+ 1 (\S+) (\S+) \$end", text)[::-1])
    for name in ("clk", "i_scores__valid", "o_topk__valid"):
        ident = next(i for i, n in idents.items() if n == name)
        values = [v for v in _naive_changes(text, ident)]
        toggles = sum(1 for a, b in zip(values, values[1:], strict=False) if {a, b} == {"0", "1"})
        if name == "clk":
            rises = sum(1 for a, b in zip(values, values[1:], strict=False) if (a, b) == ("0", "1"))
            assert activity.cycles == rises
        assert activity[name] == pytest.approx(toggles / activity.cycles)
    assert activity["clk"] == pytest.approx(2.0, abs=0.02)
    assert activity.duty["clk"] == pytest.approx(0.5, abs=0.02)
    # the design's sub-blocks are named as Yosys names the flattened nets
    assert any(name.startswith("keep_elim.") for name in activity)


def _cell(name: str, inputs: tuple[str, ...], function: str) -> LibCell:
    return LibCell(name, 1.0, 0.0, inputs, ("Y",), {"Y": function})


def test_activity_propagates_by_transition_density():
    lib = {
        "and2": _cell("and2", ("A", "B"), "(A&B)"),
        "xor2": _cell("xor2", ("A", "B"), "(A^B)"),
        "inv": _cell("inv", ("A",), "!A"),
    }
    netlist = Netlist(
        top="t",
        ports={
            "a": {"direction": "input", "bits": [2]},
            "b": {"direction": "input", "bits": [3]},
            "y": {"direction": "output", "bits": [6]},
        },
        cells={
            "g1": {"type": "and2", "connections": {"A": [2], "B": [3], "Y": [4]}},
            "g2": {"type": "xor2", "connections": {"A": [4], "B": [5], "Y": [6]}},
            "g3": {"type": "inv", "connections": {"A": [3], "Y": [5]}},
        },
        names={},
        lib=lib,
    )
    stats = propagate_activity(netlist, {2: (0.2, 0.5), 3: (0.4, 0.25)}, default=(0.1, 0.5))
    # and: P = 0.5 * 0.25; D = P(B) D(A) + P(A) D(B)
    assert stats[4] == pytest.approx((0.25 * 0.2 + 0.5 * 0.4, 0.125))
    assert stats[5] == pytest.approx((0.4, 0.75))
    # xor: every input change toggles the output: D = D(and) + D(inv) (inputs independent)
    rate, p_one = stats[6]
    assert rate == pytest.approx(0.25 * 0.2 + 0.5 * 0.4 + 0.4)
    assert p_one == pytest.approx(0.125 * 0.25 + 0.875 * 0.75)


def test_liberty_functions_compile():
    mux = compile_function("((A&!S)|(B&S))", ("A", "B", "S"))
    assert [mux((a, b, s)) for s in (0, 1) for b in (0, 1) for a in (0, 1)] == [
        0, 1, 0, 1, 0, 0, 1, 1,
    ]  # fmt: skip
    aoi = compile_function("!(A1 B1)+C'", ("A1", "B1", "C"))
    assert [aoi((a, b, c)) for a in (0, 1) for b in (0, 1) for c in (0, 1)] == [1] * 7 + [0]
    with pytest.raises(ValueError, match="unknown pin"):
        compile_function("A&Z", ("A",))


@pytest.mark.parametrize("block", ["topk", "pq"])
def test_bench_waves_need_verilator(block, tmp_path, capsys):
    from prunesim.cli import main

    argv = ["bench", block, "--waves", "--sims", "icarus", "--build-dir", str(tmp_path / "b")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "prunesim: error: --waves dumps Verilator's VCD: add verilator to --sims (not 'icarus')\n"
    )
    assert not (tmp_path / "b").exists()
