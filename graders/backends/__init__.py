"""OpenAI-compatible backends: the judge (Chat Completions + Embeddings) and remote ``/graders/run``.

    >>> from graders.backends import Judge
    >>> judge = Judge(base_url="http://127.0.0.1:8000/v1", api_key="none", concurrency=32)
    >>> options = graders.RunOptions(judge=judge)          # doctest: +SKIP

Everything here is transport: requests go out as JSON and come back as JSON dicts.
What a grader asks and how its answer is read live in ``graders.model_graders``.
"""

from graders.backends.cache import ResponseCache, default_cache_dir
from graders.backends.config import JudgeConfig
from graders.backends.judge import Judge, default_judge
from graders.backends.remote import RemoteRunner
from graders.backends.transport import JudgeRequestError, RetryPolicy

__all__ = [
    "Judge",
    "JudgeConfig",
    "JudgeRequestError",
    "RemoteRunner",
    "ResponseCache",
    "RetryPolicy",
    "default_cache_dir",
    "default_judge",
]
