"""The run directory's records (harness/rundir/records): strict, versioned, documented."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import harness.rundir.records as records
from harness.rundir import (
    MAX_ATTEMPT_CHARS,
    AgreementRow,
    JudgeAttempt,
    KeyEntry,
    Manifest,
    ScoreRecord,
    TranscriptRecord,
    reason_kind,
)

RECORDS_DIR = Path(records.__file__).parent
MODELS = [getattr(records, name) for name in records.__all__
          if inspect.isclass(getattr(records, name))
          and issubclass(getattr(records, name), BaseModel)]
TOP_LEVEL = {"TranscriptRecord", "Manifest", "BlindedItem", "LeakReport", "ScoreRecord",
             "CalibrationResult",
             "AgreementConfusion"}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_record_forbids_unknown_fields_and_is_frozen(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True


@pytest.mark.parametrize("name", sorted(TOP_LEVEL))
def test_top_level_records_carry_a_schema_version(name: str) -> None:
    model = getattr(records, name)
    field = model.model_fields["schema_"]
    assert field.alias == "schema"
    assert str(field.default).startswith("xstress.") and str(field.default).endswith("/1")


def test_every_field_has_a_docstring() -> None:
    missing = []
    for path in sorted(RECORDS_DIR.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            body = node.body
            for index, statement in enumerate(body):
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    following = body[index + 1] if index + 1 < len(body) else None
                    documented = (isinstance(following, ast.Expr)
                                  and isinstance(following.value, ast.Constant)
                                  and isinstance(following.value.value, str))
                    if not documented:
                        missing.append(f"{path.name}: {node.name}.{statement.target.id}")
    assert not missing, "fields without a docstring:\n" + "\n".join(missing)


def test_a_misspelt_field_is_an_error_not_ignored() -> None:
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        KeyEntry.model_validate({"blind_id": "b", "cell_id": "c", "model": "m", "scaffold": "s",
                                 "prompt_id": "p", "replicate": 0, "modle": "typo"})


def test_schema_is_written_under_its_json_name() -> None:
    score = ScoreRecord(blind_id="b", dimension="D1", coder="c", coder_kind="human",
                        status="scored", level=1, scored_at="t")
    assert '"schema":"xstress.score/1"' in score.model_dump_json(by_alias=True)
    with pytest.raises(ValidationError):
        ScoreRecord.model_validate({**score.model_dump(by_alias=True), "schema": "other/9"})


def test_agreement_rows_read_an_empty_value_as_not_estimable() -> None:
    row = AgreementRow.model_validate({"dimension": "D1", "coder_a": "all", "coder_b": "",
                                       "statistic": "krippendorff_alpha_ordinal",
                                       "n_items": "3", "value": "", "note": "no variation"})
    assert row.value is None and row.ci_low is None and row.n_items == 3
    assert row.csv_cells() == ["D1", "all", "", "krippendorff_alpha_ordinal", 3, "", "", "",
                               "no variation"]
    exact = row.model_copy(update={"value": 0.1 + 0.2, "ci_low": 0.25, "ci_high": 0.5})
    assert exact.csv_cells()[5:8] == ["0.30000000000000004", "0.25", "0.5"]  # repr: all digits


def test_records_stay_readable_by_the_names_other_stages_use() -> None:
    # The report and blinding read manifests and transcripts by these names.
    assert {"config", "hashes", "model_versions", "started_at"} <= set(Manifest.model_fields)
    assert {"messages", "status", "cell_id", "simulated"} <= set(TranscriptRecord.model_fields)


def test_a_score_file_written_before_attempts_were_kept_still_reads() -> None:
    old = ('{"schema":"xstress.score/1","blind_id":"b","dimension":"D1","coder":"j",'
           '"coder_kind":"llm_judge","status":"unscored","reason":"invalid judge output after '
           '3 attempt(s): no JSON object found in the reply","raw":"nope","scored_at":"t"}')
    assert ScoreRecord.model_validate_json(old).attempts == []


def test_an_attempt_keeps_a_bounded_text_and_says_how_much_was_cut() -> None:
    long = "a" * (MAX_ATTEMPT_CHARS - 64) + "b" * 1000
    attempt = JudgeAttempt(reply=long, error="short")
    assert attempt.reply is not None and len(attempt.reply) <= MAX_ATTEMPT_CHARS
    assert attempt.reply.endswith(" [... 1000 more characters cut]") and "b" not in attempt.reply
    assert JudgeAttempt.model_validate(attempt.model_dump()) == attempt  # cutting again: same
    assert JudgeAttempt(reply="x" * MAX_ATTEMPT_CHARS).reply == "x" * MAX_ATTEMPT_CHARS


@pytest.mark.parametrize(("reason", "kind"), [
    ("invalid judge output after 3 attempt(s): missing dimensions: D8",
     "invalid judge output after 3 attempt(s)"),
    ("evidence quote not found verbatim in the transcript after 2 attempt(s) (the judge gave "
     "level 1)", "evidence quote not found verbatim in the transcript after 2 attempt(s)"),
    ("judge call failed after 6 attempt(s) 429: RateLimitError slow down",
     "judge call failed after 6 attempt(s) 429"),
    ("context_window: the judge prompt for D1 needs 9000 tokens", "context_window"),
    (None, "no reason given"),
])
def test_reasons_are_counted_without_their_particulars(reason: str | None, kind: str) -> None:
    assert reason_kind(reason) == kind
