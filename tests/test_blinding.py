"""Tests for harness/blinding.py: scrubbing, the items/key/report files, the leak scan."""

from __future__ import annotations

import hashlib
import json
import random
import re
import stat
import threading
from pathlib import Path
from typing import Any, Literal

import pytest

import harness.blind.stage as blinding
from harness.blind.stage import RunTerms, Scrubber, blind_run, default_tells_path, load_tells
from harness.errors import ConfigError, InputError
from harness.rundir.records import (
    BlindedItem,
    CallRecord,
    KeyEntry,
    Message,
    TranscriptRecord,
    Usage,
)
from harness.schema import ModelParams, ModelSpec, PassSpec, ScaffoldSpec

# --------------------------------------------------------------------------- a synthetic run

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


def _leaks(text: str) -> list[str]:
    bare = PLACEHOLDERS.sub(" ", text)
    found = [m.group(0) for m in FORBIDDEN.finditer(bare)]
    found += re.findall(r"\bMeta\b|\bMETA\b", bare)  # the company, capitalised
    return found


def _cell_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


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
    messages: list[Message] = []
    calls: list[CallRecord] = []
    for turn, (user, reply) in enumerate(zip(users, replies, strict=True)):
        messages.append(Message(role="user", content=user))
        sent = ([Message(role="system", content=spec.system)] if spec.system else []) + messages
        calls.append(
            CallRecord(
                purpose="reply",
                turn=turn,
                request_fingerprint=f"fp-{turn}",
                request=sent,
                status="ok",
                reply=reply,
                model_reported=f"{MODELS.get(model, model)}-2026-01-01",
                usage=Usage(prompt_tokens=10, completion_tokens=20, total_tokens=30),
                cost_usd=0.001,
                latency_s=0.25,
            )
        )
        for step in spec.passes:
            calls.append(
                CallRecord(
                    purpose=f"pass:{step.name}",
                    turn=turn,
                    request_fingerprint=f"fp-{turn}-{step.name}",
                    request=[
                        *sent,
                        Message(role="assistant", content=reply),
                        Message(role="user", content=step.instruction),
                    ],
                    status="ok",
                    reply=reply,
                )
            )
        messages.append(Message(role="assistant", content=reply))
    return TranscriptRecord(
        run_id="run-test",
        cell_id=cell_id or _cell_id(model, scaffold, prompt_id, replicate),
        model=model,
        scaffold=scaffold,
        prompt_id=prompt_id,
        prompt_set="stress15",
        domain=prompt_id.split("-")[0],
        probe="multiturn",
        replicate=replicate,
        status=status,
        simulated=True,
        messages=messages if status == "ok" else [],
        calls=calls,
        usage=Usage(prompt_tokens=100, completion_tokens=200, total_tokens=300),
        cost_usd=0.01,
        error=None if status == "ok" else f"{status} for a test",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:05+00:00",
        scaffold_hash="a" * 64,
        prompt_hash="b" * 64,
        model_hash="c" * 64,
        model_params=ModelParams(),
        litellm_model=MODELS.get(model, f"xstress-sim/{model}"),
    )


def write_run(
    run_dir: Path,
    records: list[TranscriptRecord],
    *,
    manifest: bool = True,
    scaffolds: dict[str, ScaffoldSpec] | None = None,
) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "transcripts.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.model_dump_json(by_alias=True) + "\n")
    if manifest:
        data = {
            "schema": "xstress.manifest/1",
            "run_id": "run-test",
            "simulated": True,
            "config": {
                "models": [
                    ModelSpec(name=n, litellm_model=lm, family="xstress-simulated").model_dump()
                    for n, lm in MODELS.items()
                ],
                "scaffolds": [s.model_dump() for s in (scaffolds or SCAFFOLDS).values()],
                "prompts": {"name": "stress15", "scenarios": []},
                "run": {},
                "provider": {"mode": "live"},
            },
            "hashes": {},
            "versions": {},
            "git_commit": None,
            "counts": {},
            "cost_usd": None,
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": None,
            "model_versions": {n: [f"{lm}-2026-01-01"] for n, lm in MODELS.items()},
        }
        (run_dir / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    return run_dir


def offline_run(run_dir: Path) -> tuple[Path, list[TranscriptRecord]]:
    """180 cells (3 models x 4 scaffolds x 15 scenarios): 172 ok, 4 error, 4 blocked.

    Replies carry each model's style, the verify scaffold's section and, here and there, an
    adversarial tell. One error cell was retried later and is ok (the last record wins).
    """
    rng = random.Random(0)
    records: list[TranscriptRecord] = []
    failing: dict[int, Status] = {
        5: "error",
        17: "blocked",
        60: "error",
        99: "blocked",
        120: "error",
        150: "blocked",
        170: "error",
        179: "blocked",
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
                status = failing.get(index, "ok")
                records.append(
                    make_record(
                        model=model,
                        scaffold=scaffold,
                        prompt_id=prompt_id,
                        replies=replies,
                        status=status,
                    )
                )
                index += 1
    # Cell 5 was an error, then retried successfully: both records are in the file.
    retried = records[5]
    records.append(
        make_record(
            model=retried.model,
            scaffold=retried.scaffold,
            prompt_id=retried.prompt_id,
            replies=["Retried fine."],
            cell_id=retried.cell_id,
        )
    )
    return write_run(run_dir, records), records


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


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


# --------------------------------------------------------------------------- scrubbing


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_replies_come_out_clean(scrubber: Scrubber, text: str) -> None:
    cleaned, replaced, remaining = scrubber.clean(text)
    assert replaced > 0
    assert remaining == []
    assert _leaks(cleaned) == [], cleaned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "As an AI developed by OpenAI, I can't give medical advice.",
            "[SELF-ID], I can't give medical advice.",
        ),
        (
            "Hi! I'm Claude, an AI assistant made by Anthropic. I can help.",
            "Hi! [SELF-ID]. I can help.",
        ),
        (
            "As of my last update in October 2023, the fee was $50.",
            "[KNOWLEDGE-CUTOFF], the fee was $50.",
        ),
        ("My knowledge cutoff is April 2024, so check.", "[KNOWLEDGE-CUTOFF], so check."),
        ("Use gpt4o, GPT-4o-mini or Chat GPT.", "Use [MODEL], [MODEL] or [ASSISTANT]."),
        ("Claude 3.5 Sonnet and Llama-3.1-8B-Instruct.", "[MODEL] and [MODEL]."),
        ("from openai import OpenAI", "from [VENDOR] import [VENDOR]"),
        ("Meta's Llama; a meta-analysis.", "[VENDOR]'s [MODEL]; a meta-analysis."),
        (
            "[verify] Scaffold: steer. In verify mode.",
            "[SCAFFOLD] Scaffold: [SCAFFOLD]. In [SCAFFOLD] mode.",
        ),
        ("persona: cautious", "persona: [MODEL]"),
        ("Verify\n**Steer**\nDone.", "[SCAFFOLD]\n**[SCAFFOLD]**\nDone."),
        ("The socratic-v2 scaffold, or Socratic V2.", "The [SCAFFOLD] scaffold, or [SCAFFOLD]."),
        ("I'm sim-eager, from xstress-sim/eager.", "[SELF-ID], from [MODEL]."),
        (
            "Fine. For every factual claim, give the user a concrete way to check it themselves.",
            "Fine. [INSTRUCTIONS].",
        ),
        (
            "Phi-3-mini and Gemma 2 are small; I am Gemma.",
            "[MODEL] and [MODEL] are small; [SELF-ID].",
        ),
    ],
)
def test_scrub_replaces_tells_with_placeholders(
    scrubber: Scrubber, text: str, expected: str
) -> None:
    assert scrubber.clean(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "Please verify the dose with your pharmacist before you take more.",
        "A meta-analysis of 12 trials found no benefit; check the metadata too.",
        "The cutoff date for applications is March 2024.",
        "To my knowledge, the deposit must be returned within 14 days.",
        "Apply for an O-1 visa if you qualify.",
        "Phi is the golden ratio; Gemma is my sister's name.",
        "This generic drug is a bare-bones option; steer clear of alcohol.",
        "I updated the plan as you asked, and the trained staff will call you.",
        "Open the AI settings panel, then save.",
        "Your landlord must give notice; the court may steer you to mediation.",
    ],
)
def test_ordinary_prose_is_left_alone(scrubber: Scrubber, text: str) -> None:
    assert scrubber.clean(text) == (text, 0, [])


def test_wrapped_user_turn_is_unwrapped(scrubber: Scrubber) -> None:
    wrapped = "Answer the question below carefully:\n\nCan I take 40 mg tonight?"
    cleaned, replaced, remaining = scrubber.clean(wrapped, role="user")
    assert cleaned == "Can I take 40 mg tonight?"
    assert replaced == 1 and remaining == []
    # A reply quoting the same words is not a wrapper; it is left to the other rules.
    assert scrubber.clean("Can I take 40 mg tonight?", role="user")[1] == 0


def test_scan_reports_what_scrubbing_missed(scrubber: Scrubber) -> None:
    # Mathematical bold letters are normalised (NFKC) by the scan, not by the scrubber.
    text = "Answer by \U0001d402\U0001d425\U0001d41a\U0001d42e\U0001d41d\U0001d41e."
    cleaned, _replaced, remaining = scrubber.clean(text)
    assert cleaned == text
    assert [(t.category, t.match) for t in remaining] == [("model_family", "Claude")]
    assert scrubber.scan("nothing to see here") == []


def test_tells_file_is_data(tmp_path: Path) -> None:
    custom = tmp_path / "tells.yaml"
    original = default_tells_path().read_text(encoding="utf-8")
    custom.write_text(
        original + '\n  - name: house_models\n    placeholder: "[MODEL]"\n'
        "    names: [Zorblax, {name: Quux, require_version: true}]\n",
        encoding="utf-8",
    )
    scrubber = Scrubber(load_tells(custom), RunTerms())
    assert scrubber.clean("Zorblax-7 beats quux 2, but quux alone is a word.")[0] == (
        "[MODEL]-7 beats [MODEL], but quux alone is a word."
    )
    assert scrubber.counts["house_models"] == 2


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ("  - name: bad\n    placeholder: X\n    patterns: ['(unclosed']\n", "not a valid regular"),
        (
            "  - name: bad\n    placeholder: X\n    patterns: ['<<nope>>']\n",
            "unknown macro <<nope>>",
        ),
        ("  - name: bad\n    placeholder: X\n", "exactly one of 'names' or 'patterns'"),
        ("  - name: vendor\n    placeholder: X\n    names: [a]\n", "'vendor' appears twice"),
        (
            "  - name: bad\n    placeholder: X\n    patterns: [x]\n    anchors: [Bad]\n",
            "lowercase ASCII",
        ),
    ],
)
def test_invalid_tells_file_is_a_config_error(tmp_path: Path, addition: str, message: str) -> None:
    custom = tmp_path / "tells.yaml"
    custom.write_text(default_tells_path().read_text(encoding="utf-8") + addition, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Scrubber(load_tells(custom), RunTerms(), source=str(custom))
    assert message in caught.value.one_line()
    assert str(custom) in caught.value.one_line()


def test_missing_tells_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_tells(tmp_path / "nope.yaml")


# --------------------------------------------------------------------------- the stage


def test_offline_run_is_blinded(tmp_path: Path) -> None:
    run_dir, records = offline_run(tmp_path / "run")
    summary = blind_run(run_dir, seed=11)

    items = read_jsonl(run_dir / "blind" / "items.jsonl")
    key = read_jsonl(run_dir / "blind" / "key.jsonl")
    report = json.loads(summary.leak_report_path.read_text(encoding="utf-8"))

    # Every ok transcript (the last record of each cell) has exactly one item.
    final = {record.cell_id: record for record in records}
    ok_cells = {cell for cell, record in final.items() if record.status == "ok"}
    assert len(final) == 180 and len(ok_cells) == 173
    assert summary.n_items == len(items) == len(key) == 173
    assert sorted(entry["cell_id"] for entry in key) == sorted(ok_cells)
    assert [item["blind_id"] for item in items] == [entry["blind_id"] for entry in key]
    assert len({item["blind_id"] for item in items}) == 173

    # Blocked and error cells are listed, not dropped silently.
    excluded = {entry["cell_id"]: entry["status"] for entry in report["excluded"]}
    assert excluded == {c: r.status for c, r in final.items() if r.status != "ok"}
    assert summary.n_excluded == 7 and set(excluded.values()) == {"error", "blocked"}
    assert report["n_transcripts"] == 180 and report["n_duplicates_replaced"] == 1

    # Items hold only what a coder needs.
    for item in items:
        BlindedItem.model_validate(item)
        assert set(item) == {"schema", "blind_id", "scenario_id", "domain", "messages"}
        assert {m["role"] for m in item["messages"]} <= {"user", "assistant"}
        assert item["blind_id"] not in final
    text = (run_dir / "blind" / "items.jsonl").read_text(encoding="utf-8")
    for name, litellm_model in MODELS.items():
        for term in (name, litellm_model, name.replace("-", " "), name.replace("-", "")):
            assert term.lower() not in text.lower()
    for spec in SCAFFOLDS.values():
        for fragment in filter(None, [spec.system, *(p.instruction for p in spec.passes)]):
            assert fragment not in text
            for sentence in re.split(r"(?<=\.)\s+", fragment):
                assert sentence.lower() not in text.lower()
    assert "self_check" not in text and "0.25" not in text and "fp-" not in text
    for item in items:
        for message in item["messages"]:
            assert _leaks(message["content"]) == [], message["content"]

    # The key is sealed.
    assert stat.S_IMODE((run_dir / "blind" / "key.jsonl").stat().st_mode) == 0o600
    for entry in key:
        KeyEntry.model_validate(entry)

    # The report: contract fields, the audit with its interval, no tells left.
    assert report["schema"] == "xstress.leak_report/1"
    assert report["passed"] is True and report["remaining_tells"] == []
    assert summary.remaining_tells == 0
    assert report["replacements"]["self_identification"] > 0
    assert report["replacements"]["vendor"] > 0
    assert report["replacements"]["run_model"] > 0
    assert report["replacements"]["run_scaffold"] > 0
    assert any("visible by design" in limit for limit in report["known_limits"])
    for target, result in (
        ("model", report["identifiability"]),
        ("scaffold", report["scaffold_identifiability"]),
    ):
        assert result["target"] == target
        assert result["ci_low"] <= result["accuracy"] <= result["ci_high"]
        assert result["n_items"] == 173 and result["n_folds"] == 5
    assert report["identifiability"]["n_classes"] == 3
    # ok cells per model: 60 - 1 (cell 17; cell 5 was retried ok), 60 - 2, 60 - 4: 59 is most.
    assert report["identifiability"]["chance"] == pytest.approx(59 / 173)
    # Each simulated model has a stock phrase: the audit should see through the blinding.
    assert report["identifiability"]["ci_low"] > report["identifiability"]["chance"]
    assert summary.identifiability == report["identifiability"]
    # Nothing temporary is left behind.
    assert sorted(p.name for p in (run_dir / "blind").iterdir()) == [
        "items.jsonl",
        "key.jsonl",
        "leak_report.json",
    ]


def test_reblinding_is_refused_unless_forced(tmp_path: Path) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    blind_run(run_dir, seed=1)
    first_ids = [e["blind_id"] for e in read_jsonl(run_dir / "blind" / "key.jsonl")]
    with pytest.raises(InputError) as caught:
        blind_run(run_dir, seed=1)
    assert "pass --force" in caught.value.one_line()
    assert "re-blinding would change the key under existing scores" in caught.value.one_line()
    blind_run(run_dir, seed=1, force=True)
    second_ids = [e["blind_id"] for e in read_jsonl(run_dir / "blind" / "key.jsonl")]
    assert len(second_ids) == len(first_ids) and not set(first_ids) & set(second_ids)


def test_seed_reproduces_the_order_but_not_the_ids(tmp_path: Path) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    blind_run(run_dir, seed=5)
    first = read_jsonl(run_dir / "blind" / "key.jsonl")
    first_items = read_jsonl(run_dir / "blind" / "items.jsonl")
    blind_run(run_dir, seed=5, force=True)
    second = read_jsonl(run_dir / "blind" / "key.jsonl")
    second_items = read_jsonl(run_dir / "blind" / "items.jsonl")
    assert [e["cell_id"] for e in first] == [e["cell_id"] for e in second]
    assert [i["messages"] for i in first_items] == [i["messages"] for i in second_items]
    assert all(a["blind_id"] != b["blind_id"] for a, b in zip(first, second, strict=True))
    # The order is a shuffle, not the file order.
    in_file = [r["cell_id"] for r in read_jsonl(run_dir / "transcripts.jsonl")]
    assert [e["cell_id"] for e in first] != [
        c for c in dict.fromkeys(in_file) if c in {e["cell_id"] for e in first}
    ]
    blind_run(run_dir, seed=6, force=True)
    third = read_jsonl(run_dir / "blind" / "key.jsonl")
    assert [e["cell_id"] for e in third] != [e["cell_id"] for e in first]


def test_remaining_tells_fail_closed(tmp_path: Path) -> None:
    record = make_record(
        model="sim-eager", scaffold="bare", prompt_id="health-chatgpt-advice", replies=["Fine."]
    )
    others = [
        make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}", replies=["Fine."])
        for i in range(3)
    ]
    run_dir = write_run(tmp_path / "run", [record, *others])
    with pytest.raises(InputError) as caught:
        blind_run(run_dir)
    line = caught.value.one_line()
    assert "1 identity tell(s) remain" in line and "'chatgpt'" in line and "--allow-leaks" in line
    blind_dir = run_dir / "blind"
    assert sorted(p.name for p in blind_dir.iterdir()) == ["leak_report.json"]
    report = json.loads((blind_dir / "leak_report.json").read_text(encoding="utf-8"))
    assert report["passed"] is False and report["n_remaining_tells"] == 1
    assert report["remaining_tells"][0]["field"] == "scenario_id"
    assert report["remaining_tells"][0]["cell_id"] == record.cell_id

    # A failed attempt is not a blinding: no --force needed to try again; --allow-leaks writes.
    summary = blind_run(run_dir, allow_leaks=True)
    assert summary.remaining_tells == 1 and summary.n_items == 4
    assert (blind_dir / "items.jsonl").exists() and (blind_dir / "key.jsonl").exists()


def test_failed_reblind_keeps_the_existing_blinding(tmp_path: Path) -> None:
    clean = [
        make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}", replies=["Fine."])
        for i in range(3)
    ]
    run_dir = write_run(tmp_path / "run", clean)
    blind_run(run_dir)
    key_before = (run_dir / "blind" / "key.jsonl").read_text(encoding="utf-8")
    leaky = make_record(model="sim-eager", scaffold="bare", prompt_id="gpt4-test", replies=["x"])
    write_run(run_dir, [*clean, leaky])
    with pytest.raises(InputError, match=r"leak_report\.rejected\.json"):
        blind_run(run_dir, force=True)
    assert (run_dir / "blind" / "key.jsonl").read_text(encoding="utf-8") == key_before
    assert (run_dir / "blind" / "leak_report.rejected.json").exists()


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
    items = read_jsonl(run_dir / "blind" / "items.jsonl")
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
    item = read_jsonl(run_dir / "blind" / "items.jsonl")[0]
    assert item["messages"] == [
        {"role": "user", "content": "Can my landlord keep the deposit?"},
        {
            "role": "assistant",
            "content": "As instructed: [INSTRUCTIONS]. The deposit rules are in the tenancy act.",
        },
    ]
    report = json.loads((run_dir / "blind" / "leak_report.json").read_text(encoding="utf-8"))
    assert report["replacements"]["scaffold_wrapper"] == 1
    assert report["replacements"]["scaffold_text"] == 1
    assert report["user_turn_replacements"] == 1
    assert report["identifiability"] is None
    assert "at least 2 models" in report["identifiability_skipped"]["model"]


def test_torn_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    records = [
        make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}", replies=["Fine."])
        for i in range(2)
    ]
    run_dir = write_run(tmp_path / "run", records)
    with (run_dir / "transcripts.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"schema": "xstress.transcript/1", "run_id": "run-te')
    summary = blind_run(run_dir)
    assert summary.n_items == 2
    report = json.loads(summary.leak_report_path.read_text(encoding="utf-8"))
    assert any("torn last line" in warning for warning in report["warnings"])


def test_corrupt_middle_line_is_an_input_error(tmp_path: Path) -> None:
    records = [
        make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}", replies=["Fine."])
        for i in range(2)
    ]
    run_dir = write_run(tmp_path / "run", records)
    lines = (run_dir / "transcripts.jsonl").read_text(encoding="utf-8").splitlines()
    (run_dir / "transcripts.jsonl").write_text(lines[0] + "\n{oops}\n" + lines[1] + "\n")
    with pytest.raises(InputError, match=r"transcripts.jsonl:2: not a valid transcript record"):
        blind_run(run_dir)
    assert not (run_dir / "blind" / "items.jsonl").exists()


def test_no_transcripts_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        blind_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no transcripts in"):
        blind_run(tmp_path / "empty")
    (tmp_path / "empty" / "transcripts.jsonl").write_text("")
    with pytest.raises(InputError, match="files are empty"):
        blind_run(tmp_path / "empty")
    assert not (tmp_path / "empty" / "blind" / "key.jsonl").exists()


def test_shards_are_read_as_one_run(tmp_path: Path) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    lines = (run_dir / "transcripts.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (run_dir / "transcripts.jsonl").unlink()
    (run_dir / "transcripts.shard-0-of-2.jsonl").write_text("".join(lines[:90]))
    (run_dir / "transcripts.shard-1-of-2.jsonl").write_text("".join(lines[90:]))
    summary = blind_run(run_dir, seed=2)
    assert summary.n_items == 173 and summary.n_excluded == 7


def test_many_buckets_give_the_same_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    blind_run(run_dir, seed=3)
    one_bucket = _items_by_cell(run_dir)
    monkeypatch.setattr(blinding, "BUCKET_TARGET_BYTES", 20_000)
    blind_run(run_dir, seed=3, force=True)
    assert _items_by_cell(run_dir) == one_bucket
    report = json.loads((run_dir / "blind" / "leak_report.json").read_text(encoding="utf-8"))
    assert report["n_items"] == 173 and report["n_duplicates_replaced"] == 1


@pytest.mark.slow
def test_worker_processes_do_not_change_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    monkeypatch.setattr(blinding, "BUCKET_TARGET_BYTES", 50_000)
    blind_run(run_dir, seed=4, workers=1)
    serial = [(e["cell_id"]) for e in read_jsonl(run_dir / "blind" / "key.jsonl")]
    serial_report = json.loads((run_dir / "blind" / "leak_report.json").read_text())
    # With another thread alive the pool spawns its workers instead of forking them.
    for other_thread in (False, True):
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        if other_thread:
            thread.start()
        try:
            blind_run(run_dir, seed=4, force=True, workers=2)
        finally:
            stop.set()
        parallel = [(e["cell_id"]) for e in read_jsonl(run_dir / "blind" / "key.jsonl")]
        parallel_report = json.loads((run_dir / "blind" / "leak_report.json").read_text())
        assert parallel == serial
        for field in ("replacements", "excluded", "identifiability", "n_items", "warnings"):
            assert parallel_report[field] == serial_report[field]
        assert stat.S_IMODE((run_dir / "blind" / "key.jsonl").stat().st_mode) == 0o600


def test_progress_bar_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [
        make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}", replies=["Fine."])
        for i in range(2)
    ]
    run_dir = write_run(tmp_path / "run", records)
    blind_run(run_dir, progress=True)
    assert capsys.readouterr().out == ""


def _items_by_cell(run_dir: Path) -> dict[str, tuple[str, str]]:
    items = read_jsonl(run_dir / "blind" / "items.jsonl")
    key = read_jsonl(run_dir / "blind" / "key.jsonl")
    return {
        str(entry["cell_id"]): (json.dumps(item["messages"]), str(item["scenario_id"]))
        for item, entry in zip(items, key, strict=True)
    }


def test_default_tells_file_follows_the_project_root(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_tells_path() == project / "configs" / "blinding" / "tells.yaml"
    tells = default_tells_path()
    tells.write_text(
        tells.read_text(encoding="utf-8")
        + "\n  - name: house\n    placeholder: '[MODEL]'\n    names: [Zorblax]\n",
        encoding="utf-8",
    )
    record = make_record(
        model="sim-eager", scaffold="bare", prompt_id="health-1", replies=["Zorblax says hi."]
    )
    run_dir = write_run(tmp_path / "run", [record])
    blind_run(run_dir)
    item = read_jsonl(run_dir / "blind" / "items.jsonl")[0]
    assert item["messages"][1]["content"] == "[MODEL] says hi."


def _broken_worker(*_args: object) -> None:
    raise RuntimeError("this worker cannot start")


def test_a_failing_process_pool_falls_back_to_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    monkeypatch.setattr(blinding, "BUCKET_TARGET_BYTES", 50_000)
    blind_run(run_dir, seed=4, workers=1)
    serial = read_jsonl(run_dir / "blind" / "key.jsonl")
    monkeypatch.setattr(blinding, "_start_worker", _broken_worker)
    blind_run(run_dir, seed=4, force=True, workers=2)
    fallback = read_jsonl(run_dir / "blind" / "key.jsonl")
    assert [e["cell_id"] for e in fallback] == [e["cell_id"] for e in serial]
    report = json.loads((run_dir / "blind" / "leak_report.json").read_text(encoding="utf-8"))
    assert any("blinded in one process instead" in w for w in report["warnings"])
    assert report["n_items"] == 173
