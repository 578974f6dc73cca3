"""What a grader reads from each row (``item``) and from the sample, found statically.

Templates give their references through :func:`graders.template.grader_references`.
A python grader's source is parsed with :mod:`ast` (never executed) for
``item["k"]`` chains of constant keys and ``item.get("k")`` calls, where ``item`` is
the second parameter of ``grade`` (or any name ``item``).

[ours]: ``item["k"]`` is *required* (a row without it makes the grader raise);
``item.get("k")`` and a subscript guarded anywhere by ``"k" in item`` are *optional*
(the author handles absence), so rows that lack them get a warning, not an error.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graders.errors import InvalidVariableError
from graders.models import AnyGrader, MultiGrader, PythonGrader
from graders.template import Reference, grader_references, resolve

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ItemRef:
    """One thing a grader reads from the item."""

    where: str  # JSON path of the grader field that makes the reference
    text: str  # as written: "{{ item.answer }}" or 'item["answer"] (source line 3)'
    required: bool
    template: Reference | None = None  # templates resolve exactly as the engine does
    path: Path = ()  # python subscripts: the keys, outermost first

    def resolves(self, row: Any) -> bool:
        if self.template is not None:
            try:
                resolve(self.template, {"item": row})
            except InvalidVariableError:
                return False
            return True
        return _walk(row, self.path)


@dataclass(frozen=True)
class SampleUse:
    """A use of ``sample.output_json``, which is null unless the model outputs JSON."""

    where: str
    text: str


def _walk(value: Any, path: Path) -> bool:
    for key in path:
        if isinstance(value, dict) and isinstance(key, str) and key in value:  # noqa: SIM114 -- narrows types
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return False
    return True


def item_references(grader: AnyGrader, prefix: str) -> list[ItemRef]:
    refs = [
        ItemRef(_join(prefix, path), f"{{{{ {ref.text} }}}}", True, template=ref)
        for path, ref in grader_references(grader)
        if ref.namespace == "item"
    ]
    for path, python in python_graders(grader, prefix):
        refs.extend(python_item_refs(python.source, f"{path}.source"))
    return refs


def output_json_uses(grader: AnyGrader, prefix: str) -> list[SampleUse]:
    uses = [
        SampleUse(_join(prefix, path), f"{{{{ {ref.text} }}}}")
        for path, ref in grader_references(grader)
        if ref.namespace == "sample" and ref.path[:1] == ("output_json",)
    ]
    for path, python in python_graders(grader, prefix):
        uses.extend(SampleUse(f"{path}.source", text) for text in _python_output_json_uses(python.source))
    return uses


def python_graders(grader: AnyGrader, prefix: str) -> Iterator[tuple[str, PythonGrader]]:
    if isinstance(grader, PythonGrader):
        yield prefix, grader
    elif isinstance(grader, MultiGrader):
        for key, sub in grader.graders.items():
            yield from python_graders(sub, f"{prefix}.graders.{key}")


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if path else prefix


# ---------------------------------------------------------------- python source


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # validation reports it; nothing to find here


def _param_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to the sample and the item: ``grade``'s two parameters, plus the usual names."""
    samples, items = {"sample"}, {"item"}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "grade":
            params = [*node.args.posonlyargs, *node.args.args]
            if len(params) >= 2:
                samples.add(params[0].arg)
                items.add(params[1].arg)
    return samples, items


def _chain(node: ast.expr) -> tuple[str | None, Path]:
    """``item["a"][0]`` → ("item", ("a", 0)); a non-constant key ends the chain (root None)."""
    keys: list[str | int] = []
    while isinstance(node, ast.Subscript):
        key = node.slice
        if not isinstance(key, ast.Constant) or isinstance(key.value, bool) or not isinstance(key.value, str | int):
            return None, ()
        keys.append(key.value)
        node = node.value
    if isinstance(node, ast.Name):
        return node.id, tuple(reversed(keys))
    return None, ()


def _uses(tree: ast.Module, roots: set[str]) -> Iterator[tuple[Path, bool, int]]:
    """Every ``root[...]`` chain (required) and ``root[...].get(k)`` (optional) with its line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            root, path = _chain(node)
            if root in roots and path:
                yield path, True, node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            root, path = _chain(node.func.value)
            if root in roots:
                yield (*path, node.args[0].value), False, node.lineno


def _guarded(tree: ast.Module, roots: set[str]) -> set[Path]:
    """Paths tested with ``"k" in item[...]`` somewhere: their subscripts are optional."""
    guarded: set[Path] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            left, right = node.left, node.comparators[0]
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                root, path = _chain(right)
                if root in roots:
                    guarded.add((*path, left.value))
    return guarded


def python_item_refs(source: str, where: str) -> list[ItemRef]:
    tree = _parse(source)
    if tree is None:
        return []
    _, items = _param_names(tree)
    guarded = _guarded(tree, items)
    found: dict[Path, tuple[bool, int]] = {}
    via_get: set[Path] = set()
    for path, subscript, line in _uses(tree, items):
        if not subscript:
            via_get.add(path)
        required = subscript and not any(path[: len(g)] == g for g in guarded)
        previous = found.get(path)
        if previous is None or (required and not previous[0]):
            found[path] = (required, line)
    # item["a"]["b"] also visits item["a"]: keep only the longest chain of each kind.
    longest = [
        p for p in found if not any(len(q) > len(p) and q[: len(p)] == p and found[q][0] >= found[p][0] for q in found)
    ]
    return [
        ItemRef(where, f"{_render('item', p, p not in via_get or found[p][0])} (source line {found[p][1]})", found[p][0], path=p)
        for p in sorted(longest, key=lambda p: (found[p][1], str(p)))
    ]


def _python_output_json_uses(source: str) -> list[str]:
    tree = _parse(source)
    if tree is None:
        return []
    samples, _ = _param_names(tree)
    lines = sorted({line for path, _, line in _uses(tree, samples) if path[:1] == ("output_json",)})
    return [f"sample output_json (source line {line})" for line in lines]


def _render(root: str, path: Path, subscript: bool) -> str:
    if subscript:
        return root + "".join(f"[{k!r}]" for k in path)
    head = root + "".join(f"[{k!r}]" for k in path[:-1])
    return f"{head}.get({path[-1]!r})"
