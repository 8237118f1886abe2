"""``prunesim bench scalesim``: SCALE-Sim v3 next to prunesim's analytic systolic-array model.

SCALE-Sim v3 (``pip install scalesim``, 3.0.0; github.com/scalesim-project/scale-sim-v3) is a
cycle-level simulator of a systolic array: it builds the operand address matrices of a layer,
folds them onto the array, skews them and runs every cycle's SRAM demands through a
double-buffered scratchpad model. prunesim prices the same layer with a closed formula
(:func:`prunesim.sim.systolic.conv_compute_cycles`, SCALE-Sim's analytical model). This module
runs both on the same convolutions and prints the cycles side by side, with each side's wall time.

SCALE-Sim runs in its own virtual environment (:func:`ensure_scalesim`, default
``build/scalesim-venv``): version 3.0.0 fails with numpy 2.x (a TypeError in
``memory/double_buffered_scratchpad_mem.py``) and pulls pandas, numba and matplotlib, none of
which prunesim needs.

What SCALE-Sim is given (:func:`run_scalesim` writes the three files into ``workdir``):

* a topology CSV, one row per layer, every row ending in a comma (SCALE-Sim drops the last
  field): ``name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter,
  Strides,`` and, with sparsity, an ``N:M`` field. SCALE-Sim computes the output side as
  ``ceil((H - R) / S) + 1`` on the ifmap it is given, with no padding of its own; its own
  ``topologies/conv_nets/Resnet18.csv`` lists unpadded sizes (``Conv1,224,224,7,7,3,64,2``, so it
  simulates a 110 x 110 output where torchvision's ResNet has 112 x 112). prunesim's layers use
  "same" padding (``out = ceil(in / stride)``), so each layer is given the rows its convolution
  actually reads: ``H_eff = (out - 1) * stride + kernel``. For stride 1 that is the padded size
  ``H + 2 * (kernel // 2)``; for stride 2 it is one less than the padded size when ``H`` is even
  (224 -> 229 for ResNet's 7 x 7 / 2 stem, where the padded 230 would give SCALE-Sim 113 rows).
  Either way SCALE-Sim's output equals ours, so both sides price the same
  ``out_pixels x window x filters`` GEMM.
* a layout CSV (SCALE-Sim reads one even when custom layouts are off, as here): one row per layer
  of 20 intraline factors and orders; the values are not used.
* a config (``[general]``, ``[architecture_presets]``, ``[layout]``, ``[sparsity]``,
  ``[run_presets]``). ``bandwidth=None`` selects ``InterfaceBandwidth: CALC``: SCALE-Sim then
  sizes the DRAM interface so that the array never stalls, which is the regime the analytic
  formula models. An integer selects ``USER`` mode with that many words per cycle (SCALE-Sim
  3.0.0 takes the ifmap and filter DRAM bandwidth from ``IfmapSRAMBankBandwidth`` and
  ``FilterSRAMBankBandwidth`` in that mode, so those are set to it too); stalls may appear.

SCALE-Sim is started through a small driver (``python driver.py``) rather than
``python -m scalesim.scale``: the CLI's ``-s N`` flag is parsed but ignored in 3.0.0
(``save_disk_space=False`` is hard-coded), so it always writes six trace CSVs per layer, about a
quarter of the run time. The driver builds the same ``scalesim`` object with
``save_disk_space=True`` and records each layer's wall time.

What comes back (``<workdir>/out/<run_name>/``): ``COMPUTE_REPORT.csv`` (``Total Cycles (incl.
prefetch)``: from the first DRAM prefetch to the last OFMAP DRAM write; ``Total Cycles``: the
compute cycles including stalls; ``Stall Cycles``; ``Overall Util %`` = MACs / (Total Cycles x
PEs); ``Mapping Efficiency %``: the share of PEs a fold maps; ``Compute Util %``),
``BANDWIDTH_REPORT.csv`` (average SRAM and DRAM words per cycle) and
``DETAILED_ACCESS_REPORT.csv`` (SRAM and DRAM start and stop cycles, reads and writes).

SCALE-Sim's ``Total Cycles`` is the index, counted from 0, of the last cycle of the demand
matrices plus the stalls: ``max(serviced cycle)`` in ``double_buffered_scratchpad_mem.py``. Its
demand matrices have exactly ``(2 R_arr + C_arr + T - 2)`` rows per fold (``R_arr`` rows of weight
load, ``T`` rows of streaming, ``C_arr - 1`` of drain, ``R_arr - 1`` of skew), the analytic
formula, so without stalls ``Total Cycles = formula - 1``: the cross-check's expected difference
is exactly one cycle. That holds for ``ws`` and ``is``. SCALE-Sim 3.0.0's ``os`` model
(``compute/systolic_compute_os.py``) has no preload phase: the ifmap demand of a fold is ``T +
C_arr - 1`` rows skewed over ``R_arr`` rows, ``R_arr + C_arr + T - 2`` cycles, which is what
:func:`prunesim.sim.systolic.compute_cycles` counts for ``os``: one cycle apart again.

Sparsity (``sparsity=(N, M)``, weight-stationary only, as in SCALE-Sim 3.0.0): layer-wise N:M
structured sparsity, ``SparsitySupport: true``, ``SparseRep: ellpack_block``,
``OptimizedMapping: false``, and ``N:M`` in each topology row. SCALE-Sim then keeps the first
``N`` of every ``M`` weights of each filter column and condenses the filter matrix, so the array
sees a window of ``(window // M) * N + min(window % M, N)`` rows; cycles follow the dense formula
with that window. (Only the WS compute model takes the ratio; OS and IS ignore it.)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prunesim.argtypes import positive_int
from prunesim.bench import Bench, register_bench
from prunesim.models.cnn import Conv2d

__all__ = [
    "SCALESIM_REQUIREMENTS",
    "DATAFLOWS",
    "DEFAULT_LAYERS",
    "CrosscheckRow",
    "default_venv",
    "ensure_scalesim",
    "scalesim_ifmap_side",
    "sparse_window",
    "resolve_layers",
    "run_scalesim",
    "crosscheck",
    "format_table",
    "add_arguments",
    "main",
]

#: What :func:`ensure_scalesim` installs. SCALE-Sim 3.0.0 breaks on numpy 2.x; the exact version
#: is pinned because the one-cycle offset this bench expects is that release's.
SCALESIM_REQUIREMENTS = ("scalesim==3.0.0", "numpy<2")
DATAFLOWS = ("ws", "os", "is")
_RUN_NAME = "prunesim_crosscheck"
_STAMP = ".prunesim-scalesim-installed"

#: The default cross-check: ``network:layer`` names (networks: ``resnet18`` ... ``resnet152``,
#: ``resnet20`` ... ``resnet110``). About 1.55 M SCALE-Sim cycles over the three dataflows on a
#: 32 x 32 array; SCALE-Sim spends about 150-200 us of wall time per simulated cycle of a
#: 32-wide array, so about 4-5 min on one core (the weight-stationary 56 x 56 layer alone, 30 s).
DEFAULT_LAYERS = (
    "resnet18:conv1",  # 7x7/2 stem, 3 input channels: the window (147) is not a multiple of 32
    "resnet18:layer1.0.conv1",  # 3x3, 64 -> 64 at 56 x 56
    "resnet18:layer2.0.downsample",  # 1x1/2, 64 -> 128
    "resnet18:layer4.0.conv1",  # 3x3/2, 256 -> 512, 14 -> 7: a long window (2304), few pixels
    "resnet20:layer1.0.conv1",  # CIFAR 3x3, 16 -> 16 at 32 x 32: a quarter of the columns
    "resnet20:layer3.0.conv1",  # CIFAR 3x3/2, 32 -> 64, 16 -> 8
)

_TOPOLOGY_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,"
)
_LAYOUT_HEADER = (
    "Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height "
    "Intraline Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter "
    "Intraline Factor, IFMAP Height Intraline Order, IFMAP Width Intraline Order, Channel "
    "Intraline Order, IFMAP Height Interline Order, IFMAP Width Interline Order, Channel "
    "Interline Order, Num Filter Intraline Order, Channel Intraline Order, Filter Height "
    "Intraline Order, Filter Width Intraline Order, Num Filter Interline Order, Channel "
    "Interline Order, Filter Height Interline Order, Filter Width Interline Order,"
)
#: Unused with custom layouts off; SCALE-Sim only needs 20 integers per row.
_LAYOUT_VALUES = "1,1,1,1,1,1,0,1,2,0,1,2,0,1,2,3,0,1,2,3"

#: Runs SCALE-Sim without writing traces and records each layer's wall and CPU time.
_DRIVER = """\
import json, sys, time
from scalesim import single_layer_sim as _sls
from scalesim.scale_sim import scalesim

config, topology, layout, outdir, times_path = sys.argv[1:6]
times = []
_run = _sls.single_layer_sim.run


def _timed_run(self):
    start, cpu = time.perf_counter(), time.process_time()
    _run(self)
    times.append([time.perf_counter() - start, time.process_time() - cpu])


_sls.single_layer_sim.run = _timed_run
sim = scalesim(save_disk_space=True, verbose=False, config=config, topology=topology,
               layout=layout)
sim.run_scale(top_path=outdir)
with open(times_path, "w") as f:
    json.dump(times, f)
"""


def default_venv() -> Path:
    """``build/scalesim-venv`` under the repository root of a source checkout (the folder
    holding ``pyproject.toml`` and ``prunesim/``), else under the current directory (an installed
    wheel)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        root = Path.cwd()
    return root / "build" / "scalesim-venv"


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_scalesim(venv: Path | str, *, timeout: float = 900.0) -> Path:
    """Create ``venv`` with SCALE-Sim 3.0.0 and ``numpy<2`` in it, if not done; return its python.

    Idempotent: a stamp file in ``venv`` records the installed requirements, and a venv whose
    stamp matches is used as is. Raises :class:`RuntimeError` with the end of pip's output when
    the venv cannot be made or the install fails (no network, no such version).
    """
    venv = Path(venv).resolve()
    python = _venv_python(venv)
    stamp = venv / _STAMP
    wanted = "\n".join(SCALESIM_REQUIREMENTS) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    steps = []
    if not python.exists():
        steps.append([sys.executable, "-m", "venv", str(venv)])
    steps.append(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *SCALESIM_REQUIREMENTS,
        ]
    )
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{' '.join(cmd)} timed out after {timeout:.0f} s") from exc
        if proc.returncode != 0:
            raise RuntimeError(
                f"installing SCALE-Sim into {venv} failed ({' '.join(cmd)}, exit status "
                f"{proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}"
            )
    stamp.write_text(wanted)
    return python


def scalesim_ifmap_side(in_side: int, kernel: int, stride: int) -> int:
    """The ifmap side to give SCALE-Sim so that its output side is ours, ``ceil(in / stride)``.

    SCALE-Sim's output side is ``ceil((H - R) / S) + 1``; ``H = (out - 1) * S + R`` (the rows
    the "same"-padded convolution reads) gives exactly ``out``.
    """
    out = -(-in_side // stride)
    return (out - 1) * stride + kernel


def sparse_window(window: int, n: int, m: int) -> int:
    """Rows of SCALE-Sim's condensed filter matrix under layer-wise ``N:M`` sparsity.

    It keeps the first ``n`` of every ``m`` weights of a column (a last partial block keeps
    ``min(len, n)``): ``(window // m) * n + min(window % m, n)``.
    """
    return (window // m) * n + min(window % m, n)


def _check_layer(layer: Conv2d) -> None:
    if not isinstance(layer, Conv2d):
        raise TypeError(f"SCALE-Sim cross-check takes Conv2d layers, not {type(layer).__name__}")
    if layer.groups != 1:
        raise ValueError(
            f"{layer.name}: grouped or depthwise convolutions (groups={layer.groups}) are not "
            "cross-checked (SCALE-Sim splits 'DP' layers into one layer per channel)"
        )


def _config_text(
    *,
    rows: int,
    columns: int,
    dataflow: str,
    ifmap_kb: int,
    filter_kb: int,
    ofmap_kb: int,
    bandwidth: int | None,
    sparsity: tuple[int, int] | None,
) -> str:
    bank_bw = bandwidth if bandwidth is not None else 10
    return f"""\
[general]
run_name = {_RUN_NAME}

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {columns}
IfmapSramSzkB: {ifmap_kb}
FilterSramSzkB: {filter_kb}
OfmapSramSzkB: {ofmap_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: {bank_bw}
Dataflow: {dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {bank_bw}
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {bank_bw}
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: {"true" if sparsity else "false"}
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: {sparsity[1] if sparsity else 4}
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: {"CALC" if bandwidth is None else "USER"}
UseRamulatorTrace: False
"""


def _read_report(path: Path) -> list[dict[str, str]]:
    """A SCALE-Sim report as dicts: headers and values stripped, the trailing empty field gone."""
    with path.open(newline="") as f:
        table = [[cell.strip() for cell in row] for row in csv.reader(f) if row]
    header = [cell for cell in table[0] if cell]
    return [dict(zip(header, row, strict=False)) for row in table[1:]]


def _num(value: str) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _check_run_arguments(
    layers: Sequence[Conv2d],
    *,
    rows: int,
    columns: int,
    dataflow: str,
    sparsity: tuple[int, int] | None,
) -> None:
    """Validate :func:`run_scalesim`'s arguments (:class:`ValueError`, :class:`TypeError` for a
    layer that is not a :class:`Conv2d`)."""
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")
    if not layers:
        raise ValueError("no layers to simulate")
    for name, value in (("rows", rows), ("columns", columns)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, not {value!r}")
    if sparsity is not None:
        n, m = sparsity
        if dataflow != "ws":
            raise ValueError("SCALE-Sim 3.0.0 models sparsity for the ws dataflow only")
        if not (1 <= n <= m):
            raise ValueError(f"sparsity N:M needs 1 <= N <= M, not {n}:{m}")
    for layer in layers:
        _check_layer(layer)


def _topology(
    layers: Sequence[Conv2d], sparsity: tuple[int, int] | None
) -> tuple[str, str, list[tuple[int, int]]]:
    """The topology and layout CSV texts for ``layers``, and the ``(height, width)`` of the
    ifmap each layer is given (:func:`scalesim_ifmap_side`)."""
    given = []
    topo_lines = [_TOPOLOGY_HEADER + (" Sparsity," if sparsity else "")]
    layout_lines = [_LAYOUT_HEADER]
    for index, layer in enumerate(layers):
        # Neutral names: SCALE-Sim splits any layer whose name contains "DP" per channel.
        name = f"L{index}"
        h = scalesim_ifmap_side(layer.in_height, layer.kernel, layer.stride)
        w = scalesim_ifmap_side(layer.in_width, layer.kernel, layer.stride)
        given.append((h, w))
        fields = [name, h, w, layer.kernel, layer.kernel, layer.in_channels]
        fields += [layer.out_channels, layer.stride]
        if sparsity:
            fields.append(f"{sparsity[0]}:{sparsity[1]}")
        topo_lines.append(",".join(str(x) for x in fields) + ",")
        layout_lines.append(f"{name},{_LAYOUT_VALUES},")
    return "\n".join(topo_lines) + "\n", "\n".join(layout_lines) + "\n", given


def _run_driver(
    python: Path | str, args: Sequence[Path], *, workdir: Path, reports: Path, timeout: float
) -> str:
    """Run the driver (``args``: it and its arguments) with ``python`` in ``workdir``; its
    output. Raises :class:`RuntimeError` when it cannot start, times out, fails or leaves no
    ``COMPUTE_REPORT.csv`` in ``reports``."""
    # SCALE-Sim runs in workdir, so a relative interpreter path is made absolute first.
    python = str(python)
    if os.sep in python or (os.altsep and os.altsep in python):
        python = str(Path(python).absolute())
    cmd = [python, *(str(arg) for arg in args)]
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False
        )
    except OSError as exc:
        raise RuntimeError(f"cannot start SCALE-Sim ({python}): {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"") + (exc.stderr or b"")
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        raise RuntimeError(f"SCALE-Sim timed out after {timeout:.0f} s:\n{_tail(output)}") from exc
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or not (reports / "COMPUTE_REPORT.csv").exists():
        raise RuntimeError(
            f"SCALE-Sim failed (exit status {proc.returncode}, {' '.join(cmd)}):\n{_tail(output)}"
        )
    return output


def _read_reports(
    reports: Path, times_path: Path, layer_count: int, output: str
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]], list[list[float]]]:
    """The compute, bandwidth and detailed-access report rows and the driver's per-layer times.
    Raises :class:`RuntimeError` (with the end of ``output``) unless each has ``layer_count``."""
    compute = _read_report(reports / "COMPUTE_REPORT.csv")
    bandwidth_rows = _read_report(reports / "BANDWIDTH_REPORT.csv")
    detail = _read_report(reports / "DETAILED_ACCESS_REPORT.csv")
    times = json.loads(times_path.read_text()) if times_path.exists() else []
    if not (len(compute) == len(bandwidth_rows) == len(detail) == len(times) == layer_count):
        raise RuntimeError(
            f"SCALE-Sim reported {len(compute)} layers of {layer_count}:\n{_tail(output)}"
        )
    return compute, bandwidth_rows, detail, times


def _layer_result(
    layer: Conv2d,
    given: tuple[int, int],
    comp: dict[str, str],
    bw: dict[str, str],
    det: dict[str, str],
    wall: Sequence[float],
) -> dict[str, Any]:
    """One layer's dict of :func:`run_scalesim` from its rows of the three reports."""
    h, w = given
    entry: dict[str, Any] = {
        "name": layer.name,
        "ifmap_height": h,
        "ifmap_width": w,
        "out_height": math.ceil((h - layer.kernel) / layer.stride) + 1,
        "out_width": math.ceil((w - layer.kernel) / layer.stride) + 1,
        "filter_size": layer.kernel,
        "channels": layer.in_channels,
        "num_filters": layer.out_channels,
        "stride": layer.stride,
        "total_cycles_incl_prefetch": _num(comp["Total Cycles (incl. prefetch)"]),
        "total_cycles": _num(comp["Total Cycles"]),
        "stall_cycles": _num(comp["Stall Cycles"]),
        "overall_util_pct": float(comp["Overall Util %"]),
        "mapping_efficiency_pct": float(comp["Mapping Efficiency %"]),
        "compute_util_pct": float(comp["Compute Util %"]),
    }
    for key, value in bw.items():
        if key.startswith("Avg "):
            entry[key[4:].lower().replace(" ", "_") + "_bw"] = float(value)
    for prefix in ("SRAM", "DRAM"):
        for operand, verb in (("IFMAP", "Reads"), ("Filter", "Reads"), ("OFMAP", "Writes")):
            key = f"{prefix.lower()}_{operand.lower()}_{verb.lower()}"
            entry[key] = _num(det[f"{prefix} {operand} {verb}"])
    entry["wall_s"], entry["cpu_s"] = (float(x) for x in wall)
    return entry


def run_scalesim(
    python: Path | str,
    layers: Sequence[Conv2d],
    *,
    rows: int,
    columns: int,
    dataflow: str,
    ifmap_kb: int = 64,
    filter_kb: int = 64,
    ofmap_kb: int = 64,
    bandwidth: int | None = None,
    workdir: Path | str,
    sparsity: tuple[int, int] | None = None,
    timeout: float = 1800.0,
) -> list[dict[str, Any]]:
    """Run SCALE-Sim once on ``layers`` and return one dict per layer, in order.

    ``python`` is the interpreter of a venv with SCALE-Sim (:func:`ensure_scalesim`). The config,
    topology, layout and driver go into ``workdir``, SCALE-Sim's reports into
    ``workdir/out/<run_name>/`` (removed first, so a stale report is never read). ``bandwidth``:
    ``None`` for SCALE-Sim's CALC mode (no stalls), else words per cycle (USER mode).
    ``sparsity``: ``(N, M)`` for layer-wise N:M weight sparsity (``dataflow`` must be ``"ws"``).

    Each dict has: ``name``; ``ifmap_height``, ``ifmap_width`` (as given to SCALE-Sim);
    ``out_height``, ``out_width``; ``filter_size``, ``channels``, ``num_filters``, ``stride``;
    from COMPUTE_REPORT ``total_cycles_incl_prefetch``, ``total_cycles`` (compute cycles with
    stalls, the 0-based index of the last one), ``stall_cycles``, ``overall_util_pct``,
    ``mapping_efficiency_pct``, ``compute_util_pct``; from BANDWIDTH_REPORT ``avg_*_bw``
    (words/cycle); from DETAILED_ACCESS_REPORT ``sram_ifmap_reads``, ``sram_filter_reads``,
    ``sram_ofmap_writes``, ``dram_ifmap_reads``, ``dram_filter_reads``, ``dram_ofmap_writes``;
    and ``wall_s``, ``cpu_s``: the layer's SCALE-Sim wall and CPU (process) time; the CPU time
    is the steadier measure on a shared machine.

    Raises :class:`RuntimeError` (with the end of SCALE-Sim's output) when it fails, times out
    or leaves no report for every layer, :class:`ValueError` for bad arguments.
    """
    _check_run_arguments(layers, rows=rows, columns=columns, dataflow=dataflow, sparsity=sparsity)

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    outdir = workdir / "out"
    shutil.rmtree(outdir / _RUN_NAME, ignore_errors=True)
    config = workdir / "scalesim.cfg"
    topology = workdir / "topology.csv"
    layout = workdir / "layout.csv"
    driver = workdir / "driver.py"
    times_path = workdir / "layer_times.json"
    times_path.unlink(missing_ok=True)

    config.write_text(
        _config_text(
            rows=rows,
            columns=columns,
            dataflow=dataflow,
            ifmap_kb=ifmap_kb,
            filter_kb=filter_kb,
            ofmap_kb=ofmap_kb,
            bandwidth=bandwidth,
            sparsity=sparsity,
        )
    )
    topology_text, layout_text, given = _topology(layers, sparsity)
    topology.write_text(topology_text)
    layout.write_text(layout_text)
    driver.write_text(_DRIVER)

    reports = outdir / _RUN_NAME
    output = _run_driver(
        python,
        [driver, config, topology, layout, outdir, times_path],
        workdir=workdir,
        reports=reports,
        timeout=timeout,
    )
    compute, bandwidth_rows, detail, times = _read_reports(reports, times_path, len(layers), output)
    return [
        _layer_result(layer, sides, comp, bw, det, wall)
        for layer, sides, comp, bw, det, wall in zip(
            layers, given, compute, bandwidth_rows, detail, times, strict=True
        )
    ]


@dataclass(frozen=True)
class CrosscheckRow:
    """One layer on one dataflow: SCALE-Sim's cycles next to prunesim's."""

    layer: str
    dims: str
    dataflow: str
    out_pixels: int
    filters: int
    window: int
    scalesim_cycles: int
    scalesim_stalls: int
    mapping_efficiency_pct: float
    prunesim_cycles: int
    scalesim_wall_s: float
    scalesim_cpu_s: float
    prunesim_wall_s: float

    @property
    def diff_cycles(self) -> int:
        """``prunesim - SCALE-Sim`` cycles (1 without stalls: SCALE-Sim counts from 0)."""
        return self.prunesim_cycles - self.scalesim_cycles

    @property
    def diff_pct(self) -> float:
        """:attr:`diff_cycles` as a percentage of SCALE-Sim's cycles."""
        return 100.0 * self.diff_cycles / self.scalesim_cycles

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "diff_cycles": self.diff_cycles, "diff_pct": self.diff_pct}


def _networks() -> dict[str, Any]:
    from prunesim.models.cnn import resnet_cifar, resnet_imagenet

    nets: dict[str, Any] = {f"resnet{d}": lambda d=d: resnet_imagenet(d) for d in (18, 34, 50)}
    nets.update({f"resnet{d}": lambda d=d: resnet_cifar(d) for d in (20, 32, 44, 56, 110)})
    nets.update({f"resnet{d}": lambda d=d: resnet_imagenet(d) for d in (101, 152)})
    return nets


def resolve_layers(names: Sequence[str]) -> list[Conv2d]:
    """``["resnet18:conv1", ...]`` to :class:`Conv2d` layers, renamed ``network:layer``.

    Raises :class:`ValueError` naming an unknown network or layer.
    """
    from dataclasses import replace

    nets = _networks()
    built: dict[str, dict[str, Any]] = {}
    layers = []
    for spec in names:
        net_name, sep, layer_name = spec.partition(":")
        if not sep or net_name not in nets:
            raise ValueError(
                f"layer {spec!r}: expected NETWORK:LAYER with NETWORK one of {', '.join(nets)}"
            )
        if net_name not in built:
            built[net_name] = {layer.name: layer for layer in nets[net_name]().layers}
        layer = built[net_name].get(layer_name)
        if not isinstance(layer, Conv2d):
            convs = [n for n, lay in built[net_name].items() if isinstance(lay, Conv2d)]
            raise ValueError(
                f"layer {spec!r}: {net_name} has no convolution {layer_name!r} "
                f"(it has {', '.join(convs[:6])}, ...)"
            )
        layers.append(replace(layer, name=f"{net_name}:{layer_name}", input_from=None))
    return layers


def _dims(layer: Conv2d) -> str:
    return (
        f"{layer.in_height}x{layer.in_width}x{layer.in_channels} "
        f"k{layer.kernel}/{layer.stride} -> {layer.out_channels}"
    )


def crosscheck(
    layers: Sequence[Conv2d],
    *,
    rows: int = 32,
    columns: int = 32,
    dataflows: Sequence[str] = DATAFLOWS,
    ifmap_kb: int = 64,
    filter_kb: int = 64,
    ofmap_kb: int = 64,
    bandwidth: int | None = None,
    sparsity: tuple[int, int] | None = None,
    python: Path | str | None = None,
    venv: Path | str | None = None,
    workdir: Path | str | None = None,
    jobs: int | None = None,
) -> list[CrosscheckRow]:
    """Price ``layers`` with SCALE-Sim and with prunesim, per dataflow; one row per pair.

    SCALE-Sim runs once per dataflow (all layers in one run), up to ``jobs`` runs at a time
    (default: one per CPU, at most one per dataflow), in ``workdir/<dataflow>`` (default
    ``<venv>/../scalesim-runs``). ``python`` defaults to :func:`ensure_scalesim` on ``venv``
    (default :func:`default_venv`). prunesim's side is
    :func:`prunesim.sim.systolic.conv_compute_cycles` with the window of :func:`sparse_window`
    under ``sparsity``; its wall time is the mean of 1000 calls.
    """
    from prunesim.sim.systolic import conv_compute_cycles

    venv = Path(venv) if venv is not None else default_venv()
    if python is None:
        python = ensure_scalesim(venv)
    workdir = Path(workdir) if workdir is not None else venv.parent / "scalesim-runs"
    layers = list(layers)
    dataflows = list(dataflows)
    if jobs is None:
        jobs = max(1, min(len(dataflows), os.cpu_count() or 1))

    def one(dataflow: str) -> list[dict[str, Any]]:
        return run_scalesim(
            python,
            layers,
            rows=rows,
            columns=columns,
            dataflow=dataflow,
            ifmap_kb=ifmap_kb,
            filter_kb=filter_kb,
            ofmap_kb=ofmap_kb,
            bandwidth=bandwidth,
            workdir=Path(workdir) / dataflow,
            sparsity=sparsity,
        )

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = dict(zip(dataflows, pool.map(one, dataflows), strict=True))

    table = []
    for dataflow in dataflows:
        for layer, sim in zip(layers, results[dataflow], strict=True):
            out_pixels = layer.out_height * layer.out_width
            if (sim["out_height"], sim["out_width"]) != (layer.out_height, layer.out_width):
                raise RuntimeError(f"{layer.name}: SCALE-Sim's output size differs from ours")
            window = layer.kernel**2 * layer.in_channels
            if sparsity:
                window = sparse_window(window, *sparsity)
            args = (out_pixels, layer.out_channels, window, rows, columns, dataflow)
            repeat = 1000
            start = time.perf_counter()
            for _ in range(repeat):
                cycles = conv_compute_cycles(*args)
            ours_s = (time.perf_counter() - start) / repeat
            table.append(
                CrosscheckRow(
                    layer=layer.name,
                    dims=_dims(layer),
                    dataflow=dataflow,
                    out_pixels=out_pixels,
                    filters=layer.out_channels,
                    window=window,
                    scalesim_cycles=int(sim["total_cycles"]),
                    scalesim_stalls=int(sim["stall_cycles"]),
                    mapping_efficiency_pct=sim["mapping_efficiency_pct"],
                    prunesim_cycles=int(cycles),
                    scalesim_wall_s=sim["wall_s"],
                    scalesim_cpu_s=sim["cpu_s"],
                    prunesim_wall_s=ours_s,
                )
            )
    return table


def format_table(rows: Sequence[CrosscheckRow], *, array: str = "") -> str:
    """The cross-check as a text table, then the largest difference and the wall-time totals."""
    head = (
        f"{'layer':<30} {'dims':<24} {'df':<3} {'SCALE-Sim':>10} {'stalls':>8} "
        f"{'prunesim':>10} {'diff':>8} {'diff %':>8} {'map eff':>7} {'SCALE-Sim s':>11} "
        f"{'(cpu s)':>7} {'prunesim us':>11}"
    )
    lines = [f"SCALE-Sim v3 vs prunesim, compute cycles{' on ' + array if array else ''}", head]
    lines.append("-" * len(head))
    for r in rows:
        lines.append(
            f"{r.layer:<30} {r.dims:<24} {r.dataflow:<3} {r.scalesim_cycles:>10,} "
            f"{r.scalesim_stalls:>8,} {r.prunesim_cycles:>10,} {r.diff_cycles:>+8,} "
            f"{r.diff_pct:>+8.4f} {r.mapping_efficiency_pct:>6.1f}% {r.scalesim_wall_s:>11.1f} "
            f"{r.scalesim_cpu_s:>7.1f} {r.prunesim_wall_s * 1e6:>11.2f}"
        )
    if rows:
        worst = max(rows, key=lambda r: abs(r.diff_pct))
        sim_s = sum(r.scalesim_wall_s for r in rows)
        sim_cpu = sum(r.scalesim_cpu_s for r in rows)
        ours_s = sum(r.prunesim_wall_s for r in rows)
        lines.append("-" * len(head))
        lines.append(
            f"largest |diff|: {worst.diff_cycles:+,} cycles ({worst.diff_pct:+.4f} %, "
            f"{worst.layer} {worst.dataflow}); diff = prunesim - SCALE-Sim, and SCALE-Sim's "
            "Total Cycles is the 0-based index of the last cycle"
        )
        lines.append(
            f"wall time: SCALE-Sim {sim_s:.1f} s (sum over layers; {sim_cpu:.1f} s CPU), "
            f"prunesim {ours_s * 1e6:.1f} us; ratio {sim_s / ours_s:,.0f}x"
        )
    return "\n".join(lines)


def _sparsity_arg(text: str) -> tuple[int, int]:
    n, sep, m = text.partition(":")
    try:
        value = (int(n), int(m))
    except ValueError:
        value = (0, 0)
    if not sep or not (1 <= value[0] <= value[1]):
        raise argparse.ArgumentTypeError(f"expected N:M with 1 <= N <= M, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``prunesim bench scalesim`` (for a CLI subparser; :func:`main` uses them)."""
    parser.add_argument(
        "--dataflow",
        default=",".join(DATAFLOWS),
        metavar="LIST",
        help="comma-separated dataflows: ws, os, is",
    )
    parser.add_argument("--rows", type=positive_int, default=32, help="array rows")
    parser.add_argument("--columns", type=positive_int, default=32, help="array columns")
    parser.add_argument(
        "--layers",
        default=None,
        metavar="LIST",
        help="comma-separated NETWORK:LAYER names, e.g. resnet18:conv1,resnet20:layer1.0.conv1 "
        "(default: 5 ResNet-18 and 2 ResNet-20 convolutions)",
    )
    parser.add_argument(
        "--sram-kb",
        type=positive_int,
        default=64,
        metavar="KB",
        help="ifmap, filter and ofmap SRAM size each, in kB",
    )
    parser.add_argument(
        "--bandwidth",
        type=positive_int,
        default=None,
        metavar="WORDS",
        help="DRAM words per cycle (SCALE-Sim USER mode); default: CALC mode, no stalls",
    )
    parser.add_argument(
        "--sparsity",
        type=_sparsity_arg,
        default=None,
        metavar="N:M",
        help="layer-wise N:M weight sparsity (ws dataflow only)",
    )
    parser.add_argument(
        "--venv",
        default=None,
        metavar="DIR",
        help="SCALE-Sim's virtual environment, created if missing (default: build/scalesim-venv)",
    )
    parser.add_argument(
        "--jobs", type=positive_int, default=None, help="SCALE-Sim runs at a time (default: CPUs)"
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the rows as JSON")


def main(argv: list[str] | argparse.Namespace | None = None) -> int:
    """``prunesim bench scalesim``: print the cross-check table; 1 on a failure, else 0.

    ``argv`` is a list of arguments (parsed with :func:`add_arguments`' options) or an already
    parsed :class:`argparse.Namespace` carrying them.
    """
    if isinstance(argv, argparse.Namespace):
        args = argv
    else:
        parser = argparse.ArgumentParser(
            prog="prunesim bench scalesim",
            description="SCALE-Sim v3 next to prunesim's analytic systolic-array model.",
        )
        add_arguments(parser)
        args = parser.parse_args(argv)
    dataflows = [d.strip() for d in str(args.dataflow).split(",") if d.strip()]
    bad = [d for d in dataflows if d not in DATAFLOWS]
    if bad or not dataflows:
        print(f"prunesim: error: unknown dataflow {', '.join(bad) or '(none)'}", file=sys.stderr)
        return 2
    try:
        names = DEFAULT_LAYERS if args.layers is None else str(args.layers).split(",")
        layers = resolve_layers([n.strip() for n in names if n.strip()])
        rows = crosscheck(
            layers,
            rows=args.rows,
            columns=args.columns,
            dataflows=dataflows,
            ifmap_kb=args.sram_kb,
            filter_kb=args.sram_kb,
            ofmap_kb=args.sram_kb,
            bandwidth=args.bandwidth,
            sparsity=args.sparsity,
            venv=args.venv,
            jobs=args.jobs,
        )
    except (RuntimeError, ValueError) as exc:
        print(f"prunesim: error: {exc}", file=sys.stderr)
        return 1
    array = f"a {args.rows}x{args.columns} array"
    if args.sparsity:
        array += f", {args.sparsity[0]}:{args.sparsity[1]} weights"
    print(format_table(rows, array=array))
    if args.json:
        from prunesim.provenance import bench_inputs

        inputs = bench_inputs(BENCH, args)
        documents = [{"inputs": inputs, **r.to_dict()} for r in rows]
        Path(args.json).write_text(json.dumps(documents, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


BENCH = register_bench(
    Bench(
        name="scalesim",
        help="cross-check the systolic-array model against SCALE-Sim v3",
        description=(
            "Run SCALE-Sim v3 (installed on first use into its own virtual environment with\n"
            "numpy < 2, from PyPI) and prunesim's analytic systolic-array model side by side\n"
            "on ResNet layers; print both cycle counts, their difference and the wall time.\n\n"
            "examples:\n"
            "  prunesim bench scalesim\n"
            "  prunesim bench scalesim --dataflow ws --layers resnet18:layer1.0.conv1"
        ),
        order=50,
        add_arguments=add_arguments,
        main=main,
    )
)
