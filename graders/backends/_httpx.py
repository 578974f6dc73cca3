"""The httpx the installed ``openai`` SDK uses: ``httpx2`` for openai 3.x, ``httpx`` before.

The lean transport must be an instance of the same package's ``AsyncBaseTransport``
that the SDK's client is built on, and the two packages share one API.
"""

try:
    import httpx2 as httpx
except ImportError:  # openai < 3 is built on httpx
    import httpx  # type: ignore[no-redef]

__all__ = ["httpx"]
