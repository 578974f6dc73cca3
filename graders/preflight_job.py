"""Preflight of the job body: a fine-tuning job create request or a ``fine_tuning.job`` object.

The rules follow the create-job reference (field types, ``suffix`` ≤ 64 characters,
``metadata`` ≤ 16 pairs with keys ≤ 64 and values ≤ 512 characters, ``integrations``
of type ``wandb`` with a project, ``method.type`` with only the matching sub-object,
hyperparameters ``"auto"`` or a number, reinforcement ``reasoning_effort`` values).

[ours] where the reference is silent, kept here in one place:

* hyperparameter ranges: a non-number, a non-integer count or a value ≤ 0 is an
  error; a value above :data:`HYPERPARAMETERS`' soft maximum is a warning;
* the models this tool knows per method (:data:`KNOWN_MODELS`); any other name is a
  warning, never an error, because the service adds models faster than this list;
* a ``fine_tuning.job`` object (the retrieve endpoint's answer) is checked for its
  method, grader and hyperparameters only: fields the service adds are not refused
  there, and its top-level ``hyperparameters`` is the service's echo, not a conflict.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from graders.errors import GraderInvalid
from graders.models import AnyGrader
from graders.preflight_findings import Findings, join_path
from graders.validation import parse_grader, semantic_problems

METHODS = ("supervised", "dpo", "reinforcement")

CREATE_FIELDS = frozenset(
    {"model", "training_file", "hyperparameters", "suffix", "validation_file", "integrations", "seed", "method", "metadata"}
)
METHOD_FIELDS = {
    "supervised": frozenset({"hyperparameters"}),
    "dpo": frozenset({"hyperparameters"}),
    # response_format appears in the job object of a reinforcement job (seed: job create response).
    "reinforcement": frozenset({"grader", "hyperparameters", "response_format"}),
}

# name -> (integer?, soft maximum or None). [ours]: see the module docstring.
HYPERPARAMETERS: dict[str, tuple[bool, float | None]] = {
    "batch_size": (True, 256),
    "n_epochs": (True, 50),
    "learning_rate_multiplier": (False, 10),
    "beta": (False, 2),
    "compute_multiplier": (False, 10),
    "eval_interval": (True, None),
    "eval_samples": (True, None),
}
COMMON_HYPERPARAMETERS = ("batch_size", "learning_rate_multiplier", "n_epochs")
METHOD_HYPERPARAMETERS = {
    "supervised": COMMON_HYPERPARAMETERS,
    "dpo": (*COMMON_HYPERPARAMETERS, "beta"),
    "reinforcement": (*COMMON_HYPERPARAMETERS, "compute_multiplier", "eval_interval", "eval_samples", "reasoning_effort"),
}
RFT_REASONING_EFFORT = ("default", "low", "medium", "high")  # [doc] FineTuneReinforcementHyperparameters

# [ours] base models per method; dated snapshots (``-2024-07-18``, ``-0125``) and ``ft:`` models of
# these count too.
KNOWN_MODELS: dict[str, tuple[str, ...]] = {
    "supervised": (
        "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini",
        "gpt-3.5-turbo", "babbage-002", "davinci-002",
    ),
    "dpo": ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini"),
    "reinforcement": ("o4-mini",),
}
COMPLETIONS_FORMAT_MODELS = ("babbage-002", "davinci-002")  # prompt/completion rows, not chat
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")

SUFFIX_MAX = 64
METADATA_MAX_PAIRS, METADATA_KEY_MAX, METADATA_VALUE_MAX = 16, 64, 512
INTEGRATIONS_MAX = 5
JSON_RESPONSE_FORMATS = ("json_object", "json_schema")


@dataclass
class JobInfo:
    """What the file and grader checks need to know about the job."""

    kind: str  # "create" (a request body) or "job" (a fine_tuning.job object)
    method: str | None = None
    model: str | None = None
    grader: AnyGrader | None = None
    grader_path: str = "method.reinforcement.grader"
    json_output: bool = False  # a JSON response format: sample.output_json is filled
    training_file: str | None = None
    validation_file: str | None = None

    @property
    def row_format(self) -> str:
        """``chat``, ``completions``, ``preference`` or ``reinforcement`` rows."""
        if self.method == "dpo":
            return "preference"
        if self.method == "reinforcement":
            return "reinforcement"
        if self.model and base_model(self.model) in COMPLETIONS_FORMAT_MODELS:
            return "completions"
        return "chat"


def check_job(body: Any, findings: Findings) -> JobInfo:
    if not isinstance(body, dict):
        findings.error("", "job.body", f"the job must be a JSON object, got {_kind(body)}")
        return JobInfo(kind="create")
    is_job = body.get("object") == "fine_tuning.job"
    info = JobInfo(kind="job" if is_job else "create")
    if not is_job:
        for key in body:
            if key not in CREATE_FIELDS:
                findings.error(key, "job.unknown_field", "unknown parameter; the create endpoint refuses it")
    _check_files(body, info, findings)
    _check_optional_fields(body, findings)
    method = _check_method(body, info, findings)
    info.method = method
    _check_model(body, info, findings)
    top = body.get("hyperparameters")
    if top is not None and not is_job:
        if "method" in body and body["method"] is not None:
            findings.error(
                "hyperparameters",
                "job.hyperparameters_deprecated",
                "the deprecated top-level hyperparameters is given together with method; "
                f"put them in method.{method or '<type>'}.hyperparameters",
            )
        else:
            findings.warning(
                "hyperparameters",
                "job.hyperparameters_deprecated",
                "top-level hyperparameters is deprecated; use method.<type>.hyperparameters",
            )
        _check_hyperparameters(top, "hyperparameters", COMMON_HYPERPARAMETERS, findings)
    return info


def _check_files(body: dict[str, Any], info: JobInfo, findings: Findings) -> None:
    training = body.get("training_file")
    if training is None:
        findings.error("training_file", "job.training_file", "field required (the ID of an uploaded file)")
    elif not isinstance(training, str) or not training:
        findings.error("training_file", "job.training_file", f"must be a file ID string, got {_kind(training)}")
    else:
        info.training_file = training
        _check_file_id(training, "training_file", info, findings)
    validation = body.get("validation_file")
    if validation is not None:
        if not isinstance(validation, str) or not validation:
            findings.error("validation_file", "job.validation_file", f"must be a file ID string or null, got {_kind(validation)}")
        else:
            info.validation_file = validation
            _check_file_id(validation, "validation_file", info, findings)
            if validation == training:
                findings.error(
                    "validation_file",
                    "job.same_file",
                    "the validation file is the training file; the same data should not be in both",
                )


def _check_file_id(value: str, where: str, info: JobInfo, findings: Findings) -> None:
    if info.kind == "create" and not value.startswith("file-"):
        findings.warning(
            where,
            "job.file_id",
            f"{value!r} does not look like an uploaded file ID (file-...); upload the JSONL first "
            "and give its ID here (the local file goes to --training-file / --validation-file)",
        )


def _check_optional_fields(body: dict[str, Any], findings: Findings) -> None:
    suffix = body.get("suffix")
    if suffix is not None:
        if not isinstance(suffix, str):
            findings.error("suffix", "job.suffix", f"must be a string or null, got {_kind(suffix)}")
        elif len(suffix) > SUFFIX_MAX:
            findings.error("suffix", "job.suffix", f"{len(suffix)} characters; at most {SUFFIX_MAX}")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        findings.error("seed", "job.seed", f"must be an integer or null, got {_kind(seed)}")
    _check_metadata(body.get("metadata"), findings)
    _check_integrations(body.get("integrations"), findings)


def _check_metadata(metadata: Any, findings: Findings) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        findings.error("metadata", "job.metadata", f"must be an object or null, got {_kind(metadata)}")
        return
    if len(metadata) > METADATA_MAX_PAIRS:
        findings.error("metadata", "job.metadata", f"{len(metadata)} pairs; at most {METADATA_MAX_PAIRS}")
    for key, value in metadata.items():
        where = join_path("metadata", key)
        if len(key) > METADATA_KEY_MAX:
            findings.error(where, "job.metadata", f"key is {len(key)} characters; at most {METADATA_KEY_MAX}")
        if not isinstance(value, str):
            findings.error(where, "job.metadata", f"values must be strings, got {_kind(value)}")
        elif len(value) > METADATA_VALUE_MAX:
            findings.error(where, "job.metadata", f"value is {len(value)} characters; at most {METADATA_VALUE_MAX}")


def _check_integrations(integrations: Any, findings: Findings) -> None:
    if integrations is None:
        return
    if not isinstance(integrations, list):
        findings.error("integrations", "job.integrations", f"must be an array or null, got {_kind(integrations)}")
        return
    if len(integrations) > INTEGRATIONS_MAX:
        findings.error("integrations", "job.integrations", f"{len(integrations)} integrations; at most {INTEGRATIONS_MAX}")
    for i, integration in enumerate(integrations):
        where = f"integrations[{i}]"
        if not isinstance(integration, dict):
            findings.error(where, "job.integrations", f"must be an object, got {_kind(integration)}")
            continue
        if integration.get("type") != "wandb":
            findings.error(f"{where}.type", "job.integrations", f"type must be 'wandb', got {integration.get('type')!r}")
        wandb = integration.get("wandb")
        if not isinstance(wandb, dict):
            findings.error(f"{where}.wandb", "job.integrations", "a wandb object with a project is required")
            continue
        project = wandb.get("project")
        if not isinstance(project, str) or not project:
            findings.error(f"{where}.wandb.project", "job.integrations", "a non-empty project name is required")
        for key in ("name", "entity"):
            if wandb.get(key) is not None and not isinstance(wandb[key], str):
                findings.error(f"{where}.wandb.{key}", "job.integrations", f"must be a string or null, got {_kind(wandb[key])}")
        tags = wandb.get("tags")
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            findings.error(f"{where}.wandb.tags", "job.integrations", "must be an array of strings")


def _check_method(body: dict[str, Any], info: JobInfo, findings: Findings) -> str | None:
    method = body.get("method")
    if method is None:
        return "supervised"  # the create endpoint's default when method is absent
    if not isinstance(method, dict):
        findings.error("method", "job.method", f"must be an object, got {_kind(method)}")
        return None
    kind = method.get("type")
    if not isinstance(kind, str) or kind not in METHODS:
        findings.error("method.type", "job.method", f"must be one of {', '.join(METHODS)}, got {kind!r}")
        return None
    for key, value in method.items():
        if key == "type" or value is None:
            continue
        if key in METHODS and key != kind:
            findings.error(f"method.{key}", "job.method", f"method.type is {kind!r}: only method.{kind} may be given")
        elif key not in METHODS and info.kind == "create":
            findings.error(f"method.{key}", "job.unknown_field", "unknown parameter; the create endpoint refuses it")
    config = method.get(kind)
    where = f"method.{kind}"
    if config is None:
        if kind == "reinforcement":
            findings.error(where, "job.method", "a reinforcement job needs method.reinforcement with a grader")
        return kind
    if not isinstance(config, dict):
        findings.error(where, "job.method", f"must be an object, got {_kind(config)}")
        return kind
    if info.kind == "create":
        for key in config:
            if key not in METHOD_FIELDS[kind]:
                findings.error(join_path(where, key), "job.unknown_field", "unknown parameter; the create endpoint refuses it")
    hyper = config.get("hyperparameters")
    if hyper is not None:
        _check_hyperparameters(hyper, f"{where}.hyperparameters", METHOD_HYPERPARAMETERS[kind], findings)
    if kind == "reinforcement":
        info.json_output = _check_response_format(config.get("response_format"), f"{where}.response_format", findings)
        _check_grader(config, info, findings)
    return kind


def _check_hyperparameters(hyper: Any, where: str, allowed: tuple[str, ...], findings: Findings) -> None:
    if not isinstance(hyper, dict):
        findings.error(where, "job.hyperparameters", f"must be an object, got {_kind(hyper)}")
        return
    for key, value in hyper.items():
        path = join_path(where, key)
        if key not in allowed:
            findings.error(path, "job.hyperparameters", f"unknown hyperparameter here; allowed: {', '.join(allowed)}")
            continue
        if key == "reasoning_effort":
            if value not in RFT_REASONING_EFFORT:
                findings.error(path, "job.reasoning_effort", f"must be one of {', '.join(RFT_REASONING_EFFORT)}, got {value!r}")
            continue
        if value == "auto" or value is None:
            continue
        integer, soft_max = HYPERPARAMETERS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            findings.error(path, "job.hyperparameters", f"must be \"auto\" or a number, got {value!r}")
        elif integer and not float(value).is_integer():
            findings.error(path, "job.hyperparameters", f"must be a whole number, got {value!r}")
        elif value <= 0:
            findings.error(path, "job.hyperparameters", f"must be greater than 0, got {value!r}")
        elif soft_max is not None and value > soft_max:
            findings.warning(path, "job.hyperparameters", f"{value!r} is unusually large (above {soft_max:g}); check it")


def _check_response_format(value: Any, where: str, findings: Findings) -> bool:
    """True when the job asks the model for JSON (so ``sample.output_json`` is filled)."""
    if value is None:
        return False
    if not isinstance(value, dict):
        findings.error(where, "job.response_format", f"must be an object or null, got {_kind(value)}")
        return False
    kind = value.get("type")
    if kind not in ("text", *JSON_RESPONSE_FORMATS):
        findings.error(f"{where}.type", "job.response_format", f"must be text, json_object or json_schema, got {kind!r}")
        return False
    if kind == "json_schema":
        schema = value.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str):
            findings.error(f"{where}.json_schema", "job.response_format", "json_schema needs an object with a name and a schema")
    return kind in JSON_RESPONSE_FORMATS


def _check_grader(config: dict[str, Any], info: JobInfo, findings: Findings) -> None:
    where = info.grader_path
    raw = config.get("grader")
    if raw is None:
        findings.error(where, "grader.required", "a reinforcement job needs a grader")
        return
    try:
        model = parse_grader(raw)
    except GraderInvalid as exc:
        for problem in exc.problems:
            findings.error(_sub(where, problem.path), "grader.schema", problem.message)
        return
    problems = semantic_problems(model)
    for problem in problems:
        findings.error(_sub(where, problem.path), "grader.invalid", problem.message)
    if not problems:
        info.grader = model


def _sub(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def base_model(model: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org::id`` → ``gpt-4o-mini``; ``gpt-3.5-turbo-0125`` → ``gpt-3.5-turbo``."""
    if model.startswith("ft:"):
        model = model.split(":")[1] if model.count(":") >= 1 else model
    return _SNAPSHOT.sub("", model)


def _check_model(body: dict[str, Any], info: JobInfo, findings: Findings) -> None:
    model = body.get("model")
    if model is None:
        findings.error("model", "job.model", "field required (the base model to fine-tune)")
        return
    if not isinstance(model, str) or not model:
        findings.error("model", "job.model", f"must be a model name, got {_kind(model)}")
        return
    info.model = model
    if info.method is None:
        return
    base = base_model(model)
    if base in KNOWN_MODELS[info.method]:
        return
    other = [m for m, names in KNOWN_MODELS.items() if base in names]
    if other:
        findings.warning(
            "model",
            "job.model",
            f"{model!r} is known for {', '.join(other)} fine-tuning, not {info.method}; "
            f"known for {info.method}: {', '.join(KNOWN_MODELS[info.method])}",
        )
    else:
        findings.warning("model", "job.model", f"{model!r} is not a model this tool knows; check the name")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__
