"""The simulator on multimodal LLMs (LVLMs): workload structure (vision encoder, projector, LLM),
costs against dense on every hardware preset, grouped-query attention, ``compare`` and the CLI.

The per-layer visual token counts themselves are checked in ``test_methods_lvlm.py``; here they
are the reference the workloads must follow.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.models import get_model, model_names
from prunesim.models.lvlm import LVLMConfig
from prunesim.sim import hardware_names, load_hardware, make_workload, simulate
from prunesim.sim.compare import compare
from prunesim.sim.costs.accelerator import Accelerator
from prunesim.sim.costs.processor import EAGER_ELEMENTWISE_KERNELS, Processor
from prunesim.sim.costs.published import Published
from prunesim.sim.engine import evaluate
from prunesim.sim.methods import METHODS
from prunesim.sim.methods.lvlm import dense_schedule
from prunesim.sim.methods.multimodal import llm_stage
from prunesim.sim.workload import (
    AttentionRows,
    Decode,
    Prefill,
    Workload,
)

TRACE = Path(__file__).parent / "data" / "spatten" / "gpt2-small-wikitext2-per8.csv"

LVLMS = [name for name in model_names() if isinstance(get_model(name), LVLMConfig)]
VISUAL_METHODS = ("catp", "vflowopt", "aim")
#: Methods whose visual token schedule the LLM follows exactly (dense keeps every token).
SCHEDULED = ("dense", *VISUAL_METHODS)
#: The SpAtten ablation variants that switch on a technique costing compute on a SpAtten-class
#: accelerator when attention is compute-bound (documented in sim/methods/spatten.py: the local-V
#: top-k engine is slower than Q.K in summarization; progressive quantization recomputes Q.K for
#: the LSB fraction). With GQA (OneVision: 7 query heads per K/V head) the K/V fetch shrinks 7x,
#: so even decoding becomes compute-bound and these two are a little slower than dense.
COMPUTE_COSTLY = ("spatten-vprune", "spatten-pq")
HARDWARE = {name: load_hardware(name) for name in hardware_names()}
GPUS = ("a100", "h100", "h200", "titan-xp", "jetson-agx-orin", "jetson-nano")


def _pairs(methods) -> list[tuple[str, str]]:
    return [
        (model, method)
        for model in LVLMS
        for method in methods
        if METHODS[method].can_prune(get_model(model))
    ]


def _stages(model: str) -> list:
    cfg = get_model(model)
    return [
        Prefill(cfg.default_images, cfg.default_text_tokens),
        Prefill(2, 37),
        Decode(2, 37, 3),
        Decode(cfg.default_images, cfg.default_text_tokens, 4),
    ]


@functools.lru_cache(maxsize=None)
def _workload(model: str, method: str, stage, mode: str | None = None) -> Workload:
    return make_workload(model, method, stage=stage, mode=mode)


def _visual_schedule(model: str, method: str, stage):
    cfg = get_model(model)
    if method == "dense":
        return dense_schedule(cfg, stage.images, stage.text_tokens)
    spec = METHODS[method]
    return spec.schedule(cfg, stage.images, stage.text_tokens, spec.options)


def _llm_offset(model: str, stage) -> int:
    """Index of the LLM's first layer in the workload: after vision.* and projector."""
    return get_model(model).vision.layers + 1 if isinstance(stage, Prefill) else 0


def _llm_rows(workload: Workload, offset: int) -> AttentionRows:
    return _select(workload.attention, workload.attention.layer >= offset)


def _select(rows, mask):
    return type(rows)(**{name: column[mask] for name, column in rows.columns().items()})


def _per_layer_keys(rows: AttentionRows, layers: int, offset: int, step: int = 0) -> list[int]:
    """The keys of each layer's rows at ``step`` (all of a layer's rows must agree)."""
    keys = []
    for layer in range(layers):
        mask = (rows.layer == offset + layer) & (rows.step == step)
        values = set(rows.keys[mask].tolist())
        assert len(values) == 1, (layer, step, values)
        keys.append(values.pop())
    return keys


# ---------------------------------------------------------------------------------------------
# 1. Workload structure


@pytest.mark.parametrize("model, method", _pairs(("dense", "spatten", *VISUAL_METHODS)))
def test_layer_names_and_precision(model: str, method: str) -> None:
    cfg = get_model(model)
    llm_names = [f"llm.{i}" for i in range(cfg.llm.layers)]
    for stage in _stages(model):
        w = _workload(model, method, stage)
        if isinstance(stage, Prefill):
            expected = [f"vision.{i}" for i in range(cfg.vision.layers)] + ["projector"]
            assert w.layer_names == expected + llm_names
        else:  # decoding runs the LLM only
            assert w.layer_names == llm_names
        assert w.layers == len(w.layer_names)
        assert w.precision == "fp16"
        assert set(w.attention.layer.tolist()) <= set(range(w.layers))
        # Weights and activations in half precision (the LVLM default weight_bits is 16).
        assert set(w.linear.w_bits.tolist()) == {16}
        assert set(w.linear.a_bits.tolist()) == {16}
        # Elements are 16-bit unless the method quantizes: SpAtten's Q/K/V at 16/6/6 bits (the
        # LLM only; the vision encoder always runs dense).
        att = w.attention
        llm = att.layer >= _llm_offset(model, stage)
        if method == "spatten":
            assert set(att.q_bits[llm].tolist()) == {16}
            assert set(att.k_msb_bits[llm].tolist()) == {6}
            assert set(att.v_bits[llm].tolist()) == {6}
            assert set(att.k_lsb_bits[llm].tolist()) == ({4} if isinstance(stage, Decode) else {0})
        else:
            for column in (att.q_bits, att.k_msb_bits, att.v_bits):
                assert set(column[llm].tolist()) == {16}
            assert set(att.k_lsb_bits.tolist()) == {0}
            assert set(att.lsb_fraction.tolist()) == {0.0}
        for column in (att.q_bits, att.k_msb_bits, att.v_bits):
            assert set(column[~llm].tolist()) <= {16}


@pytest.mark.parametrize("model, method", _pairs(SCHEDULED))
def test_llm_rows_follow_the_visual_schedule(model: str, method: str) -> None:
    cfg = get_model(model)
    llm = cfg.llm
    share = llm.heads // llm.kv_heads
    for stage in _stages(model):
        schedule = _visual_schedule(model, method, stage)
        tokens = list(schedule.tokens_per_layer())
        assert len(tokens) == llm.layers
        # Text tokens are never pruned; tokens never come back.
        assert [t - v for t, v in zip(tokens, schedule.visual_per_layer, strict=True)] == [
            stage.text_tokens
        ] * llm.layers
        assert all(a >= b for a, b in zip(tokens, tokens[1:], strict=False))

        w = _workload(model, method, stage)
        offset = _llm_offset(model, stage)
        rows = _llm_rows(w, offset)
        assert set(rows.kv_share.tolist()) == {share}
        assert set(rows.d.tolist()) == {llm.d}
        if isinstance(stage, Prefill):
            # One row per (layer, head), every query against every key, K/V reused.
            assert len(rows) == llm.layers * llm.heads
            assert set(rows.step.tolist()) == {0}
            for layer in range(llm.layers):
                heads = rows.head[rows.layer == offset + layer]
                assert sorted(heads.tolist()) == list(range(llm.heads))
            assert _per_layer_keys(rows, llm.layers, offset) == tokens
            assert np.array_equal(rows.queries, rows.keys)
            assert np.array_equal(rows.values, rows.keys)
            assert rows.kv_reuse.all()
            assert w.schedule["visual"][offset:] == [float(v) for v in schedule.visual_per_layer]
        else:
            # One row per (step, layer, head), one query over the prefill's cache + t + 1.
            assert len(rows) == stage.generate * llm.layers * llm.heads
            for t in range(stage.generate):
                assert _per_layer_keys(rows, llm.layers, offset, step=t) == [
                    n + t + 1 for n in tokens
                ]
            assert set(rows.queries.tolist()) == {1}
            assert not rows.kv_reuse.any()
        assert rows.keys.min() >= stage.text_tokens + (0 if isinstance(stage, Prefill) else 1)


@pytest.mark.parametrize("model", LVLMS)
def test_spatten_prunes_the_llm_part_by_its_cascade(model: str) -> None:
    """SpAtten on an LVLM: its cascade token/head pruning on the LLM's whole sequence (text
    included: SpAtten does not know which tokens are visual), the vision encoder dense."""
    cfg = get_model(model)
    llm = cfg.llm
    spec = METHODS["spatten"]
    for stage in _stages(model):
        offset = _llm_offset(model, stage)
        dense = _llm_rows(_workload(model, "dense", stage), offset)
        rows = _llm_rows(_workload(model, "spatten", stage), offset)
        plan = spec.planner(
            llm, llm_stage(stage, stage.images * cfg.visual_tokens_per_image), spec.options
        )
        steps = stage.generate if isinstance(stage, Decode) else 1
        for t in range(steps):
            dense_keys = _per_layer_keys(dense, llm.layers, offset, step=t)
            keys = _per_layer_keys(rows, llm.layers, offset, step=t)
            assert all(a >= b for a, b in zip(keys, keys[1:], strict=False))
            assert all(k <= d for k, d in zip(keys, dense_keys, strict=True))
            expected = [
                max(1, round(d * keep)) for d, keep in zip(dense_keys, plan.token_keep, strict=True)
            ]
            assert keys == expected
        for layer in range(llm.layers):
            heads = int(np.sum((rows.layer == offset + layer) & (rows.step == 0)))
            assert heads == max(1, round(llm.heads * plan.head_keep[layer]))


@pytest.mark.parametrize("model, method", _pairs(("dense", "spatten", *VISUAL_METHODS)))
def test_vision_encoder_runs_once_per_image(model: str, method: str) -> None:
    cfg = get_model(model)
    vision = cfg.vision
    for stage in _stages(model)[:2]:  # the prefills
        w = _workload(model, method, stage)
        att = _select(w.attention, w.attention.layer < vision.layers)
        per_image = vision.layers * vision.heads
        assert len(att) == stage.images * per_image
        assert np.bincount(att.step).tolist() == [per_image] * stage.images
        assert set(att.queries.tolist()) == {vision.tokens}
        assert set(att.keys.tolist()) == {vision.tokens}
        assert set(att.values.tolist()) == {vision.tokens}
        assert set(att.d.tolist()) == {vision.hidden // vision.heads}
        assert set(att.kv_share.tolist()) == {1}
        assert att.kv_reuse.all()
        # Linear layers batched over the images (weights read once), the patch embedding on
        # every image's patches; the projector on every image's patches.
        lin = _select(w.linear, w.linear.layer < vision.layers)
        patch = vision.patch_embedding()
        is_patch = (lin.in_features == patch.in_features) & (lin.out_features == patch.out_features)
        assert lin.tokens[is_patch].tolist() == [stage.images * vision.patches]
        assert set(lin.tokens[~is_patch].tolist()) == {stage.images * vision.tokens}
        assert int(np.sum(~is_patch)) == vision.layers * len(vision.transformer.linears())
        proj = _select(w.linear, w.linear.layer == vision.layers)
        for linear in cfg.projector:
            match = (proj.in_features == linear.in_features) & (
                proj.out_features == linear.out_features
            )
            assert proj.tokens[match].tolist() == [stage.images * cfg.projector_tokens_per_image]


def test_kv_share_is_heads_over_kv_heads() -> None:
    ov = get_model("llava-onevision-7b")
    assert (ov.llm.heads, ov.llm.kv_heads) == (28, 4)
    w = _workload("llava-onevision-7b", "dense", _stages("llava-onevision-7b")[0])
    offset = _llm_offset("llava-onevision-7b", Prefill(1, 1))
    assert set(w.attention.kv_share[w.attention.layer >= offset].tolist()) == {7}
    assert set(w.attention.kv_share[w.attention.layer < offset].tolist()) == {1}
    for model in ("llava-1.5-7b", "llava-next-7b", "llava-next-13b"):
        w = _workload(model, "dense", _stages(model)[0])
        assert set(w.attention.kv_share.tolist()) == {1}


@pytest.mark.parametrize("model", ["llava-onevision-7b", "llava-1.5-7b"])
def test_prefill_e2e_has_the_lm_head_for_the_last_token(model: str) -> None:
    """sim/methods/multimodal.py: "end-to-end mode adds its linear layers and the LM head for
    the last token" of the prefill (the first output token comes out of the prefill)."""
    cfg = get_model(model)
    w = _workload(model, "dense", _stages(model)[0])
    head = cfg.llm.lm_head()
    lin = w.linear
    rows = (lin.in_features == head.in_features) & (lin.out_features == head.out_features)
    assert lin.tokens[rows].tolist() == [1]


# ---------------------------------------------------------------------------------------------
# 2. Costs


def _cost_cases():
    cases = []
    for model, method in _pairs([m for m in METHODS if m != "dense"]):
        for stage in (_stages(model)[0], _stages(model)[3]):
            cases.append((model, method, stage))
    return cases


@pytest.mark.parametrize(
    "model, method, stage",
    _cost_cases(),
    ids=[f"{m}-{meth}-{s.name}" for m, meth, s in _cost_cases()],
)
def test_pruning_costs_no_more_than_dense(model: str, method: str, stage) -> None:
    w = _workload(model, method, stage)
    dense = _workload(model, "dense", stage)
    assert w.macs <= dense.macs
    ran = 0
    for hw in HARDWARE.values():
        if isinstance(hw, Published):  # attention-only figures: refuse end-to-end work
            with pytest.raises(ValueError, match="attention only"):
                evaluate(w, hw)
            continue
        r, d = evaluate(w, hw), evaluate(dense, hw)
        ran += 1
        label = f"{method} vs dense on {hw.name}"
        assert r.macs == w.macs and d.macs == dense.macs
        assert r.dram_bytes <= d.dram_bytes, label
        if method in COMPUTE_COSTLY and isinstance(hw, Accelerator):
            # The documented exception: a little more time, never more than 1%.
            assert r.cycles <= 1.01 * d.cycles, label
            continue
        assert r.cycles <= d.cycles, label
        assert r.seconds <= d.seconds, label
        assert r.energy_j <= d.energy_j, label
    assert ran == sum(not isinstance(hw, Published) for hw in HARDWARE.values())


@pytest.mark.parametrize("model, method", _pairs(("vflowopt", "aim")))
@pytest.mark.parametrize("mode", ["e2e", "attention"])
def test_overheads_are_counted_and_small(model: str, method: str, mode: str) -> None:
    cfg = get_model(model)
    stage = _stages(model)[0]
    schedule = _visual_schedule(model, method, stage)
    overhead = schedule.total_overhead_macs()
    assert overhead > 0
    w = _workload(model, method, stage, mode)
    dense = _workload(model, "dense", stage, mode)
    # The overheads are matrix products of vision-width operands in the projector layer; their
    # MACs are the schedule's, up to rounding to whole d x d products.
    d = cfg.vision.hidden
    proj = _select(w.linear, w.linear.layer == cfg.vision.layers)
    extra = (proj.in_features == d) & (proj.out_features == d)
    assert abs(int(proj.macs[extra].sum()) - overhead) <= d * d * int(extra.sum()) / 2
    # Small: under 1% of the dense model's work; the total, overheads included, below dense.
    assert overhead < 0.01 * dense.macs
    assert w.macs < dense.macs


def _one_linear_row(workload: Workload, index: int) -> Workload:
    return Workload(
        model=workload.model,
        method=workload.method,
        stage=workload.stage,
        layers=workload.layers,
        attention=AttentionRows.empty(),
        linear=_select(workload.linear, np.arange(len(workload.linear)) == index),
        precision=workload.precision,
    )


@pytest.mark.parametrize("hw_name, peak_tflops", [("a100", 312.0), ("h100", 989.4)])
def test_processors_run_lvlms_at_the_fp16_peak(hw_name: str, peak_tflops: float) -> None:
    hw = HARDWARE[hw_name]
    assert isinstance(hw, Processor)
    assert hw.peak_tflops["fp16"] == peak_tflops
    w = _workload("llava-next-7b", "catp", _stages("llava-next-7b")[0])
    result = evaluate(w, hw)
    assert f"{hw_name}: eager PyTorch at fp16" in " ".join(result.notes)
    # One linear row by hand: the LLM's first QKV projection on the 1755 + 200 tokens.
    first_llm = int(np.argmax(w.linear.layer == get_model("llava-next-7b").vision.layers + 1))
    one = _one_linear_row(w, first_llm)
    tokens, n_in, n_out = (
        int(x[0]) for x in (one.linear.tokens, one.linear.in_features, one.linear.out_features)
    )
    assert (tokens, n_in) == (1755 + 200, 4096)
    flops = 2 * tokens * n_in * n_out
    nbytes = 2 * (n_in * n_out + tokens * (n_in + n_out))  # fp16: 2 bytes an element
    overhead = hw.kernel_overhead_us * 1e-6
    kernel = max(flops / (peak_tflops * 1e12), nbytes / (hw.memory_gb_per_s * 1e9)) + overhead
    expected = kernel + EAGER_ELEMENTWISE_KERNELS * overhead
    r = evaluate(one, hw)
    assert r.seconds == pytest.approx(expected, rel=1e-12)
    assert r.dram_bytes == nbytes
    assert r.bound_cycles == pytest.approx(
        max(flops / (peak_tflops * 1e12), nbytes / (hw.memory_gb_per_s * 1e9)) * hw.clock_ghz * 1e9
    )
    # The same workload without a precision runs at the device's default (fp32 on the A100).
    if hw.dtype != "fp16":
        one.precision = None
        assert evaluate(one, hw).dram_bytes == 2 * nbytes


def _with_kv_share(rows: AttentionRows, share: int) -> AttentionRows:
    columns = rows.columns()
    columns["kv_share"] = np.full(len(rows), share)
    return AttentionRows(**columns)


def _attention_only(workload: Workload, rows: AttentionRows) -> Workload:
    return Workload(
        model=workload.model,
        method=workload.method,
        stage=workload.stage,
        layers=workload.layers,
        attention=rows,
        precision=workload.precision,
    )


@pytest.mark.parametrize("stage_index", [0, 3])
def test_gqa_reads_one_seventh_of_the_kv(stage_index: int) -> None:
    model = "llava-onevision-7b"
    stage = _stages(model)[stage_index]
    w = _workload(model, "dense", stage)
    gqa = _llm_rows(w, _llm_offset(model, stage))
    assert set(gqa.kv_share.tolist()) == {7}
    mha = _with_kv_share(gqa, 1)
    for name in ("spatten", "spatten-eighth"):
        hw = HARDWARE[name]
        seven = evaluate(_attention_only(w, gqa), hw).dram_bytes_by_tensor
        one = evaluate(_attention_only(w, mha), hw).dram_bytes_by_tensor
        for tensor in ("k_msb", "v"):
            assert seven[tensor] > 0
            assert seven[tensor] == pytest.approx(one[tensor] / 7, rel=1e-12), (name, tensor)
        assert seven["q"] == one["q"]
    # On a GPU the K and V reads of the eager kernels (and decoding's cache copies) shrink 7x.
    hw = HARDWARE["a100"]
    seven = evaluate(_attention_only(w, gqa), hw).dram_bytes
    one = evaluate(_attention_only(w, mha), hw).dram_bytes
    kv_bytes = float(np.sum((gqa.keys + gqa.values) * gqa.d)) * 2  # fp16
    if isinstance(stage, Decode):
        kv_bytes += float(np.sum(gqa.keys * gqa.d)) * 2 * 2 * 2  # two copies, read and write
    assert one - seven == pytest.approx(kv_bytes * (1 - 1 / 7), rel=1e-9)


def test_published_accelerators_in_attention_mode() -> None:
    """A3/MNNFast price attention; in attention mode a visual method's workload carries its
    overheads (merging, scoring) as linear rows. Whatever the engine does with them, it must not
    refuse the workload by asking for the mode it is already in."""
    for model, method in _pairs(SCHEDULED):
        for name in ("a3", "mnnfast"):
            try:
                simulate(model, method, name, mode="attention")
            except ValueError as exc:
                assert "use mode 'attention'" not in str(exc), (model, method, name, str(exc))


# ---------------------------------------------------------------------------------------------
# 3. compare


def test_compare_lvlms_on_every_preset() -> None:
    models = ["llava-next-7b", "llava-onevision-7b", "llava-1.5-7b"]
    methods = ["catp", "vflowopt", "aim", "spatten"]
    results = compare(models, methods, hardware_names())
    assert [r.model for r in results] == models
    expected_methods = {
        "llava-next-7b": ["catp", "vflowopt", "spatten"],
        "llava-onevision-7b": ["vflowopt", "aim", "spatten"],
        "llava-1.5-7b": ["aim", "spatten"],
    }
    runnable = [n for n, hw in HARDWARE.items() if not isinstance(hw, Published)]
    for r in results:
        cfg = get_model(r.model)
        assert r.mode == "e2e"
        assert r.stage == Prefill(cfg.default_images, cfg.default_text_tokens).describe()
        assert r.methods == expected_methods[r.model]
        for method in methods:
            if method not in r.methods:
                assert f"{method}: cannot prune {r.model}" in r.skipped
        assert ("catp" in r.methods) == r.model.startswith("llava-next")
        assert sorted(r.hardware) == sorted(runnable)
        for name in ("a3", "mnnfast"):
            reasons = [s for s in r.skipped if s.startswith(f"{name}: ")]
            assert len(reasons) == 1 and "attention only" in reasons[0], r.skipped
        assert sorted(r.baselines) == sorted(
            n for n in runnable if isinstance(HARDWARE[n], Processor)
        )
        assert set(r.entries) == {(m, h) for m in r.methods for h in r.hardware}
        for (method, hw_name), entry in r.entries.items():
            assert entry.result.method == method and entry.result.hardware == hw_name
            assert set(entry.vs_baselines) == set(r.baselines)
            if method in VISUAL_METHODS and hw_name in GPUS:
                assert entry.speedup >= 1, (r.model, method, hw_name, entry.speedup)
                assert entry.dram_reduction >= 1 and entry.energy_saving >= 1
            # Stronger: every method beats dense on every target that runs it.
            assert entry.speedup >= 1, (r.model, method, hw_name, entry.speedup)
        json.dumps(r.to_dict())  # JSON-ready


# ---------------------------------------------------------------------------------------------
# 4. CLI


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _layer_column(out: str) -> list[str]:
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("layer "))
    return [line.split()[0] for line in lines[header + 1 :] if line.strip()]


def test_cli_simulate_lvlm_table(tmp_path: Path) -> None:
    out = _ok(
        run_cli(
            "simulate", "--model", "llava-next-7b", "--method", "catp", "--hw", "a100", cwd=tmp_path
        )
    )
    first = out.splitlines()[0]
    assert first.startswith("llava-next-7b / catp on a100: prefill 5 images + 200 text tokens")
    assert "note: ops are counted as 2 per MAC" in out
    assert "eager PyTorch at fp16" in out
    cfg = get_model("llava-next-7b")
    assert _layer_column(out) == (
        [f"vision.{i}" for i in range(cfg.vision.layers)]
        + ["projector"]
        + [f"llm.{i}" for i in range(cfg.llm.layers)]
    )
    assert list(tmp_path.iterdir()) == []


def test_cli_simulate_lvlm_json(tmp_path: Path) -> None:
    args = ("simulate", "--model", "llava-next-7b", "--method", "catp", "--hw", "a100", "--json")
    data = json.loads(_ok(run_cli(*args, cwd=tmp_path)))
    for key in (
        "cycles",
        "seconds",
        "dram_bytes",
        "macs",
        "energy_j",
        "energy_breakdown_j",
        "layers",
    ):
        assert key in data, key
    expected = simulate("llava-next-7b", "catp", "a100")
    assert data["macs"] == expected.macs
    assert data["seconds"] == expected.seconds
    assert data["dram_bytes"] == expected.dram_bytes
    assert sum(layer["macs"] for layer in data["layers"]) == data["macs"]
    assert data["layers"][0]["name"] == "vision.0"
    assert any("2 per MAC" in note for note in data["notes"])


def test_cli_simulate_lvlm_decode(tmp_path: Path) -> None:
    args = ("--model", "llava-next-7b", "--method", "catp", "--hw", "a100", "--json")
    data = json.loads(
        _ok(run_cli("simulate", *args, "--stage", "decode", "--generate", "8", cwd=tmp_path))
    )
    assert data["stage"] == "decode 8 tokens after 5 images + 200 text tokens"
    assert [layer["name"] for layer in data["layers"]] == [f"llm.{i}" for i in range(32)]
    expected = simulate("llava-next-7b", "catp", "a100", stage=Decode(5, 200, 8))
    assert data["macs"] == expected.macs
    assert data["seconds"] == expected.seconds
    # --generate alone means decoding too.
    alone = json.loads(_ok(run_cli("simulate", *args, "--generate", "8", cwd=tmp_path)))
    assert alone["macs"] == data["macs"]


def test_cli_simulate_lvlm_input_size(tmp_path: Path) -> None:
    args = ("simulate", "--model", "llava-next-7b", "--method", "catp", "--hw", "a100", "--json")
    default = json.loads(_ok(run_cli(*args, cwd=tmp_path)))
    small = json.loads(_ok(run_cli(*args, "--images", "2", "--text-tokens", "50", cwd=tmp_path)))
    assert small["stage"] == "prefill 2 images + 50 text tokens"
    assert small["macs"] < default["macs"]
    assert small["seconds"] < default["seconds"]
    expected = simulate("llava-next-7b", "catp", "a100", stage=Prefill(2, 50))
    assert small["macs"] == expected.macs
    assert small["seconds"] == expected.seconds


def test_cli_compare_lvlm(tmp_path: Path) -> None:
    out = _ok(
        run_cli(
            "compare",
            "--model",
            "llava-onevision-7b",
            "--method",
            "vflowopt,aim",
            "--hw",
            "a100,h100",
            cwd=tmp_path,
        )
    )
    assert out.startswith("llava-onevision-7b: prefill 32 images + 100 text tokens, e2e")
    rows = {
        tuple(line.split()[:2]): line
        for line in out.splitlines()
        if line.split()[:1] in (["vflowopt"], ["aim"])
    }
    assert set(rows) == {(m, h) for m in ("vflowopt", "aim") for h in ("a100", "h100")}
    for line in rows.values():
        speedup = re.findall(r"(\d+(?:\.\d+)?)x", line)[0]
        assert float(speedup) >= 1
    assert re.search(r"^method\s+hardware\s+time\s+speedup", out, re.MULTILINE)


@pytest.mark.parametrize(
    "args, pattern",
    [
        (
            ["--model", "gpt2-small", "--method", "catp"],
            r"catp supports llava-next-7b, llava-next-13b, not 'gpt2-small'",
        ),
        (
            ["--model", "llava-next-7b", "--method", "aim"],
            r"aim supports llava-onevision-7b, llava-1\.5-7b, not 'llava-next-7b'",
        ),
        (
            ["--model", "llava-next-7b", "--method", "catp", "--set", "ratio=1.5"],
            r"ratio must be in \(0, 1\], not 1\.5",
        ),
        (
            ["--model", "llava-next-7b", "--method", "catp", "--stage", "summarize"],
            r"llava-next-7b is multimodal.*--stage prefill\|decode",
        ),
        (["--model", "gpt2-small", "--images", "2"], r"gpt2-small is not multimodal"),
        (
            ["--model", "llava-next-7b", "--trace", str(TRACE)],
            r"trace describes a text transformer, not llava-next-7b",
        ),
        (
            [
                "--model",
                "llava-next-7b",
                "--method",
                "catp",
                "--stage",
                "prefill",
                "--generate",
                "4",
            ],
            r"--generate is for --stage decode",
        ),
        # --prompt is refused on an LVLM, --prompt 0 included (the check reads it as a truth value).
        (["--model", "llava-next-7b", "--method", "catp", "--prompt", "0"], r"is multimodal"),
    ],
)
def test_cli_bad_lvlm_input(tmp_path: Path, args: list[str], pattern: str) -> None:
    assert_one_line_error(run_cli("simulate", *args, cwd=tmp_path), pattern)
    assert list(tmp_path.iterdir()) == []
