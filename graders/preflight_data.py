"""Preflight of the JSONL files: row format per method, duplicates, overlap, grader references.

One streaming pass per file; what is kept is a 16-byte hash of each row (with its
line number, to say "same as line N") and counters, never the rows, so a large
training file costs memory per row of a few dozen bytes.

Row formats (fine-tuning guide):

* chat (supervised): ``{"messages": [...], "tools"?, "parallel_tool_calls"?}``
  with at least one assistant message to learn from;
* completions (babbage-002, davinci-002): ``{"prompt": str, "completion": str}``;
* preference (dpo): ``{"input": {"messages": [...]}, "preferred_output": [assistant
  messages], "non_preferred_output": [assistant messages]}``;
* reinforcement: ``{"messages": [...], ...any other fields}``; the other fields are
  the ``item`` the grader reads. Input messages hold text or images only.

Duplicates are rows whose canonical JSON (sorted keys, compact) is identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from graders.jsonl import iter_objects
from graders.preflight_findings import Findings, Severity, list_rows
from graders.preflight_refs import ItemRef

CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MIN_EXAMPLES = 10  # supervised and dpo need at least 10 training examples [doc: fine-tuning guide]
UNSUPPORTED_RFT_CONTENT = frozenset({"input_audio", "file"})  # "text or image content only" [doc]


def row_hash(row: Any) -> bytes:
    """A stable hash of the row's canonical JSON (key order and spacing do not matter).

    orjson with sorted keys for speed; json for what orjson refuses (integers beyond
    64 bits). Hashes are only compared within one run, so the two never need to agree.
    """
    try:
        canonical = orjson.dumps(row, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.blake2b(canonical, digest_size=16).digest()


@dataclass
class RefMisses:
    ref: ItemRef
    count: int = 0
    lines: list[int] = field(default_factory=list)


@dataclass
class FileScan:
    role: str  # "training" or "validation"
    path: str
    lines: int = 0
    rows: int = 0  # lines that parsed as JSON objects
    well_formed: int = 0  # rows in the method's format
    unreadable: int = 0
    duplicates: int = 0
    in_both: int = 0
    hashes: dict[bytes, int] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "path": self.path,
            "lines": self.lines,
            "rows": self.rows,
            "well_formed": self.well_formed,
            "unreadable": self.unreadable,
            "duplicates": self.duplicates,
            "in_both": self.in_both,
        }


def scan_file(
    path: str,
    role: str,
    row_format: str,
    refs: list[ItemRef],
    findings: Findings,
    *,
    training: FileScan | None = None,
) -> FileScan:
    """Check every line of ``path``; ``training`` (the scanned training file) enables the overlap check."""
    scan = FileScan(role, path)
    check_row = ROW_CHECKS[row_format]
    misses = [RefMisses(ref) for ref in refs]
    try:
        lines = iter_objects(path)
        for line in lines:
            scan.lines += 1
            if line.error is not None:
                scan.unreadable += 1
                findings.at_line("error", path, line.number, "data.unreadable", f"unreadable line: {line.error}")
                continue
            row = line.value
            scan.rows += 1
            problems = check_row(row)
            if problems:  # one finding per row, the worst severity first
                severity: Severity = "error" if any(s == "error" for s, _ in problems) else "warning"
                message = "; ".join(m for _, m in sorted(problems, key=lambda p: p[0] != "error"))
                findings.at_line(severity, path, line.number, f"data.format.{row_format}", message)
            if not any(severity == "error" for severity, _ in problems):
                scan.well_formed += 1
            digest = row_hash(row)
            first = scan.hashes.get(digest)
            if first is not None:
                scan.duplicates += 1
                findings.at_line("warning", path, line.number, "data.duplicate", f"same row as line {first}")
            else:
                scan.hashes[digest] = line.number
            if training is not None:
                other = training.hashes.get(digest)
                if other is not None:
                    scan.in_both += 1
                    findings.at_line(
                        "error",
                        path,
                        line.number,
                        "data.in_both",
                        f"row is also in the training file ({training.path}:{other}); "
                        "the same data should not be in both files",
                    )
            for miss in misses:
                if not miss.ref.resolves(row):
                    miss.count += 1
                    if len(miss.lines) < 10:
                        miss.lines.append(line.number)
    except OSError as exc:
        findings.error(path, "data.unreadable", f"cannot read the {role} file: {exc.strerror or exc}")
        return scan
    _report_misses(misses, scan, findings)
    _report_counts(scan, row_format, findings)
    return scan


def _report_misses(misses: list[RefMisses], scan: FileScan, findings: Findings) -> None:
    for miss in misses:
        if not miss.count:
            continue
        what = f"{miss.ref.text} does not resolve in {miss.count} of {scan.rows} rows of {scan.path}: " + list_rows(
            miss.lines, miss.count
        )
        if miss.ref.required:
            findings.error(miss.ref.where, "grader.item_reference", what + " (those rows would get reward 0 with an error)")
        elif miss.count == scan.rows:
            # An optional read (.get, or guarded by `in`) handles absence; absent from every row, it is likely a typo.
            findings.warning(miss.ref.where, "grader.item_reference", what + " (read as optional, but never present: a typo?)")


def _report_counts(scan: FileScan, row_format: str, findings: Findings) -> None:
    if scan.rows == 0:
        findings.error(scan.path, "data.empty", f"the {scan.role} file has no rows")
    elif scan.role == "training" and row_format != "reinforcement" and scan.rows < MIN_EXAMPLES:
        findings.error(scan.path, "data.too_few", f"{scan.rows} rows; fine-tuning needs at least {MIN_EXAMPLES} examples")


# ---------------------------------------------------------------- row formats

Problems = list[tuple[str, str]]  # (severity, message)


def _message_problems(messages: Any, where: str, *, rft: bool = False) -> Problems:
    if not isinstance(messages, list):
        return [("error", f"'{where}' must be a list of messages, got {_kind(messages)}")]
    if not messages:
        return [("error", f"'{where}' is empty")]
    problems: Problems = []
    for i, message in enumerate(messages):
        at = f"{where}[{i}]"
        if not isinstance(message, dict):
            problems.append(("error", f"{at} must be an object with role and content, got {_kind(message)}"))
            continue
        role = message.get("role")
        if role not in CHAT_ROLES:
            problems.append(("error", f"{at}.role must be one of {', '.join(sorted(CHAT_ROLES))}, got {role!r}"))
        content = message.get("content")
        if content is None:
            if not (role == "assistant" and (message.get("tool_calls") or message.get("function_call"))):
                problems.append(("error", f"{at} has no content"))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind is None:
                    problems.append(("error", f"{at}.content[{j}] must be a content part with a type"))
                elif rft and kind in UNSUPPORTED_RFT_CONTENT:
                    problems.append(("error", f"{at}.content[{j}]: {kind} is not supported in fine-tuning input (text or images only)"))
        elif not isinstance(content, str):
            problems.append(("error", f"{at}.content must be a string or a list of content parts, got {_kind(content)}"))
    return problems


def check_chat_row(row: dict[str, Any]) -> Problems:
    if "messages" not in row:
        return [("error", "row has no 'messages' (chat format: {\"messages\": [...]})")]
    problems = _message_problems(row["messages"], "messages")
    if not problems and not any(m.get("role") == "assistant" for m in row["messages"]):
        problems.append(("error", "no assistant message: nothing for supervised fine-tuning to learn"))
    return problems


def check_completions_row(row: dict[str, Any]) -> Problems:
    problems: Problems = []
    for key in ("prompt", "completion"):
        if not isinstance(row.get(key), str):
            problems.append(("error", f"row needs a string '{key}' (completions format: prompt/completion)"))
    return problems


def check_preference_row(row: dict[str, Any]) -> Problems:
    problems: Problems = []
    source = row.get("input")
    if not isinstance(source, dict) or "messages" not in source:
        problems.append(("error", "row has no 'input.messages' (preference format: input, preferred_output, non_preferred_output)"))
    else:
        problems.extend(_message_problems(source["messages"], "input.messages"))
    for key in ("preferred_output", "non_preferred_output"):
        if key not in row:
            problems.append(("error", f"row has no '{key}' (preference format)"))
            continue
        found = _message_problems(row[key], key)
        problems.extend(found)
        if not found and any(m.get("role") != "assistant" for m in row[key]):
            problems.append(("error", f"{key} must hold assistant messages"))
    if not problems and row["preferred_output"] == row["non_preferred_output"]:
        problems.append(("warning", "preferred_output equals non_preferred_output: no preference to learn"))
    return problems


def check_reinforcement_row(row: dict[str, Any]) -> Problems:
    if "messages" not in row:
        return [("error", "row has no 'messages' (the prompt the model answers)")]
    problems = _message_problems(row["messages"], "messages", rft=True)
    if not problems and row["messages"][-1].get("role") == "assistant":
        problems.append(("warning", "the last message is an assistant message; the model answers the prompt, so it usually ends with a user or developer message"))
    return problems


ROW_CHECKS: dict[str, Callable[[dict[str, Any]], Problems]] = {
    "chat": check_chat_row,
    "completions": check_completions_row,
    "preference": check_preference_row,
    "reinforcement": check_reinforcement_row,
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "an array", dict: "an object", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
