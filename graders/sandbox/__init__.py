"""The sandbox that runs python graders: one fresh, limited, network-less process per grade,
forked from a warm server that is started once per host process.

    >>> from graders.sandbox import grade, PythonLimits
    >>> grade("def grade(s, i): return 0.5", {}, {}, PythonLimits(timeout=5)).value
    0.5
"""

from graders.sandbox.image import IMAGE_PACKAGES, import_warnings
from graders.sandbox.limits import DEFAULT_LIMITS, PythonLimits
from graders.sandbox.outcome import SandboxResult
from graders.sandbox.pool import Pool, SandboxWarning, agrade, get_pool, grade, isolation_report, shutdown

__all__ = [
    "DEFAULT_LIMITS",
    "IMAGE_PACKAGES",
    "Pool",
    "PythonLimits",
    "SandboxResult",
    "SandboxWarning",
    "agrade",
    "get_pool",
    "grade",
    "import_warnings",
    "isolation_report",
    "shutdown",
]
