"""Where the judge is and how it is called: one dataclass, filled from arguments or the environment.

Defaults, and why:

* ``base_url`` / ``api_key``: ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, as every OpenAI
  client reads them. A base URL without a key (a local vLLM or Ollama server) gets a
  placeholder key, because those servers ignore it and the client insists on one.
* ``timeout`` 60 s per request: a judge with reasoning can think for tens of seconds;
  a request that hangs longer is retried rather than stalling a batch.
* ``concurrency`` 16 requests in flight (per event loop): within the default rate
  limits of a new OpenAI account; raise it for a local server.
* ``max_retries`` 4 with exponential backoff from 0.5 s (capped at 30 s), waiting what a
  429/503 ``Retry-After`` asks instead when it is given.
* ``cache`` on, in ``default_cache_dir()``: pre-validating a grader means re-running it
  over the same rows while editing it, and every unchanged request would otherwise be
  paid for again. The key is the full request (base URL, endpoint, model, messages,
  schema, sampling parameters), so any change to the grader, the data or the
  parameters is a miss. A re-run therefore replays the judge's earlier answer exactly,
  which is what reproducibility wants and not what measuring a sampled judge's variance
  wants: switch it off (``cache=False``, ``--no-cache``) for that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-large"
# Local servers (vLLM, Ollama) need some key in the header but never check it.
PLACEHOLDER_KEY = "no-key"


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = 60.0
    concurrency: int = 16
    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    cache: bool = True
    cache_dir: Path | None = None
    embedding_model: str = DEFAULT_EMBEDDING_MODEL

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    @property
    def resolved_base_url(self) -> str:
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip("/")

    @property
    def resolved_api_key(self) -> str | None:
        key = self.api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            return key
        # A self-hosted judge named explicitly: it does not check keys.
        if self.base_url or os.environ.get("OPENAI_BASE_URL"):
            return PLACEHOLDER_KEY
        return None

    @property
    def configured(self) -> bool:
        """True when there is somewhere to send requests (a key, or a base URL of our own)."""
        return self.resolved_api_key is not None
