"""Only the optional C kernel lives here; everything else is in pyproject.toml.

``optional=True``: when the compiler is missing or fails, ``pip install`` still succeeds
and metrics/ngrams.py uses its exact pure-Python path instead.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("metrics._ngram_kernel", ["metrics/_ngram_kernel.c"], optional=True),
    ]
)
