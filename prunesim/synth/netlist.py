"""A flat gate-level netlist from Yosys' JSON, and the edits the ASIC flow makes to it.

:class:`Netlist` holds the top module of ``write_json`` after ``flatten`` and technology mapping:
ports, cells (Liberty cells and Yosys' ``$mem_v2`` memories) and named nets. Bits are Yosys' bit
numbers (``int``) or the constants ``"0"``, ``"1"``, ``"x"``, ``"z"``.

- :meth:`Netlist.cut_memories`: every memory becomes a macro outside the netlist: its read data
  bits become top-level inputs, its address, data and enable bits top-level outputs (so its
  pins are the start and end points of timing paths: an ideal register, no access time), its
  clock pins are dropped.
- :meth:`Netlist.buffer_fanout`: every net with more than ``max_fanout`` sinks is split into a
  tree of buffer cells, no net left above ``max_fanout``.
- :meth:`Netlist.to_verilog`: structural Verilog that OpenSTA reads (one driver per net, every
  output port bit its own net: a buffer or a tie value where a port shares its net).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prunesim.synth.cells import LibCell

__all__ = ["MemoryMacro", "Netlist", "cell_block", "propagate_activity"]

Bit = int | str

#: Yosys' memory cells (``memory -nomap`` leaves ``$mem_v2``; older Yosys ``$mem``).
MEMORY_CELLS = ("$mem_v2", "$mem")


@dataclass(frozen=True)
class MemoryMacro:
    """A memory cut out of the netlist: Yosys' ``name``, ``depth`` x ``width`` bits, its read and
    write ports, and the top-level ports that now stand for its pins."""

    name: str
    depth: int
    width: int
    read_ports: int
    write_ports: int
    pins: tuple[str, ...]


def _param_int(value: Any) -> int:
    """A Yosys JSON parameter (a binary string or an int) as an int."""
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text, 2) if set(text) <= {"0", "1"} and text else int(text)


def cell_block(name: str) -> str:
    """The RTL sub-block of a cell from Yosys' name for it after ``flatten``
    (``$flatten\\keep_elim.\\gaps.$abc$1$...`` -> ``keep_elim.gaps``; a public
    ``keep_elim.x`` -> ``keep_elim``); ``""`` for the top module's own cells."""
    if name.startswith("$flatten"):
        return ".".join(re.findall(r"\\([^.\\]+)\.", name[len("$flatten") :]))
    if name.startswith("$"):
        return ""
    return name.rsplit(".", 1)[0] if "." in name else ""


def _identifier(name: str) -> str:
    out = re.sub(r"\W", "_", name.lstrip("\\$"))
    return out if out and not out[0].isdigit() else f"n_{out}"


@dataclass
class Netlist:
    """The top module of a Yosys JSON netlist (see the module docstring).

    ``ports``: name -> ``{"direction", "bits"}``; ``cells``: name -> ``{"type",
    "connections"}``; ``names``: bit -> its RTL name (``"filter.acc[3]"``: the flattened
    hierarchy's public name, for bits that have one); ``lib``: the Liberty cells (pin
    directions)."""

    top: str
    ports: dict[str, dict[str, Any]]
    cells: dict[str, dict[str, Any]]
    names: dict[int, str]
    lib: dict[str, LibCell]
    _next_bit: int = 0
    memories: list[MemoryMacro] = field(default_factory=list)

    @classmethod
    def from_json(cls, path: str | Path, top: str, lib: dict[str, LibCell]) -> Netlist:
        """Read module ``top`` of Yosys' ``write_json`` output ``path``."""
        data = json.loads(Path(path).read_text())
        try:
            module = data["modules"][top]
        except KeyError:
            raise ValueError(f"{path}: no module {top!r}") from None
        names: dict[int, str] = {}
        best: dict[int, tuple[int, str]] = {}
        for name, net in module.get("netnames", {}).items():
            if net.get("hide_name", 0):
                continue
            bits = net["bits"]
            offset = _param_int(net.get("offset", 0))
            upto = bool(net.get("upto", 0))
            for i, bit in enumerate(bits):
                if not isinstance(bit, int):
                    continue
                index = (offset + len(bits) - 1 - i) if upto else offset + i
                label = name if len(bits) == 1 else f"{name}[{index}]"
                # Prefer ports and the shortest (outermost) public name of a bit.
                rank = (0 if name in module["ports"] else 1, len(label))
                if bit not in best or rank < best[bit][:2]:
                    best[bit] = (*rank, label)  # type: ignore[assignment]
        for bit, (_, _, label) in best.items():  # type: ignore[misc]
            names[bit] = label
        cells = {
            name: {**cell, "connections": {k: list(v) for k, v in cell["connections"].items()}}
            for name, cell in module.get("cells", {}).items()
        }
        ports = {
            name: {"direction": port["direction"], "bits": list(port["bits"])}
            for name, port in module["ports"].items()
        }
        every = [b for p in ports.values() for b in p["bits"] if isinstance(b, int)]
        every += [
            b
            for c in cells.values()
            for bits in c["connections"].values()
            for b in bits
            if isinstance(b, int)
        ]
        return cls(top, ports, cells, names, lib, _next_bit=max(every, default=1) + 1)

    # ---- queries ----

    def new_bit(self) -> int:
        self._next_bit += 1
        return self._next_bit

    def pin_direction(self, cell: dict[str, Any], pin: str) -> str:
        """``"input"`` or ``"output"`` of ``pin`` of ``cell`` (from the Liberty, or Yosys' own
        ``port_directions`` for its internal cells)."""
        lib = self.lib.get(cell["type"])
        if lib is not None:
            if pin in lib.inputs:
                return "input"
            if pin in lib.outputs:
                return "output"
            raise ValueError(f"cell type {cell['type']} has no pin {pin}")
        directions = cell.get("port_directions") or {}
        if pin not in directions:
            raise ValueError(f"cell type {cell['type']} is not in the Liberty file")
        return directions[pin]

    def sinks(self) -> dict[int, list[tuple[str, str, int]]]:
        """Each net bit's sinks: ``(cell, pin, index)`` for cell inputs, ``("", port, index)``
        for top-level output port bits."""
        out: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
        for name, cell in self.cells.items():
            for pin, bits in cell["connections"].items():
                if self.pin_direction(cell, pin) != "input":
                    continue
                for i, bit in enumerate(bits):
                    if isinstance(bit, int):
                        out[bit].append((name, pin, i))
        for name, port in self.ports.items():
            if port["direction"] == "output":
                for i, bit in enumerate(port["bits"]):
                    if isinstance(bit, int):
                        out[bit].append(("", name, i))
        return out

    def max_fanout(self) -> int:
        """The most sinks of any net."""
        return max((len(s) for s in self.sinks().values()), default=0)

    def cell_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for cell in self.cells.values():
            counts[cell["type"]] += 1
        return dict(sorted(counts.items()))

    # ---- edits ----

    def _add_port(self, name: str, direction: str, bits: list[Bit]) -> str:
        base, k = _identifier(name), 1
        port = base
        while port in self.ports:
            k += 1
            port = f"{base}_{k}"
        self.ports[port] = {"direction": direction, "bits": list(bits)}
        return port

    def cut_memories(self) -> list[MemoryMacro]:
        """Replace every memory cell by top-level ports (see the module docstring); returns
        the memories cut, also kept in :attr:`memories`."""
        cut = []
        for name in [n for n, c in self.cells.items() if c["type"] in MEMORY_CELLS]:
            cell = self.cells.pop(name)
            params = cell.get("parameters", {})
            memid = str(params.get("MEMID", name)).lstrip("\\")
            if memid.startswith("$flatten"):  # a sub-block's memory: "block.name"
                memid = f"{cell_block(memid)}.{memid.rsplit('.', 1)[-1].lstrip(chr(92))}"
            pins = []
            for pin, bits in cell["connections"].items():
                if pin.endswith("CLK") or not any(isinstance(b, int) for b in bits):
                    continue
                direction = "input" if cell["port_directions"][pin] == "output" else "output"
                if direction == "output":
                    # constants stay inside the macro; a port carries only the driven bits
                    bits = [b for b in bits if isinstance(b, int)]
                pins.append(self._add_port(f"{memid}__{pin.lower()}", direction, bits))
            macro = MemoryMacro(
                name=memid,
                depth=_param_int(params["SIZE"]),
                width=_param_int(params["WIDTH"]),
                read_ports=_param_int(params.get("RD_PORTS", 1)),
                write_ports=_param_int(params.get("WR_PORTS", 1)),
                pins=tuple(pins),
            )
            cut.append(macro)
        self.memories.extend(cut)
        return cut

    def _add_cell(self, cell_type: LibCell, connections: dict[str, list[Bit]]) -> str:
        name = f"prunesim_{cell_type.name}_{len(self.cells)}"
        while name in self.cells:
            name += "_"
        self.cells[name] = {"type": cell_type.name, "connections": connections}
        return name

    def _rewire(self, sink: tuple[str, str, int], bit: int) -> None:
        cell, pin, index = sink
        if cell:
            self.cells[cell]["connections"][pin][index] = bit
        else:
            self.ports[pin]["bits"][index] = bit

    def buffer_fanout(
        self, max_fanout: int, buffer: LibCell, skip: set[int] | frozenset[int] = frozenset()
    ) -> int:
        """Split every net with more than ``max_fanout`` sinks into a tree of ``buffer`` cells:
        sinks in groups of ``max_fanout`` behind one buffer each, the buffers' inputs grouped
        the same way until the net itself drives at most ``max_fanout``; nets in ``skip`` (the
        clock: ideal in timing) are left alone. Returns the number of buffers added.
        ``ValueError`` when ``max_fanout`` < 2."""
        if max_fanout < 2:
            raise ValueError(f"max_fanout must be at least 2, not {max_fanout}")
        (pin_in,), (pin_out,) = buffer.inputs, buffer.outputs
        added = 0
        for bit, sinks in list(self.sinks().items()):
            if bit in skip:
                continue
            level = sinks
            while len(level) > max_fanout:
                upper = []
                for start in range(0, len(level), max_fanout):
                    out_bit = self.new_bit()
                    for sink in level[start : start + max_fanout]:
                        self._rewire(sink, out_bit)
                    name = self._add_cell(buffer, {pin_in: [bit], pin_out: [out_bit]})
                    upper.append((name, pin_in, 0))
                    if bit in self.names:
                        self.names[out_bit] = self.names[bit]
                    added += 1
                level = upper
        return added

    def fold_constants(self) -> int:
        """Remove the combinational cells whose output is constant or a copy of one input once
        their constant inputs are applied (what mapping module by module leaves at the
        sub-blocks' tied ports), repeatedly; returns how many were removed. Constant pins that
        remain are left to :meth:`to_verilog`."""
        from prunesim.synth.cells import compile_function

        removed = 0
        changed = True
        while changed:
            changed = False
            sinks = self.sinks()
            for name in list(self.cells):
                cell = self.cells[name]
                lib = self.lib.get(cell["type"])
                if lib is None or lib.sequential or len(lib.outputs) != 1:
                    continue
                pins = [cell["connections"].get(p, ["0"])[0] for p in lib.inputs]
                if all(isinstance(b, int) for b in pins):
                    continue
                out_bits = cell["connections"].get(lib.outputs[0], [])
                if not out_bits or not isinstance(out_bits[0], int):
                    continue
                if lib.outputs[0] not in lib.functions:
                    continue
                function = compile_function(lib.functions[lib.outputs[0]], lib.inputs)
                free = [i for i, b in enumerate(pins) if isinstance(b, int)]
                table = []
                for code in range(1 << len(free)):
                    values = [1 if b == "1" else 0 for b in pins]
                    for j, i in enumerate(free):
                        values[i] = (code >> j) & 1
                    table.append(function(tuple(values)))
                if len(set(table)) == 1:
                    replacement: Bit = str(table[0])
                else:
                    copies = [
                        pins[i]
                        for j, i in enumerate(free)
                        if all(table[c] == (c >> j) & 1 for c in range(len(table)))
                    ]
                    if not copies:
                        continue
                    replacement = copies[0]
                out = out_bits[0]
                del self.cells[name]
                for sink in sinks.pop(out, []):
                    cell_name, pin, index = sink
                    owner = self.cells.get(cell_name) if cell_name else None
                    bits = owner["connections"][pin] if owner else self.ports[pin]["bits"]
                    if (cell_name and owner is None) or bits[index] != out:
                        continue  # a stale entry: the cell is gone or the pin was rewired
                    bits[index] = replacement
                    if isinstance(replacement, int):
                        sinks[replacement].append(sink)
                removed += 1
                changed = True
        return removed

    def tie_bits(self) -> dict[int, int]:
        """The bits of the ``prunesim_tie_lo``/``_hi`` ports (:meth:`to_verilog` adds them) and
        their values."""
        return {
            port["bits"][0]: int(name.endswith("hi"))
            for name, port in self.ports.items()
            if name in ("prunesim_tie_lo", "prunesim_tie_hi")
        }

    def _tie_constants(self) -> None:
        """Connect every constant cell input and output port bit to an input port
        ``prunesim_tie_lo`` or ``prunesim_tie_hi`` (OpenSTA is told their values with
        ``set_case_analysis``: its power analysis fails on constant nets)."""
        ties: dict[str, int] = {}

        def tie(value: Bit) -> int:
            level = "hi" if value == "1" else "lo"
            if level not in ties:
                ties[level] = self.new_bit()
                self.ports[f"prunesim_tie_{level}"] = {"direction": "input", "bits": [ties[level]]}
            return ties[level]

        for cell in self.cells.values():
            for pin, bits in cell["connections"].items():
                if self.pin_direction(cell, pin) == "input":
                    cell["connections"][pin] = [b if isinstance(b, int) else tie(b) for b in bits]
        for port in list(self.ports.values()):
            if port["direction"] == "output":
                port["bits"] = [b if isinstance(b, int) else tie(b) for b in port["bits"]]

    # ---- output ----

    def _separate_ports(self, buffer: LibCell) -> None:
        """Give every output port bit a net of its own (a buffer where it shares one with an
        input port or another output bit); constants stay constants."""
        (pin_in,), (pin_out,) = buffer.inputs, buffer.outputs
        claimed = {b for p in self.ports.values() if p["direction"] == "input" for b in p["bits"]}
        for port in self.ports.values():
            if port["direction"] != "output":
                continue
            for i, bit in enumerate(port["bits"]):
                if not isinstance(bit, int):
                    continue
                if bit in claimed:
                    out_bit = self.new_bit()
                    self._add_cell(buffer, {pin_in: [bit], pin_out: [out_bit]})
                    port["bits"][i] = out_bit
                else:
                    claimed.add(bit)

    def to_verilog(self, buffer: LibCell) -> str:
        """Structural Verilog of the netlist: nets named after their RTL names where they have
        one; every constant tied to a port (:meth:`_tie_constants`), and output ports that share
        a net given a ``buffer`` each first. Cells are named ``u<k>`` in the order of
        :attr:`cells`."""
        self._tie_constants()
        self._separate_ports(buffer)
        net_name: dict[int, str] = {}
        for name, port in self.ports.items():
            for i, bit in enumerate(port["bits"]):
                if isinstance(bit, int):
                    net_name[bit] = f"{name}[{i}]" if len(port["bits"]) > 1 else name
        used = set(self.ports)
        wires = []

        def net(bit: int) -> str:
            if bit not in net_name:
                label = self.names.get(bit)
                base = _identifier(label) if label else f"n{bit}"
                name, k = base, 1
                while name in used:
                    k += 1
                    name = f"{base}_{k}"
                used.add(name)
                net_name[bit] = name
                wires.append(name)
            return net_name[bit]

        lines = []
        for k, cell in enumerate(self.cells.values()):
            pins = ", ".join(
                f".{pin}({net(bits[0])})" for pin, bits in cell["connections"].items() if bits
            )
            lines.append(f"  {cell['type']} u{k} ({pins});")
        header = [f"module {self.top} ({', '.join(self.ports)});"]
        for name, port in self.ports.items():
            width = len(port["bits"])
            rng = f" [{width - 1}:0]" if width > 1 else ""
            header.append(f"  {port['direction']}{rng} {name};")
        header += [f"  wire {w};" for w in wires]
        return "\n".join([*header, *lines, "endmodule", ""])


def _signal_stats(function: Any, inputs: list[tuple[float, float]]) -> tuple[float, float]:
    """``(toggles per cycle, probability of 1)`` of a gate output whose inputs have
    ``(toggles per cycle, probability of 1)`` each, inputs independent: the probability by
    enumeration, the toggle rate by Najm's transition density, ``sum_i P(dy/dx_i) * D(x_i)``
    (the probability that input ``i`` decides the output times its toggle rate)."""
    k = len(inputs)
    p_one = 0.0
    sensitivity = [0.0] * k
    for code in range(1 << k):
        values = tuple((code >> i) & 1 for i in range(k))
        weight = 1.0
        for (_, p), v in zip(inputs, values, strict=True):
            weight *= p if v else 1.0 - p
        if weight == 0.0:
            continue
        out = function(values)
        p_one += weight * out
        for i in range(k):
            if values[i] == 0:
                flipped = values[:i] + (1,) + values[i + 1 :]
                if function(flipped) != out:
                    # weight of the other inputs' assignment (x_i summed out)
                    p_i = inputs[i][1]
                    other = weight / (1.0 - p_i) if p_i < 1.0 else 0.0
                    sensitivity[i] += other
    rate = sum(s * d for s, (d, _) in zip(sensitivity, inputs, strict=True))
    return rate, p_one


def propagate_activity(
    netlist: Netlist,
    seeds: dict[int, tuple[float, float]],
    default: tuple[float, float],
    skip: set[int] | frozenset[int] = frozenset(),
) -> dict[int, tuple[float, float]]:
    """``(toggles per cycle, probability of 1)`` of every net bit of ``netlist``.

    Sources are input port bits and the outputs of sequential cells: ``seeds[bit]`` where
    given, else ``default``; constants are ``(0, value)``. Every combinational cell's outputs
    follow from its inputs in topological order (:func:`_signal_stats`: inputs assumed
    independent, glitches not counted). Bits in ``skip`` (the clock) are left out. ``ValueError``
    for a combinational loop.
    """
    from prunesim.synth.cells import compile_function

    stats: dict[int, tuple[float, float]] = {}
    for port in netlist.ports.values():
        if port["direction"] == "input":
            for bit in port["bits"]:
                if isinstance(bit, int) and bit not in skip:
                    stats[bit] = seeds.get(bit, default)
    pending = []
    for cell in netlist.cells.values():
        lib = netlist.lib[cell["type"]]
        outs = [b for pin in lib.outputs for b in cell["connections"].get(pin, [])]
        if lib.sequential:
            for bit in outs:
                if isinstance(bit, int):
                    stats[bit] = seeds.get(bit, default)
        else:
            pending.append((cell, lib))
    compiled: dict[tuple[str, str], Any] = {}
    waiting: dict[int, list[int]] = defaultdict(list)
    missing = []
    for index, (cell, lib) in enumerate(pending):
        need = {
            b
            for pin in lib.inputs
            for b in cell["connections"].get(pin, [])
            if isinstance(b, int) and b not in stats and b not in skip
        }
        missing.append(len(need))
        for bit in need:
            waiting[bit].append(index)
    ready = [i for i, n in enumerate(missing) if n == 0]
    done = 0
    while ready:
        index = ready.pop()
        done += 1
        cell, lib = pending[index]
        inputs = []
        for pin in lib.inputs:
            bit = cell["connections"].get(pin, ["0"])[0]
            if isinstance(bit, int):
                inputs.append(stats.get(bit, default))
            else:
                inputs.append((0.0, 1.0 if bit == "1" else 0.0))
        for pin in lib.outputs:
            bit = cell["connections"].get(pin, ["0"])[0]
            if not isinstance(bit, int):
                continue
            if pin not in lib.functions:  # no function in the Liberty: the default
                stats[bit] = default
            else:
                key = (lib.name, pin)
                if key not in compiled:
                    compiled[key] = compile_function(lib.functions[pin], lib.inputs)
                stats[bit] = _signal_stats(compiled[key], inputs)
            for follower in waiting.pop(bit, []):
                missing[follower] -= 1
                if missing[follower] == 0:
                    ready.append(follower)
    if done != len(pending):
        raise ValueError(f"{len(pending) - done} cells are on combinational loops")
    return stats
