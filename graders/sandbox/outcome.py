"""What a grade's report means: a reward, the grader's own error, or the sandbox's failure.

The one place for the rules of SEMANTICS §6 about a python grader's result:

* a finite real number is the reward. ``numbers.Real`` includes ``bool`` (Python's
  ``True`` *is* the integer 1), numpy scalars and ``Fraction``; they are converted
  with ``float()`` [ours: OpenAI's sandbox is Python and nothing says a bool is refused];
* NaN, ±inf, a string (even ``"0.5"``), ``None`` or any other object → runtime error;
* an exception (including ``SystemExit``) → runtime error with the traceback's tail;
* the process exiting before ``grade`` returned → runtime error (the code did that);
* the sandbox failing → server error with a type: ``timeout`` (wall or CPU time),
  ``memory_limit``, ``disk_limit``, ``output_limit``, ``crashed`` (killed by a signal),
  ``start_failed`` [ours for the type strings].
"""

from __future__ import annotations

import math
import signal
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["value", "runtime_error", "server_error"]


@dataclass(frozen=True)
class SandboxResult:
    kind: Kind
    value: float | None = None
    error_type: str | None = None
    details: str = ""
    # The last bytes the grade printed (stdout and stderr interleaved), for debugging.
    output: str = ""
    elapsed: float | None = None

    @classmethod
    def runtime_error(cls, details: str, **extra: Any) -> SandboxResult:
        return cls("runtime_error", details=details, **extra)


def server_error(error_type: str, details: str = "", **extra: Any) -> SandboxResult:
    return SandboxResult("server_error", error_type=error_type, details=details or error_type, **extra)


def interpret(report: dict[str, Any], cpu_limit: float | None = None) -> SandboxResult:
    """The fork server's report for one grade → :class:`SandboxResult`.

    ``cpu_limit`` (seconds) tells a SIGKILL at the CPU-time hard limit from other kills:
    the grade is PID 1 of its PID namespace, and such a process ignores the soft limit's
    SIGXCPU, so the kernel's SIGKILL at the hard limit is how a CPU spin usually ends.
    """
    extra = {"output": str(report.get("output_tail") or ""), "elapsed": report.get("elapsed")}
    outcome = report.get("outcome")
    if outcome == "timeout":
        return server_error("timeout", "the grade ran past its wall-time limit", **extra)
    if outcome == "output_limit":
        return server_error("output_limit", f"the grade printed more than its output limit "
                            f"({report.get('output_bytes')} bytes)", **extra)
    if outcome in ("start_failed", "server_gone"):
        kind = "start_failed" if outcome == "start_failed" else "crashed"
        return server_error(kind, str(report.get("details") or outcome), **extra)
    result = report.get("result")
    if isinstance(result, dict):
        return _from_result(result, report, extra)
    return _from_status(report, extra, cpu_limit)


def _from_result(result: dict[str, Any], report: dict[str, Any], extra: dict[str, Any]) -> SandboxResult:
    kind = result.get("kind")
    if kind == "number":
        value = result.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return SandboxResult("value", value=float(value), **extra)
        return SandboxResult.runtime_error(
            f"grade() returned {value!r} ({result.get('type')}); it must return a finite real number", **extra
        )
    if kind == "not_number":
        return SandboxResult.runtime_error(
            f"grade() returned {result.get('type')} {result.get('repr')}; it must return a finite real number",
            **extra,
        )
    if kind == "exception":
        return SandboxResult.runtime_error(str(result.get("traceback") or "grade() raised"), **extra)
    if kind == "memory_limit":
        return server_error("memory_limit", "the grade ran out of memory (MemoryError at the memory limit)", **extra)
    if kind == "disk_limit":
        return server_error("disk_limit", f"the grade wrote past its disk limit: {result.get('details')}", **extra)
    if kind == "start_failed":
        return server_error("start_failed", str(result.get("details") or "the sandbox could not start"), **extra)
    # Bytes on the result pipe that are not ours: the grade wrote there itself, then died.
    return _from_status(report, extra)


def _from_status(report: dict[str, Any], extra: dict[str, Any], cpu_limit: float | None = None) -> SandboxResult:
    sig = report.get("signal")
    if sig is not None:
        cpu = report.get("cpu")
        at_cpu_limit = sig == signal.SIGKILL and cpu is not None and cpu_limit is not None and cpu >= cpu_limit
        if sig == signal.SIGXCPU or at_cpu_limit:
            return server_error("timeout", "the grade used up its CPU-time limit", **extra)
        if sig == signal.SIGXFSZ:
            return server_error("disk_limit", "the grade wrote past its file-size limit", **extra)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return server_error("crashed", f"the grade process was killed by {name}", **extra)
    code = report.get("exit_code")
    return SandboxResult.runtime_error(
        f"the grader exited the process (status {code}) before grade() returned", **extra
    )
