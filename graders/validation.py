"""Turning grader JSON into a model, and every check /run and /validate make (SEMANTICS §9).

Two levels:

* ``parse_grader`` — the schema, what ``/run`` refuses with a 400: pydantic errors,
  a top-level type that a run does not accept, python source ≥ 256 kB.
* ``semantic_problems`` — what only ``/validate`` refuses on top of that: labels,
  formula, range, python source that does not compile, unknown template namespaces.
  ``/run`` runs such a grader and reports the problem as a flag.
"""

from __future__ import annotations

import ast
from typing import Any

from pydantic import TypeAdapter, ValidationError

from graders.errors import FormulaParseError, GraderInvalid, Problem
from graders.formula import compile_formula
from graders.models import (
    CONTENT_TAGS,
    GRADER_TYPES,
    TOP_LEVEL_TYPES,
    AnyGrader,
    Grader,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)
from graders.template import NAMESPACES, iter_references, template_fields

PYTHON_SOURCE_LIMIT = 256 * 1024  # bytes; the source must be smaller [doc]

_ADAPTER: TypeAdapter[AnyGrader] = TypeAdapter(Grader)
_GRADER_CLASSES = (StringCheckGrader, TextSimilarityGrader, PythonGrader, ScoreModelGrader, LabelModelGrader, MultiGrader)


def parse_grader(grader: Any, *, top_level: bool = True) -> AnyGrader:
    """Schema-check ``grader`` (a dict or a model); raises :class:`GraderInvalid`."""
    if isinstance(grader, _GRADER_CLASSES):
        model: AnyGrader = grader
    else:
        if not isinstance(grader, dict):
            raise GraderInvalid([Problem("", f"a grader must be a JSON object, got {_kind(grader)}")])
        if "type" not in grader:
            raise GraderInvalid([Problem("type", f"field required; one of {', '.join(GRADER_TYPES)}")])
        try:
            model = _ADAPTER.validate_python(grader)
        except ValidationError as exc:
            raise GraderInvalid(pydantic_problems(exc, grader)) from None
    problems = []
    if top_level and model.type not in TOP_LEVEL_TYPES:
        problems.append(
            Problem(
                "type",
                f"'{model.type}' is not accepted as a top-level grader "
                f"(use it inside a multi grader); top-level types: {', '.join(TOP_LEVEL_TYPES)}",
            )
        )
    for path, python in _python_graders(model):
        size = len(python.source.encode("utf-8"))
        if size >= PYTHON_SOURCE_LIMIT:
            problems.append(
                Problem(f"{path}source", f"python source is {size} bytes; it must be under 256 kB")
            )
    if problems:
        raise GraderInvalid(problems)
    return model


def semantic_problems(grader: AnyGrader, prefix: str = "") -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(grader, LabelModelGrader):
        if not grader.labels:
            problems.append(Problem(f"{prefix}labels", "labels must not be empty"))
        extra = [label for label in grader.passing_labels if label not in grader.labels]
        if extra:
            problems.append(
                Problem(f"{prefix}passing_labels", f"passing_labels {extra} are not in labels {grader.labels}")
            )
    if isinstance(grader, ScoreModelGrader) and grader.range is not None:
        message = range_problem(grader.range)
        if message:
            problems.append(Problem(f"{prefix}range", message))
    if isinstance(grader, PythonGrader):
        problems.extend(Problem(f"{prefix}source", m) for m in python_source_problems(grader.source))
    if isinstance(grader, MultiGrader):
        if not grader.graders:
            problems.append(Problem(f"{prefix}graders", "a multi grader needs at least one grader"))
        try:
            compile_formula(grader.calculate_output).check_keys(set(grader.graders))
        except FormulaParseError as exc:
            problems.append(Problem(f"{prefix}calculate_output", exc.details))
        for key, sub in grader.graders.items():
            problems.extend(semantic_problems(sub, f"{prefix}graders.{key}."))
        return problems
    for path, text in template_fields(grader, prefix):
        for ref in iter_references(text):
            if ref.namespace not in NAMESPACES:
                problems.append(
                    Problem(path, f"{{{{ {ref.text} }}}} uses unknown namespace '{ref.namespace}' (use sample or item)")
                )
    return problems


def range_problem(value: list[float]) -> str | None:
    if len(value) != 2:
        return f"range must be two numbers [min, max], got {len(value)}"
    if not value[0] < value[1]:
        return f"range must be increasing, got {value}"
    return None


def python_source_problems(source: str) -> list[str]:
    """Static checks of a python grader's source; it is parsed, never executed."""
    size = len(source.encode("utf-8"))
    if size >= PYTHON_SOURCE_LIMIT:
        return [f"python source is {size} bytes; it must be under 256 kB"]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"python source does not compile: {exc.msg} (line {exc.lineno})"]
    except ValueError as exc:  # e.g. null bytes
        return [f"python source does not compile: {exc}"]
    grade = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "grade"]
    if not grade:
        return ["python source defines no top-level function grade(sample, item)"]
    if isinstance(grade[-1], ast.AsyncFunctionDef):
        return ["grade must be a plain function, not async"]
    if not _takes_two_positional(grade[-1].args):
        return ["grade must take two positional parameters: grade(sample, item)"]
    return []


def _takes_two_positional(args: ast.arguments) -> bool:
    positional = len(args.posonlyargs) + len(args.args)
    required_kwonly = sum(1 for d in args.kw_defaults if d is None)
    if required_kwonly:
        return False
    if args.vararg is not None:
        return True
    required = positional - len(args.defaults)
    return required <= 2 <= positional


def validate(grader: Any) -> AnyGrader:
    """What ``/validate`` does: the accepted grader, or GraderInvalid listing every problem."""
    model = parse_grader(grader)
    problems = semantic_problems(model)
    if problems:
        raise GraderInvalid(problems, schema_only=False)
    return model


def pydantic_problems(exc: ValidationError, data: Any) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors():
        path = _json_path(error["loc"], data)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path = f"{path}.type" if path else "type"  # the discriminator is the field at fault
        message = _message(error)
        if (path, message) not in seen:
            seen.add((path, message))
            problems.append(Problem(path, message))
    return problems


def _json_path(loc: tuple[Any, ...], data: Any) -> str:
    """Pydantic's loc with union tags dropped, as a JSON path (``graders.a.input[0].content``)."""
    parts: list[str] = []
    current = data
    tag_skipped: object = None
    for element in loc:
        if isinstance(current, dict) and element == current.get("type") and tag_skipped is not current:
            # The union tag, checked first since input_audio's field shares its tag's name.
            tag_skipped = current
            continue
        if isinstance(current, dict) and isinstance(element, str) and element in current:
            current = current[element]
            parts.append(f".{element}" if parts else element)
        elif isinstance(current, list) and isinstance(element, int):
            current = current[element] if 0 <= element < len(current) else None
            parts.append(f"[{element}]")
        elif isinstance(current, dict) and isinstance(element, str) and element not in current and _is_field_name(element, current):
            parts.append(f".{element}" if parts else element)  # a missing field
            current = None
        # else: a union tag such as 'string_check' or 'list': not part of the JSON path
    return "".join(parts)


def _is_field_name(element: str, current: dict[str, Any]) -> bool:
    # A tag equals the object's own type ('string_check') or is one of our content tags.
    return element != current.get("type") and element not in CONTENT_TAGS


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field (not part of this grader type)"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "field 'type' required"
    return str(error["msg"])


def _python_graders(grader: AnyGrader, prefix: str = "") -> list[tuple[str, PythonGrader]]:
    if isinstance(grader, PythonGrader):
        return [(prefix, grader)]
    if isinstance(grader, MultiGrader):
        return [p for key, sub in grader.graders.items() for p in _python_graders(sub, f"{prefix}graders.{key}.")]
    return []


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
