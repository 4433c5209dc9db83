"""The blind tests' shared scrubber: the project's tells and the synthetic run's names."""

from __future__ import annotations

import pytest

from harness.blind.scrubber import Scrubber
from harness.blind.tells import default_tells_path, load_tells
from harness.blind.terms import RunTerms
from tests.blind.synthetic import MODELS, SCAFFOLDS


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    terms = RunTerms()
    for name, litellm_model in MODELS.items():
        terms.add_model(name)
        terms.add_model(litellm_model)
    terms.scaffold_terms.update(["bare", "generic", "steer", "verify", "socratic-v2"])
    for spec in SCAFFOLDS.values():
        terms.add_instruction(spec.system)
    terms.add_template("Answer the question below carefully:\n\n{user}")
    return Scrubber(load_tells(default_tells_path()), terms)
