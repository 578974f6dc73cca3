"""One dataset row → what to grade: ``(model_sample | sample, item, id)``.

Row shapes (batch scoring, preflight dry runs, ``graders test``):

* ``{"item": {...}, "model_sample": "..."}``
* ``{"item": {...}, "sample": {...full sample object...}}``
* with ``sample_field="a.b"``: the whole row is the item and the sample text (or
  sample object) is taken from that dotted path in it.

An optional ``"id"`` is carried through. A row that does not fit raises
:class:`RowError` with a message naming the field.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class RowError(ValueError):
    """The row cannot be graded as given; the message names the field."""


class RowInput(NamedTuple):
    # A NamedTuple, not a frozen dataclass: made once per row, and a tuple is cheaper to build.
    item: Any
    model_sample: str | None = None
    sample: dict[str, Any] | None = None
    id: Any = None


def lookup(value: Any, dotted: str) -> Any:
    """``a.b.0.c`` inside nested objects and lists; KeyError naming the missing part."""
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(part)
    return value


def row_input(row: Any, sample_field: str | None = None) -> RowInput:
    if not isinstance(row, dict):
        raise RowError(f"a row must be a JSON object, got {type(row).__name__}")
    row_id = row.get("id")
    if sample_field is not None:
        try:
            found = lookup(row, sample_field)
        except KeyError as missing:
            raise RowError(f"sample field '{sample_field}' not found (missing '{missing.args[0]}')") from None
        if isinstance(found, str):
            return RowInput(item=row, model_sample=found, id=row_id)
        if isinstance(found, dict):
            return RowInput(item=row, sample=found, id=row_id)
        raise RowError(f"sample field '{sample_field}' must be a string or an object, got {type(found).__name__}")
    if "item" not in row:
        raise RowError("missing field 'item'")
    item = row["item"]
    if not isinstance(item, dict):
        raise RowError(f"field 'item' must be an object, got {type(item).__name__}")
    has_text, has_object = "model_sample" in row, "sample" in row
    if has_text == has_object:
        raise RowError("a row needs exactly one of 'model_sample' (a string) or 'sample' (an object)")
    if has_text:
        if not isinstance(row["model_sample"], str):
            raise RowError(f"field 'model_sample' must be a string, got {type(row['model_sample']).__name__}")
        return RowInput(item=item, model_sample=row["model_sample"], id=row_id)
    if not isinstance(row["sample"], dict):
        raise RowError(f"field 'sample' must be an object, got {type(row['sample']).__name__}")
    return RowInput(item=item, sample=row["sample"], id=row_id)
