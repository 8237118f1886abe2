"""The LVLM token-pruning schedules (CATP, VFlowOpt, AIM): per-layer counts written out by hand
from the papers' rules, the released VFlowOpt schedules' mean retention, conservation under
random options, and option/model validation."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prunesim.models import MODELS
from prunesim.sim.methods import aim, catp, vflowopt
from prunesim.sim.methods.lvlm import (
    VisualSchedule,
    check_supported,
    dense_schedule,
    mean_retention,
)

NEXT_7B = MODELS["llava-next-7b"]
NEXT_13B = MODELS["llava-next-13b"]
OV_7B = MODELS["llava-onevision-7b"]
LLAVA_15 = MODELS["llava-1.5-7b"]


def _check_conserved(schedule: VisualSchedule, layers: int, text: int, dense: int) -> None:
    """Tokens never grow, text is never pruned, counts stay within [0, dense]."""
    visual = schedule.visual_per_layer
    assert len(visual) == layers
    assert 0 <= schedule.visual_in <= dense == schedule.dense_visual
    assert all(0 <= v <= schedule.visual_in for v in visual)
    assert all(a >= b for a, b in zip(visual, visual[1:], strict=False))
    assert schedule.text_tokens == text
    assert [t - v for t, v in zip(schedule.tokens_per_layer(), visual, strict=True)] == [
        text
    ] * layers
    assert all(macs >= 0 for _, macs in schedule.overhead_macs)


# ---------------------------------------------------------------------------------------------
# The shared contract


def test_dense_schedule_keeps_everything() -> None:
    s = dense_schedule(LLAVA_15, images=2, text_tokens=10)
    assert s.visual_in == 1152
    assert s.visual_per_layer == (1152,) * 32
    assert s.tokens_per_layer() == (1162,) * 32
    assert s.encoder_tokens == LLAVA_15.vision.tokens == 577
    assert s.overhead_macs == ()
    assert mean_retention(s) == 1.0
    assert json.loads(json.dumps(s.to_dict()))["tokens_per_layer"] == [1162] * 32


def test_dense_schedule_defaults_come_from_the_model() -> None:
    s = dense_schedule(OV_7B)
    assert s.images == OV_7B.default_images
    assert s.text_tokens == OV_7B.default_text_tokens
    assert s.visual_in == OV_7B.default_images * OV_7B.visual_tokens_per_image


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"visual_per_layer": (10, 11)}, r"visual_per_layer\[1\] \(11\) exceeds"),
        ({"visual_per_layer": (13, 5)}, r"visual_per_layer\[0\] \(13\) exceeds visual_in"),
        ({"visual_per_layer": (5, -1)}, r"visual_per_layer\[1\]"),
        ({"visual_per_layer": ()}, "visual_per_layer must be a non-empty tuple"),
        ({"text_tokens": -1}, "text_tokens"),
        ({"images": 1.5}, "images"),
        ({"overhead_macs": (("merge", -3),)}, "overhead_macs"),
        ({"overhead_macs": (("", 3),)}, "overhead_macs"),
        ({"tokens_per_image": 5}, r"visual_in \(12\) exceeds images x tokens_per_image"),
    ],
)
def test_visual_schedule_invariants(fields: dict, match: str) -> None:
    base = dict(images=2, encoder_tokens=8, visual_in=12, visual_per_layer=(12, 6), text_tokens=3)
    with pytest.raises(ValueError, match=match):
        VisualSchedule(**{**base, **fields})


def test_check_supported_names_the_supported_models() -> None:
    with pytest.raises(
        ValueError, match=r"^catp supports llava-next-7b, llava-next-13b, not 'gpt2-small'$"
    ):
        check_supported("catp", MODELS["gpt2-small"], catp.SUPPORTED)
    assert check_supported("catp", NEXT_7B, catp.SUPPORTED) is NEXT_7B


@pytest.mark.parametrize(
    "module, lvlm",
    [(catp, "llava-1.5-7b"), (vflowopt, "llava-1.5-7b"), (aim, "llava-next-7b")],
)
@pytest.mark.parametrize("other", ["gpt2-small", "bert-base"])
def test_unsupported_models_raise(module, lvlm: str, other: str) -> None:
    method = module.__name__.rsplit(".", 1)[1]
    supported = ", ".join(module.SUPPORTED)
    for name in (lvlm, other):
        with pytest.raises(ValueError, match=f"^{method} supports {supported}, not '{name}'$"):
            module.schedule(MODELS[name])


@pytest.mark.parametrize("module", [catp, vflowopt, aim])
def test_bad_input_sizes_raise(module) -> None:
    model = MODELS[module.SUPPORTED[0]]
    with pytest.raises(ValueError, match="images must be an integer >= 1, not 0"):
        module.schedule(model, images=0, text_tokens=10)
    with pytest.raises(ValueError, match="text_tokens"):
        module.schedule(model, images=1, text_tokens=-1)
    options = dataclasses.replace(_options(module), tokens_per_image=0)
    with pytest.raises(ValueError, match="tokens_per_image"):
        module.schedule(model, 1, 10, options)


def _options(module):
    return {catp: catp.CATPOptions, vflowopt: vflowopt.VFlowOptOptions, aim: aim.AIMOptions}[
        module
    ]()


# ---------------------------------------------------------------------------------------------
# CATP


# (R, s1 = floor(576 (1 - R/2)), s2 = floor(576 (1 - R))), worked by hand:
# 576 x 0.6665 = 383.904, 576 x 0.333 = 191.808; 576 x 0.611 = 351.936, 576 x 0.222 = 127.872;
# 576 x 0.5505 = 317.088, 576 x 0.101 = 58.176.
CATP_COUNTS = [(0.667, 383, 191), (0.778, 351, 127), (0.899, 317, 58)]


@pytest.mark.parametrize("ratio, s1, s2", CATP_COUNTS)
@pytest.mark.parametrize("model, k", [(NEXT_7B, 6), (NEXT_13B, 10)])
def test_catp_counts_at_the_paper_ratios(model, k: int, ratio: float, s1: int, s2: int) -> None:
    s = catp.schedule(model, images=5, text_tokens=200, options=catp.CATPOptions(ratio=ratio))
    layers = model.llm.layers
    # Layers 0..K: stage 1 on all 5 images; K+1: the 4 demonstrations pruned, the query not yet;
    # K+2..: every image at 1 - R.
    expected = [5 * s1] * (k + 1) + [4 * s2 + s1] + [5 * s2] * (layers - k - 2)
    assert list(s.visual_per_layer) == expected
    assert s.visual_in == 5 * s1
    assert s.tokens_per_layer()[-1] == 200 + 5 * s2
    assert s.encoder_tokens == 577


def test_catp_default_7b_written_out() -> None:
    s = catp.schedule(NEXT_7B, images=5, text_tokens=200)
    assert list(s.visual_per_layer) == [1755] * 7 + [859] + [635] * 24
    assert s.overhead_macs == ()


def test_catp_exact_two_thirds_keeps_192() -> None:
    s = catp.schedule(NEXT_7B, 5, 0, catp.CATPOptions(ratio=2 / 3))
    assert s.visual_in == 5 * 384
    assert s.visual_per_layer[-1] == 5 * 192


def test_catp_explicit_layer_and_single_image() -> None:
    s = catp.schedule(NEXT_7B, 1, 7, catp.CATPOptions(ratio=0.778, layer=0))
    # One image is the query: pruned at layer 1, seen from layer 2.
    assert list(s.visual_per_layer) == [351, 351] + [127] * 30


@pytest.mark.parametrize(
    "options, match",
    [
        ({"ratio": 0}, r"ratio must be in \(0, 1\], not 0"),
        ({"ratio": 1.5}, r"ratio must be in \(0, 1\], not 1.5"),
        ({"ratio": float("nan")}, "ratio"),
        ({"layer": -1}, "layer must be a non-negative integer or None, not -1"),
        ({"layer": 31}, r"layer must be a layer in 0..30 for llava-next-7b"),
        ({"layer": 40}, "layer must be a layer in 0..30"),
    ],
)
def test_catp_bad_options(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        catp.schedule(NEXT_7B, options=catp.CATPOptions(**options))


# ---------------------------------------------------------------------------------------------
# VFlowOpt


@pytest.mark.parametrize("target, mean", [(0.5, 0.501), (0.25, 0.251), (0.1, 0.100)])
def test_vflowopt_released_schedules_mean_retention(target: float, mean: float) -> None:
    r1, r2, r3, _ = vflowopt.SCHEDULES[target]
    # Layers 0-8 keep R1, 9-17 R1 R2, 18-27 R1 R2 R3.
    ratio_mean = (9 * r1 + 9 * r1 * r2 + 10 * r1 * r2 * r3) / 28
    assert ratio_mean == pytest.approx(mean, abs=0.001)
    assert vflowopt.mean_schedule_retention(r1, r2, r3, 28, 9, 18) == ratio_mean
    # The same reading on integer counts (one 729-token crop, recycling off).
    options = vflowopt.VFlowOptOptions(target=target, recycle_cell=0, tokens_per_image=729)
    s = vflowopt.schedule(OV_7B, 1, 20, options)
    assert mean_retention(s) == pytest.approx(mean, abs=0.001)
    visual = s.visual_per_layer
    assert len(set(visual[:9])) == len(set(visual[9:18])) == len(set(visual[18:])) == 1


@pytest.mark.parametrize("target, mean", [(0.5, 0.501), (0.1, 0.100)])
def test_vflowopt_other_reading_misses_the_published_means(target: float, mean: float) -> None:
    """Cutting *after* layers 9 and 18 (layers 10-18 keep R1 R2) misses by more than 0.001
    (0.517 and 0.102; the 25% schedule, nearly flat, cannot tell the readings apart)."""
    r1, r2, r3, _ = vflowopt.SCHEDULES[target]
    assert abs(vflowopt.mean_schedule_retention(r1, r2, r3, 28, 10, 19) - mean) > 0.001


# By hand, one 729-token crop (27 x 27): stage 1 keeps 729 - round(729 (1 - R1)) - floor(729/a^2)
# + ceil(27/a)^2, then each stage keeps n - round(n (1 - R)).
# 10%: 729 - round(643.98) - floor(2.41) + 2^2 = 729 - 644 - 2 + 4 = 87; R2 = 1: 87;
#      87 - round(87 x 0.3989 = 34.70) = 52.
# 25%: 729 - round(535.74) - floor(3.003) + 2^2 = 194; 194 - round(3.23) = 191;
#      191 - round(23.43) = 168.
# 50%: 729 - round(201.70) - floor(5.27) + 3^2 = 531; 531 - round(133.41) = 398;
#      398 - round(204.17) = 194.
VFLOWOPT_OV_729 = {
    0.1: [87] * 18 + [52] * 10,
    0.25: [194] * 9 + [191] * 9 + [168] * 10,
    0.5: [531] * 9 + [398] * 9 + [194] * 10,
}


@pytest.mark.parametrize("target", sorted(VFLOWOPT_OV_729))
def test_vflowopt_ov_counts(target: float) -> None:
    options = vflowopt.VFlowOptOptions(target=target, tokens_per_image=729)
    s = vflowopt.schedule(OV_7B, 1, 30, options)
    assert list(s.visual_per_layer) == VFLOWOPT_OV_729[target]
    assert s.encoder_tokens == 729


def test_vflowopt_default_is_the_10_percent_schedule() -> None:
    s = vflowopt.schedule(OV_7B, 1, 30, vflowopt.VFlowOptOptions(tokens_per_image=729))
    assert list(s.visual_per_layer) == VFLOWOPT_OV_729[0.1]
    # Recycling merges the 644 + 2 pruned tokens: one weighted add per token and feature.
    assert s.overhead_macs == (("vflowopt-recycle", 646 * 3584),)


def test_vflowopt_recycling_variants() -> None:
    def first(**kw) -> int:
        options = vflowopt.VFlowOptOptions(target=0.1, tokens_per_image=729, **kw)
        return vflowopt.schedule(OV_7B, 1, 0, options).visual_in

    assert first(recycle_cell=0) == 85  # 729 - 644
    assert first(recycle_compensate=False) == 89  # 729 - 644 + 4 cells
    assert first(recycle_cell=3) == 729 - 644 - 81 + 81  # 81 cells, 81 extra pruned
    assert first(recycle_cell=1) == 729 - 729 + 729  # every token its own cell: nothing lost
    s = vflowopt.schedule(OV_7B, 1, 0, vflowopt.VFlowOptOptions(recycle_cell=0))
    assert s.overhead_macs == ()


def test_vflowopt_next_layers_and_explicit_ratios() -> None:
    options = vflowopt.VFlowOptOptions(target=None, r1=0.5, r2=0.5, r3=0.5, recycle_cell=0)
    s = vflowopt.schedule(NEXT_7B, 2, 10, options)
    # 576 -> 288 per image, 576 for 2 images; then 288 from layer 10, 144 from layer 20.
    assert list(s.visual_per_layer) == [576] * 10 + [288] * 10 + [144] * 12
    moved = dataclasses.replace(options, stage2_layer=1, stage3_layer=31)
    s = vflowopt.schedule(NEXT_7B, 2, 10, moved)
    assert list(s.visual_per_layer) == [576] + [288] * 30 + [144]


@pytest.mark.parametrize(
    "options, match",
    [
        ({"target": 0.3}, "target must be one of 0.5, 0.25, 0.1 or None, not 0.3"),
        ({"target": None}, "r1 must be given when target is None"),
        ({"r1": 0}, r"r1 must be in \(0, 1\], not 0"),
        ({"r3": 1.5}, r"r3 must be in \(0, 1\], not 1.5"),
        ({"recycle_cell": 0.5}, "recycle_cell must be 0 .* or a cell side >= 1, not 0.5"),
        ({"recycle_cell": -1}, "recycle_cell"),
        ({"stage2_layer": -1}, "stage2_layer must be a layer >= 1 or None, not -1"),
        ({"stage2_layer": 0}, "stage2_layer"),
        ({"stage3_layer": 28}, r"stage3_layer must be a layer in 0..27 for llava-onevision-7b"),
        ({"stage2_layer": 18, "stage3_layer": 9}, r"stage3_layer \(9\) must come after"),
        ({"recycle_compensate": 1}, "recycle_compensate must be true or false, not 1"),
    ],
)
def test_vflowopt_bad_options(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        vflowopt.schedule(OV_7B, options=vflowopt.VFlowOptOptions(**options))


# ---------------------------------------------------------------------------------------------
# AIM


def test_aim_keep_ratio_per_layer() -> None:
    qwen2 = [aim.keep_ratio(layer, 14) for layer in range(28)]
    assert qwen2 == [1.0] * 14 + [0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125] + [0.0] * 7
    vicuna = [aim.keep_ratio(layer, 13) for layer in range(32)]
    assert vicuna == [1.0] * 13 + [0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125] + [0.0] * 12


def test_aim_ov_video_counts() -> None:
    s = aim.schedule(OV_7B, images=32, text_tokens=100)
    # 196 -> 98 -> 49 per frame: 1568 for 32 frames; 100% to layer 13, 0 from layer 21.
    assert s.visual_in == 1568
    assert list(s.visual_per_layer) == (
        [1568] * 14 + [1372, 1176, 980, 784, 588, 392, 196] + [0] * 7
    )
    assert s.tokens_per_layer()[-1] == 100
    # Merging: per frame, (98 x 98 + 49 x 49) similarities of 3584-wide projected features.
    merge = 32 * (98 * 98 + 49 * 49) * 3584
    # PageRank at layers 13..20 (they choose layers 14..21), 28 heads x 5 iterations x N^2.
    alive = [1668, 1472, 1276, 1080, 884, 688, 492, 296]
    pagerank = 28 * 5 * sum(n * n for n in alive)
    assert dict(s.overhead_macs) == {"aim-merge": merge, "aim-pagerank": pagerank}


def test_aim_llava_15_counts() -> None:
    s = aim.schedule(LLAVA_15, images=1, text_tokens=40)
    assert list(s.visual_per_layer) == [72] * 13 + [63, 54, 45, 36, 27, 18, 9] + [0] * 12
    # 576 -> 288 -> 144 -> 72 on 1024-wide CLIP features.
    merge = (288 * 288 + 144 * 144 + 72 * 72) * 1024
    pagerank = 32 * 5 * sum((40 + v) ** 2 for v in (72, 63, 54, 45, 36, 27, 18, 9))
    assert dict(s.overhead_macs) == {"aim-merge": merge, "aim-pagerank": pagerank}


def test_aim_floor_and_options() -> None:
    options = aim.AIMOptions(merged_per_image=50, start_layer=2, step=0.3, pagerank_iters=0)
    s = aim.schedule(LLAVA_15, 3, 0, options)
    # 150 merged tokens; keep 0.7, 0.4, 0.1 (floors 105, 60, 15), then 0.
    assert list(s.visual_per_layer) == [150, 150, 105, 60, 15] + [0] * 27
    assert dict(s.overhead_macs)["aim-pagerank"] == 0
    # 576 -> 288 -> 144 -> 72 -> 50: four steps.
    assert aim.merge_steps(576, 50) == (576, 288, 144, 72)
    assert aim.merge_steps(729, 183) == (729, 365)
    assert aim.merge_steps(49, 49) == ()


@pytest.mark.parametrize(
    "options, match",
    [
        ({"start_layer": -1}, "start_layer must be a non-negative integer, not -1"),
        ({"start_layer": 28}, r"start_layer must be a layer in 0..27 for llava-onevision-7b"),
        ({"step": 0}, r"step must be in \(0, 1\], not 0"),
        ({"step": 1.5}, "step"),
        ({"merged_per_image": 0}, "merged_per_image must be an integer >= 1, not 0"),
        ({"merged_per_image": 197}, "merged_per_image must be at most the 196 tokens"),
        ({"merge_dim": 0}, "merge_dim"),
        ({"pagerank_iters": -1}, "pagerank_iters"),
    ],
)
def test_aim_bad_options(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        aim.schedule(OV_7B, options=aim.AIMOptions(**options))


# ---------------------------------------------------------------------------------------------
# Conservation under random options

_inputs = st.tuples(st.integers(1, 8), st.integers(0, 300))


@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from([NEXT_7B, NEXT_13B]),
    ratio=st.floats(0.001, 1.0),
    layer=st.one_of(st.none(), st.integers(0, 30)),
    per_image=st.one_of(st.none(), st.integers(1, 1000)),
    sizes=_inputs,
)
def test_catp_conserves(model, ratio, layer, per_image, sizes) -> None:
    images, text = sizes
    options = catp.CATPOptions(ratio=ratio, layer=layer, tokens_per_image=per_image)
    s = catp.schedule(model, images, text, options)
    n = per_image or 576
    _check_conserved(s, model.llm.layers, text, images * n)
    assert s.visual_per_layer[-1] <= s.visual_in


@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from([OV_7B, NEXT_7B]),
    target=st.sampled_from([0.5, 0.25, 0.1]),
    ratios=st.tuples(*[st.one_of(st.none(), st.floats(0.001, 1.0))] * 3),
    cell=st.one_of(st.none(), st.just(0.0), st.floats(1.0, 40.0)),
    compensate=st.booleans(),
    stages=st.one_of(st.none(), st.tuples(st.integers(1, 26), st.integers(1, 26))),
    per_image=st.one_of(st.none(), st.integers(1, 3000)),
    sizes=_inputs,
)
def test_vflowopt_conserves(
    model, target, ratios, cell, compensate, stages, per_image, sizes
) -> None:
    images, text = sizes
    l2, l3 = sorted(stages) if stages else (None, None)
    if l2 is not None and l2 == l3:
        l3 += 1
    options = vflowopt.VFlowOptOptions(
        target=target,
        r1=ratios[0],
        r2=ratios[1],
        r3=ratios[2],
        recycle_cell=cell,
        recycle_compensate=compensate,
        stage2_layer=l2,
        stage3_layer=l3,
        tokens_per_image=per_image,
    )
    s = vflowopt.schedule(model, images, text, options)
    n = per_image or model.visual_tokens_per_image
    _check_conserved(s, model.llm.layers, text, images * n)
    assert len(set(s.visual_per_layer)) <= 3


@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from([OV_7B, LLAVA_15]),
    merged=st.one_of(st.none(), st.integers(1, 196)),
    start=st.one_of(st.none(), st.integers(0, 27)),
    step=st.floats(0.01, 1.0),
    iters=st.integers(0, 10),
    sizes=_inputs,
)
def test_aim_conserves(model, merged, start, step, iters, sizes) -> None:
    images, text = sizes
    options = aim.AIMOptions(
        merged_per_image=merged, start_layer=start, step=step, pagerank_iters=iters
    )
    s = aim.schedule(model, images, text, options)
    _check_conserved(s, model.llm.layers, text, images * model.visual_tokens_per_image)
    first = model.llm.layers if start is None else start
    assert set(s.visual_per_layer[: min(first, 13)]) <= {s.visual_in}
