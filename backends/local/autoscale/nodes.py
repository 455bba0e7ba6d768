"""The syntax tree of a formula: immutable nodes that know their position.

Every node records ``depth`` (1 + its deepest child) so the parser can bound
how deep the evaluator will recurse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Assign", "Binary", "Call", "Formula", "Member", "Method", "Node", "Number",
    "String", "Ternary", "Unary", "Var", "Vector",
]


@dataclass(frozen=True)
class Node:
    """Base of all expression nodes; ``line``/``col`` are 1-based."""

    line: int
    col: int
    depth: int = field(init=False, default=1, compare=False)

    def children(self) -> tuple["Node", ...]:
        return ()

    def __post_init__(self) -> None:
        depth = 1 + max((child.depth for child in self.children()), default=0)
        object.__setattr__(self, "depth", depth)


@dataclass(frozen=True)
class Number(Node):
    value: float = 0.0


@dataclass(frozen=True)
class String(Node):
    value: str = ""


@dataclass(frozen=True)
class Var(Node):
    """A variable or a named constant (``TimeInterval_Minute``, ``requeue``)."""

    name: str = ""


@dataclass(frozen=True)
class Vector(Node):
    """A vector literal ``{a, b, ...}`` (not in the docs; see the notes)."""

    items: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True)
class Call(Node):
    """A built-in function call ``name(args)``."""

    name: str = ""
    args: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True)
class Method(Node):
    """A sample method on a variable: ``$CPUPercent.GetSample(args)``."""

    target: Node | None = None
    name: str = ""
    args: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return (self.target, *self.args)


@dataclass(frozen=True)
class Member(Node):
    """A member of a timestamp: ``$curTime.hour``."""

    target: Node | None = None
    name: str = ""

    def children(self) -> tuple[Node, ...]:
        return (self.target,)


@dataclass(frozen=True)
class Unary(Node):
    op: str = ""
    operand: Node | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Binary(Node):
    """Arithmetic, comparison and the short-circuit ``&&``/``||``."""

    op: str = ""
    left: Node | None = None
    right: Node | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Ternary(Node):
    condition: Node | None = None
    then: Node | None = None
    otherwise: Node | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.condition, self.then, self.otherwise)


@dataclass(frozen=True)
class Assign(Node):
    """A statement ``name = value``; ``name`` is None for a bare expression."""

    name: str | None = None
    value: Node | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.value,)


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its statements in order."""

    statements: tuple[Assign, ...]
