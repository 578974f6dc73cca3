"""Preflight of the job body: one minimal failing body per rule (graders/preflight_job.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from graders.preflight import preflight_body
from graders.preflight_findings import Finding
from tests.conftest import exact_grader

GRADER = exact_grader()
RFT = {
    "model": "o4-mini",
    "training_file": "file-abc",
    "method": {"type": "reinforcement", "reinforcement": {"grader": GRADER}},
}
SFT = {"model": "gpt-4o-mini", "training_file": "file-abc", "method": {"type": "supervised"}}


def findings(body: Any) -> list[Finding]:
    return preflight_body(body).findings


def only(body: Any, severity: str) -> list[tuple[str, str]]:
    return [(f.where, f.rule) for f in findings(body) if f.severity == severity]


def with_(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return body


def test_minimal_bodies_pass() -> None:
    assert findings(RFT) == []
    assert findings(SFT) == []
    assert findings({"model": "gpt-4o-mini", "training_file": "file-abc"}) == []  # method defaults to supervised


def test_body_must_be_an_object() -> None:
    assert only([RFT], "error") == [("", "job.body")]


@pytest.mark.parametrize("field", ["model", "training_file"])
def test_required_fields(field: str) -> None:
    body = copy.deepcopy(RFT)
    del body[field]
    assert (field, f"job.{field}") in only(body, "error")


def test_unknown_top_level_field_is_refused() -> None:
    assert only(with_(SFT, "learning_rate", 0.1), "error") == [("learning_rate", "job.unknown_field")]


def test_method_type_must_be_known() -> None:
    assert only(with_(SFT, "method.type", "rlhf"), "error") == [("method.type", "job.method")]


def test_only_the_matching_method_sub_object() -> None:
    body = with_(SFT, "method.dpo", {"hyperparameters": {"beta": 0.1}})
    assert only(body, "error") == [("method.dpo", "job.method")]


def test_reinforcement_needs_its_sub_object_and_a_grader() -> None:
    assert only({**RFT, "method": {"type": "reinforcement"}}, "error") == [("method.reinforcement", "job.method")]
    body = with_(RFT, "method.reinforcement", {"hyperparameters": {}})
    assert only(body, "error") == [("method.reinforcement.grader", "grader.required")]


def test_unknown_field_inside_the_method() -> None:
    body = with_(RFT, "method.reinforcement.temperature", 1)
    assert only(body, "error") == [("method.reinforcement.temperature", "job.unknown_field")]


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("auto", None),
        (8, None),
        (0, "error"),  # must be > 0
        (-1, "error"),
        (2.5, "error"),  # a count must be whole
        ("8", "error"),  # a string other than "auto"
        (True, "error"),  # a boolean is not a number
        (1000, "warning"),  # above the soft maximum of 256
    ],
)
def test_batch_size_values(value: Any, severity: str | None) -> None:
    body = with_(SFT, "method.supervised", {"hyperparameters": {"batch_size": value}})
    expected = [] if severity is None else [(severity, "method.supervised.hyperparameters.batch_size")]
    assert [(f.severity, f.where) for f in findings(body)] == expected


@pytest.mark.parametrize(
    ("name", "value", "severity"),
    [
        ("learning_rate_multiplier", 0.05, None),
        ("learning_rate_multiplier", 0, "error"),
        ("learning_rate_multiplier", 50, "warning"),
        ("n_epochs", 3, None),
        ("n_epochs", 100, "warning"),
        ("n_epochs", 1.5, "error"),
        ("compute_multiplier", 1.5, None),
        ("eval_interval", 0, "error"),
        ("eval_samples", 4, None),
        ("reasoning_effort", "medium", None),
        ("reasoning_effort", "default", None),
        ("reasoning_effort", "xhigh", "error"),  # grader sampling value, not a job value
        ("beta", 0.1, "error"),  # a dpo hyperparameter, not a reinforcement one
    ],
)
def test_reinforcement_hyperparameters(name: str, value: Any, severity: str | None) -> None:
    body = with_(RFT, "method.reinforcement.hyperparameters", {name: value})
    got = [(f.severity, f.where) for f in findings(body)]
    assert got == ([] if severity is None else [(severity, f"method.reinforcement.hyperparameters.{name}")])


def test_dpo_beta() -> None:
    dpo = {"model": "gpt-4o-mini", "training_file": "file-abc", "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}}
    assert findings(dpo) == []
    assert only(with_(dpo, "method.dpo.hyperparameters.beta", -0.1), "error") == [
        ("method.dpo.hyperparameters.beta", "job.hyperparameters")
    ]


def test_suffix_at_most_64_characters() -> None:
    assert findings(with_(SFT, "suffix", "x" * 64)) == []
    assert only(with_(SFT, "suffix", "x" * 65), "error") == [("suffix", "job.suffix")]
    assert only(with_(SFT, "suffix", 7), "error") == [("suffix", "job.suffix")]


def test_metadata_limits() -> None:
    assert findings(with_(SFT, "metadata", {f"k{i}": "v" for i in range(16)})) == []
    assert only(with_(SFT, "metadata", {f"k{i}": "v" for i in range(17)}), "error") == [("metadata", "job.metadata")]
    assert only(with_(SFT, "metadata", {"k" * 65: "v"}), "error") == [("metadata." + "k" * 65, "job.metadata")]
    assert only(with_(SFT, "metadata", {"k": "v" * 513}), "error") == [("metadata.k", "job.metadata")]
    assert only(with_(SFT, "metadata", {"k": 1}), "error") == [("metadata.k", "job.metadata")]
    assert only(with_(SFT, "metadata", {"a b": 1}), "error") == [('metadata["a b"]', "job.metadata")]


def test_integrations() -> None:
    wandb = {"type": "wandb", "wandb": {"project": "p", "tags": ["t"]}}
    assert findings(with_(SFT, "integrations", [wandb])) == []
    assert only(with_(SFT, "integrations", [wandb] * 6), "error") == [("integrations", "job.integrations")]
    assert only(with_(SFT, "integrations", [{"type": "wandb", "wandb": {}}]), "error") == [
        ("integrations[0].wandb.project", "job.integrations")
    ]
    assert only(with_(SFT, "integrations", [{**wandb, "type": "mlflow"}]), "error") == [
        ("integrations[0].type", "job.integrations")
    ]


def test_seed_must_be_an_integer() -> None:
    assert only(with_(SFT, "seed", "42"), "error") == [("seed", "job.seed")]


def test_deprecated_hyperparameters_with_method_is_an_error() -> None:
    body = with_(SFT, "hyperparameters", {"n_epochs": 3})
    assert only(body, "error") == [("hyperparameters", "job.hyperparameters_deprecated")]
    legacy = {"model": "gpt-4o-mini", "training_file": "file-abc", "hyperparameters": {"n_epochs": 3}}
    assert only(legacy, "warning") == [("hyperparameters", "job.hyperparameters_deprecated")]
    assert only(legacy, "error") == []


def test_unknown_model_is_a_warning() -> None:
    assert only(with_(RFT, "model", "o4-mini-2025-04-16"), "warning") == []
    assert only(with_(RFT, "model", "my-model"), "warning") == [("model", "job.model")]
    # gpt-4o-mini is in the seed's enum (supervised) but not a reinforcement model.
    assert only(with_(RFT, "model", "gpt-4o-mini"), "warning") == [("model", "job.model")]
    assert only(with_(SFT, "model", "ft:gpt-4o-mini-2024-07-18:org::abc123"), "warning") == []
    assert only(with_(SFT, "model", "gpt-3.5-turbo-0125"), "warning") == []


def test_file_ids() -> None:
    assert only(with_(SFT, "training_file", "train.jsonl"), "warning") == [("training_file", "job.file_id")]
    assert only(with_(SFT, "validation_file", "file-abc"), "error") == [("validation_file", "job.same_file")]
    assert only(with_(SFT, "validation_file", 3), "error") == [("validation_file", "job.validation_file")]


def test_grader_schema_and_semantic_problems_are_located() -> None:
    body = with_(RFT, "method.reinforcement.grader.operation", "regex")
    assert only(body, "error") == [("method.reinforcement.grader.operation", "grader.schema")]
    multi = {"type": "multi", "name": "m", "graders": {"a": GRADER}, "calculate_output": "a + b"}
    body = with_(RFT, "method.reinforcement.grader", multi)
    assert only(body, "error") == [("method.reinforcement.grader.calculate_output", "grader.invalid")]


def test_label_model_is_not_a_top_level_rft_grader() -> None:
    label = {
        "type": "label_model", "name": "l", "model": "gpt-4o-mini", "labels": ["a", "b"], "passing_labels": ["a"],
        "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
    }
    assert only(with_(RFT, "method.reinforcement.grader", label), "error") == [("method.reinforcement.grader.type", "grader.schema")]


def test_response_format_shape() -> None:
    body = with_(RFT, "method.reinforcement.response_format", {"type": "yaml"})
    assert only(body, "error") == [("method.reinforcement.response_format.type", "job.response_format")]
    body = with_(RFT, "method.reinforcement.response_format", {"type": "json_schema"})
    assert only(body, "error") == [("method.reinforcement.response_format.json_schema", "job.response_format")]
    ok = with_(RFT, "method.reinforcement.response_format", {"type": "json_object"})
    assert findings(ok) == []
    assert preflight_body(ok).job.json_output


# The job object of the seed's reinforcement example (the create endpoint's response).
JOB_OBJECT = {
    "object": "fine_tuning.job",
    "id": "ftjob-abc123",
    "model": "o4-mini",
    "created_at": 1721764800,
    "finished_at": None,
    "fine_tuned_model": None,
    "organization_id": "org-123",
    "result_files": [],
    "status": "validating_files",
    "validation_file": "file-123",
    "training_file": "file-abc",
    "trained_tokens": None,
    "error": {},
    "user_provided_suffix": None,
    "seed": 950189191,
    "estimated_finish": None,
    "integrations": [],
    "method": {
        "type": "reinforcement",
        "reinforcement": {
            "hyperparameters": {
                "batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto", "eval_interval": "auto",
                "eval_samples": "auto", "compute_multiplier": "auto", "reasoning_effort": "medium",
            },
            "grader": {
                "type": "string_check", "name": "Example string check grader", "input": "{{sample.output_text}}",
                "reference": "{{item.label}}", "operation": "eq",
            },
            "response_format": None,
        },
    },
    "metadata": None,
    "usage_metrics": None,
    "shared_with_openai": False,
}


def test_a_retrieved_job_object_is_checked_the_same_way() -> None:
    report = preflight_body(JOB_OBJECT)
    assert report.job.kind == "job"
    assert report.findings == []  # service fields are not "unknown parameters" here
    assert report.job.grader is not None and report.job.grader.name == "Example string check grader"
    broken = copy.deepcopy(JOB_OBJECT)
    broken["method"]["reinforcement"]["grader"]["operation"] = "equals"
    broken["method"]["reinforcement"]["hyperparameters"]["reasoning_effort"] = "max"
    assert sorted(only(broken, "error")) == [
        ("method.reinforcement.grader.operation", "grader.schema"),
        ("method.reinforcement.hyperparameters.reasoning_effort", "job.reasoning_effort"),
    ]


def test_supervised_job_object_with_echoed_hyperparameters() -> None:
    job = {
        "object": "fine_tuning.job", "id": "ftjob-1", "model": "gpt-4o-mini-2024-07-18", "training_file": "file-abc",
        "hyperparameters": {"batch_size": 4, "learning_rate_multiplier": 1.8, "n_epochs": 3},
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 4, "learning_rate_multiplier": 1.8, "n_epochs": 3}}},
        "status": "succeeded",
    }
    assert findings(job) == []
