"""The report's analysis of one run, before any wording: read the run directory, choose the
coder, settle the rubric, unblind the design, and compute the profiles, the scaffold effects and
(optionally) the model-dependence tests into a ``ReportContext``.

``build_report`` words and writes this context; ``xstress compare`` reads the profiles and
effects of several runs from it, so a run's numbers in a comparison are its report's numbers
by construction (one definition of a profile). This module reads through ``inputs.py`` and
``coders.py``, computes through ``harness.stats`` and writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputError
from harness.report.coders import CoderFile, choose_coder, coders_used, load_scores, read_hashes
from harness.report.context import ReportContext, RunFacts, run_facts
from harness.report.inputs import RunInputs, read_inputs, resolve_rubric
from harness.rundir import RunDir
from harness.schema import RubricSpec
from harness.stats import (
    AdjustMethod,
    Design,
    EffectRow,
    InteractionRow,
    ScoreMatrix,
    compute_effects,
    compute_profiles,
    index_key,
    interaction_tests,
    mean_of_coders,
)

__all__ = ["analyse_run"]


def analyse_run(
    run_dir: Path,
    *,
    baseline: str = "bare",
    coder: str | None = None,
    n_perm: int = 2000,
    seed: int = 0,
    rubric: RubricSpec | None = None,
    equivalence_margin: float = 0.25,
    adjust: AdjustMethod = "holm",
    interactions: bool = True,
) -> ReportContext:
    """Everything a run's report says, computed: profiles, effects and interaction tests.

    The arguments are ``build_report``'s (which see); ``interactions=False`` skips the
    model-dependence tests (the context then holds none), for readers that need only the
    profiles and effects.

    Raises:
        InputError: no run directory, key or scores; an unknown coder or baseline; a damaged
            key, score file, transcript file or manifest.
    """
    inputs = read_inputs(RunDir(Path(run_dir)))
    facts = run_facts(inputs)
    label, why = choose_coder(coder, inputs.coders)
    used = coders_used(label, inputs.coders)
    rubric_used = resolve_rubric(rubric, inputs.run_dir, inputs.manifests, used, inputs.warnings)
    design = _design(inputs, facts, baseline)
    matrices = _matrices(used, inputs.coders, design, rubric_used, inputs.warnings)
    scores = _combined(used, matrices, rubric_used)
    effects: list[EffectRow] = []
    tests: list[InteractionRow] = []
    if len(design.scaffolds) >= 2:
        effects = compute_effects(design, scores, baseline=baseline, seed=seed,
                                  equivalence_margin=equivalence_margin, adjust=adjust)
        if interactions:
            tests = interaction_tests(design, scores, baseline=baseline, n_perm=n_perm,
                                      seed=seed)
    # The banners and evidence tags describe the coders whose levels make the numbers: a
    # coder with no level anywhere (e.g. a judge that failed on every item) adds nothing.
    producing = [c for c in used if c.gave_levels] or used
    kinds_used = {kind for c in producing for kind in c.kinds}
    return ReportContext(
        run_dir=inputs.run_dir,
        facts=facts,
        design=design,
        scores=scores,
        rubric=rubric_used,
        coder_label=label,
        coder_reason=why,
        coders=inputs.coders,
        coders_used=used,
        heuristic_only=kinds_used == {"heuristic"},
        simulated_judge_only=bool(producing) and all(
            coder.name in facts.simulated_judges for coder in producing),
        baseline=baseline,
        n_perm=n_perm,
        seed=seed,
        profiles=compute_profiles(design, scores, matrices),
        effects=effects,
        interactions=tests,
        transcripts=inputs.transcripts,
        leak_report=inputs.leak_report,
        agreement=inputs.agreement,
        warnings=inputs.warnings,
        coder_scores=matrices,
    )


def _design(inputs: RunInputs, facts: RunFacts, baseline: str) -> Design:
    """The integer-coded key, models and scaffolds in the manifests' order (baseline first)."""
    scaffold_names = {entry.scaffold for entry in inputs.key_entries}
    if len(scaffold_names) >= 2 and baseline not in scaffold_names:
        raise InputError(
            f"baseline scaffold {baseline!r} is not in this run "
            f"(scaffolds: {', '.join(sorted(scaffold_names))})",
            fix=f"rerun 'xstress report {inputs.run_dir.root} baseline=NAME' with one of them",
        )
    design = index_key(
        inputs.key_entries,
        model_order=facts.model_order,
        scaffold_order=(baseline, *facts.scaffold_order),
    )
    if design.duplicate_cells:
        inputs.warnings.append(
            f"{design.duplicate_cells} key entries repeat a (model, scaffold, "
            "prompt, replicate) cell; pairing used the last"
        )
    return design


def _matrices(
    used: list[CoderFile], coders: dict[str, CoderFile], design: Design,
    rubric: RubricSpec | None, warnings: list[str]
) -> dict[str, ScoreMatrix]:
    """The scores of each coder the profile uses, by name. The other coders' hashes are read
    too: the calibration section checks every coder's."""
    dimensions = [d.id for d in rubric.dimensions] if rubric else None
    matrices = {c.name: load_scores(c, design, dimensions, warnings) for c in used}
    for other in coders.values():
        read_hashes(other)
    return matrices


def _combined(used: list[CoderFile], matrices: dict[str, ScoreMatrix],
              rubric: RubricSpec | None) -> ScoreMatrix:
    """The scores the profile uses: one coder's, or the mean of several judges' (a coder with
    no level on an item and dimension adds nothing to its mean)."""
    dimensions = [d.id for d in rubric.dimensions] if rubric else None
    found = list(matrices.values())
    scores = found[0] if len(found) == 1 else mean_of_coders(found, dimensions)
    if not scores.dimensions:
        raise InputError(
            f"{used[0].path}: no scores on any rubric dimension",
            fix=f"rerun 'xstress score {used[0].path.parent.parent} rubric=NAME' with the "
                f"rubric the report uses",
        )
    return scores
