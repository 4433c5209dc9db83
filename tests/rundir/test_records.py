"""The run directory's records (harness/rundir/records): strict, versioned, documented."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import harness.rundir.records as records
from harness.rundir import AgreementRow, KeyEntry, Manifest, ScoreRecord, TranscriptRecord

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
