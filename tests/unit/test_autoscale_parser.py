"""The autoscale formula lexer and parser: grammar, positions, limits, and
robustness (hostile text only ever raises the module's own error)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topwords.backends.local.autoscale import (AutoScaleError, FormulaSyntaxError,
                                               FormulaTooLong, parse)
from topwords.backends.local.autoscale import nodes as n
from topwords.backends.local.autoscale.lexer import tokenize
from topwords.backends.local.autoscale.parser import MAX_DEPTH

PACKAGE = Path(__file__).resolve().parents[2] / "backends" / "local" / "autoscale"


def only(formula: str) -> n.Node:
    """The value of the single statement of ``formula``."""
    (statement,) = parse(formula).statements
    return statement.value


def shape(node: n.Node) -> object:
    """A node without positions, for comparing trees."""
    if isinstance(node, n.Number):
        return node.value
    if isinstance(node, n.String):
        return ("str", node.value)
    if isinstance(node, n.Var):
        return node.name
    if isinstance(node, n.Unary):
        return (node.op, shape(node.operand))
    if isinstance(node, n.Binary):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, n.Ternary):
        return ("?:", shape(node.condition), shape(node.then), shape(node.otherwise))
    if isinstance(node, n.Call):
        return ("call", node.name, *map(shape, node.args))
    if isinstance(node, n.Method):
        return ("method", shape(node.target), node.name, *map(shape, node.args))
    if isinstance(node, n.Member):
        return ("member", shape(node.target), node.name)
    if isinstance(node, n.Vector):
        return ("vec", *map(shape, node.items))
    raise AssertionError(node)


# -- grammar ---------------------------------------------------------------------

@pytest.mark.parametrize("formula,expected", [
    ("1 + 2 * 3", ("+", 1.0, ("*", 2.0, 3.0))),
    ("(1 + 2) * 3", ("*", ("+", 1.0, 2.0), 3.0)),
    ("1 - 2 - 3", ("-", ("-", 1.0, 2.0), 3.0)),
    ("8 / 4 / 2", ("/", ("/", 8.0, 4.0), 2.0)),
    ("-a * b", ("*", ("-", "a"), "b")),
    ("!a && b || c", ("||", ("&&", ("!", "a"), "b"), "c")),
    ("a || b && c", ("||", "a", ("&&", "b", "c"))),
    ("a < b == c >= d", ("==", ("<", "a", "b"), (">=", "c", "d"))),
    ("a + 1 < b * 2", ("<", ("+", "a", 1.0), ("*", "b", 2.0))),
    ("a ? b : c ? d : e", ("?:", "a", "b", ("?:", "c", "d", "e"))),
    ("a || b ? 1 : 2", ("?:", ("||", "a", "b"), 1.0, 2.0)),
    ("--1", ("-", ("-", 1.0))),
    ("max(1, {2, 3}, $x)", ("call", "max", 1.0, ("vec", 2.0, 3.0), "$x")),
    ("rand()", ("call", "rand")),
    ("{}", ("vec",)),
    ("$CPUPercent.GetSample(TimeInterval_Minute * 5)",
     ("method", "$CPUPercent", "GetSample", ("*", "TimeInterval_Minute", 5.0))),
    ("time().weekday", ("member", ("call", "time"), "weekday")),
    ('time("2016-10-13T19:18:47Z")', ("call", "time", ("str", "2016-10-13T19:18:47Z"))),
    ("1.5e3", 1500.0),
])
def test_parse_expression_follows_c_precedence(formula, expected):
    assert shape(only(formula)) == expected


def test_parse_statements_allows_empty_ones_and_a_missing_final_semicolon():
    formula = parse(";; a = 1;\n\n b = a ;; c = 2")
    assert [s.name for s in formula.statements] == ["a", "b", "c"]


def test_parse_bare_expression_is_a_statement_without_a_name():
    (statement,) = parse("stop();").statements
    assert statement.name is None and shape(statement.value) == ("call", "stop")


def test_parse_comments_run_to_the_end_of_the_line():
    formula = parse("// first\na = 1; // a = 2;\n// b = 3\nc = a // trailing")
    assert [s.name for s in formula.statements] == ["a", "c"]


def test_parse_dollar_and_plain_user_names_are_different_variables():
    statements = parse("$x = 1; x = 2").statements
    assert [s.name for s in statements] == ["$x", "x"]


def test_parse_records_one_based_line_and_column():
    value = only("\n  a =\n    1 + b")
    assert (value.line, value.col) == (3, 7)  # the '+' operator
    assert (value.right.line, value.right.col) == (3, 9)


def test_tokenize_ends_with_an_end_token_at_the_end_position():
    tokens = tokenize("a=1\nbc")
    assert [t.kind for t in tokens] == ["name", "op", "number", "name", "end"]
    assert (tokens[-1].line, tokens[-1].col) == (2, 3)


# -- syntax errors ---------------------------------------------------------------

@pytest.mark.parametrize("formula,line,col,fragment", [
    ("a = (1", 1, 7, "expected ')'"),
    ("a = 1 b = 2", 1, 7, "expected ';'"),
    ("a = ", 1, 5, "expected a value"),
    ("a = 1 +", 1, 8, "expected a value"),
    ("a = b ? c", 1, 10, "':' of the ?: operator"),
    ("a = max(1,", 1, 11, "expected a value"),
    ("a = 1 & 2", 1, 7, "unexpected character '&'"),
    ("a = 'x'", 1, 5, "unexpected character"),
    ('a = "open', 1, 5, "unterminated string"),
    ("$ = 1", 1, 1, "'$' must start a variable name"),
    ("a = b.$c", 1, 7, "after '.'"),
    ("a = $f(1)", 1, 5, "is a variable, not a function"),
    ("$CPUPercent = 1", 1, 1, "read-only"),
    ("$CurrentDedicated = 1", 1, 1, "read-only"),
    ("TimeInterval_Minute = 2", 1, 1, "read-only"),
    ("requeue = 1", 1, 1, "read-only"),
    ("x = 1e999", 1, 5, "out of range"),
    ("x = 1\n  y = 2", 2, 3, "expected ';'"),
])
def test_parse_invalid_formula_raises_syntax_error_with_position(formula, line, col, fragment):
    with pytest.raises(FormulaSyntaxError) as caught:
        parse(formula)
    error = caught.value
    assert (error.line, error.col) == (line, col)
    assert fragment in error.detail
    assert error.value.startswith(f"Line {line}, Col {col}: ")


def test_parse_syntax_error_renders_the_service_shapes():
    with pytest.raises(FormulaSyntaxError) as caught:
        parse("a = (1")
    error = caught.value
    assert error.to_batch_error() == {
        "code": "AutoScalingFormulaSyntaxError",
        "message": {"lang": "en-US", "value": "The specified auto-scaling formula has a syntax error."},
        "values": [{"key": "Message", "value": "Line 1, Col 7: expected ')', found end of formula"}]}
    assert str(error) == "AutoScalingFormulaSyntaxError: Line 1, Col 7: expected ')', found end of formula"


def test_parse_formula_of_8192_characters_is_accepted_and_one_more_is_too_long():
    body = "a = 1;"
    formula = "// " + "x" * (8192 - 3 - len(body) - 1) + "\n" + body
    assert len(formula) == 8192
    parse(formula)
    with pytest.raises(FormulaTooLong) as caught:
        parse(formula + " ")
    assert caught.value.code == "AutoScaleFormulaTooLong"


def test_parse_more_than_100_statements_is_a_syntax_error():
    parse(";".join(f"a{i} = {i}" for i in range(100)))
    with pytest.raises(FormulaSyntaxError, match="more than 100 statements"):
        parse(";".join(f"a{i} = {i}" for i in range(101)))


@pytest.mark.parametrize("make", [
    lambda k: "a = " + "(" * k + "1" + ")" * k,
    lambda k: "a = " + "-" * k + "1",
    lambda k: "a = " + "+".join(["1"] * k),
    lambda k: "a = " + "max(" * k + "1" + ")" * k,
    lambda k: "a = " + "b ? 1 : " * k + "2",
    lambda k: "a = " + "{" * k + "}" * k,
])
def test_parse_nesting_is_bounded_without_recursion_error(make):
    parse(make(MAX_DEPTH // 2 - 2))
    with pytest.raises(FormulaSyntaxError, match="nested deeper"):
        parse(make(1000))


def test_parse_non_string_formula_raises_syntax_error():
    with pytest.raises(FormulaSyntaxError):
        parse(None)  # type: ignore[arg-type]


# -- properties -----------------------------------------------------------------

names = st.sampled_from(["a", "$b", "cappedPoolSize", "$TargetDedicatedNodes", "TimeInterval_Minute"])
leaves = st.one_of(
    st.integers(0, 10**6).map(lambda i: n.Number(1, 1, value=float(i))),
    names.map(lambda s: n.Var(1, 1, name=s)),
    st.text("abc XYZ-:.,", max_size=6).map(lambda s: n.String(1, 1, value=s)),
)


def _extend(children):
    ops = st.sampled_from(["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "&&", "||"])
    return st.one_of(
        st.builds(lambda o, l, r: n.Binary(1, 1, op=o, left=l, right=r), ops, children, children),
        st.builds(lambda o, x: n.Unary(1, 1, op=o, operand=x), st.sampled_from("-!"), children),
        st.builds(lambda c, t, e: n.Ternary(1, 1, condition=c, then=t, otherwise=e),
                  children, children, children),
        st.builds(lambda f, a: n.Call(1, 1, name=f, args=tuple(a)),
                  st.sampled_from(["max", "avg", "time"]), st.lists(children, max_size=3)),
        st.builds(lambda t, a: n.Method(1, 1, target=t, name="GetSample", args=tuple(a)),
                  names.map(lambda s: n.Var(1, 1, name=s)), st.lists(children, max_size=2)),
        st.builds(lambda t: n.Member(1, 1, target=t, name="hour"), children),
        st.builds(lambda a: n.Vector(1, 1, items=tuple(a)), st.lists(children, max_size=3)),
    )


trees = st.recursive(leaves, _extend, max_leaves=25)


def unparse(node: n.Node) -> str:
    """Fully parenthesised source for ``node``."""
    if isinstance(node, n.Number):
        return repr(node.value)
    if isinstance(node, n.String):
        return f'"{node.value}"'
    if isinstance(node, n.Var):
        return node.name
    if isinstance(node, n.Unary):
        return f"({node.op}{unparse(node.operand)})"
    if isinstance(node, n.Binary):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, n.Ternary):
        return f"({unparse(node.condition)} ? {unparse(node.then)} : {unparse(node.otherwise)})"
    if isinstance(node, n.Call):
        return f"{node.name}({', '.join(map(unparse, node.args))})"
    if isinstance(node, n.Method):
        return f"{unparse(node.target)}.{node.name}({', '.join(map(unparse, node.args))})"
    if isinstance(node, n.Member):
        return f"({unparse(node.target)}).{node.name}"
    if isinstance(node, n.Vector):
        return "{" + ", ".join(map(unparse, node.items)) + "}"
    raise AssertionError(node)


@given(trees)
def test_parse_round_trips_an_unparsed_tree(tree):
    assert shape(only("x = " + unparse(tree))) == shape(tree)


@given(trees, st.sampled_from([" ", "\n", "\t", " // note\n"]))
def test_parse_ignores_whitespace_and_comments_between_tokens(tree, gap):
    text = "x = " + unparse(tree)
    spaced = gap.join(token.text for token in tokenize(text)[:-1]) + "\n"
    assert shape(only(spaced)) == shape(tree)


@settings(max_examples=400)
@given(st.text(max_size=200))
def test_parse_random_text_raises_nothing_but_the_module_error(text):
    try:
        parse(text)
    except AutoScaleError as exc:
        assert exc.line >= 1 and exc.col >= 1
        assert "\n" not in str(exc)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(list("(){}?:;,.=+-*/!<>&|\"$ ") + ["a", "1", "max", "$x", "&&", "||"]),
                max_size=300).map("".join))
def test_parse_punctuation_soup_raises_nothing_but_the_module_error(text):
    try:
        parse(text)
    except AutoScaleError:
        pass


# -- layering ---------------------------------------------------------------------

def test_autoscale_package_imports_only_stdlib_and_core_errors():
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # the package's own modules
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name == "topwords.core.errors" or name.split(".")[0] in allowed, \
                    f"{path.name} imports {name}"
