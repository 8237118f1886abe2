"""FedTiny (Huang et al., "Distributed Pruning Towards Tiny Neural Networks in Federated
Learning", arXiv 2212.01977, 2022): unstructured per-layer weight density for a CNN trained by
federated clients, what it buys on hardware, and what a client stores and sends per round.

Paper facts [paper]: FedTiny prunes weights without structure. An adaptive batch-norm
selection module picks a coarse pruned candidate (clients re-estimate BN statistics on their
data and the server keeps the best candidate); a progressive pruning module then adjusts the
masks layer by layer under the devices' memory and compute budgets (prune the smallest
weights, grow those with the largest gradients, top-K only). The abstract claims -95.91%
compute and -94.01% memory footprint *compared to state-of-the-art (federated pruning)
methods*, not to the dense model.

The authors' library (FedPruning/FedPruning on GitHub, ``api/pruning/init_scheme.py``,
``api/pruning/model_pruning.py``, ``experiments/fedtinyclean/main_fedtinyclean.py``) fixes the
defaults used here:

* ``--target_density 0.1`` over *every* parameter, ``--pruning_strategy ERK_magnitude``
  (uniform and ER also offered). Biases and batch-norm parameters are never pruned
  (``ignore_layers``) but count in the budget: the sparse layers share
  ``int(density x all parameters) - dense parameters`` non-zeros (:func:`sparse_density`;
  ``budget="prunable"`` instead spreads ``density x prunable weights``). No conv or linear
  layer is kept dense by name, so ``dense_layers`` is empty by default (``"first,last"`` keeps
  the stem and the classifier dense, as RigL does for its first layer).
* ERK (Evci et al., "Rigging the Lottery", 2020): a layer's density is ``eps x (sum of its
  weight shape's dims) / (product of those dims)``, ``(c_out + c_in/g + k + k) / (c_out c_in/g
  k k)`` for a convolution, ``(out + in) / (out in)`` for a linear layer, with ``eps`` such that
  the non-zeros add up to the budget; while a layer's density would exceed 1 the layers of the
  largest ratio are made dense and ``eps`` is solved again (:func:`erk_densities`). A layer
  keeps ``floor(weights x density)`` non-zeros (the library's ``int()``), at least 1.
* clients: 10 per round (``--client_num_per_round``), batch 64 (``--batch_size``), 5 local
  epochs (``--epochs``), SGD (``--client_optimizer sgd``; the help text says "with momentum",
  whose buffer we count; the code passes no momentum), mask adjustment share 0.2
  (``--adjust_alpha``). ``local_steps`` = 395: CIFAR-10's 50,000 training images over 10
  clients (5,000 each on average) in batches of 64 is 79 steps per epoch, times 5 epochs.

Our model of a client (assumptions, stated once): FedTiny trains the sparse model and its masks
are fixed between adjustment rounds, so a client stores weights as non-zeros plus a 1-bit mask
per prunable weight, and keeps fp32 gradients and optimizer state only for the non-zeros and
the dense parameters; activations (fp32) are those of the dense network at the batch
(:func:`~prunesim.sim.methods.network.saved_activation_elements`): unstructured sparsity does
not shrink feature maps. Communication carries the non-zero values at ``value_bits`` plus the
index (``index_format``: a 1-bit-per-weight bitmask, CSR with ``index_bits`` column indices and
32-bit row pointers per filter, or ``none`` when both sides already know the fixed mask), and
the dense tensors (biases, BN weights and biases, BN running mean and variance; the
``num_batches_tracked`` counters are left out) at ``value_bits``. The download of the global
model is encoded the same way as the upload. An adjustment round adds the top-K gradients of
pruned weights (K = ``adjust_alpha`` x the layer's non-zeros, the library's cosine schedule at
its start), each a value at ``value_bits`` plus a 32-bit position, for every sparse layer (the
library adjusts every layer per adjustment round; the paper one block at a time: an upper
bound).

On hardware (:mod:`prunesim.sim.engine`): the workload carries each layer's density; hardware
without sparse support (``systolic-32``, ``tpu-v1``, GPUs and CPUs in eager PyTorch) runs the
zeros and gains nothing; ``systolic-32-sparse`` skips zero weights and stores them as values +
bitmask, cutting cycles and weight traffic. In training the weight-gradient pass computes only
the non-zero weights' gradients (a sampled product), priced like the other two passes.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Literal

from prunesim.models.cnn import CNNConfig, Conv2d, Dense
from prunesim.sim.methods import register_method
from prunesim.sim.methods.base import Bits, WireBits
from prunesim.sim.methods.common import NetworkMethod
from prunesim.sim.methods.network import (
    check_network_stage,
    network_workload,
    saved_activation_elements,
    training_footprint,
)
from prunesim.sim.methods.options import Range, TypedOptions
from prunesim.sim.workload import Stage, Train, Workload

__all__ = [
    "BUDGETS",
    "DISTRIBUTIONS",
    "INDEX_FORMATS",
    "PAPER_CLAIMS",
    "POINTER_BITS",
    "SUPPORTED",
    "ClientRound",
    "FedTinyOptions",
    "build",
    "client_round",
    "dense_layer_names",
    "erk_densities",
    "layer_densities",
    "nonzero_weights",
    "sparse_density",
    "transfer_bytes",
    "weight_shape",
]

#: The models FedTiny's experiments use (ResNet-18 and the CIFAR ResNets of the library).
SUPPORTED: tuple[str, ...] = ("resnet18", "resnet20", "resnet56")
#: Layer density distributions: Erdos-Renyi-kernel or the same density everywhere.
Distribution = Literal["erk", "uniform"]
DISTRIBUTIONS: tuple[str, ...] = typing.get_args(Distribution)
#: What ``density`` is a fraction of: every parameter (the library) or the prunable weights.
Budget = Literal["all", "prunable"]
BUDGETS: tuple[str, ...] = typing.get_args(Budget)
#: How the non-zeros' positions travel: 1 bit per weight, CSR, or not at all (mask known).
IndexFormat = Literal["bitmask", "csr", "none"]
INDEX_FORMATS: tuple[str, ...] = typing.get_args(IndexFormat)
#: The clients' optimizers (those :data:`~prunesim.sim.methods.network.OPTIMIZER_STATE_BYTES`
#: prices).
Optimizer = Literal["sgd", "adamw"]
#: CSR row pointer width (one per filter, plus one), as in ``systolic-32-sparse``.
POINTER_BITS = 32
#: Bits of a gradient's position in its layer in an adjustment round's top-K upload.
POSITION_BITS = 32
#: The abstract's claims, relative to state-of-the-art federated pruning methods [paper].
PAPER_CLAIMS: dict[str, float] = {"compute_reduction": 0.9591, "memory_reduction": 0.9401}


@dataclass(frozen=True)
class FedTinyOptions(TypedOptions):
    """FedTiny's knobs (defaults: the authors' library, module docstring).

    * ``density``: global non-zero fraction in (0, 1] (0.1); ``budget``: of ``"all"``
      parameters (BN and biases count, kept dense) or of the ``"prunable"`` weights only.
    * ``distribution``: ``"erk"`` or ``"uniform"`` layer densities.
    * ``dense_layers``: layer names kept dense (``first``, ``last`` name the first and last
      weight layer; as text, comma-separated: ``"first,last"``); empty: none (the library).
    * ``w_bits``: weight width on an accelerator at inference (8; activations at 8; training
      runs in fp32, as every network method).
    * ``value_bits``: width of a value sent in a round (32: fp32 state dicts);
      ``index_format``: ``bitmask``, ``csr`` or ``none``; ``index_bits``: CSR column index (16).
    * ``optimizer``: the clients' optimizer (``sgd`` with momentum, or ``adamw``).
    * ``batch`` (64), ``clients`` per round (10), ``local_steps`` per round (395),
      ``adjust_alpha`` (0.2): the federated round.
    """

    density: Annotated[float, Range(0, 1, low_open=True)] = 0.1
    distribution: Distribution = "erk"
    budget: Budget = "all"
    dense_layers: tuple[str, ...] = ()
    w_bits: Bits = 8
    value_bits: WireBits = 32
    index_format: IndexFormat = "bitmask"
    index_bits: WireBits = 16
    optimizer: Optimizer = "sgd"
    batch: int = 64
    clients: int = 10
    local_steps: int = 395
    adjust_alpha: Annotated[float, Range(0, 1)] = 0.2

    def validate(self) -> FedTinyOptions:
        """Raise ValueError naming the first bad option; return self (types, choices and the
        ranges of ``density``, ``adjust_alpha`` and the bit widths are checked on construction:
        ``w_bits`` in :data:`~prunesim.sim.methods.base.BITS`, ``value_bits`` and ``index_bits``
        in :data:`~prunesim.sim.methods.base.WIRE_BITS`; the names in
        ``dense_layers`` when a network is at hand, :func:`dense_layer_names`)."""
        for name, low, high in (
            ("batch", 1, None),
            ("clients", 1, None),
            ("local_steps", 1, None),
        ):
            value = getattr(self, name)
            if value < low or (high is not None and value > high):
                span = f"{low}..{high}" if high is not None else f">= {low}"
                raise ValueError(f"{name} must be an integer {span}, not {value!r}")
        return self


# ---------------------------------------------------------------------------------------------
# Layer densities


def weight_shape(layer: Conv2d | Dense) -> tuple[int, ...]:
    """The PyTorch weight shape: ``(out, in/groups, k, k)`` or ``(out, in)``."""
    if isinstance(layer, Conv2d):
        return (layer.out_channels, layer.in_channels // layer.groups, layer.kernel, layer.kernel)
    return (layer.out_features, layer.in_features)


def dense_layer_names(network: CNNConfig, names: Sequence[str]) -> tuple[str, ...]:
    """The layers ``names`` (layer names, ``first``, ``last``: :attr:`FedTinyOptions.dense_layers`)
    keep dense, each once; ValueError (one line) for a name the network does not have."""
    if isinstance(names, str):
        raise TypeError(f"dense_layer_names takes a sequence of names, not the text {names!r}")
    layers = [layer.name for layer in network.layers]
    alias = {"first": layers[0], "last": layers[-1]}
    chosen: list[str] = []
    for item in names:
        name = alias.get(item, item)
        if name not in layers:
            raise ValueError(
                f"dense_layers names {item!r}, not a weight layer of {network.name} "
                f"(e.g. first, last, {layers[1]})"
            )
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def sparse_density(network: CNNConfig, options: FedTinyOptions) -> float:
    """The mean density of the prunable weights: ``density`` for ``budget="prunable"``; for
    ``"all"`` (the library) ``(int(density x params) - dense params) / prunable weights``, where
    the dense parameters are biases, BN weights and biases and the ``dense_layers``' weights.
    ValueError when the dense parameters alone exceed the budget."""
    kept = set(dense_layer_names(network, options.dense_layers))
    prunable = sum(layer.weight_elements for layer in network.layers if layer.name not in kept)
    if prunable == 0:
        raise ValueError("dense_layers keeps every layer dense: nothing left to prune")
    if options.budget == "prunable":
        return float(options.density)
    params = network.params()
    dense = params - prunable
    remain = int(options.density * params) - dense
    if remain <= 0:
        raise ValueError(
            f"density {options.density:g} leaves no weights to the sparse layers of "
            f"{network.name}: its {dense:,} dense parameters exceed density x {params:,}"
        )
    return min(remain / prunable, 1.0)


def erk_densities(shapes: Mapping[str, Sequence[int]], density: float) -> dict[str, float]:
    """Erdos-Renyi-kernel densities of layers with weight ``shapes`` at mean ``density``
    (module docstring): ``eps x sum(shape) / prod(shape)`` each, the layers of the largest
    ratio made dense (1.0) while ``eps`` would push them above 1, so that ``sum(d_l n_l) =
    density x sum(n_l)``."""
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    raw = {name: sum(shape) / sizes[name] for name, shape in shapes.items()}
    target = density * sum(sizes.values())
    dense: set[str] = set()
    eps = 0.0
    while True:
        free = [name for name in shapes if name not in dense]
        if not free:
            break
        budget = target - sum(sizes[name] for name in dense)
        eps = budget / sum(raw[name] * sizes[name] for name in free)
        top = max(raw[name] for name in free)
        if eps * top <= 1:
            break
        dense.update(name for name in free if raw[name] == top)
    return {name: 1.0 if name in dense else min(eps * raw[name], 1.0) for name in shapes}


def layer_densities(network: CNNConfig, options: FedTinyOptions) -> dict[str, float]:
    """Every weight layer's density (the fraction of its weights kept non-zero): the
    ``dense_layers`` at 1, the others ``floor(weights x d_l) / weights`` (at least one weight)
    for the ERK or uniform ``d_l`` at :func:`sparse_density`."""
    kept = set(dense_layer_names(network, options.dense_layers))
    mean = sparse_density(network, options)
    sparse = [layer for layer in network.layers if layer.name not in kept]
    if options.distribution == "erk":
        raw = erk_densities({layer.name: weight_shape(layer) for layer in sparse}, mean)
    else:
        raw = {layer.name: mean for layer in sparse}
    out = {}
    for layer in network.layers:
        n = layer.weight_elements
        out[layer.name] = 1.0 if layer.name in kept else max(1, int(n * raw[layer.name])) / n
    return out


def nonzero_weights(network: CNNConfig, densities: Mapping[str, float]) -> dict[str, int]:
    """Non-zero weights per layer at ``densities`` (those of :func:`layer_densities` are whole
    counts over the layer's weights)."""
    return {
        layer.name: round(layer.weight_elements * densities.get(layer.name, 1.0))
        for layer in network.layers
    }


# ---------------------------------------------------------------------------------------------
# A federated client's round


def transfer_bytes(
    weights: int,
    nonzero: int,
    filters: int,
    *,
    value_bits: int,
    index_format: str,
    index_bits: int = 16,
) -> float:
    """Bytes to send one weight tensor of ``weights`` weights (``filters`` filters) holding
    ``nonzero`` non-zeros: every value at ``value_bits`` when it is dense (``nonzero ==
    weights``); otherwise the non-zero values plus ``index_format``'s index: ``bitmask`` one bit
    per weight, ``csr`` ``index_bits`` per non-zero and a 32-bit pointer per filter plus one,
    ``none`` nothing (the receiver knows the mask)."""
    if nonzero >= weights:
        return weights * value_bits / 8
    values = nonzero * value_bits
    if index_format == "bitmask":
        return (values + weights) / 8
    if index_format == "csr":
        return (values + nonzero * index_bits + (filters + 1) * POINTER_BITS) / 8
    if index_format == "none":
        return values / 8
    raise ValueError(
        f"index_format must be one of {', '.join(INDEX_FORMATS)}, not {index_format!r}"
    )


@dataclass(frozen=True)
class ClientRound:
    """A federated client's figures for one round (sparse model vs the dense one).

    Bytes per round: ``upload_bytes`` (the trained sparse model), ``download_bytes`` (the global
    sparse model), ``dense_bytes`` (the dense model, either way), ``adjustment_upload_bytes``
    (extra in an adjustment round). ``memory_bytes`` / ``dense_memory_bytes``: a training step's
    footprint by part; ``streams``: its optimizer pass over memory. MACs per round
    (``local_steps`` steps of 3 passes at ``batch``): ``macs`` counts non-zero weights only
    (what zero-skipping hardware runs), ``dense_macs`` every weight. ``nonzero`` /
    ``prunable``: non-zero and prunable weights.
    """

    batch: int
    clients: int
    upload_bytes: float
    download_bytes: float
    dense_bytes: float
    adjustment_upload_bytes: float
    memory_bytes: dict[str, float]
    dense_memory_bytes: dict[str, float]
    streams: dict[str, float]
    macs: float
    dense_macs: float
    nonzero: int
    prunable: int

    @property
    def memory(self) -> float:
        return float(sum(self.memory_bytes.values()))

    @property
    def dense_memory(self) -> float:
        return float(sum(self.dense_memory_bytes.values()))

    def extras(self) -> dict[str, float]:
        """The figures as :attr:`Workload.extras` (units in the names)."""
        return {
            "upload_bytes_per_round": self.upload_bytes,
            "download_bytes_per_round": self.download_bytes,
            "dense_upload_bytes_per_round": self.dense_bytes,
            "dense_download_bytes_per_round": self.dense_bytes,
            "adjustment_upload_bytes_per_round": self.adjustment_upload_bytes,
            "server_inbound_bytes_per_round": self.clients * self.upload_bytes,
            "client_training_memory_bytes": self.memory,
            "dense_client_training_memory_bytes": self.dense_memory,
            "client_macs_per_round": self.macs,
            "dense_client_macs_per_round": self.dense_macs,
            "nonzero_weights": float(self.nonzero),
            "prunable_weights": float(self.prunable),
            "training_batch_inputs": float(self.batch),
        }

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "memory": self.memory, "dense_memory": self.dense_memory}


def _dense_tensor_elements(network: CNNConfig) -> int:
    """Elements of the tensors sent dense besides the weights: biases, BN weight and bias, BN
    running mean and variance."""
    return sum(
        layer.params - layer.weight_elements + 2 * layer.bn_params for layer in network.layers
    )


def client_round(
    network: CNNConfig, options: FedTinyOptions, batch: int | None = None
) -> ClientRound:
    """A client's round with ``options`` (module docstring); ``batch`` (default
    ``options.batch``) sets the training step's activations and MACs."""
    options = options.validate()
    batch = options.batch if batch is None else batch
    densities = layer_densities(network, options)
    nonzero = nonzero_weights(network, densities)
    kept = set(dense_layer_names(network, options.dense_layers))

    def model_bytes(encoding: str, counts: Mapping[str, int]) -> float:
        return options.value_bits / 8 * _dense_tensor_elements(network) + sum(
            transfer_bytes(
                layer.weight_elements,
                counts[layer.name],
                weight_shape(layer)[0],
                value_bits=options.value_bits,
                index_format=encoding,
                index_bits=options.index_bits,
            )
            for layer in network.layers
        )

    full = {layer.name: layer.weight_elements for layer in network.layers}
    sparse_bytes = model_bytes(options.index_format, nonzero)
    dense_bytes = model_bytes("none", full)
    top_k = sum(
        int(options.adjust_alpha * nonzero[layer.name])
        for layer in network.layers
        if layer.name not in kept
    )
    adjustment = top_k * (options.value_bits + POSITION_BITS) / 8

    params = network.params()
    weights = network.weight_elements()
    prunable = sum(layer.weight_elements for layer in network.layers if layer.name not in kept)
    stored = params - weights + sum(nonzero.values())  # dense parameters + non-zero weights
    train = network_workload(network, Train(batch), density=densities, sparse_weight_gradient=True)
    activations = saved_activation_elements(train)
    memory, streams = training_footprint(
        params=stored,
        trainable=stored,
        activation_elements=activations,
        optimizer=options.optimizer,
        extra={"mask": prunable / 8},
    )
    dense_memory, _ = training_footprint(
        params=params,
        trainable=params,
        activation_elements=activations,
        optimizer=options.optimizer,
    )
    steps = options.local_steps
    return ClientRound(
        batch=batch,
        clients=options.clients,
        upload_bytes=sparse_bytes,
        download_bytes=sparse_bytes,
        dense_bytes=dense_bytes,
        adjustment_upload_bytes=adjustment,
        memory_bytes=memory,
        dense_memory_bytes=dense_memory,
        streams=streams,
        # a round's local steps run at the round's batch, whatever the stage's batch
        macs=float(train.conv.nonzero_macs.sum()) / batch * options.batch * steps,
        dense_macs=float(train.conv.macs.sum()) / batch * options.batch * steps,
        nonzero=sum(nonzero[name] for name in full if name not in kept),
        prunable=prunable,
    )


# ---------------------------------------------------------------------------------------------
# The workload


def build(model: CNNConfig, stage: Stage, options: FedTinyOptions | None = None) -> Workload:
    """FedTiny's workload of ``model`` in ``stage``: the dense network with each layer's density
    (schedule ``density``), the client's round in ``extras`` (:func:`client_round`, at the
    stage's batch when it trains, else at ``options.batch``); a training stage also carries
    the sparse client's memory and optimizer pass. Raises ValueError (one line) for an
    unsupported model or stage or a bad option."""
    options = (options or FedTinyOptions()).validate()
    if model.name not in SUPPORTED:
        raise ValueError(f"fedtiny supports {', '.join(SUPPORTED)}, not {model.name!r}")
    check_network_stage(model.name, stage)
    training = isinstance(stage, Train)
    densities = layer_densities(model, options)
    client = client_round(model, options, stage.batch if training else None)
    memory = dict(client.memory_bytes) if training else None
    streams = dict(client.streams) if training else None
    dense_macs = float(model.macs())
    nonzero_macs = sum(layer.macs * densities[layer.name] for layer in model.layers)
    extras = {
        **client.extras(),
        "nonzero_mac_fraction": nonzero_macs / dense_macs,
        "weight_density": client.nonzero / client.prunable,
    }
    kept = dense_layer_names(model, options.dense_layers)
    of = "every parameter" if options.budget == "all" else "the prunable weights"
    notes = [
        f"fedtiny: {options.distribution} layer densities at global density "
        f"{options.density:g} of {of}; {client.nonzero:,} of {client.prunable:,} prunable "
        "weights non-zero" + (f"; kept dense: {', '.join(kept)}" if kept else ""),
        f"forward MACs on non-zero weights: {nonzero_macs / dense_macs:.1%} of dense "
        "(only zero-skipping hardware gains them)",
        f"client round: upload {client.upload_bytes / 1e6:.3g} MB "
        f"(dense {client.dense_bytes / 1e6:.3g} MB, {options.index_format} index, "
        f"{options.value_bits}-bit values); training memory {client.memory / 1e6:.4g} MB "
        f"(dense {client.dense_memory / 1e6:.4g} MB) at batch {client.batch}",
    ]
    return network_workload(
        model,
        stage,
        method="fedtiny",
        density=densities,
        w_bits=None if training else options.w_bits,
        sparse_weight_gradient=True,
        notes=notes,
        memory_bytes=memory,
        streams=streams,
        extras=extras,
    )


register_method(
    NetworkMethod(
        "fedtiny",
        "FedTiny: unstructured ERK/uniform layer densities; a federated client's memory and "
        "traffic",
        FedTinyOptions(),
        order=31,
        supports=SUPPORTED,
        builder=build,
    )
)
