"""One cell's conversation: user turns, the scaffold's wrapping and passes, the transcript record.

Owns the conversation loop of a cell (scripted or simulated user turns, the scaffold's system
prompt, user template and extra passes), how a failed call ends the cell (``error`` or
``blocked``, with its cause), and the cell's ``TranscriptRecord``. Simulated-user models come
from the run configuration (``RunConfig.simulated_user_model``), resolved before the first call.
It does not decide which cells run, when to stop or where records go (``runner.py``), and it
does not retry or cache (``harness.providers``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from harness.config import RunConfig
from harness.errors import ReplayMissError
from harness.providers import ProviderClient, now_iso
from harness.rundir import CallRecord, Message, TranscriptRecord, Usage
from harness.schema import ModelSpec
from harness.sweep.cells import Cell

__all__ = ["SIMULATED_USER_PROMPT", "CellRunner"]

CellStatus = Literal["ok", "error", "blocked"]
Call = Callable[..., Awaitable[CallRecord]]

SIMULATED_USER_PROMPT = (
    "You are playing the user in a conversation with an AI assistant. Stay in character.\n"
    "Persona: {persona}\nGoal: {goal}\n"
    "Write only the user's next message, in their voice, in one to three sentences."
)


@dataclass
class _Conversation:
    """The state of one cell's conversation while it runs."""

    cell: Cell
    client: ProviderClient
    visible: list[Message] = field(default_factory=list)
    """What the user saw: their own turns and the replies shown to them."""
    history: list[Message] = field(default_factory=list)
    """What the model is sent: system prompt, wrapped user turns, shown replies."""
    calls: list[CallRecord] = field(default_factory=list)
    status: CellStatus = "ok"
    error: str | None = None

    async def call(self, messages: list[Message], purpose: str, turn: int,
                   model: ModelSpec | None = None) -> CallRecord:
        """One provider call of the cell (to the cell's model unless ``model`` is given)."""
        record = await self.client.complete(model or self.cell.model, messages, purpose=purpose,
                                            turn=turn, replicate=self.cell.replicate,
                                            label=self.cell.label)
        self.calls.append(record)
        return record

    def failed(self, record: CallRecord, what: str) -> bool:
        """True (and the cell's status and error set) when ``record`` has no reply."""
        if record.status == "ok" and record.reply is not None:
            return False
        self.status, self.error = _failure(record, what)
        return True


class CellRunner:
    """Runs one cell's conversation; returns its transcript record."""

    def __init__(self, client: ProviderClient, run_id: str, config: RunConfig) -> None:
        self.client = client
        self.run_id = run_id
        self.config = config

    async def run(self, cell: Cell) -> TranscriptRecord:
        """Run the cell's conversation to its end or its first failed call."""
        started = now_iso()
        conversation = _Conversation(cell, self.client)
        if cell.scaffold.system:
            conversation.history.append(Message(role="system", content=cell.scaffold.system))
        try:
            await self._converse(conversation)
        except ReplayMissError as exc:
            conversation.status, conversation.error = "error", exc.one_line()
        usage = Usage()
        cost: float | None = 0.0
        for record in conversation.calls:
            usage = usage + record.usage
            if record.cost_usd is None:
                cost = None
            elif cost is not None:
                cost += record.cost_usd
        return self._record(cell, status=conversation.status, messages=conversation.visible,
                            calls=conversation.calls, usage=usage, cost_usd=cost,
                            error=conversation.error, started_at=started, finished_at=now_iso())

    async def run_failed(self, cell: Cell, error: str) -> TranscriptRecord:
        """A cell that is not run (its model failed authentication): an error record."""
        now = now_iso()
        return self._record(cell, status="error", messages=[], calls=[], usage=Usage(),
                            cost_usd=0.0, error=error, started_at=now, finished_at=now)

    async def _converse(self, conversation: _Conversation) -> None:
        cell = conversation.cell
        turns = self._user_turns(cell, conversation.visible, conversation.call)
        for user_text, turn_index, simulated_user_call in turns:
            if simulated_user_call is not None:
                text_record = await simulated_user_call
                if conversation.failed(text_record, "simulated user"):
                    return
                user_text = (text_record.reply or "").strip()
            conversation.visible.append(Message(role="user", content=user_text))
            conversation.history.append(Message(
                role="user", content=cell.scaffold.user_template.format(user=user_text)))
            shown = await self._reply(conversation, turn_index)
            if shown is None:
                return
            conversation.history.append(Message(role="assistant", content=shown))
            conversation.visible.append(Message(role="assistant", content=shown))

    async def _reply(self, conversation: _Conversation, turn_index: int) -> str | None:
        """The reply shown to the user after the scaffold's passes; None when a call failed."""
        history = conversation.history
        reply_record = await conversation.call(list(history), "reply", turn_index)
        if conversation.failed(reply_record, "reply"):
            return None
        shown = reply_record.reply or ""
        for scaffold_pass in conversation.cell.scaffold.passes:
            pass_messages = [*history, Message(role="assistant", content=shown),
                             Message(role="user", content=scaffold_pass.instruction)]
            pass_record = await conversation.call(pass_messages, f"pass:{scaffold_pass.name}",
                                                  turn_index)
            if conversation.failed(pass_record, f"pass {scaffold_pass.name}"):
                return None
            if scaffold_pass.replace_reply:
                shown = pass_record.reply or ""
        return shown

    def _user_turns(self, cell: Cell, visible: list[Message], call: Call
                    ) -> Iterator[tuple[str, int, Awaitable[CallRecord] | None]]:
        """Yields (text, turn index, pending simulated-user call or None)."""
        for index, turn in enumerate(cell.scenario.turns):
            if turn.user is not None:
                yield turn.user, index, None
                continue
            assert turn.simulated_user is not None
            spec = turn.simulated_user
            model = self.config.simulated_user_model(spec.model) or cell.model
            for _ in range(spec.max_turns):
                prompt = [Message(role="system", content=SIMULATED_USER_PROMPT.format(
                    persona=spec.persona, goal=spec.goal))]
                # The simulator sees the conversation from the user's side: roles swap.
                for message in visible:
                    role = "assistant" if message.role == "user" else "user"
                    prompt.append(Message(role=role, content=message.content))
                if len(prompt) == 1:
                    prompt.append(Message(role="user", content="(Start the conversation.)"))
                yield "", index, call(prompt, "simulated_user", index, model)

    def _record(self, cell: Cell, *, status: CellStatus, messages: list[Message],
                calls: list[CallRecord], usage: Usage, cost_usd: float | None,
                error: str | None, started_at: str, finished_at: str) -> TranscriptRecord:
        return TranscriptRecord(
            run_id=self.run_id, cell_id=cell.cell_id, model=cell.model.name,
            scaffold=cell.scaffold.name, prompt_id=cell.scenario.id, prompt_set=cell.prompt_set,
            domain=cell.scenario.domain, probe=cell.scenario.probe, replicate=cell.replicate,
            status=status, simulated=cell.model.simulated, messages=messages, calls=calls,
            usage=usage, cost_usd=cost_usd, error=error, started_at=started_at,
            finished_at=finished_at, scaffold_hash=cell.scaffold_hash,
            prompt_hash=cell.prompt_hash, model_hash=cell.model_hash,
            model_params=cell.model.params, litellm_model=cell.model.litellm_model,
        )


def _failure(record: CallRecord, what: str) -> tuple[CellStatus, str]:
    """The cell's status and error after a call without a reply."""
    if record.status == "blocked":
        return "blocked", f"{what}: blocked by the provider's content policy"
    last = record.attempts[-1] if record.attempts else None
    if last is not None and last.outcome != "ok":
        cause = f"{last.error_class}"
        if last.status_code:
            cause += f" ({last.status_code})"
        return "error", f"{what}: {cause} after {len(record.attempts)} attempt(s): " \
                        f"{last.message or ''}".strip()
    return "error", f"{what}: {record.error or 'call not made'}"
