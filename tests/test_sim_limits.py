"""Limits of stages, options and arguments: each checked once, before any work, with the same
result from the command line (exit 2, one line) and the Python API (TypeError/ValueError naming
the argument); the largest value that fits runs."""

from __future__ import annotations

import typing

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.sim import make_workload, simulate
from prunesim.sim.compare import compare
from prunesim.sim.methods import METHODS
from prunesim.sim.methods.base import BITS, WIRE_BITS
from prunesim.sim.methods.options import Range, field_names
from prunesim.sim.workload import (
    MAX_BATCH,
    Decode,
    Generate,
    Infer,
    Prefill,
    Summarize,
    Train,
)

# ---------------------------------------------------------------------------------------------
# Stages check their own fields.


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Summarize(1.5), TypeError, r"^Summarize tokens must be an integer, not 1\.5$"),
        (lambda: Summarize("128"), TypeError, r"^Summarize tokens must be an integer, not '128'$"),
        (lambda: Summarize(True), TypeError, r"^Summarize tokens must be an integer, not True$"),
        (lambda: Summarize(None), TypeError, r"^Summarize tokens must be an integer, not None$"),
        (lambda: Summarize(0), ValueError, r"^Summarize tokens must be at least 1, not 0$"),
        (lambda: Generate(-1, 1), ValueError, r"^Generate prompt must be at least 0, not -1$"),
        (lambda: Generate(5, 0), ValueError, r"^Generate generate must be at least 1, not 0$"),
        (lambda: Generate(5, 2.0), TypeError, r"^Generate generate must be an integer"),
        (lambda: Prefill(0, 5), ValueError, r"^Prefill images must be at least 1, not 0$"),
        (lambda: Prefill(1, -1), ValueError, r"^Prefill text_tokens must be at least 0"),
        (lambda: Decode(1, 5, 0), ValueError, r"^Decode generate must be at least 1, not 0$"),
        (lambda: Infer(2.5), TypeError, r"^Infer batch must be an integer, not 2\.5$"),
        (lambda: Train(0), ValueError, rf"^Train batch must be in 1\.\.{MAX_BATCH}, not 0$"),
        (
            lambda: Infer(MAX_BATCH + 1),
            ValueError,
            rf"^Infer batch must be in 1\.\.{MAX_BATCH}, not {MAX_BATCH + 1}$",
        ),
    ],
)
def test_stage_fields_are_checked(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_stage_fields_take_numpy_integers_as_ints():
    stage = Generate(np.int64(992), np.int32(32))
    assert stage == Generate(992, 32)
    assert type(stage.prompt) is int and type(stage.generate) is int
    assert Infer(MAX_BATCH).batch == MAX_BATCH


# ---------------------------------------------------------------------------------------------
# Families check a stage against the model, before any work.


@pytest.mark.parametrize(
    ("model", "stage", "message"),
    [
        ("bert-base", Summarize(100000), r"^tokens 100000 exceeds bert-base's 512 positions$"),
        ("bert-base", Summarize(513), r"^tokens 513 exceeds bert-base's 512 positions$"),
        ("bert-base", Generate(10, 10), r"^bert-base is an encoder: it cannot generate"),
        (
            "gpt2-small",
            Generate(1000, 25),
            r"^prompt 1000 \+ generate 25 = 1025 tokens exceed gpt2-small's 1024 positions$",
        ),
        (
            "gpt2-small",
            Generate(992, 10**8),
            r"prompt 992 \+ generate 100000000 = 100000992 tokens exceed",
        ),
        (
            "llava-1.5-7b",
            Prefill(1, 10**8),
            r"^images 1 x 576 visual \+ text_tokens 100000000 = 100000576 tokens exceed "
            r"llava-1\.5-7b's context of 4096 positions \(vicuna-7b-v1\.5\)$",
        ),
        (
            "llava-1.5-7b",
            Prefill(100000, 64),
            r"^images 100000 x 576 visual \+ text_tokens 64 = 57600064 tokens exceed",
        ),
        ("llava-1.5-7b", Prefill(7, 65), r"= 4097 tokens exceed llava-1\.5-7b's context of 4096"),
        (
            "llava-1.5-7b",
            Decode(1, 64, 10**8),
            r"^images 1 x 576 visual \+ text_tokens 64 \+ generate 100000000 = 100000640 tokens",
        ),
        ("llava-1.5-7b", Decode(7, 64, 1), r"= 4097 tokens exceed"),
        ("gpt2-small", Prefill(1, 64), r"^gpt2-small is a text transformer: it takes a summarize"),
        ("llava-1.5-7b", Summarize(64), r"^llava-1\.5-7b takes a prefill or decode stage"),
        ("resnet18", Summarize(64), r"^resnet18 is a convolutional network: it takes an infer"),
    ],
)
def test_stage_must_fit_the_model(model, stage, message):
    with pytest.raises(ValueError, match=message):
        make_workload(model, "dense", stage=stage)
    with pytest.raises(ValueError, match=message):
        simulate(model, "spatten" if "resnet" not in model else "dense", stage=stage)


@pytest.mark.parametrize(
    ("model", "stage"),
    [
        ("bert-base", Summarize(512)),
        ("gpt2-small", Generate(1000, 24)),
        ("gpt2-small", Generate(0, 1024)),
        ("llava-1.5-7b", Prefill(7, 64)),
        ("llava-1.5-7b", Decode(7, 63, 1)),
    ],
)
def test_the_largest_stage_that_fits_runs(model, stage):
    result = simulate(model, "spatten", stage=stage)
    assert result.stage == stage.describe() and result.seconds > 0


def test_the_largest_batch_runs():
    result = simulate("resnet20", "dense", "systolic-32", stage=Infer(MAX_BATCH))
    single = simulate("resnet20", "dense", "systolic-32", stage=Infer(1))
    assert result.macs == MAX_BATCH * single.macs


# ---------------------------------------------------------------------------------------------
# Options and bit widths.


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"token_keep": True}, r"^token_keep must be a number, not True$"),
        ({"token_keep": None}, r"^token_keep must be a number, not None$"),
        ({"q_bits": 16.5}, r"^q_bits must be an integer, not 16\.5$"),
        ({"k_bits": 2.5}, r"^k_bits must be an integer, not 2\.5$"),
        ({"k_bits": True}, r"^k_bits must be an integer, not True$"),
        ({"v_bits": 33}, r"^v_bits must be an integer 1\.\.32, not 33$"),
        ({"q_bits": 0}, r"^q_bits must be an integer 1\.\.32, not 0$"),
        ({"token_pruning": 0.5}, r"^token_pruning must be true or false, not 0\.5$"),
        (
            {"token_keep": 0.3, "token-keep": 0.9},
            r"^option token_keep given twice \(as 'token_keep' and 'token-keep'\)$",
        ),
    ],
)
def test_bad_options_name_the_option(options, message):
    with pytest.raises(ValueError, match=message):
        make_workload("gpt2-small", "spatten", **options)


@pytest.mark.parametrize(
    ("weight_bits", "error", "message"),
    [
        (0, ValueError, r"^weight_bits must be an integer 1\.\.32, not 0$"),
        (1000000, ValueError, r"^weight_bits must be an integer 1\.\.32, not 1000000$"),
        (True, ValueError, r"^weight_bits must be an integer, not True$"),
        (8.0, ValueError, r"^weight_bits must be an integer, not 8\.0$"),
    ],
)
def test_weight_bits_in_range(weight_bits, error, message):
    with pytest.raises(error, match=message):
        make_workload("gpt2-small", "spatten", mode="e2e", weight_bits=weight_bits)


def test_weight_bits_bounds_run():
    for bits in (BITS.low, BITS.high):
        workload = make_workload("gpt2-small", "spatten", mode="e2e", weight_bits=int(bits))
        assert set(workload.linear.w_bits.tolist()) == {bits}


def test_every_bits_option_has_the_declared_range():
    """Every ``*_bits`` option of every method is typed with one of the two declared ranges."""
    seen = 0
    for name, method in METHODS.items():
        hints = typing.get_type_hints(type(method.options), include_extras=True)
        for option in field_names(method.options):
            if not option.endswith("_bits"):
                continue
            ranges = [m for m in getattr(hints[option], "__metadata__", ()) if isinstance(m, Range)]
            assert ranges in ([BITS], [WIRE_BITS]), (name, option, hints[option])
            seen += 1
    assert seen >= 7  # spatten's q/k/v/lsb bits, fedtiny's w/value/index bits


def test_dash_spelling_of_an_option_is_the_same_option():
    dashed = make_workload("gpt2-small", "spatten", **{"token-keep": 0.4})
    plain = make_workload("gpt2-small", "spatten", token_keep=0.4)
    assert np.array_equal(dashed.attention.keys, plain.attention.keys)


# ---------------------------------------------------------------------------------------------
# dense with options is labelled with what ran.


def test_dense_with_options_is_labelled():
    labelled = make_workload("gpt2-small", "dense", token_pruning=True)
    token_only = make_workload("gpt2-small", "spatten-token")
    assert labelled.method == "dense (token_pruning=True)"
    assert np.array_equal(labelled.attention.keys, token_only.attention.keys)
    assert make_workload("gpt2-small", "dense").method == "dense"
    assert make_workload("gpt2-small", "dense", token_pruning=False).method == "dense"
    assert (
        make_workload("gpt2-small", "dense", token_pruning=True, token_keep=0.5).method
        == "dense (token_pruning=True, token_keep=0.5)"
    )


def test_dense_takes_no_options_on_a_network():
    with pytest.raises(ValueError, match=r"^dense takes no options on resnet18 .*token_pruning$"):
        make_workload("resnet18", "dense", token_pruning=True)


# ---------------------------------------------------------------------------------------------
# Argument types.


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate(123), r"^model must be a model name or a Model, not int$"),
        (lambda: make_workload(None), r"^model must be a model name or a Model, not NoneType$"),
        (lambda: make_workload("gpt2-small", 5), r"^method must be a method name, not int$"),
        (
            lambda: make_workload("gpt2-small", stage=128),
            r"^stage must be a Summarize, Generate, Prefill, Decode, Infer or Train stage, "
            r"not int$",
        ),
        (lambda: compare([123], ["spatten"], ["spatten"]), r"^model must be a model name"),
    ],
)
def test_bad_argument_types(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_compare_takes_one_name_for_a_list():
    one = compare("gpt2-small", "spatten-token", "spatten")
    listed = compare(["gpt2-small"], ["spatten-token"], ["spatten"])
    assert [r.to_dict() for r in one] == [r.to_dict() for r in listed]
    assert one[0].model == "gpt2-small" and one[0].methods == ["spatten-token"]


# ---------------------------------------------------------------------------------------------
# The command line: exit 2, one line, nothing run.


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (
            ["simulate", "--model", "llava-1.5-7b", "--text-tokens", 10**8],
            r"text_tokens 100000000 = 100000576 tokens exceed llava-1\.5-7b's context of 4096",
        ),
        (
            ["simulate", "--model", "llava-1.5-7b", "--stage", "decode", "--generate", 10**8],
            r"generate 100000000 = 100000640 tokens exceed llava-1\.5-7b's context",
        ),
        (
            ["simulate", "--model", "llava-1.5-7b", "--images", 100000],
            r"images 100000 x 576 visual .* exceed llava-1\.5-7b's context",
        ),
        (
            ["simulate", "--weight-bits", 1000000],
            r"argument --weight-bits: must be an integer 1\.\.32, not '1000000'",
        ),
        (["simulate", "--set", "q_bits=40"], r"q_bits must be an integer 1\.\.32, not 40"),
        (
            ["simulate", "--set", "token_keep=0.3", "--set", "token-keep=0.9"],
            r"argument --set: option token_keep given twice \('0\.3', then '0\.9'\)",
        ),
        (
            ["simulate", "--set", "token_keep=0.3", "--set", "token_keep=0.3"],
            r"option token_keep given twice",
        ),
        (
            ["compare", "--model", "gpt2-small", "--hw", "spatten"]
            + ["--set", "token_keep=0.3", "--set", "token-keep=0.9"],
            r"option token_keep given twice",
        ),
        (
            ["simulate", "--model", "bert-base", "--tokens", 100000],
            r"tokens 100000 exceeds bert-base's 512 positions",
        ),
        (
            ["simulate", "--model", "resnet18", "--method", "dense", "--batch", MAX_BATCH + 1],
            rf"argument --batch: must be an integer 1\.\.{MAX_BATCH}, not '{MAX_BATCH + 1}'",
        ),
        (
            ["simulate", "--model", "resnet18", "--method", "dense", "--set", "token_pruning=1"],
            r"dense takes no options on resnet18",
        ),
    ],
    ids=lambda value: " ".join(map(str, value)) if isinstance(value, list) else None,
)
def test_cli_limits(tmp_path, args, pattern):
    assert_one_line_error(run_cli(*args, cwd=tmp_path), pattern)


def test_cli_dense_with_options_says_what_ran(tmp_path):
    result = run_cli(
        "simulate", "--method", "dense", "--set", "token_pruning=true", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert '"method": "dense (token_pruning=True)"' in result.stdout


def test_cli_the_largest_lvlm_input_runs(tmp_path):
    result = run_cli(
        "simulate", "--model", "llava-1.5-7b", "--images", 7, "--text-tokens", 64, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "prefill 7 images + 64 text tokens" in result.stdout


def test_a_methods_tokens_per_image_must_fit_the_context():
    """AIM's ``tokens_per_image`` (tokens per frame before merging) overflowed int64 MAC counts
    (negative MACs) when nothing bounded it; 32 frames x 1020 + 100 text fit OneVision's 32768."""
    with pytest.raises(
        ValueError,
        match=r"^aim: 3200000000 visual \+ 100 text tokens = 3200000100 tokens exceed "
        r"llava-onevision-7b's context of 32768 positions \(qwen2-7b\)$",
    ):
        make_workload("llava-onevision-7b", "aim", tokens_per_image=10**8)
    with pytest.raises(ValueError, match=r"= 32772 tokens exceed"):
        make_workload("llava-onevision-7b", "aim", tokens_per_image=1021)
    assert make_workload("llava-onevision-7b", "aim", tokens_per_image=1020).macs > 0
