"""An independent count of a SpAtten trace file, shared by the trace and engine tests: the csv
module alone, none of prunesim's importer."""

from __future__ import annotations

import csv
from pathlib import Path


def trace_totals(path: Path, transaction: int) -> dict:
    """Totals counted from the file with the csv module alone (not the importer): rows, the
    stage, keys, values, LSB rows, MACs and the DRAM bytes per tensor (per
    row and tensor, elements x bits rounded up to whole transactions; -1 bits = float32), and the
    trailing line that is not a row. ``transaction``: the DRAM transaction in bytes (the
    SpAtten preset's ``dram_transaction_bytes``)."""
    with path.open(newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    header, body = table[0], table[1:]
    last = body[-1]
    assert not last[0][0].isdigit() and not any(last[1:])  # the config line, last
    rows = [dict(zip(header, fields, strict=True)) for fields in body[:-1]]

    def bits(text: str) -> int:
        return 32 if text == "-1" else int(text)

    def whole(n_bits: int) -> int:
        return -(-n_bits // (8 * transaction)) * transaction

    dram = {"q": 0, "k_msb": 0, "k_lsb": 0, "v": 0}
    macs = 0
    for row in rows:
        d = int(float(row["embedding_length_D"]))
        keys, values = int(row["key_fetch_num"]), int(row["value_fetch_num"])
        dram["q"] += whole(d * bits(row["quant_query_bit"]))
        dram["k_msb"] += whole(keys * d * bits(row["quant_key_bit"]))
        if row["if_requant"] == "True":
            dram["k_lsb"] += whole(keys * d * int(row["auto_requant_incre"]))
        dram["v"] += whole(values * d * bits(row["quant_value_bit"]))
        macs += d * (keys + values)
    return {
        "rows": len(rows),
        "prompt": int(rows[0]["sentence_length_L"]) - 1,
        "generate": len({row["iteration_id"] for row in rows}),
        "keys": sum(int(row["key_fetch_num"]) for row in rows),
        "values": sum(int(row["value_fetch_num"]) for row in rows),
        "lsb_rows": sum(row["if_requant"] == "True" for row in rows),
        "macs": macs,
        "dram": dram,
        "note": f"{path.name}:{len(table)}: skipped a line that is not a row: "
        f"{','.join(last)[:40]!r}",
    }
