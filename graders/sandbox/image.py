"""Parity with OpenAI's python grader image: its packages, and imports it would not have.

A grader that imports a local helper module, or a package that the image lacks,
passes here and fails in the service; ``import_warnings`` catches that statically
(the source is parsed, never run). Warnings only: the list is what OpenAI documents
for the ``2025-05-08`` image plus those packages' own dependencies, and the image
may hold more than it documents.
"""

from __future__ import annotations

import ast
import sys

IMAGE_TAG = "2025-05-08"

# distribution -> version, as documented for the 2025-05-08 image (SEMANTICS §6).
IMAGE_PACKAGES: dict[str, str] = {
    "numpy": "2.2.4",
    "scipy": "1.15.2",
    "sympy": "1.13.3",
    "pandas": "2.2.3",
    "rapidfuzz": "3.10.1",
    "scikit-learn": "1.6.1",
    "rouge-score": "0.1.2",
    "deepdiff": "8.4.2",
    "jsonschema": "4.23.0",
    "pydantic": "2.10.6",
    "pyyaml": "6.0.2",
    "nltk": "3.9.1",
    "sqlparse": "0.5.3",
    "rdkit": "2024.9.6",
    "scikit-bio": "0.6.3",
    "ast-grep-py": "0.36.2",
}

# Top-level import names the documented packages provide.
_DOCUMENTED_MODULES = {
    "numpy", "scipy", "sympy", "pandas", "rapidfuzz", "sklearn", "rouge_score", "deepdiff",
    "jsonschema", "pydantic", "yaml", "nltk", "sqlparse", "rdkit", "skbio", "ast_grep_py",
}
# Their dependencies, which pip installs beside them (so the image has them too).
_DEPENDENCY_MODULES = {
    "mpmath", "dateutil", "pytz", "tzdata", "joblib", "threadpoolctl", "absl", "six", "orderly_set",
    "attrs", "attr", "referencing", "rpds", "jsonschema_specifications", "pydantic_core", "annotated_types",
    "typing_extensions", "typing_inspection", "click", "regex", "tqdm", "PIL", "h5py", "natsort",
    "decorator", "biom", "patsy", "statsmodels", "array_api_compat", "requests", "urllib3", "idna",
    "charset_normalizer", "certifi", "packaging", "pkg_resources", "setuptools",
}
IMAGE_MODULES = frozenset(_DOCUMENTED_MODULES | _DEPENDENCY_MODULES)


def imported_modules(source: str) -> list[tuple[str, int]]:
    """Top-level names of every absolute import in ``source``, with line numbers; [] if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((f".{node.module or ''}", node.lineno))
            elif node.module:
                found.append((node.module.split(".")[0], node.lineno))
    return found


def import_warnings(source: str, image_tag: str | None = None) -> list[str]:
    """One message per import that the ``2025-05-08`` image would not satisfy."""
    warnings: list[str] = []
    seen: set[str] = set()
    tag = image_tag or IMAGE_TAG
    for name, line in imported_modules(source):
        if name in seen:
            continue
        seen.add(name)
        if name.startswith("."):
            warnings.append(f"line {line}: relative import '{name}': a grader is a single file in the sandbox")
        elif name not in sys.stdlib_module_names and name not in IMAGE_MODULES:
            warnings.append(
                f"line {line}: import '{name}' is neither in the standard library nor in the "
                f"{tag} image's packages; the grader will fail there with ModuleNotFoundError"
            )
    return warnings
