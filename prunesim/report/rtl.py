"""Report section: the Verilog of the default RTL blocks and their ports."""

from __future__ import annotations

from prunesim.report import ReportContext

__all__ = ["blocks"]


def blocks(ctx: ReportContext) -> str:
    """Write ``<build>/verilog/<block>.v`` for every report block; tabulate their ports."""
    from prunesim.rtl.blocks import REPORT_BLOCKS, get_block, port_table
    from prunesim.sim.tables import markdown_table

    lines = [
        "Each block's Verilog with its default parameters (`prunesim verilog <block>` writes "
        "any other set). Cycle-level behaviour is checked against the golden models on Icarus "
        "Verilog and Verilator (`./run.sh test`); `prunesim bench topk|pq` measures it.",
        "",
    ]
    for name in REPORT_BLOCKS:
        block = get_block(name)
        params = block.defaults()
        component, verilog = block.to_verilog(params)
        path = ctx.build / "verilog" / f"{name}.v"
        ctx.write(path, verilog)
        ports = port_table(component, verilog)
        lines += [
            f"### `{name}`: {block.summary}",
            "",
            f"`{path}`, {len(verilog.splitlines())} lines; {block.describe(params)}",
            "",
            markdown_table(
                ["port", "direction", "width"],
                [[f"`{p.name}`", p.direction, str(p.width)] for p in ports],
            ),
            "",
        ]
    return "\n".join(lines)
