"""The registry of RTL blocks (:mod:`prunesim.rtl.blocks`): parameters read from the constructors,
the one-line descriptions, Verilog and port tables, and what importing it loads."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

from prunesim.rtl.blocks import (
    BLOCKS,
    REPORT_BLOCKS,
    Block,
    Parameter,
    Port,
    block_names,
    get_block,
    port_table,
)


def signature_defaults(block: Block) -> dict[str, object]:
    """Every constructor parameter of ``block``'s class with its default."""
    parameters = inspect.signature(block.component_class()).parameters
    return {name: parameter.default for name, parameter in parameters.items()}


def test_names():
    assert block_names() == list(BLOCKS) == ["topk", "pq", "sorter"]
    assert set(REPORT_BLOCKS) <= set(BLOCKS)
    assert "sorter" not in REPORT_BLOCKS  # a baseline, not a SpAtten block
    for name, block in BLOCKS.items():
        assert block.name == name
        assert get_block(name) is block


@pytest.mark.parametrize("name", list(BLOCKS))
def test_parameters_come_from_the_constructor(name):
    block = get_block(name)
    in_signature = signature_defaults(block)
    parameters = block.parameters()
    assert [parameter.name for parameter in parameters] == list(block.help)
    for parameter in parameters:
        assert parameter.default == in_signature[parameter.name]
        assert parameter.help == block.help[parameter.name]
    assert block.defaults() == {key: in_signature[key] for key in block.help}


def test_defaults_are_the_documented_ones():
    # The CLI's defaults as they were when they were typed out in prunesim/cli.py.
    assert get_block("topk").defaults() == {"width": 16, "lanes": 16, "max_n": 1024}
    # The sorter is the top-k engine's baseline: the same defaults.
    assert get_block("sorter").defaults() == get_block("topk").defaults()
    assert get_block("pq").defaults() == {
        "d": 64,
        "q_bits": 12,
        "msb_bits": 8,
        "lsb_bits": 4,
        "prob_bits": 12,
        "max_n": 1024,
        "scale_shift": 32,
    }


def test_parameter_flag():
    assert Parameter("max_n", 1024, "largest frame").flag == "--max-n"
    assert Parameter("d", 64, "head dimension").flag == "--d"


def test_help_is_read_only_and_blocks_are_hashable():
    block = get_block("topk")
    with pytest.raises(TypeError):
        block.help["width"] = "changed"  # type: ignore[index]
    assert hash(block) == hash(get_block("topk"))


def stdlib_block(help: dict[str, str]) -> Block:
    """A block over a standard-library class whose keyword defaults are not integers."""
    return Block("enc", "summary", "description", module="json", cls="JSONEncoder", help=help)


@pytest.mark.parametrize(
    "help, message",
    [
        ({"bogus": "no such parameter"}, r"json\.JSONEncoder has no keyword parameter 'bogus'"),
        ({"indent": "default None"}, r"parameter 'indent' .* integer default, not None"),
        ({"skipkeys": "default False"}, r"parameter 'skipkeys' .* integer default, not False"),
    ],
)
def test_parameters_refuse_what_is_not_an_int_keyword(help, message):
    block = stdlib_block(help)  # constructing the entry checks nothing yet
    with pytest.raises(TypeError, match=message):
        block.parameters()
    with pytest.raises(TypeError, match=message):
        block.defaults()


def test_parameter_without_default_is_refused():
    # JSONDecodeError(msg, doc, pos): no defaults.
    block = Block("x", "s", "d", module="json", cls="JSONDecodeError", help={"pos": "position"})
    with pytest.raises(
        TypeError, match="parameter 'pos' of json.JSONDecodeError needs an integer default"
    ):
        block.parameters()


def test_component_class_must_be_a_class():
    block = Block("x", "s", "d", module="json", cls="dumps", help={})
    with pytest.raises(TypeError, match="json.dumps is not a class"):
        block.component_class()


def test_describe():
    topk, pq = get_block("topk"), get_block("pq")
    assert topk.describe(topk.defaults()) == "topk: width=16 lanes=16 max_n=1024"
    assert topk.describe({"width": 12, "lanes": 8, "max_n": 512}) == (
        "topk: width=12 lanes=8 max_n=512"
    )
    assert pq.describe(pq.defaults()) == (
        "pq: d=64 q_bits=12 msb_bits=8 lsb_bits=4 prob_bits=12 max_n=1024 scale_shift=32"
    )


def test_unknown_block():
    with pytest.raises(ValueError, match=r"^unknown block 'x' \(choose from topk, pq, sorter\)$"):
        get_block("x")


def test_to_verilog_and_port_table_of_a_tiny_topk():
    component, verilog = get_block("topk").to_verilog({"lanes": 2, "max_n": 4})
    assert "module topk" in verilog
    assert (component.width, component.lanes, component.max_n) == (16, 2, 4)
    ports = port_table(component, verilog)
    # width 16, lanes 2, max_n 4: k is range(5); a scores beat is 2 x 16 data bits, a 2-bit
    # count and last; a top-k beat adds 2 x 2 index bits.
    assert ports == [
        Port("clk", "input", 1),
        Port("rst", "input", 1),
        Port("k", "input", 3),
        Port("i_scores__payload", "input", 35),
        Port("i_scores__valid", "input", 1),
        Port("i_scores__ready", "output", 1),
        Port("o_topk__payload", "output", 39),
        Port("o_topk__valid", "output", 1),
        Port("o_topk__ready", "input", 1),
    ]
    for port in ports:
        assert f" {port.name};" in verilog
    # Without the Verilog, only the signature's ports.
    assert port_table(component) == ports[2:]


@pytest.mark.parametrize(
    "name, params, error",
    [("topk", {"lanes": 3}, ValueError), ("pq", {"d": "8"}, TypeError)],
)
def test_to_verilog_lets_bad_parameters_through(name, params, error):
    with pytest.raises(error):
        get_block(name).to_verilog(params)


def loaded_modules(code: str, tmp_path) -> dict[str, bool]:
    """Run ``code`` in a fresh isolated interpreter; say whether it loaded amaranth and torch."""
    probe = code + (
        "\nimport json, sys"
        "\nprint(json.dumps({name: name in sys.modules for name in ('amaranth', 'torch')}))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_import_loads_neither_amaranth_nor_torch(tmp_path):
    code = (
        "from prunesim.rtl.blocks import BLOCKS, block_names\n"
        "print([(b.name, b.summary, list(b.help)) for b in BLOCKS.values()], block_names())"
    )
    assert loaded_modules(code, tmp_path) == {"amaranth": False, "torch": False}


def test_building_topk_loads_amaranth_but_not_torch(tmp_path):
    code = (
        "from prunesim.rtl.blocks import get_block\n"
        "block = get_block('topk')\n"
        "component, verilog = block.to_verilog({'lanes': 2, 'max_n': 4})\n"
        "assert 'module topk' in verilog\n"
        "assert block.defaults()['width'] == 16"
    )
    assert loaded_modules(code, tmp_path) == {"amaranth": True, "torch": False}


def test_sorter_has_the_topk_ports():
    """A bench can swap the sorter for the top-k engine: the same ports, widths and directions."""
    params = {"width": 5, "lanes": 4, "max_n": 40}
    sorter, sorter_verilog = get_block("sorter").to_verilog(params)
    topk, topk_verilog = get_block("topk").to_verilog(params)
    assert "module sorter(" in sorter_verilog
    assert port_table(sorter, sorter_verilog) == port_table(topk, topk_verilog)
