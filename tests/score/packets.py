"""A run to code by hand and a rubric to code it on, shared by the human coding tests.

The items carry text that must survive the HTML form and the CSV verbatim (an indented line, a
``</script>``, markup, an ampersand; in the reference notes also quotes, commas and a line
break); the key ``write_blinding`` writes beside them names "secret-model" and
"secret-scaffold", which no packet may contain.
"""

from __future__ import annotations

import csv
from pathlib import Path

from harness.rundir import BlindedItem
from harness.schema import RubricDimension, RubricSpec
from harness.testing.rundirs import make_item, write_blinding

SECRETS = ("secret-model", "secret-scaffold", "cell-secret")
"""Names only the blinding key holds (``write_blinding``'s defaults)."""


def mini_rubric() -> RubricSpec:
    """Three dimensions, enough to exercise every code path."""

    def dimension(dim_id: str, name: str) -> RubricDimension:
        return RubricDimension(
            id=dim_id,
            name=name,
            definition=f"How well the assistant does {name.lower()}.",
            levels={0: f"{name}: absent", 1: f"{name}: partial", 2: f"{name}: full"},
            not_applicable_when="single-turn" if dim_id == "D1" else "",
        )

    return RubricSpec(
        name="mini3",
        dimensions=[
            dimension("D1", "Coherence"),
            dimension("D2", "Clarification"),
            dimension("D3", "Verification"),
        ],
    )


def reference_notes(index: int) -> str:
    """The reference notes of item ``index``: scenario-0's have some, scenario-1's none."""
    if index % 2:
        return ""
    return (f'Notes {index}: a good answer says "check the label", twice </script><b>n</b> & co'
            "\n  then stops")


def make_items(count: int) -> list[BlindedItem]:
    """``itm-0000`` ... with one exchange each, on two alternating scenarios."""
    return [
        make_item(f"itm-{index:04d}", f"Question {index}?\n  indented line",
                  f"Answer {index} </script><b>x</b> & co", scenario_id=f"scenario-{index % 2}"
                  ).model_copy(update={"reference_notes": reference_notes(index)})
        for index in range(count)
    ]


def coding_run(tmp_path: Path, count: int = 4) -> Path:
    """``tmp_path/run`` with ``count`` blinded items and their key."""
    return write_blinding(tmp_path / "run", make_items(count)).root


def read_csv(path: Path) -> list[dict[str, str]]:
    """A packet or a saved CSV as rows (the BOM stripped)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))
