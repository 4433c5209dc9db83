"""The report's methods text and reporting template: the sections of
``report/template.md`` filled in with this run's settings, the evidence statement (the level of
claim the run supports), what was held fixed (configuration hashes and versions) and the
population of prompts, users, models and scaffolds. It owns reading ``report/template.md`` and
its small Markdown subset (most of the wording lives in that file). The results and audit
sections are ``results.py``'s and ``audit.py``'s.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from harness.report.blocks import Block, Bullets, Heading, Paragraph, Table
from harness.report.context import ReportContext
from harness.report.sections.served import served_description
from harness.schema import content_hash

__all__ = ["methods_section", "reporting_template_section"]

_ADJUST_WORDS = {
    "holm": "Holm's method, which keeps the chance of even one false `improved` or `worsened` "
    "in the table below 5%",
    "bh": "the Benjamini-Hochberg method, which keeps the expected share of false ones among "
    "the `improved` and `worsened` effects below 5%",
}


def _template_sections(ctx: ReportContext) -> dict[str, str]:
    text = (Path(__file__).parents[1] / "template.md").read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("<!-- section:") and stripped.endswith("-->"):
            current = stripped.removeprefix("<!-- section:").removesuffix("-->").strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    if ctx.facts.simulated:
        evidence = (
            "**This run used xstress's built-in simulated models, so it is evidence at "
            "no level about any real model.** It shows that the pipeline runs end to end "
            "and how its report reads."
        )
    else:
        evidence = (
            "This run reaches the **interaction level**, and only for the fixed "
            f"conditions listed below: the models {', '.join(ctx.design.models)} under "
            f"the scaffolds {', '.join(ctx.design.scaffolds)}, with {ctx.users}, on the "
            "scenarios of this stress set. It does not reach the deployment level."
        )
    if ctx.heuristic_only:
        evidence += (
            " The scores come from the heuristic only, a format check that sees "
            "surface features of the text and abstains where they cannot decide "
            "correctness: until human or calibrated judge scores exist, treat the "
            "profiles as a check of the pipeline."
        )
    values = {
        "n_perm": ctx.n_perm,
        "seed": ctx.seed,
        "baseline": ctx.baseline,
        "n_tests": sum(1 for i in ctx.interactions if i.p_value is not None),
        "n_estimates": sum(1 for e in ctx.effects if e.ci_low is not None),
        # The effect rules' settings travel on the rows (every row of a table has the same).
        "margin": f"{ctx.effects[0].equivalence_margin:g}" if ctx.effects else "0.25",
        "adjust_method": _ADJUST_WORDS[ctx.effects[0].adjust if ctx.effects else "holm"],
        "n_effect_tests": sum(1 for e in ctx.effects if e.p_value is not None),
        "evidence_statement": evidence,
        "users": ctx.users,
    }
    return {name: body.format_map(values) for name, body in sections.items()}


def _parse_template(text: str) -> list[Block]:
    """The tiny Markdown subset of report/template.md as blocks."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Paragraph(" ".join(paragraph)))
            paragraph.clear()
        if bullets:
            blocks.append(Bullets(tuple(bullets)))
            bullets.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
        elif line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            blocks.append(Heading(level, line.lstrip("#").strip()))
        elif line.startswith("- "):
            if paragraph:
                flush()
            bullets.append(line[2:].strip())
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
        else:
            paragraph.append(line.strip())
    flush()
    return blocks


def _held_fixed(ctx: ReportContext) -> list[Block]:
    facts = ctx.facts
    protocol = facts.protocol
    rows: list[tuple[str, ...]] = []
    if protocol is not None:
        hashes = protocol.hashes
        rows.append(("protocol", protocol.prompts.name, protocol.protocol_hash,
                     "the treatment below, as one hash"))
        for name, value in hashes.scaffolds.items():
            rows.append(("scaffold", name, value, "system prompt, user template, passes"))
        rows.append(("scenarios", f"{len(hashes.scenarios)} of {protocol.prompts.name}",
                     _hash_of(hashes.scenarios), "turns, persona cards, targets, notes"))
        if protocol.rubric is not None and hashes.rubric is not None:
            rows.append(("rubric anchors", protocol.rubric.name, _hash_of(hashes.rubric),
                         "definitions and level anchors, per dimension"))
        for name, value in hashes.judges.items():
            rows.append(("coder", name, value, "kind, model, prompt template, parameters"))
        sampling = ", ".join(f"{k} {v}" for k, v in
                             protocol.sampling.model_dump(mode="json").items())
        rows.append(("sampling", f"replicates {hashes.replicates}", hashes.sampling, sampling))
        if hashes.users is not None and protocol.users is not None:
            rows.append(("users", protocol.users.name, hashes.users, "model string, sampling"))
    rubric_hashes = sorted({h for c in ctx.coders_used for h in c.rubric_hashes})
    rows.append(("rubric", ctx.rubric.name if ctx.rubric else "(not loaded: dimension ids only)",
                 ", ".join(rubric_hashes) or "not recorded",
                 "the rubric file the scores were made with, as they record it"))
    for coder in ctx.coders_used:
        rows.append((f"scores by ({coder.kind})", coder.name,
                     ", ".join(sorted(coder.coder_hashes)) or "none (human coder)",
                     "the coder's full config, as its score file records it"))
    for model in ctx.design.models:
        rows.append(("model (varies)", model, facts.model_hashes.get(model, "not recorded"),
                     served_description(ctx, model)))
    software = ", ".join(f"{k} {v}" for k, v in sorted(facts.versions.items()))
    rows.append(("software", software or "not recorded", facts.git_commit or "", ""))
    if protocol is not None:
        intro = (
            "The protocol hash identifies what this run held fixed: scaffold texts and passes, "
            "the scenarios in full, rubric anchors, the coders' prompts and parameters, the "
            "sampling parameters, replicates and who played the users. Descriptions, rate "
            "limits, endpoints and key names are not part of it. Two runs followed the same "
            "protocol exactly when their protocol hashes match ('xstress protocol verify', "
            "'xstress compare'); 'xstress protocol export' writes it as a file another lab can "
            "run on its own models. The models are what varies: each model's hash identifies "
            "its model string, endpoint and sampling; versions are as the providers reported.")
    else:
        intro = (f"This run has no single protocol ({facts.protocol_problem}); the hashes "
                 "below identify the models. Model versions are as the providers reported.")
    return [
        Heading(3, "What was held fixed"),
        Paragraph(intro),
        Table(("what", "name", "hash", "covers"), tuple(rows)),
    ]


def _hash_of(hashes: dict[str, str]) -> str:
    """One hash for a group of element hashes (as the protocol hash is made)."""
    return content_hash(hashes)


def _population(ctx: ReportContext) -> list[Block]:
    items = []
    prompt_set = ctx.facts.prompt_set
    if prompt_set is not None:
        scenarios = prompt_set.scenarios
        domains = Counter(s.domain for s in scenarios)
        probes = Counter(s.probe for s in scenarios)
        items.append(f"prompt set {prompt_set.name}: {len(scenarios)} scenarios")
        items.append("domains: " + ", ".join(f"{d} ({n})" for d, n in sorted(domains.items())))
        items.append("probes: " + ", ".join(f"{p} ({n})" for p, n in sorted(probes.items())))
    else:
        items.append("prompt set: not recorded in the manifest")
    items.append(
        f"prompts with blinded transcripts: {len(ctx.design.prompts)}; replicates: "
        f"{len(ctx.design.replicates)}"
        + (
            f" (configured {ctx.facts.replicates_config})"
            if ctx.facts.replicates_config is not None
            else ""
        )
    )
    items.append(f"users: {ctx.users}")
    items.append(
        "models: " + ", ".join(ctx.design.models) + (" (simulated)" if ctx.facts.simulated else "")
    )
    items.append("scaffolds: " + ", ".join(ctx.design.scaffolds))
    return [Heading(3, "Population and domains"), Bullets(tuple(items))]


def reporting_template_section(ctx: ReportContext) -> list[Block]:
    """The reporting template: evidence level, what was held fixed, the population,
    and what the results do and do not license."""
    sections = _template_sections(ctx)
    blocks: list[Block] = [Heading(2, "Reporting template")]
    blocks += _parse_template(sections["evidence"])
    blocks += _held_fixed(ctx)
    blocks += _population(ctx)
    blocks += _parse_template(sections["licensed"])
    blocks += _parse_template(sections["not_licensed"])
    return blocks


def methods_section(ctx: ReportContext) -> list[Block]:
    """The methods (the ``methods`` section of ``report/template.md``, filled in)."""
    return _parse_template(_template_sections(ctx)["methods"])
