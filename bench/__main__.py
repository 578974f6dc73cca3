"""``python -m bench``: run every benchmark module in bench/ (each writes its results.md section)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SKIP = {"__init__", "__main__", "report"}


def main() -> int:
    names = sorted(p.stem for p in Path(__file__).parent.glob("*.py") if p.stem not in SKIP)
    if len(sys.argv) > 1:
        names = [n for n in names if n in sys.argv[1:]]
    failed = 0
    for name in names:
        print(f"== bench.{name}", flush=True)
        failed |= subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
