"""Template renderer: golden behaviour is in tests/golden/string_check.json; here, properties
and the reference listing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.errors import InvalidVariableError
from graders.template import compile_template, grader_references, render
from graders.validation import parse_grader

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(template=st.text(), item=json_values, sample_text=st.text())
def test_arbitrary_templates_raise_only_the_documented_error(template: str, item: Any, sample_text: str) -> None:
    context = {"item": item, "sample": {"output_text": sample_text, "output_json": None, "output_tools": [], "choices": []}}
    try:
        out = render(template, context)
    except InvalidVariableError as exc:
        assert exc.details  # names what is missing
    else:
        assert isinstance(out, str)


@settings(max_examples=200, deadline=None)
@given(text=st.text().filter(lambda t: "{{" not in t and "<<" not in t))
def test_text_without_references_renders_unchanged(text: str) -> None:
    assert render(text, {"item": {}, "sample": {}}) == text


@settings(max_examples=200, deadline=None)
@given(value=json_values, prefix=st.text(max_size=5), suffix=st.text(max_size=5))
def test_any_value_is_inserted_once_as_itself_or_json(value: Any, prefix: str, suffix: str) -> None:
    # prefix/suffix kept free of template syntax so that only our reference is one
    prefix = prefix.replace("{", "").replace("<", "")
    suffix = suffix.replace("}", "").replace(">", "")
    out = render(prefix + "{{ item.v }}" + suffix, {"item": {"v": value}})
    expected = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    assert out == prefix + expected + suffix


@settings(max_examples=100, deadline=None)
@given(value=st.text())
def test_substitution_is_one_pass(value: str) -> None:
    # Whatever the value holds (including "{{ item.secret }}"), it comes out verbatim.
    out = render("{{ item.v }}", {"item": {"v": value, "secret": "LEAK"}})
    assert out == value


def test_missing_path_names_the_path() -> None:
    with pytest.raises(InvalidVariableError) as caught:
        render("x {{ item.a.b[2].c }}", {"item": {"a": {"b": [1, 2]}}})
    assert "item.a.b[2].c" in caught.value.details


def test_compiled_template_is_cached_and_split() -> None:
    compiled = compile_template("a {{ item.x }} b << sample.output_text >> c")
    assert compiled is compile_template("a {{ item.x }} b << sample.output_text >> c")
    assert compiled.literals == ("a ", " b ", " c")
    assert [r.text for r in compiled.references] == ["item.x", "sample.output_text"]


def test_grader_references_lists_every_reference_with_its_field_path() -> None:
    grader = parse_grader(
        {
            "type": "multi",
            "name": "m",
            "calculate_output": "a + b",
            "graders": {
                "a": {"type": "string_check", "name": "a", "input": "{{ sample.output_json.answer }}", "reference": "{{ item.gold }}", "operation": "eq"},
                "b": {
                    "type": "score_model",
                    "name": "b",
                    "model": "m",
                    "input": [
                        {"role": "user", "content": ["Q {{ item.question }}", {"type": "input_image", "image_url": "{{ item.images[0] }}"}]},
                    ],
                },
            },
        }
    )
    found = [(path, ref.namespace, ref.path) for path, ref in grader_references(grader)]
    assert found == [
        ("graders.a.input", "sample", ("output_json", "answer")),
        ("graders.a.reference", "item", ("gold",)),
        ("graders.b.input[0].content[0]", "item", ("question",)),
        ("graders.b.input[0].content[1].image_url", "item", ("images", 0)),
    ]


_keys = st.sampled_from(["a", "b", "output_text", "0"])
# JSON values whose object keys come from _keys, so that generated paths often resolve.
_keyed_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(item=_keyed_values, path=st.lists(_keys, max_size=3))
def test_plain_lookup_fast_path_agrees_with_the_general_walk(item: Any, path: list[str]) -> None:
    # CompiledTemplate.render tries context[ns][k1]... first for a lone {{ item.k1.k2 }}; it must
    # give what the general walk (resolve + to_text) gives, or raise the same error.
    from graders.template import resolve, to_text

    template = "{{ " + ".".join(["item", *path]) + " }}"
    context = {"sample": {"output_text": "x"}, "item": item}
    ref = compile_template(template).references[0]
    try:
        expected: Any = to_text(resolve(ref, context))
    except InvalidVariableError as exc:
        expected = ("error", str(exc))
    try:
        got: Any = render(template, context)
    except InvalidVariableError as exc:
        got = ("error", str(exc))
    assert got == expected
