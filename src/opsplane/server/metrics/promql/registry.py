"""Function implementations by name; each module registers its own with `@implements`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql.ast import Call, Node
from opsplane.server.metrics.promql.context import EvalContext
from opsplane.server.metrics.promql.values import (
    Floats,
    InstantVector,
    Ints,
    RangeVector,
    Scalar,
    String,
    Value,
)


@dataclass
class CallInput:
    node: Call
    args: list[Value]
    times: Ints
    """The evaluation time of each step (ms)."""
    ctx: EvalContext
    sample_times: Ints | None = None
    """For `timestamp(selector)`: the (series x steps) times of the samples the selector took."""

    def vector(self, index: int) -> InstantVector:
        value = self.args[index]
        assert isinstance(value, InstantVector)
        return value

    def range(self, index: int) -> RangeVector:
        value = self.args[index]
        assert isinstance(value, RangeVector)
        return value

    def scalar(self, index: int) -> Floats:
        value = self.args[index]
        assert isinstance(value, Scalar)
        return value.values

    def string(self, index: int) -> str:
        value = self.args[index]
        assert isinstance(value, String)
        return value.value

    def arg_node(self, index: int) -> Node:
        return self.node.args[index]


FunctionImpl = Callable[[CallInput], Value]

IMPLEMENTATIONS: dict[str, FunctionImpl] = {}


def implements(*names: str) -> Callable[[FunctionImpl], FunctionImpl]:
    def register(impl: FunctionImpl) -> FunctionImpl:
        for name in names:
            IMPLEMENTATIONS[name] = impl
        return impl

    return register


def implementation(name: str) -> FunctionImpl:
    try:
        return IMPLEMENTATIONS[name]
    except KeyError:
        raise QueryError(f"function {name!r} is not implemented", error_type="execution") from None
