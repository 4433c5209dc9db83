"""Tests for harness/blind/terms.py: a run's own names and instruction text, from its typed
manifest and from its records, and their effect on the items."""

from __future__ import annotations

from pathlib import Path

from harness.blind import blind_run
from harness.blind.terms import MAX_INSTRUCTION_TEXTS, RunTerms
from harness.rundir import LeakReport, Manifest, RunDir, read_json
from harness.schema import ModelSpec, PassSpec, ScaffoldSpec
from harness.testing.rundirs import write_manifest
from tests.blind.synthetic import make_record, read_lines, write_run


def _manifest(tmp_path: Path) -> Manifest:
    base = write_manifest(tmp_path / "run", models=["alpha"], scaffolds=["bare"],
                          prompt_ids=["scenario-0"])
    config = base.config.model_copy(update={
        "models": [ModelSpec(name="alpha", litellm_model="openai/gpt-4o", family="openai",
                             aliases=["Al"])],
        "scaffolds": [ScaffoldSpec(
            name="wrapped", system="Cite one official source for every claim you make.",
            user_template="Think it through carefully:\n{user}\n(Answer in plain words.)",
            passes=[PassSpec(name="review", instruction="Review the answer above and fix it.")],
        )],
    })
    return base.model_copy(update={"config": config,
                                   "model_versions": {"alpha": ["gpt-4o-2024-08-06"]}})


def test_manifest_names_models_scaffolds_and_instructions(tmp_path: Path) -> None:
    terms = RunTerms()
    terms.add_manifest(_manifest(tmp_path))
    assert terms.model_terms == {"alpha", "openai/gpt-4o", "openai", "gpt-4o",
                                 "gpt-4o-2024-08-06"}
    assert terms.aliases == {"Al"} and terms.scaffold_terms == {"wrapped"}
    assert list(terms.instructions) == [
        "Cite one official source for every claim you make.",
        "Think it through carefully:\n",
        "\n(Answer in plain words.)",
        "Review the answer above and fix it.",
    ]
    assert terms.wrappers == {("Think it through carefully:", "(Answer in plain words.)")}


def test_short_wrappers_and_blank_or_surplus_instructions_are_ignored() -> None:
    terms = RunTerms()
    terms.add_template("Q: {user}")
    assert terms.wrappers == set() and list(terms.instructions) == ["Q: "]
    terms.add_instruction("   ")
    for number in range(MAX_INSTRUCTION_TEXTS + 5):
        terms.add_instruction(f"instruction {number}")
    assert len(terms.instructions) == MAX_INSTRUCTION_TEXTS
    assert "   " not in terms.instructions


def test_run_without_manifest_uses_names_from_records(tmp_path: Path) -> None:
    record = make_record(
        model="zeta-9",
        scaffold="socratic_v2",
        prompt_id="civic-vote",
        replies=["As zeta-9 (xstress-sim/zeta-9) in the Socratic V2 scaffold: register early."],
    )
    other = make_record(
        model="omega-3",
        scaffold="bare",
        prompt_id="civic-vote",
        replies=["I am Omega 3. Register early."],
    )
    run_dir = write_run(tmp_path / "run", [record, other], manifest=False)
    blind_run(run_dir)
    items = read_lines(RunDir(run_dir).items)
    replies = [m["content"] for item in items for m in item["messages"]]
    assert sorted(replies[1::2]) == [
        "As [MODEL] ([MODEL]) in the [SCAFFOLD] scaffold: register early.",
        "[SELF-ID]. Register early.",
    ]


def test_manifest_scaffold_text_and_wrappers_are_scrubbed(tmp_path: Path) -> None:
    wrapping = {
        "wrapped": ScaffoldSpec(
            name="wrapped",
            system="Always cite one official source and say how confident you are in it.",
            user_template="{user}\n\n(Remember: restate my request before answering.)",
        )
    }
    record = make_record(
        model="sim-literal",
        scaffold="wrapped",
        prompt_id="legal-lease",
        user_turns=[
            "Can my landlord keep the deposit?\n\n(Remember: restate my request before answering.)"
        ],
        replies=[
            "As instructed: always cite one official source and say how confident you "
            "are in it. The deposit rules are in the tenancy act."
        ],
    )
    run_dir = write_run(tmp_path / "run", [record], scaffolds=wrapping)
    blind_run(run_dir)
    layout = RunDir(run_dir)
    item = read_lines(layout.items)[0]
    assert item["messages"] == [
        {"role": "user", "content": "Can my landlord keep the deposit?"},
        {
            "role": "assistant",
            "content": "As instructed: [INSTRUCTIONS]. The deposit rules are in the tenancy act.",
        },
    ]
    report = read_json(layout.leak_report, LeakReport, fix="a test")
    assert report.replacements["scaffold_wrapper"] == 1
    assert report.replacements["scaffold_text"] == 1
    assert report.user_turn_replacements == 1
    assert report.identifiability is None
    assert "at least 2 models" in report.identifiability_skipped["model"]
