"""Cross-check of prunesim's analytic systolic-array cycles against SCALE-Sim v3 itself.

SCALE-Sim 3.0.0 is installed from PyPI into ``build/scalesim-venv`` (its own venv: it needs
``numpy<2``); a failed install fails these tests, it does not skip them. Three ResNet-20 CIFAR
convolutions (the 3-channel stem, whose 27-row window leaves a partial fold, and two stride-2
layers) run on a 16 x 16 array in each dataflow, about 4 s of SCALE-Sim time, plus the same
layers with 2:4 weight sparsity on the weight-stationary array (about 1 s).

Measured (SCALE-Sim 3.0.0, CALC bandwidth mode, so no stalls):

* ws and is: SCALE-Sim's ``Total Cycles`` is exactly ``conv_compute_cycles - 1`` for every layer
  (2,139 vs 2,140, 5,435 vs 5,436, 7,919 vs 7,920 on ws; 7,935 vs 7,936, 11,231 vs 11,232, 7,919
  vs 7,920 on is). The one cycle is not a modelling difference: SCALE-Sim reports
  ``max(serviced cycle)``, the 0-based index of the last cycle, of a demand matrix with exactly
  ``2 R + C + T - 2`` rows per fold. So the tolerance is zero after adding that one cycle back.
* os: SCALE-Sim's cycle-level model takes ``R + C + T - 2`` cycles per fold (no preload phase:
  the ifmap demand is ``T + C - 1`` rows skewed over ``R`` rows), which is what
  :func:`~prunesim.sim.systolic.compute_cycles` counts for os (it first counted ``2 R + C + T -
  2`` per fold, like ws and is: 4,672 vs SCALE-Sim's 3,647, +28 %; fixed after this check).
  Now again exactly one cycle apart.
* ws with 2:4 sparsity: SCALE-Sim condenses each filter column to its non-zeros,
  :func:`~prunesim.bench.scalesim.sparse_window` rows; again exactly one cycle apart.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from prunesim.bench import scalesim
from prunesim.models.cnn import resnet_cifar

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "build" / "scalesim-venv"
ROWS = COLUMNS = 16
LAYER_NAMES = ("conv1", "layer2.0.conv1", "layer3.0.conv1")


@pytest.fixture(scope="module")
def scalesim_python() -> Path:
    # No skip: CI has PyPI access, and a SCALE-Sim that cannot be installed is a failure.
    return scalesim.ensure_scalesim(VENV)


@pytest.fixture(scope="module")
def layers():
    by_name = {layer.name: layer for layer in resnet_cifar(20).layers}
    return [by_name[name] for name in LAYER_NAMES]


def test_ifmap_conversion_gives_our_output_size():
    # SCALE-Sim: out = ceil((H - R) / S) + 1 on the ifmap it is given; ours: ceil(in / stride).
    for side in range(1, 80):
        for kernel in (1, 3, 5, 7):
            for stride in (1, 2, 3):
                h = scalesim.scalesim_ifmap_side(side, kernel, stride)
                assert h >= kernel
                assert math.ceil((h - kernel) / stride) + 1 == -(-side // stride)
    assert scalesim.scalesim_ifmap_side(224, 7, 2) == 229  # the ResNet stem; padded would be 230
    assert scalesim.scalesim_ifmap_side(56, 3, 1) == 58  # stride 1: the padded size


def test_sparse_window():
    assert scalesim.sparse_window(27, 2, 4) == 14  # 6 full blocks of 4 -> 12, then 3 left -> 2
    assert scalesim.sparse_window(144, 2, 4) == 72
    assert scalesim.sparse_window(27, 1, 4) == 7
    assert scalesim.sparse_window(9, 4, 4) == 9


def test_resolve_layers_names_and_errors():
    (layer,) = scalesim.resolve_layers(["resnet18:layer2.0.downsample"])
    assert (layer.name, layer.kernel, layer.stride, layer.in_channels) == (
        "resnet18:layer2.0.downsample",
        1,
        2,
        64,
    )
    with pytest.raises(ValueError, match="NETWORK:LAYER"):
        scalesim.resolve_layers(["vgg16:conv1"])
    with pytest.raises(ValueError, match="no convolution"):
        scalesim.resolve_layers(["resnet20:nope"])


def _assert_one_cycle_apart(rows):
    for row in rows:
        assert row.scalesim_stalls == 0, row
        # SCALE-Sim's Total Cycles is the 0-based index of the last cycle: exactly one less.
        assert row.prunesim_cycles == row.scalesim_cycles + 1, row


@pytest.mark.parametrize("dataflow", ["ws", "is", "os"])
def test_compute_cycles_match_scalesim(scalesim_python, layers, tmp_path, dataflow):
    rows = scalesim.crosscheck(
        layers,
        rows=ROWS,
        columns=COLUMNS,
        dataflows=[dataflow],
        python=scalesim_python,
        workdir=tmp_path,
    )
    assert [r.layer for r in rows] == list(LAYER_NAMES)
    _assert_one_cycle_apart(rows)


def test_os_folds_have_no_preload(scalesim_python, layers, tmp_path):
    """os: ``R + C + T - 2`` per fold, ``R`` fewer than ws/is would take for the same folds."""
    rows = scalesim.crosscheck(
        layers,
        rows=ROWS,
        columns=COLUMNS,
        dataflows=["os"],
        python=scalesim_python,
        workdir=tmp_path,
    )
    for row in rows:
        folds = -(-row.out_pixels // ROWS) * -(-row.filters // COLUMNS)
        assert row.scalesim_stalls == 0, row
        assert row.scalesim_cycles + 1 == (ROWS + COLUMNS + row.window - 2) * folds, row


def test_sparse_ws_matches_scalesim(scalesim_python, layers, tmp_path):
    rows = scalesim.crosscheck(
        layers,
        rows=ROWS,
        columns=COLUMNS,
        dataflows=["ws"],
        sparsity=(2, 4),
        python=scalesim_python,
        workdir=tmp_path,
    )
    assert [r.window for r in rows] == [14, 72, 144]
    _assert_one_cycle_apart(rows)


def test_run_scalesim_reports(scalesim_python, layers, tmp_path):
    (result,) = scalesim.run_scalesim(
        scalesim_python,
        layers[:1],
        rows=ROWS,
        columns=COLUMNS,
        dataflow="ws",
        workdir=tmp_path,
    )
    assert (result["ifmap_height"], result["out_height"], result["out_width"]) == (34, 32, 32)
    # 27 x 16 weights on two folds of 16 x 16 PEs.
    assert result["mapping_efficiency_pct"] == pytest.approx(100 * 27 * 16 / (2 * 16 * 16))
    assert result["sram_filter_reads"] == 27 * 16
    assert result["sram_ofmap_writes"] == 32 * 32 * 16 * 2  # one write per fold per output
    assert result["wall_s"] > 0 and result["cpu_s"] > 0


def test_run_scalesim_failure_raises(scalesim_python, layers, tmp_path):
    with pytest.raises(RuntimeError, match="SCALE-Sim failed"):
        scalesim.run_scalesim(
            scalesim_python,
            layers[:1],
            rows=ROWS,
            columns=COLUMNS,
            dataflow="ws",
            ifmap_kb=0,  # a zero-sized buffer breaks SCALE-Sim's memory model
            workdir=tmp_path,
        )


def test_ensure_scalesim_is_idempotent(scalesim_python):
    # The stamp file makes a second call a no-op that returns the same interpreter.
    assert scalesim.ensure_scalesim(VENV) == scalesim_python
    assert (VENV / ".prunesim-scalesim-installed").read_text().splitlines() == list(
        scalesim.SCALESIM_REQUIREMENTS
    )
