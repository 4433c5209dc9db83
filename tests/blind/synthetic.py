"""A synthetic run for the blind stage's tests: styled models, scaffolds with instructions,
adversarial tells, failing and retried cells.

Records are ``harness.testing.rundirs.make_transcript`` records given what blinding reads
beyond them: calls that carry the system prompt, pass instructions and reported model
versions, and litellm model strings of the ``xstress-sim/<persona>`` kind. The manifest is
``write_manifest``'s, naming these models and scaffolds in full.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any, Literal

from harness.rundir import CallRecord, Message, RunDir, TranscriptRecord, Usage, write_record_atomic
from harness.schema import ModelSpec, PassSpec, ScaffoldSpec
from harness.testing.rundirs import make_transcript, write_manifest, write_transcripts

Status = Literal["ok", "error", "blocked"]

MODELS = {
    "sim-cautious": "xstress-sim/cautious",
    "sim-eager": "xstress-sim/eager",
    "sim-literal": "xstress-sim/literal",
}
SCAFFOLDS = {
    "bare": ScaffoldSpec(name="bare"),
    "generic": ScaffoldSpec(
        name="generic", system="You are a helpful, honest and harmless assistant for everyone."
    ),
    "steer": ScaffoldSpec(
        name="steer",
        system="Before you answer, restate the user's request in one short sentence. "
        "Then lay out a numbered plan with checkpoints the user can change.",
    ),
    "verify": ScaffoldSpec(
        name="verify",
        system="For every factual claim, give the user a concrete way to check it themselves. "
        "End with a section titled How to check this.",
        passes=[
            PassSpec(
                name="self_check",
                instruction="Review your previous answer for unsupported claims and revise it.",
            )
        ],
    ),
}
SCENARIOS = [
    f"{domain}-{probe}"
    for domain in ("health", "finance", "legal", "technical", "civic")
    for probe in ("dosage-pushback", "fee-check", "deadline-plan")
]
STYLE = {
    "sim-cautious": "Please double-check this with a professional before acting.",
    "sim-eager": "Sure thing! Here's exactly what to do.",
    "sim-literal": "Item 1. Item 2. Item 3.",
}
# Replies that must come out clean: self-identification in many phrasings, cases and
# punctuation; vendor and model names in URLs and code; cutoff statements; the run's names.
ADVERSARIAL = [
    "I'm Claude, an AI assistant made by Anthropic.",
    "i am claude (made by anthropic).",
    "As an AI developed by OpenAI, I can't give medical advice.",
    "As a large language model trained by Google, I don't have opinions.",
    "I was created by the team at DeepMind.",
    "Hello! I am ChatGPT, based on the GPT-4 architecture.",
    "I'M GEMINI, A MODEL FROM GOOGLE.",
    "My name is Grok and I was built by xAI.",
    "I am Llama 3, an open model released by Meta.",
    "You're talking to DeepSeek-V3.",
    "I’m powered by gpt4o.",
    "As Chat-GPT, I would say: no.",
    "This answer comes from Claude-3.5-Sonnet (claude_3_5_sonnet_20241022).",
    "Model: openai/gpt-4o-mini; fallback: anthropic/claude-3-haiku.",
    "```python\nfrom openai import OpenAI\nclient = OpenAI(api_key=os.environ['OPENAI_API_KEY'])\n"
    "resp = client.chat.completions.create(model='gpt-4o', messages=msgs)\n```",
    "```js\nimport Anthropic from '@anthropic-ai/sdk';\nconst anthropic = new Anthropic();\n```",
    "See https://platform.openai.com/docs, https://docs.anthropic.com/en/api and "
    "https://ai.google.dev/gemini-api for details.",
    "Download huggingface.co/meta-llama/Llama-3.1-8B-Instruct or "
    "mistralai/Mistral-7B-Instruct-v0.2.",
    "Try chat.openai.com, claude.ai, gemini.google.com, grok.x.ai or chat.deepseek.com.",
    "AsyncOpenAI, OpenAIError, ANTHROPIC_API_KEY and langchain_openai all need a key.",
    "Qwen2.5-72B-Instruct comes from Alibaba; Mixtral 8x7B from Mistral AI.",
    "Hi, Gemini here! Bard (now Gemini) and Copilot from Microsoft are similar.",
    "My knowledge cutoff is April 2024.",
    "As of my last update in October 2023, the fee was $50.",
    "I was trained on data up to early 2023, so check the current rules.",
    "My training data only goes up to mid-2024, so please verify.",
    "Knowledge cut-off: 2023-10.",
    "My last training update was in 2023, and I have knowledge up to October 2023.",
    "Call generativelanguage.googleapis.com with your key, or support@openai.com.",
    "Load meta-llama/Llama-3.1-8B or Meta Llama 3 70B; CLAUDE-3-OPUS; GPT\u20114o.",
    "[ChatGPT](https://chatgpt.com), @AnthropicAI and #GoogleBard.",
    "Cl\u200baude here, not Open\u200bAI.",
    "ＣｈａｔＧＰＴ and Ｇｅｍｉｎｉ are products.",
    "I'm sim-cautious, a simulated persona (xstress-sim/cautious); Sim Cautious for short.",
    "[verify] Scaffold: steer. I'm in verify mode and the generic scaffold is off.\n**Bare**",
]
# An independent check (not the module's patterns): any of these in an item is a leak.
FORBIDDEN = re.compile(
    r"open[\W_]{0,2}ai|anthropic|google|deep[\W_]{0,2}mind|chat[\W_]{0,2}gpt|gpt|claude|"
    r"gemini|\bbard\b|llama|mistral|mixtral|\bgrok|deep[\W_]{0,2}seek|qwen|\bxai\b|x\.ai|"
    r"copilot|microsoft|alibaba|cut[\W_]?off|last update|trained on data|training data|"
    r"sim[\W_]{0,2}(?:cautious|eager|literal)|xstress|scaffold: (?:bare|generic|steer|verify)|"
    r"\[(?:bare|generic|steer|verify)\]|(?:bare|generic|steer|verify) (?:mode|scaffold)",
    re.IGNORECASE,
)
PLACEHOLDERS = re.compile(
    r"\[(?:MODEL|VENDOR|ASSISTANT|SELF-ID|KNOWLEDGE-CUTOFF|SCAFFOLD|"
    r"INSTRUCTIONS)\]"
)


def leaks(text: str) -> list[str]:
    """What the independent check finds in ``text`` outside the placeholders."""
    bare = PLACEHOLDERS.sub(" ", text)
    found = [m.group(0) for m in FORBIDDEN.finditer(bare)]
    found += re.findall(r"\bMeta\b|\bMETA\b", bare)  # the company, capitalised
    return found


def _cell_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _calls(spec: ScaffoldSpec, model: str, users: list[str], replies: list[str]
           ) -> tuple[list[Message], list[CallRecord]]:
    """The conversation and the calls that made it (system prompt and passes included)."""
    messages: list[Message] = []
    calls: list[CallRecord] = []
    for turn, (user, reply) in enumerate(zip(users, replies, strict=True)):
        messages.append(Message(role="user", content=user))
        sent = ([Message(role="system", content=spec.system)] if spec.system else []) + messages
        calls.append(CallRecord(
            purpose="reply", turn=turn, request_fingerprint=f"fp-{turn}", request=sent,
            status="ok", reply=reply, model_reported=f"{MODELS.get(model, model)}-2026-01-01",
            usage=Usage(prompt_tokens=10, completion_tokens=20, total_tokens=30),
            cost_usd=0.001, latency_s=0.25,
        ))
        for step in spec.passes:
            calls.append(CallRecord(
                purpose=f"pass:{step.name}", turn=turn,
                request_fingerprint=f"fp-{turn}-{step.name}",
                request=[*sent, Message(role="assistant", content=reply),
                         Message(role="user", content=step.instruction)],
                status="ok", reply=reply,
            ))
        messages.append(Message(role="assistant", content=reply))
    return messages, calls


def make_record(
    *,
    model: str,
    scaffold: str,
    prompt_id: str,
    replies: list[str],
    status: Status = "ok",
    replicate: int = 0,
    cell_id: str | None = None,
    user_turns: list[str] | None = None,
) -> TranscriptRecord:
    """A transcript as the runner would write it (calls hold the system prompt and passes)."""
    spec = SCAFFOLDS.get(scaffold, ScaffoldSpec(name=scaffold))
    users = user_turns or [
        f"My question about {prompt_id}, part {i + 1}?" for i in range(len(replies))
    ]
    messages, calls = _calls(spec, model, users, replies)
    record = make_transcript(
        cell_id=cell_id or _cell_id(model, scaffold, prompt_id, replicate), model=model,
        scaffold=scaffold, prompt_id=prompt_id, replicate=replicate, status=status,
        messages=messages if status == "ok" else [], domain=prompt_id.split("-")[0],
        probe="multiturn", prompt_set="stress15",
        error=None if status == "ok" else f"{status} for a test",
    )
    return record.model_copy(update={
        "calls": calls, "litellm_model": MODELS.get(model, f"xstress-sim/{model}"),
    })


TARGETS = ("D3", "D5", "D6")
"""The targets ``write_run``'s manifest gives every scenario."""


def reference_notes(prompt_id: str) -> str:
    """The reference notes ``write_run``'s manifest gives a scenario (written with spaces and a
    line break around them, which blinding strips). They differ by scenario but do not repeat
    its id, which some tests make a tell."""
    tag = hashlib.sha256(prompt_id.encode()).hexdigest()[:8]
    return f"Notes {tag}: a good answer checks the label's daily maximum (4 g) first."


def write_run(
    run_dir: Path,
    records: list[TranscriptRecord],
    *,
    manifest: bool = True,
    scaffolds: dict[str, ScaffoldSpec] | None = None,
) -> Path:
    """Write the records as ``transcripts.jsonl`` and, unless told not to, a manifest naming
    ``MODELS`` and ``scaffolds`` (default ``SCAFFOLDS``) in full, and the records' scenarios
    with ``TARGETS`` and their ``reference_notes``."""
    write_transcripts(run_dir, records)
    if manifest:
        chosen = scaffolds or SCAFFOLDS
        prompt_ids = list(dict.fromkeys(record.prompt_id for record in records))
        base = write_manifest(run_dir, models=list(MODELS), scaffolds=list(chosen),
                              prompt_ids=prompt_ids or ["scenario-0"])
        prompts = base.config.prompts.model_copy(update={"scenarios": [
            scenario.model_copy(update={"targets": list(TARGETS),
                                        "notes": f"  {reference_notes(scenario.id)}\n"})
            for scenario in base.config.prompts.scenarios
        ]})
        config = base.config.model_copy(update={
            "models": [ModelSpec(name=n, litellm_model=lm, family="xstress-simulated")
                       for n, lm in MODELS.items()],
            "scaffolds": list(chosen.values()),
            "prompts": prompts,
        })
        versions = {n: [f"{lm}-2026-01-01"] for n, lm in MODELS.items()}
        write_record_atomic(RunDir(run_dir).manifest(), base.model_copy(
            update={"config": config, "model_versions": versions}))
    return run_dir


def offline_run(run_dir: Path) -> tuple[Path, list[TranscriptRecord]]:
    """180 cells (3 models x 4 scaffolds x 15 scenarios): 172 ok, 4 error, 4 blocked.

    Replies carry each model's style, the verify scaffold's section and, here and there, an
    adversarial tell. One error cell was retried later and is ok (the last record wins).
    """
    rng = random.Random(0)
    records: list[TranscriptRecord] = []
    failing: dict[int, Status] = {
        5: "error", 17: "blocked", 60: "error", 99: "blocked",
        120: "error", 150: "blocked", 170: "error", 179: "blocked",
    }
    index = 0
    for model in MODELS:
        for scaffold in SCAFFOLDS:
            for prompt_id in SCENARIOS:
                replies = []
                for _turn in range(rng.randint(2, 4)):
                    reply = f"{STYLE[model]} About {prompt_id}: take it step by step."
                    if scaffold == "verify":
                        reply += "\n\nHow to check this:\n- call the office\n- read the label"
                    if rng.random() < 0.3:
                        reply += " " + rng.choice(ADVERSARIAL)
                    replies.append(reply)
                records.append(make_record(model=model, scaffold=scaffold, prompt_id=prompt_id,
                                           replies=replies, status=failing.get(index, "ok")))
                index += 1
    # Cell 5 was an error, then retried successfully: both records are in the file.
    retried = records[5]
    records.append(make_record(model=retried.model, scaffold=retried.scaffold,
                               prompt_id=retried.prompt_id, replies=["Retried fine."],
                               cell_id=retried.cell_id))
    return write_run(run_dir, records), records


def read_lines(path: Path) -> list[dict[str, Any]]:
    """A JSONL file's lines as plain JSON objects (what a coder's tool would see)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def few_records(n: int = 2, reply: str = "Fine.") -> list[TranscriptRecord]:
    """``n`` ok cells of one model and scaffold, with a plain reply."""
    return [make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}",
                        replies=[reply]) for i in range(n)]
