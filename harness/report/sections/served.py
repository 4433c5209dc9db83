"""Two small pieces of the report about what the models really produced: the count of replies
cut off at the length limit (for the data accounting) and what the provider said it served
(beside each model's configured name in "What was held fixed"). Each is a function of the
``ReportContext``; it reads no file.
"""

from __future__ import annotations

from collections import Counter

from harness.report.blocks import Block, Paragraph
from harness.report.context import ReportContext

__all__ = ["served_description", "truncation_paragraph"]


def truncation_paragraph(ctx: ReportContext) -> list[Block]:
    """One line counting replies cut off at ``max_tokens`` in the coded (``ok``) cells."""
    transcripts = ctx.transcripts
    if transcripts is None:
        return []
    ok_cells = {cell for cell, (_, _, status) in transcripts.cells.items() if status == "ok"}
    cut = {cell: n for cell, n in transcripts.truncated.items() if cell in ok_cells}
    by_pair: Counter[str] = Counter()
    for cell, n in cut.items():
        model, scaffold, _ = transcripts.cells[cell]
        by_pair[f"{model} under {scaffold}"] += n
    text = (f"Replies cut off at the length limit (the provider's finish_reason was `length`; "
            f"coders saw them marked \"[reply cut off at the length limit]\"): "
            f"{sum(cut.values())}, in {len(cut)} of {len(ok_cells)} coded cells")
    if by_pair:
        text += " (" + ", ".join(f"{pair} {n}" for pair, n in sorted(by_pair.items())) + ")"
    return [Paragraph(text + ".")]


def served_description(ctx: ReportContext, model: str) -> str:
    """What served ``model``: the reply's model field, fingerprints and the server's listing."""
    identity = ctx.facts.served.get(model)
    versions = ", ".join(ctx.facts.model_versions.get(model, [])) or "not reported"
    if identity is None:
        return f"versions reported: {versions}"
    parts = [f"configured {identity.litellm_model}"
             + (" (a simulated model, no weights)" if identity.simulated else ""),
             f"reported {', '.join(identity.reported_models) or 'nothing'}"]
    if identity.system_fingerprints:
        parts.append(f"fingerprint {', '.join(identity.system_fingerprints)}")
    listing = identity.listing
    if listing is not None:
        served = (", ".join(listing.model_ids) or "no models") if listing.model_ids is not None \
            else f"not read ({listing.error})"
        parts.append(f"server lists {served}")
    return "; ".join(parts)
