"""Template strings: ``{{ sample.output_text }}``, ``{{ item.answers[0].text }}`` (SEMANTICS §2).

A template is compiled once (cached) into literal text and references, then
rendered in one pass: a substituted value is never templated again, so braces
inside a value are just text. ``<< item.x >>`` is accepted as an alias [ours].

A reference is ``namespace`` followed by dotted keys and bracket indexes:
``item.a.b``, ``sample.output_tools[0].function.name``, ``item["key with spaces"]``.
A path that does not resolve raises :class:`InvalidVariableError` naming it.
A non-string value is inserted as compact JSON (``json.dumps(v, ensure_ascii=False)``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from graders.errors import InvalidVariableError
from graders.models import (
    AnyGrader,
    InputAudio,
    InputImage,
    InputText,
    LabelModelGrader,
    MultiGrader,
    OutputText,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)

NAMESPACES = ("sample", "item")

# {{ ... }} or << ... >>, lazily matched so that two references on a line stay two.
_REFERENCE = re.compile(r"\{\{\s*(?P<a>[^{}]*?)\s*\}\}|<<\s*(?P<b>[^<>]*?)\s*>>")
_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"\.([^.\[\]\s]+)")
_BRACKET = re.compile(r"\[\s*(?:(-?\d+)|\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)')\s*\]")


@dataclass(frozen=True)
class Reference:
    """One ``{{ namespace.path }}`` in a template."""

    namespace: str
    path: tuple[str | int, ...]
    text: str  # the expression as written, e.g. ``item.answers[0]``

    @cached_property
    def plain(self) -> bool:
        """Only string keys, in a known namespace, not through sample.output_json (which has a
        rule of its own): then ``context[ns][k1][k2]...`` gives what :func:`resolve` gives, or
        fails where it fails."""
        return (
            self.namespace in NAMESPACES
            and all(type(key) is str for key in self.path)
            and not (self.namespace == "sample" and "output_json" in self.path)
        )

    def __str__(self) -> str:
        return self.text


def parse_expression(expr: str) -> Reference | None:
    """Parse ``ns.a[0].b``; None when it is not a reference expression at all."""
    head = _HEAD.match(expr)
    if head is None:
        return None
    path: list[str | int] = []
    pos = head.end()
    while pos < len(expr):
        dotted = _DOTTED.match(expr, pos)
        if dotted is not None:
            key = dotted.group(1)
            path.append(key)
            pos = dotted.end()
            continue
        bracket = _BRACKET.match(expr, pos)
        if bracket is not None:
            index, dq, sq = bracket.groups()
            if index is not None:
                path.append(int(index))
            else:
                path.append(json.loads(f'"{dq}"') if dq is not None else sq.replace("\\'", "'"))
            pos = bracket.end()
            continue
        return None
    return Reference(head.group(0), tuple(path), expr)


@dataclass(frozen=True)
class CompiledTemplate:
    """Literal strings interleaved with references: ``parts[0] ref[0] parts[1] ...``."""

    literals: tuple[str, ...]
    references: tuple[Reference, ...]

    @property
    def is_literal(self) -> bool:
        return not self.references

    def render(self, context: Mapping[str, Any]) -> str:
        if not self.references:
            return self.literals[0]
        if len(self.references) == 1 and not self.literals[0] and not self.literals[1]:
            # The common "{{ sample.output_text }}": no join needed, and first the plain lookup.
            ref = self.references[0]
            if ref.plain:
                value = context.get(ref.namespace)
                for key in ref.path:
                    if type(value) is not dict or key not in value:
                        break  # resolve() walks it again and raises the error that names the path
                    value = value[key]
                else:
                    if type(value) is str:
                        return value
            return to_text(resolve(ref, context))
        out = [self.literals[0]]
        for ref, literal in zip(self.references, self.literals[1:]):
            out.append(to_text(resolve(ref, context)))
            out.append(literal)
        return "".join(out)


@lru_cache(maxsize=4096)
def compile_template(template: str) -> CompiledTemplate:
    literals: list[str] = []
    references: list[Reference] = []
    last = 0
    for match in _REFERENCE.finditer(template):
        ref = parse_expression(match.group("a") if match.group("a") is not None else match.group("b"))
        if ref is None:
            continue  # not a reference (e.g. "{{ 1 + 2 }}"): plain text
        literals.append(template[last : match.start()])
        references.append(ref)
        last = match.end()
    literals.append(template[last:])
    return CompiledTemplate(tuple(literals), tuple(references))


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` with ``context = {"sample": ..., "item": ...}``."""
    return compile_template(template).render(context)


def resolve(ref: Reference, context: Mapping[str, Any]) -> Any:
    if ref.namespace not in NAMESPACES:
        raise InvalidVariableError(
            f"{{{{ {ref.text} }}}}: unknown namespace '{ref.namespace}' (use sample or item)"
        )
    value: Any = context.get(ref.namespace)
    walked = ref.namespace
    for key in ref.path:
        if isinstance(value, Mapping) and isinstance(key, str) and key in value:
            value = value[key]
        elif isinstance(value, list):
            index = _list_index(key)
            if index is None or not -len(value) <= index < len(value):
                raise InvalidVariableError(_missing(ref, walked, key))
            value = value[index]
        else:
            raise InvalidVariableError(_missing(ref, walked, key))
        if value is None and walked == "sample" and key == "output_json":
            raise InvalidVariableError(
                f"{{{{ {ref.text} }}}}: sample.output_json is null (the model sample is not valid JSON)"
            )
        walked = f"{walked}[{key}]" if isinstance(key, int) else f"{walked}.{key}"
    return value


def _list_index(key: str | int) -> int | None:
    if isinstance(key, int):
        return key
    return int(key) if key.isdigit() else None


def _missing(ref: Reference, walked: str, key: str | int) -> str:
    return f"{{{{ {ref.text} }}}}: '{key}' not found in {walked}"


def to_text(value: Any) -> str:
    """Strings as they are; anything else as compact JSON (SEMANTICS §2) [ours]."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def iter_references(template: str) -> Iterator[Reference]:
    yield from compile_template(template).references


def template_fields(grader: AnyGrader, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every templated string of a grader as ``(json_path, text)``, multi recursively."""
    if isinstance(grader, (StringCheckGrader, TextSimilarityGrader)):
        yield f"{prefix}input", grader.input
        yield f"{prefix}reference", grader.reference
    elif isinstance(grader, (ScoreModelGrader, LabelModelGrader)):
        for i, message in enumerate(grader.input):
            yield from _content_fields(message.content, f"{prefix}input[{i}].content")
    elif isinstance(grader, MultiGrader):
        for key, sub in grader.graders.items():
            yield from template_fields(sub, f"{prefix}graders.{key}.")


def _content_fields(content: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(content, str):
        yield path, content
    elif isinstance(content, list):
        for i, part in enumerate(content):
            yield from _content_fields(part, f"{path}[{i}]")
    elif isinstance(content, (InputText, OutputText)):
        yield f"{path}.text", content.text
    elif isinstance(content, InputImage):
        yield f"{path}.image_url", content.image_url
    elif isinstance(content, InputAudio):
        yield f"{path}.input_audio.data", content.input_audio.data


def grader_references(grader: AnyGrader) -> list[tuple[str, Reference]]:
    """Every template reference a grader makes, with the JSON path of its field.

    Python graders make none here (their ``item[...]`` uses are found by preflight).
    """
    return [(path, ref) for path, text in template_fields(grader) for ref in iter_references(text)]
