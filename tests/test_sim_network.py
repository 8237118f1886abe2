"""Networks (CNNs, the SD UNet) in the simulator: dense workloads, training footprint, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.models import get_model, is_network, model_names
from prunesim.sim.api import default_mode, default_stage, make_workload, simulate
from prunesim.sim.compare import compare
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import load_hardware
from prunesim.sim.methods import get_method
from prunesim.sim.methods.network import (
    OPTIMIZER_STATE_BYTES,
    dense_network_workload,
    network_workload,
    saved_activation_elements,
    training_footprint,
)
from prunesim.sim.workload import Infer, Summarize, Train

NETWORKS = [name for name in model_names() if is_network(get_model(name))]
ROOT = Path(__file__).resolve().parents[1]


def test_registry_holds_the_networks() -> None:
    assert NETWORKS == [
        "resnet18",
        "resnet20",
        "resnet56",
        "ofa-mbv3-w1.0",
        "ofa-mbv3-w1.2",
        "hrnas-supernet",
        "sd15-unet",
    ]
    assert get_model("resnet18").macs() == 1_814_073_344
    assert get_model("ofa-mbv3-w1.0").macs() == 566_170_656  # kernel 7, expand 6, depth 4
    assert get_model("sd15-unet").params() == 859_520_964


@pytest.mark.parametrize("name", NETWORKS)
def test_dense_workload_counts_every_mac(name: str) -> None:
    model = get_model(name)
    assert default_stage(model) == Infer(1)
    assert default_mode(model) == "network"
    workload = make_workload(name, "dense")
    assert workload.macs == model.macs()
    assert workload.layers == len(workload.layer_names)
    batch = make_workload(name, "dense", stage=Infer(3))
    assert batch.macs == 3 * model.macs()


def test_unet_workload_structure() -> None:
    unet = get_model("sd15-unet")
    workload = dense_network_workload(unet, Infer(2))
    ops = unet.layers()
    assert len(workload.conv) == 98 and len(workload.linear) == 184
    assert len(workload.attention) == 32 * 8 * 2  # 32 attentions x 8 heads x batch 2
    assert workload.precision == "fp16"
    assert workload.layer_names == [op.name for op in ops]
    self_attention = [op for op in ops if type(op).__name__ == "UNetAttention"][0]
    assert self_attention.queries == self_attention.keys == 64 * 64


def test_training_footprint_by_hand() -> None:
    memory, streams = training_footprint(
        params=1000, trainable=100, activation_elements=50, optimizer="adamw", extra={"mask": 7}
    )
    assert memory == {
        "weights": 4000,
        "gradients": 400,
        "optimizer": 800,
        "activations": 200,
        "mask": 7,
    }
    assert streams == {"optimizer_update": 100 * (3 * 4 + 2 * 8)}
    assert OPTIMIZER_STATE_BYTES == {"sgd": 4, "adamw": 8}
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adamw, not 'adam'"):
        training_footprint(params=1, trainable=1, activation_elements=0, optimizer="adam")
    with pytest.raises(ValueError, match="trainable parameters must be in 0..10, not 11"):
        training_footprint(params=10, trainable=11, activation_elements=0, optimizer="sgd")


def test_dense_training_of_a_cnn() -> None:
    model = get_model("resnet20")
    workload = dense_network_workload(model, Train(8))
    params = model.params()
    assert workload.memory_bytes["weights"] == 4 * params
    assert workload.memory_bytes["optimizer"] == 4 * params  # SGD momentum
    assert workload.memory_bytes["activations"] == 4 * saved_activation_elements(workload)
    forward = dense_network_workload(model, Infer(8))
    # inputs of every conv + outputs of every batch-normed conv (2 kernels each) + fc input
    expected = sum(
        int(r)
        for r in forward.conv.input_elements
        + forward.conv.post_kernels * forward.conv.output_elements
    )
    assert saved_activation_elements(workload) == expected
    result = simulate("resnet20", "dense", "a100", stage=Train(8))
    assert result.memory_total_bytes == pytest.approx(sum(workload.memory_bytes.values()))
    assert result.dram_bytes_by_tensor["streams"] == workload.streams["optimizer_update"]


def test_transformer_methods_refuse_networks() -> None:
    with pytest.raises(ValueError, match="spatten prunes transformers and multimodal LLMs, not"):
        get_method("spatten").workload(get_model("resnet18"), Infer(1))
    with pytest.raises(ValueError, match="takes an infer or train stage"):
        get_method("dense").workload(get_model("resnet18"), Summarize(16))


def test_compare_leaves_out_attention_accelerators() -> None:
    (result,) = compare(["resnet18"], ["dense"], ["systolic-32", "a100", "spatten", "a3"])
    assert result.hardware == ["systolic-32", "a100"]
    assert result.baselines == ["a100"]
    assert any(s.startswith("spatten: ") and "convolutions" in s for s in result.skipped)
    assert result.mode == "network"


def test_cli_simulate_network(tmp_path) -> None:
    out = run_cli(
        "simulate", "--model", "resnet20", "--method", "dense", "--hw", "systolic-32",
        "--stage", "train", "--batch", "4", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["stage"] == "one training step on a batch of 4 images"
    assert set(data["memory_bytes"]) == {"weights", "gradients", "optimizer", "activations"}
    assert data["layers"][0]["channels"] == 16 and data["layers"][0]["density"] == 1
    text = run_cli("simulate", "--model", "resnet18", "--method", "dense", "--hw", "tpu-v1",
                   cwd=tmp_path)  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "channels  density" in text.stdout and "tpu-v1: 256x256 ws array" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "resnet18", "--tokens", "8"], "resnet18 takes --stage infer|train and "
         "--batch, not --tokens"),
        (["--model", "resnet18", "--stage", "generate"], "not --stage generate"),
        (["--model", "gpt2-small", "--stage", "infer"], "gpt2-small is not a CNN or UNet"),
        (["--model", "bert-base", "--batch", "2"], "--stage infer\\|train and --batch are for"),
        (["--model", "resnet18", "--method", "spatten"], "spatten prunes transformers"),
        (["--model", "resnet18", "--batch", "0"], "--batch: must be"),
        (["--model", "resnet18", "--weight-bits", "4"], "not --weight-bits"),
        (["--model", "sd15-unet", "--mode", "e2e"], "sd15-unet takes --stage infer\\|train"),
    ],
)  # fmt: skip
def test_cli_network_errors(tmp_path, args, message) -> None:
    out = run_cli("simulate", "--hw", "a100", *args, cwd=tmp_path)
    assert_one_line_error(out, message)


def test_cli_list_models_shows_networks(tmp_path) -> None:
    out = run_cli("list", "models", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "resnet18" in out.stdout and "1,814.1M MACs, 11.69M params" in out.stdout
    assert "sd15-unet" in out.stdout and "859.5M params" in out.stdout


def test_cli_compare_defaults_to_the_methods_models(tmp_path) -> None:
    out = run_cli("compare", "--method", "ofa,lapp", "--hw", "systolic-32", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["model"] for r in data] == [
        "resnet18",
        "resnet20",
        "resnet56",
        "ofa-mbv3-w1.0",
        "ofa-mbv3-w1.2",
    ]
    assert [r["methods"] for r in data] == [["lapp"]] * 3 + [["ofa"]] * 2
    spatten = run_cli("compare", "--hw", "spatten", "--json", cwd=tmp_path)
    assert spatten.returncode == 0, spatten.stderr
    matrices = json.loads(spatten.stdout)
    assert [r["model"] for r in matrices] == ["gpt2-small", "bert-base"]
    assert matrices[0]["methods"][-1] == "spatten" and "lapp" not in matrices[0]["methods"]


def test_wide_operands_take_several_passes() -> None:
    # 32-bit weights and activations on 8-bit processing elements: 4 x 4 passes of the array.
    hw = load_hardware("systolic-32")
    net = get_model("resnet20")
    int8 = evaluate(network_workload(net, Infer(1), w_bits=8, a_bits=8), hw)
    fp32 = evaluate(network_workload(net, Infer(1), w_bits=32, a_bits=32), hw)
    assert fp32.bound_cycles >= int8.bound_cycles
    assert fp32.energy_breakdown_j["compute"] == pytest.approx(
        16 * int8.energy_breakdown_j["compute"]
    )
    assert fp32.cycles >= 15 * int8.cycles  # compute-bound: 16x, less where DRAM hid it


def test_training_passes_and_bits() -> None:
    net = get_model("resnet20")
    density = {layer.name: 0.25 for layer in net.layers}
    train = network_workload(net, Train(2), density=density)
    rows = train.conv
    assert set(rows.w_bits.tolist()) == {32} and set(rows.a_bits.tolist()) == {32}
    for step, dens, kernels in ((0, 0.25, 2), (1, 0.25, 2), (2, 1.0, 0)):
        mine = rows.step == step
        assert set(rows.weight_density[mine].tolist()) == {dens}
        assert rows.post_kernels[mine][1] == kernels  # a batch-normed convolution
    sampled = network_workload(net, Train(2), density=density, sparse_weight_gradient=True)
    assert set(sampled.conv.weight_density.tolist()) == {0.25}
    assert set(network_workload(net, Infer(2)).conv.w_bits.tolist()) == {8}


def test_cli_compare_refuses_a_model_no_method_can_prune(tmp_path) -> None:
    out = run_cli("compare", "--method", "lapp,ofa", "--model", "gpt2-small", cwd=tmp_path)
    assert_one_line_error(out, "lapp supports resnet18, resnet20, resnet56, not 'gpt2-small'")
    # a model only some of the methods prune keeps them, the others are listed as left out
    mixed = run_cli("compare", "--method", "lapp,ofa", "--model", "resnet20", "--hw", "a100",
                    cwd=tmp_path)  # fmt: skip
    assert mixed.returncode == 0, mixed.stderr
    assert "left out: ofa: cannot prune resnet20" in mixed.stdout
