"""What a simulated user is shown and how its reply is read: the persona card, the user's view.

Owns the simulated user's side of a ``simulated_user`` block: its system prompt (the persona
card: who the user is, their goal, the hidden facts with when to reveal them, what to say when
asked nothing, how to end), the conversation as the user saw it with the roles swapped (never
the system prompt, the user template or a scaffold pass), and reading its reply (a message, or
the end of the block). The card is plain labelled lines, so an LLM can follow it and the
scripted simulated user (``xstress-sim/user``) can parse it with no other channel. It does not
call anyone or decide who plays the user (``conversation.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.rundir import Message
from harness.schema import SimulatedUser

__all__ = ["END_MARKER", "START", "UserReply", "persona_card", "read_user_reply", "user_view"]

END_MARKER = "<<END>>"
"""What the simulated user replies, alone, to end its block (no message reaches the
transcript)."""
START = "(Start the conversation.)"
"""The user's view of a conversation that has not started (a block opening a scenario)."""

_OPENING = (
    "You are playing the user in a conversation with an AI assistant. Stay in character: you "
    "are the person described below, not an assistant, and you never say you are playing a "
    "role. Write only the user's next message, in their voice and style (like their earlier "
    "messages), in one to three sentences."
)
_FACT_RULES = (
    "Hidden facts. You know these, but tell one only when the assistant's last message asks "
    "about it: one of its questions names the fact's topic (the words after \"Asked about\", "
    "separated by |). Never volunteer a fact nobody asked about. Answer with the fact's words; "
    "when several facts are asked, answer them together. The most important fact comes first."
)
_OTHER_RULES = (
    "Everything else:\n"
    "- A question that none of these facts answers: say you are not sure. Only if it is a "
    "general question about your situation (for example \"tell me more about your "
    "situation\"), also say the most important fact you have not told yet.\n"
    "- No question at all in the assistant's last message: {no_question}\n"
    "- To end the conversation, reply with exactly " + END_MARKER + " and nothing else."
)
_SAY_OTHERWISE = ("say the line after \"Otherwise\" below, once; if you have already said it, "
                  "end the conversation.")
_END_NOW = "end the conversation."


def _one_line(text: str) -> str:
    """Whitespace collapsed, so each card field stays on its own labelled line."""
    return " ".join(text.split())


def persona_card(spec: SimulatedUser) -> str:
    """The simulated user's system prompt for ``spec`` (the same text for an LLM and the
    scripted user)."""
    lines = [_OPENING, "", f"Persona: {_one_line(spec.persona)}",
             f"Goal: {_one_line(spec.goal)}", ""]
    if spec.facts:
        lines.append(_FACT_RULES)
        for number, fact in enumerate(spec.facts, start=1):
            about = " | ".join(_one_line(word).replace("|", "/") for word in fact.about)
            lines += [f"Fact {number}.", f"Asked about: {about}",
                      f"Answer: {_one_line(fact.answer)}"]
    else:
        lines.append("Hidden facts: none.")
    lines += ["", _OTHER_RULES.format(
        no_question=_SAY_OTHERWISE if spec.otherwise.strip() else _END_NOW)]
    if spec.otherwise.strip():
        lines.append(f"Otherwise: {_one_line(spec.otherwise)}")
    return "\n".join(lines)


def user_view(visible: list[Message]) -> list[Message]:
    """The conversation from the user's side: their turns as ``assistant``, the replies they
    were shown as ``user`` (what a chat model playing the user answers)."""
    swapped = [Message(role="assistant" if m.role == "user" else "user", content=m.content)
               for m in visible]
    return swapped or [Message(role="user", content=START)]


@dataclass(frozen=True)
class UserReply:
    """The simulated user's reply, read."""

    message: str
    """The user's next message; empty when the block ends without one."""
    ends: bool
    """True when the block ends (after ``message``, if any)."""


def read_user_reply(reply: str) -> UserReply:
    """Read a simulated user's reply: the end marker (alone or after a last message) or an
    empty reply ends the block; nothing empty reaches the transcript."""
    text = reply.strip()
    if END_MARKER in text:
        # An LLM may write a closing line before the marker: that line is its last message.
        return UserReply(message=text.replace(END_MARKER, " ").strip().strip('"').strip(),
                         ends=True)
    return UserReply(message=text, ends=not text)
