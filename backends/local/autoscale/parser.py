"""Recursive-descent parser: formula text -> :class:`~.nodes.Formula`.

Grammar (C precedence, lowest first)::

    formula    := statement (";" statement)*        empty statements allowed
    statement  := NAME "=" expr | expr
    expr       := binary ["?" expr ":" expr]
    binary     := unary (OP unary)*     || && == != < <= > >= + - * /
    unary      := ("-" | "!") unary | postfix
    postfix    := primary ("." NAME ["(" args ")"])*
    primary    := NUMBER | STRING | NAME ["(" args ")"] | "(" expr ")"
                | "{" [expr ("," expr)*] "}"

Hostile input gets a clean :class:`FormulaSyntaxError`: the text is capped at
8192 characters and 100 statements (the service's limits) and the tree at
:data:`MAX_DEPTH` levels, so neither parsing nor evaluating can exhaust the
Python stack.
"""

from __future__ import annotations

from .errors import FormulaSyntaxError, FormulaTooLong
from .lexer import Token, tokenize
from .names import MAX_FORMULA_LENGTH, MAX_STATEMENTS, is_reserved
from .nodes import (Assign, Binary, Call, Formula, Member, Method, Node, Number,
                    String, Ternary, Unary, Var, Vector)

__all__ = ["MAX_DEPTH", "parse"]

#: Deepest expression tree accepted (nesting and chained operators alike).
MAX_DEPTH = 100

_PRECEDENCE = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4,
               ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6}


def parse(formula: str) -> Formula:
    """Parse ``formula`` into statements.

    Raises:
        FormulaTooLong: the text is longer than 8192 characters.
        FormulaSyntaxError: anything else that is not valid autoscale
            language, with the 1-based line and column of the first problem.
    """
    if not isinstance(formula, str):
        raise FormulaSyntaxError("the formula must be a string")
    if len(formula) > MAX_FORMULA_LENGTH:
        raise FormulaTooLong(f"the formula has {len(formula)} characters; "
                             f"the limit is {MAX_FORMULA_LENGTH}")
    return _Parser(tokenize(formula)).formula()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.nesting = 0

    # -- token helpers -----------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def at(self, text: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == text

    def advance(self) -> Token:
        token = self.tok
        if token.kind != "end":
            self.pos += 1
        return token

    def expect(self, text: str, what: str) -> Token:
        if not self.at(text):
            self.fail(f"expected {what}, found {self.tok.describe()}")
        return self.advance()

    def fail(self, detail: str, token: Token | None = None) -> None:
        token = token or self.tok
        raise FormulaSyntaxError(detail, line=token.line, col=token.col)

    def node(self, cls: type, token: Token, **fields) -> Node:
        made = cls(token.line, token.col, **fields)
        if made.depth > MAX_DEPTH:
            self.fail(f"expression nested deeper than {MAX_DEPTH} levels", token)
        return made

    # -- grammar -------------------------------------------------------------
    def formula(self) -> Formula:
        statements = []
        while True:
            if self.tok.kind != "end" and not self.at(";"):
                if len(statements) == MAX_STATEMENTS:
                    self.fail(f"more than {MAX_STATEMENTS} statements")
                statements.append(self.statement())
            if self.tok.kind == "end":
                return Formula(tuple(statements))
            if not self.at(";"):
                self.fail(f"expected ';' between statements, found {self.tok.describe()}")
            self.advance()

    def statement(self) -> Assign:
        start = self.tok
        nxt = self.tokens[self.pos + 1]
        if start.kind == "name" and nxt.kind == "op" and nxt.text == "=":
            if is_reserved(start.text):
                self.fail(f"{start.text} is read-only and cannot be assigned", start)
            self.pos += 2
            return self.node(Assign, start, name=start.text, value=self.expr())
        return self.node(Assign, start, name=None, value=self.expr())

    def expr(self) -> Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            self.fail(f"expression nested deeper than {MAX_DEPTH} levels")
        try:
            start = self.tok
            condition = self.binary(1)
            if not self.at("?"):
                return condition
            self.advance()
            then = self.expr()
            self.expect(":", "':' of the ?: operator")
            otherwise = self.expr()
            return self.node(Ternary, start, condition=condition, then=then,
                             otherwise=otherwise)
        finally:
            self.nesting -= 1

    def binary(self, min_precedence: int) -> Node:
        left = self.unary()
        while self.tok.kind == "op" and _PRECEDENCE.get(self.tok.text, 0) >= min_precedence:
            op_token = self.advance()
            right = self.binary(_PRECEDENCE[op_token.text] + 1)
            left = self.node(Binary, op_token, op=op_token.text, left=left, right=right)
        return left

    def unary(self) -> Node:
        if self.at("-") or self.at("!"):
            op_token = self.advance()
            self.nesting += 1
            if self.nesting > MAX_DEPTH:
                self.fail(f"expression nested deeper than {MAX_DEPTH} levels", op_token)
            try:
                operand = self.unary()
            finally:
                self.nesting -= 1
            return self.node(Unary, op_token, op=op_token.text, operand=operand)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while self.at("."):
            self.advance()
            name = self.tok
            if name.kind != "name" or name.text.startswith("$"):
                self.fail(f"expected a method or member name after '.', "
                          f"found {name.describe()}")
            self.advance()
            if self.at("("):
                node = self.node(Method, name, target=node, name=name.text,
                                 args=self.arguments())
            else:
                node = self.node(Member, name, target=node, name=name.text)
        return node

    def primary(self) -> Node:
        token = self.tok
        if token.kind == "number":
            self.advance()
            return self.node(Number, token, value=float(token.text))
        if token.kind == "string":
            self.advance()
            return self.node(String, token, value=token.text[1:-1])
        if token.kind == "name":
            self.advance()
            if self.at("("):
                if token.text.startswith("$"):
                    self.fail(f"{token.text} is a variable, not a function", token)
                return self.node(Call, token, name=token.text, args=self.arguments())
            return self.node(Var, token, name=token.text)
        if self.at("("):
            self.advance()
            inner = self.expr()
            self.expect(")", "')'")
            return inner
        if self.at("{"):
            return self.node(Vector, token, items=self.arguments("{", "}"))
        self.fail(f"expected a value, found {token.describe()}")

    def arguments(self, open_: str = "(", close: str = ")") -> tuple[Node, ...]:
        self.expect(open_, f"'{open_}'")
        args = []
        if not self.at(close):
            args.append(self.expr())
            while self.at(","):
                self.advance()
                args.append(self.expr())
        self.expect(close, f"',' or '{close}'")
        return tuple(args)
