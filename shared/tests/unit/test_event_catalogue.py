"""The checked-in JSON Schemas and AsyncAPI document match the payload models."""

from __future__ import annotations

import json

import jsonschema
import pytest

from lendkit.events import CATALOGUE
from lendkit.events.generate import contract_specs, differences, expected_files


def test_checked_in_catalogue_matches_the_models() -> None:
    problems = differences()
    assert problems == [], (
        "run `python -m lendkit.events.generate` and commit the result:\n" + "\n".join(problems)
    )


def test_every_contract_type_is_versioned_and_on_a_declared_topic() -> None:
    from lendkit.contracts.topics import TOPICS

    topics = {t.name for t in TOPICS}
    specs = contract_specs()
    assert specs, "the catalogue is empty"
    for spec in specs:
        assert spec.type.rsplit(".", 1)[-1].startswith("v")
        assert spec.topic in topics, spec.type


@pytest.mark.parametrize("spec", contract_specs(), ids=lambda s: s.type)
def test_each_schema_is_valid_json_schema(spec: object) -> None:
    schema = json.loads(json.dumps(spec.json_schema()))  # type: ignore[attr-defined]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_generated_file_is_deterministic() -> None:
    assert expected_files() == expected_files()
    assert list(CATALOGUE)  # iteration is sorted and stable
