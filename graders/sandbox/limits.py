"""Resource limits of one sandboxed grade. Defaults are OpenAI's (SEMANTICS §6)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class PythonLimits:
    """Limits applied to every grade; ``None`` in :class:`RunOptions` means these defaults.

    ``timeout``: wall-clock seconds for the whole grade (module body + ``grade()``).
    ``memory_mb``: address-space limit (RLIMIT_AS) of each sandbox process.
    ``disk_mb``: total bytes the grade may write; its private directory is a tmpfs of this
    size where the kernel allows one (plus RLIMIT_FSIZE per file everywhere).
    ``cpu_seconds``: CPU time (RLIMIT_CPU); ``None`` = 2 × timeout, OpenAI's 2 CPUs.
    ``max_processes``: processes + threads the grade may run at once (RLIMIT_NPROC).
    ``max_output_bytes``: stdout + stderr the grade may print before it is stopped.
    """

    timeout: float = 120.0
    memory_mb: int = 2048
    disk_mb: int = 1024
    cpu_seconds: float | None = None
    max_processes: int = 64
    max_output_bytes: int = 1 << 20
    max_open_files: int = 256

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError("timeout must be > 0 seconds")
        for name in ("memory_mb", "disk_mb", "max_processes", "max_output_bytes", "max_open_files"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.cpu_seconds is not None and not self.cpu_seconds > 0:
            raise ValueError("cpu_seconds must be > 0")

    @property
    def effective_cpu_seconds(self) -> float:
        return self.cpu_seconds if self.cpu_seconds is not None else 2.0 * self.timeout

    def with_(self, **changes: Any) -> PythonLimits:
        """A copy with the given fields changed; ``None`` values are ignored (CLI flags not given)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_wire(self) -> dict[str, Any]:
        """What the fork server needs, in plain units."""
        wire = asdict(self)
        wire["cpu_seconds"] = self.effective_cpu_seconds
        return wire


DEFAULT_LIMITS = PythonLimits()
