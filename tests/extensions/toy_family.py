"""A toy model family, as a user would add one: ``mlp``, a stack of fully connected layers
(``MLPConfig``) run on a batch. This one module is the whole family (the model description and
what the simulator needs to know about it); ``tests/test_extending.py`` simulates an instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prunesim.sim.families import StageRequest, register_family
from prunesim.sim.workload import Infer, LinearRows, Stage, Workload


@dataclass(frozen=True)
class MLPConfig:
    """``widths[0]`` inputs, then one fully connected layer per later width."""

    name: str
    widths: tuple[int, ...]

    @property
    def layers(self) -> int:
        return len(self.widths) - 1


class MLPFamily:
    """Multi-layer perceptrons: inference of a batch, every layer a matrix product."""

    name = "mlp"
    noun = "a multi-layer perceptron"
    takes_plans = False
    order = 90

    def matches(self, model: Any) -> bool:
        return isinstance(model, MLPConfig)

    def default_stage(self, model: MLPConfig) -> Stage:
        return Infer(1)

    def default_mode(self, model: MLPConfig) -> str:
        return "e2e"

    def default_weight_bits(self, model: MLPConfig) -> int:
        return 8

    def stage(self, model: MLPConfig, request: StageRequest) -> Stage:
        if request.stage not in ("auto", "infer") or request.tokens is not None:
            raise ValueError(f"{model.name} takes --stage infer and --batch")
        return Infer(request.batch or 1)

    def check_stage(self, model: MLPConfig, stage: Stage) -> None:
        if not isinstance(stage, Infer):
            raise ValueError(f"{model.name} takes an infer stage, not {stage.describe()}")

    def dense_workload(
        self, model: MLPConfig, stage: Stage, *, mode: str, weight_bits: int
    ) -> Workload:
        n = model.layers
        linear = LinearRows(
            step=np.zeros(n, np.int64),
            layer=np.arange(n),
            tokens=np.full(n, stage.batch),
            in_features=np.asarray(model.widths[:-1]),
            out_features=np.asarray(model.widths[1:]),
            w_bits=np.full(n, weight_bits),
            a_bits=np.full(n, 8),
        )
        return Workload(model=model.name, method="dense", stage=stage, layers=n, linear=linear)

    def plan_workload(self, model: Any, stage: Stage, planner: Any, options: Any, **_: Any):
        raise ValueError(f"{model.name} is {self.noun}: no transformer plan applies to it")

    def describe(self, model: MLPConfig) -> str:
        return f"MLP, widths {'-'.join(map(str, model.widths))}"


FAMILY = register_family(MLPFamily())
