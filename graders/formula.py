"""``calculate_output`` of a multi grader: a tiny arithmetic language (SEMANTICS §8).

Parsing (a precedence-climbing parser over our own tokens) is kept apart from
evaluation (a walk over the resulting tree with an allow-list of functions).
Nothing here calls ``eval`` or Python's ``ast``; the only names a formula can
reach are sub-grader keys and the eight functions below.

Grammar [doc + ours], loosest first::

    expr    := term   (("+" | "-") term)*
    term    := unary  (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := primary ("^" unary)?          # right-assoc, tighter than unary minus: -2^2 = -4
    primary := NUMBER | KEY | FUNC "(" expr ("," expr)* ")" | "(" expr ")"
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graders.errors import FormulaParseError, OtherError

# Tree nodes as plain tuples keep evaluation cheap: evaluated once per sample.
# ("num", value) | ("var", key) | ("neg", node) | ("bin", op, left, right) | ("call", name, (args,))
Node = tuple[Any, ...]


def _one(fn: Callable[[float], float]) -> Callable[..., float]:
    def call(*args: float) -> float:
        return float(fn(*args))

    return call


FUNCTIONS: dict[str, tuple[Callable[..., float], int | None]] = {
    # name: (function, exact arity or None for "one or more")
    "min": (lambda *a: float(min(a)), None),
    "max": (lambda *a: float(max(a)), None),
    "abs": (_one(abs), 1),
    "floor": (_one(math.floor), 1),
    "ceil": (_one(math.ceil), 1),
    "exp": (_one(math.exp), 1),
    "sqrt": (_one(math.sqrt), 1),
    "log": (_one(math.log), 1),  # natural log [ours]
}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/^(),]))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # num | name | op | end
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise FormulaParseError(f"unexpected character {text[pos]!r} at position {pos} in {text!r}")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, token: Token, expected: str) -> FormulaParseError:
        found = "end of formula" if token.kind == "end" else repr(token.text)
        return FormulaParseError(
            f"expected {expected} at position {token.pos}, found {found} in {self.text!r}"
        )

    def expect(self, op: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != op:
            raise self.fail(token, repr(op))

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise FormulaParseError("empty formula")
        node = self.expr()
        if self.peek().kind != "end":
            raise self.fail(self.peek(), "an operator or end of formula")
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.peek().kind == "op" and self.peek().text in "+-":
            op = self.take().text
            node = ("bin", op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in "*/":
            op = self.take().text
            node = ("bin", op, node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in "+-":
            self.take()
            operand = self.unary()
            return ("neg", operand) if token.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.peek().kind == "op" and self.peek().text == "^":
            self.take()
            return ("bin", "^", base, self.unary())
        return base

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "num":
            return ("num", float(token.text))
        if token.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(token)
            return ("var", token.text)
        if token.kind == "op" and token.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        raise self.fail(token, "a number, a grader key, a function or '('")

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS)
            raise FormulaParseError(
                f"unknown function {name.text!r} at position {name.pos} (allowed: {allowed})"
            )
        self.expect("(")
        args = [self.expr()]
        while self.peek().kind == "op" and self.peek().text == ",":
            self.take()
            args.append(self.expr())
        self.expect(")")
        arity = FUNCTIONS[name.text][1]
        if arity is not None and len(args) != arity:
            raise FormulaParseError(
                f"{name.text}() takes {arity} argument(s), got {len(args)} at position {name.pos}"
            )
        return ("call", name.text, tuple(args))


@dataclass(frozen=True)
class Formula:
    text: str
    tree: Node
    names: frozenset[str]
    evaluator: Evaluator

    def check_keys(self, keys: frozenset[str] | set[str]) -> None:
        unknown = sorted(self.names - set(keys))
        if unknown:
            known = ", ".join(sorted(keys)) or "none"
            raise FormulaParseError(
                f"calculate_output names unknown grader key(s) {', '.join(unknown)} (keys: {known})"
            )

    def evaluate(self, values: Mapping[str, float]) -> float:
        try:
            result = self.evaluator(values)
        except ZeroDivisionError:
            raise OtherError(f"division by zero in calculate_output {self.text!r}") from None
        except RecursionError:
            raise OtherError(f"calculate_output {self.text!r} is nested too deeply") from None
        except (ValueError, OverflowError) as exc:
            raise OtherError(f"math error in calculate_output {self.text!r}: {exc}") from None
        if math.isnan(result) or math.isinf(result):
            raise OtherError(f"calculate_output {self.text!r} is not a finite number")
        return result


Evaluator = Callable[[Mapping[str, float]], float]

_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "^": math.pow,  # math.pow raises on (-8)^(1/3) instead of going complex
}


def _closure(node: Node) -> Evaluator:
    """The tree turned, once, into nested closures over the allow-listed operations.

    Evaluating a closure per node is several times cheaper per sample than walking the
    tuples again; it is still only the tree's own numbers, keys and functions.
    """
    kind = node[0]
    if kind == "num":
        value = float(node[1])
        return lambda _values: value
    if kind == "var":
        key = node[1]
        return lambda values: float(values[key])
    if kind == "neg":
        inner = _closure(node[1])
        return lambda values: -inner(values)
    if kind == "bin":
        op, left, right = _BINARY[node[1]], _closure(node[2]), _closure(node[3])
        return lambda values: op(left(values), right(values))
    fn = FUNCTIONS[node[1]][0]
    args = [_closure(arg) for arg in node[2]]
    return lambda values: fn(*[arg(values) for arg in args])


def _names(node: Node) -> set[str]:
    kind = node[0]
    if kind == "var":
        return {node[1]}
    if kind == "neg":
        return _names(node[1])
    if kind == "bin":
        return _names(node[2]) | _names(node[3])
    if kind == "call":
        return set().union(*(_names(arg) for arg in node[2]))
    return set()


@lru_cache(maxsize=1024)
def compile_formula(text: str) -> Formula:
    """Parse once (cached); raises :class:`FormulaParseError` with the position."""
    if not isinstance(text, str):
        raise FormulaParseError("calculate_output must be a string")
    try:
        tree = _Parser(text).parse()
        return Formula(text, tree, frozenset(_names(tree)), _closure(tree))
    except RecursionError:
        raise FormulaParseError("calculate_output is nested too deeply") from None


@lru_cache(maxsize=1024)
def compile_for_keys(text: str, keys: frozenset[str]) -> Formula:
    """:func:`compile_formula` plus :meth:`Formula.check_keys`, cached: once per grader, not per sample."""
    formula = compile_formula(text)
    formula.check_keys(keys)
    return formula
