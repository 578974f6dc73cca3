"""``--report PATH``: a self-contained HTML page (no scripts, no external files) about a batch run.

The summary holds only row numbers for the lowest-scoring and errored rows; their
inputs are read back from the input file in one streaming pass and shown as the
grader saw them: every template of the grader rendered against the row.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from graders.engine import make_sample
from graders.errors import GradingError
from graders.jsonl import decode_line, iter_raw
from graders.models import AnyGrader
from graders.rows import RowError, row_input
from graders.summary import Summary
from graders.template import render, template_fields

RAW_LIMIT = 2000  # characters of a row shown when it cannot be read


def histogram_svg(bins: list[dict[str, Any]], *, width: int = 560, height: int = 180, label: str = "reward") -> str:
    """An inline SVG bar chart of ``[{lo, hi, count}]`` (escaped; safe to embed)."""
    if not bins:
        return '<p class="muted">no rewards</p>'
    top = max(b["count"] for b in bins) or 1
    left, bottom, pad = 40, 34, 14
    plot_w, plot_h = width - left - 10, height - bottom - pad
    bar_w = plot_w / len(bins)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hist" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)} histogram">',
        f'<line x1="{left}" y1="{pad + plot_h}" x2="{left + plot_w}" y2="{pad + plot_h}" stroke="#555"/>',
        f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{pad + plot_h}" stroke="#555"/>',
        f'<text x="{left - 4}" y="{pad + 4}" text-anchor="end" class="tick">{top:,}</text>',
        f'<text x="{left - 4}" y="{pad + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i, b in enumerate(bins):
        h = plot_h * b["count"] / top
        x = left + i * bar_w
        title = f"[{b['lo']:.4g}, {b['hi']:.4g}{']' if i == len(bins) - 1 else ')'}: {b['count']:,} rows"
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{pad + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{h:.1f}"><title>{escape(title)}</title></rect>'
        )
        if b["count"]:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{pad + plot_h - h - 3:.1f}" text-anchor="middle" '
                f'class="count">{b["count"]:,}</text>'
            )
        parts.append(
            f'<text x="{x:.1f}" y="{pad + plot_h + 14}" text-anchor="middle" class="tick">{b["lo"]:.3g}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w:.1f}" y="{pad + plot_h + 14}" text-anchor="middle" class="tick">'
        f'{bins[-1]["hi"]:.3g}</text>'
    )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" class="axis">{escape(label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def rendered_inputs(model: AnyGrader, value: Any, sample_field: str | None) -> list[dict[str, str]]:
    """Every template of the grader rendered against one row: ``[{path, text}]`` or an error."""
    try:
        row = row_input(value, sample_field)
        sample = make_sample(row.model_sample, row.sample)
    except (RowError, GradingError) as exc:
        return [{"path": "(row)", "text": "", "error": str(exc)}]
    namespaces = {"sample": sample, "item": row.item}
    out = []
    for path, text in template_fields(model):
        try:
            out.append({"path": path, "text": render(text, namespaces)})
        except GradingError as exc:
            out.append({"path": path, "text": "", "error": str(exc)})
    return out


def _read_rows(input_path: Path, wanted: set[int]) -> dict[int, tuple[Any, str | None, str]]:
    """Row index → (parsed value, parse error, raw text) for the wanted rows, in one pass."""
    found: dict[int, tuple[Any, str | None, str]] = {}
    if not wanted:
        return found
    last = max(wanted)
    for index, raw in iter_raw(input_path):
        if index > last:
            break
        if index in wanted:
            line = decode_line(index, raw)
            text = raw.decode("utf-8", "replace").rstrip("\n")
            found[index] = (line.value, line.error, text[:RAW_LIMIT] + ("…" if len(text) > RAW_LIMIT else ""))
    return found


def _examples(
    infos: list[dict[str, Any]], rows: dict[int, tuple[Any, str | None, str]], model: AnyGrader, sample_field: str | None
) -> list[dict[str, Any]]:
    out = []
    for info in infos:
        value, error, raw = rows.get(info["row"], (None, "row not found in the input", ""))
        readable = error is None and "unreadable" not in info
        out.append(
            {
                **info,
                "line": info["row"] + 1,
                "flags_text": {k: (v if isinstance(v, str) else "") for k, v in (info.get("flags") or {}).items()},
                "inputs": rendered_inputs(model, value, sample_field) if readable else [],
                "raw": raw,
            }
        )
    return out


def build_context(summary: Summary, model: AnyGrader, input_path: Path, sample_field: str | None) -> dict[str, Any]:
    data = summary.to_json()
    lowest, errored = summary.lowest_rows(), summary.errored_rows()
    rows = _read_rows(input_path, {i["row"] for i in lowest} | {i["row"] for i in errored})
    subs = []
    for key, dist in summary.sub_rewards.items():
        subs.append({"key": key, "stats": dist.to_json(), "svg": histogram_svg(dist.histogram(), width=360, height=140, label=key)})
    return {
        "summary": data,
        "input": str(input_path),
        "reward_svg": histogram_svg(summary.reward.histogram()),
        "subs": subs,
        "lowest": _examples(lowest, rows, model, sample_field),
        "errored": _examples(errored, rows, model, sample_field),
        "grader_json": json.dumps(model.to_json() if hasattr(model, "to_json") else model.model_dump(), indent=2),
    }


def render_report(summary: Summary, model: AnyGrader, input_path: str | Path, *, sample_field: str | None = None) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=PackageLoader("graders", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = lambda x: "–" if x is None else (f"{x:.4g}" if isinstance(x, float) else f"{x:,}")
    env.filters["pct"] = lambda x: "–" if x is None else f"{x:.1%}"
    context = build_context(summary, model, Path(input_path), sample_field)
    context["reward_svg"] = Markup(context["reward_svg"])  # built from escaped parts above
    for sub in context["subs"]:
        sub["svg"] = Markup(sub["svg"])
    return env.get_template("report.html.j2").render(**context)


def write_report(
    summary: Summary, model: AnyGrader, input_path: str | Path, path: str | Path, *, sample_field: str | None = None
) -> None:
    Path(path).write_text(render_report(summary, model, input_path, sample_field=sample_field), encoding="utf-8")
