"""One cell's conversation: user turns, the scaffold's wrapping and passes, the transcript record.

Owns the conversation loop of a cell (scripted or simulated user turns, the scaffold's system
prompt, user template and extra passes), how a failed call ends the cell (``error`` or
``blocked``, with its cause), and the cell's ``TranscriptRecord``. A ``simulated_user`` block
is played by ``RunConfig.simulated_user_model`` (the block's model, else the run's ``users``
choice, else the target itself), shown only its persona card and the conversation from the
user's side (``simulated_user.py``), and its calls are recorded (purpose ``simulated_user``)
and cached like any other. The block ends after ``max_turns`` messages, or earlier when the
user replies with the end marker or nothing (no empty user message reaches the transcript);
the scenario's next turn, if any, follows. A call whose prompt is over its model's input limit
(``max_input_tokens``, else litellm's model info; counted by litellm) is not sent: the cell
ends ``error`` with a ``context_window`` cause. A reply shown to the user that the provider
cut off at ``max_tokens`` (``finish_reason: length``) is listed in ``truncated_messages``. It
does not decide which cells run, when to stop or where records go (``runner.py``), and it does
not retry or cache (``harness.providers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from harness.config import RunConfig
from harness.errors import ReplayMissError
from harness.providers import ProviderClient, check_context, now_iso
from harness.rundir import CallRecord, Message, TranscriptRecord, Usage
from harness.schema import ModelSpec, SimulatedUser
from harness.sweep.cells import Cell
from harness.sweep.simulated_user import persona_card, read_user_reply, user_view

__all__ = ["CellRunner"]

CellStatus = Literal["ok", "error", "blocked"]


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
    truncated: list[int] = field(default_factory=list)
    """Indices into ``visible`` of replies the provider cut off at ``max_tokens``."""
    status: CellStatus = "ok"
    error: str | None = None

    async def call(self, messages: list[Message], purpose: str, turn: int,
                   model: ModelSpec | None = None) -> CallRecord:
        """One provider call of the cell (to the cell's model unless ``model`` is given).

        Raises:
            _ContextWindow: the prompt is over the model's input limit; nothing was sent.
        """
        check = check_context(model or self.cell.model, messages)
        if not check.fits:
            raise _ContextWindow(f"{purpose}: {CONTEXT_WINDOW}: "
                                 f"{check.describe(f'the prompt of turn {turn + 1}')}")
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


CONTEXT_WINDOW = "context_window"
"""What the error of a cell ended before a call that could not fit says after its purpose."""


class _ContextWindow(Exception):
    """A call's prompt is over its model's input limit (the message is the cell's error)."""


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
        except _ContextWindow as exc:
            conversation.status, conversation.error = "error", str(exc)
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
                            error=conversation.error, started_at=started, finished_at=now_iso(),
                            truncated=conversation.truncated)

    async def run_failed(self, cell: Cell, error: str) -> TranscriptRecord:
        """A cell that is not run (its model failed authentication): an error record."""
        now = now_iso()
        return self._record(cell, status="error", messages=[], calls=[], usage=Usage(),
                            cost_usd=0.0, error=error, started_at=now, finished_at=now)

    async def _converse(self, conversation: _Conversation) -> None:
        for index, turn in enumerate(conversation.cell.scenario.turns):
            if turn.user is not None:
                carry_on = await self._exchange(conversation, turn.user, index)
            else:
                assert turn.simulated_user is not None
                carry_on = await self._simulated_block(conversation, turn.simulated_user, index)
            if not carry_on:
                return

    async def _exchange(self, conversation: _Conversation, user_text: str,
                        turn_index: int) -> bool:
        """One user message and the reply shown to it; False when a call failed."""
        cell = conversation.cell
        conversation.visible.append(Message(role="user", content=user_text))
        conversation.history.append(Message(
            role="user", content=cell.scaffold.wrap_user(user_text)))
        source = await self._reply(conversation, turn_index)
        if source is None:
            return False
        shown = source.reply or ""
        conversation.history.append(Message(role="assistant", content=shown))
        if source.truncated:
            conversation.truncated.append(len(conversation.visible))
        conversation.visible.append(Message(role="assistant", content=shown))
        return True

    async def _simulated_block(self, conversation: _Conversation, spec: SimulatedUser,
                               turn_index: int) -> bool:
        """Up to ``max_turns`` simulated user messages, each answered; False when a call
        failed (the block ending early is not a failure)."""
        player = self.config.simulated_user_model(spec.model) or conversation.cell.model
        card = Message(role="system", content=persona_card(spec))
        for _ in range(spec.max_turns):
            # The user's side only: the card and what they saw, never the system prompt,
            # the user template or a pass.
            prompt = [card, *user_view(conversation.visible)]
            record = await conversation.call(prompt, "simulated_user", turn_index, player)
            if conversation.failed(record, "simulated user"):
                return False
            said = read_user_reply(record.reply or "")
            if said.message and not await self._exchange(conversation, said.message,
                                                         turn_index):
                return False
            if said.ends:
                break
        return True

    async def _reply(self, conversation: _Conversation, turn_index: int) -> CallRecord | None:
        """The call whose reply is shown to the user after the scaffold's passes (the first
        reply, or the last pass that replaces it); None when a call failed."""
        history = conversation.history
        reply_record = await conversation.call(list(history), "reply", turn_index)
        if conversation.failed(reply_record, "reply"):
            return None
        source = reply_record
        shown = reply_record.reply or ""
        for scaffold_pass in conversation.cell.scaffold.passes:
            pass_messages = [*history, Message(role="assistant", content=shown),
                             Message(role="user", content=scaffold_pass.instruction)]
            pass_record = await conversation.call(pass_messages, f"pass:{scaffold_pass.name}",
                                                  turn_index)
            if conversation.failed(pass_record, f"pass {scaffold_pass.name}"):
                return None
            if scaffold_pass.replace_reply:
                source, shown = pass_record, pass_record.reply or ""
        return source

    def _record(self, cell: Cell, *, status: CellStatus, messages: list[Message],
                calls: list[CallRecord], usage: Usage, cost_usd: float | None,
                error: str | None, started_at: str, finished_at: str,
                truncated: list[int] | None = None) -> TranscriptRecord:
        return TranscriptRecord(
            run_id=self.run_id, cell_id=cell.cell_id, model=cell.model.name,
            scaffold=cell.scaffold.name, prompt_id=cell.scenario.id, prompt_set=cell.prompt_set,
            domain=cell.scenario.domain, probe=cell.scenario.probe, replicate=cell.replicate,
            status=status, simulated=cell.model.simulated, messages=messages, calls=calls,
            truncated_messages=truncated or [], usage=usage, cost_usd=cost_usd, error=error,
            started_at=started_at, finished_at=finished_at, scaffold_hash=cell.scaffold_hash,
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
