"""What the sweep writes: transcript records, cache entries and the manifest.

``transcripts*.jsonl`` holds one :class:`TranscriptRecord` per finished cell,
``cache/responses*.jsonl`` one :class:`CacheEntry` per provider reply (written before the reply
is used), and ``manifest*.json`` one :class:`Manifest` per shard. Blinding reads the
transcripts, the report reads the manifests and the transcripts' status, replay reads the
cache.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.rundir.records.base import Record, StrictRecord
from harness.schema import (
    BlindSettings,
    JudgeSpec,
    ModelParams,
    ModelSpec,
    PipelineSettings,
    PromptSet,
    ProviderSettings,
    ReplaySettings,
    ReportSettings,
    RubricSpec,
    RunSettings,
    ScaffoldSpec,
)

__all__ = [
    "LENGTH_FINISH",
    "Attempt",
    "CacheEntry",
    "CallRecord",
    "Manifest",
    "ManifestConfig",
    "ManifestHashes",
    "Message",
    "ServedIdentity",
    "ServerListing",
    "StatusCounts",
    "TranscriptRecord",
    "Usage",
]

CellStatus = Literal["ok", "error", "blocked"]

LENGTH_FINISH = "length"
"""The ``finish_reason`` of a reply cut off at ``max_tokens`` (OpenAI's word, kept by litellm)."""


class Message(StrictRecord):
    """One message of a conversation."""

    role: Literal["system", "user", "assistant"]
    """Who speaks: the system prompt, the user, or the model."""
    content: str
    """The text, exactly as sent or received."""


class Usage(StrictRecord):
    """Token counts as the provider reported them (zero when it did not)."""

    prompt_tokens: int = 0
    """Tokens of the request."""
    completion_tokens: int = 0
    """Tokens of the reply."""
    total_tokens: int = 0
    """Their sum, as reported."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class Attempt(StrictRecord):
    """One HTTP attempt of a provider call."""

    number: int
    """1 for the first attempt."""
    started_at: str
    """ISO time the attempt started (UTC)."""
    latency_s: float
    """Seconds from sending to the answer or the error."""
    outcome: Literal["ok", "retryable", "fatal", "blocked"]
    """How the attempt ended: a reply, a failure worth retrying, a final failure, or a
    content-policy refusal."""
    error_class: str | None = None
    """The exception's class name (e.g. ``RateLimitError``)."""
    status_code: int | None = None
    """The HTTP status, when there was one."""
    message: str | None = None
    """The provider's error message, truncated; never a key."""
    wait_s: float | None = None
    """Seconds waited before the next attempt (Retry-After honoured)."""


class CallRecord(StrictRecord):
    """One logical provider call (a reply, a scaffold pass, a simulated user turn)."""

    purpose: str
    """``reply``, ``pass:<name>`` or ``simulated_user``."""
    turn: int
    """Index of the user turn this call belongs to (0-based)."""
    request_fingerprint: str
    """sha256 of the request's identity (the cache and replay key)."""
    request: list[Message]
    """The messages actually sent (system prompt and wrappers included)."""
    status: CellStatus
    """``ok``, ``error`` or ``blocked`` (a content-policy refusal)."""
    reply: str | None = None
    """The reply text (status ``ok``)."""
    model_reported: str | None = None
    """The model version the provider reported (e.g. gpt-4o-2024-08-06)."""
    system_fingerprint: str | None = None
    """The provider's system fingerprint, when it sends one."""
    finish_reason: str | None = None
    """Why the reply ended, as the provider said (``stop``; ``length``: cut off at
    ``max_tokens``); null when it did not say, or for records written before it was kept."""
    usage: Usage = Usage()
    """Tokens of this call."""
    cost_usd: float | None = None
    """Price of this call from litellm's price map; null when unknown."""
    latency_s: float = 0.0
    """Seconds spent in attempts (waits between them excluded)."""
    from_cache: bool = False
    """Served from the write-ahead cache or a replay recording: not paid for again."""
    attempts: list[Attempt] = Field(default_factory=list)
    """Every HTTP attempt, the first included (empty when served from a recording)."""
    error: str | None = None
    """Why the call failed (status ``error``), e.g. the last attempt's error or an earlier
    authentication failure of this model that stopped further calls."""

    @property
    def truncated(self) -> bool:
        """True when the provider cut the reply off at ``max_tokens``."""
        return self.finish_reason == LENGTH_FINISH


class TranscriptRecord(Record):
    """One finished cell (schema ``xstress.transcript/1``), a line of transcripts.jsonl."""

    schema_: Literal["xstress.transcript/1"] = Field(
        default="xstress.transcript/1", alias="schema"
    )
    """Record kind and version."""
    run_id: str
    """The run directory's name."""
    cell_id: str
    """Stable id of (model, scaffold, scenario, replicate)."""
    model: str
    """Model config name (what reports call it before blinding)."""
    scaffold: str
    """Scaffold name."""
    prompt_id: str
    """Scenario id."""
    prompt_set: str
    """Name of the prompt set the scenario belongs to."""
    domain: str
    """The scenario's domain (health, finance, ...)."""
    probe: str
    """What the scenario stresses: underspecified, checkable or multiturn."""
    replicate: int
    """Replicate index, from 0."""
    status: CellStatus
    """``ok``, ``error`` or ``blocked``; a blocked cell is a result, never a score of 0."""
    simulated: bool = False
    """True when the model is one of xstress's simulated models: not a real model's output."""
    messages: list[Message]
    """The conversation as the user saw it: their own turns and the replies shown to them."""
    calls: list[CallRecord]
    """Every provider call of the cell, in order."""
    usage: Usage
    """Tokens over all calls."""
    cost_usd: float | None
    """Cost over all calls; null when any call's price is unknown."""
    truncated_messages: list[int] = Field(default_factory=list)
    """Indices into ``messages`` of the replies shown to the user that the provider cut off at
    the length limit (the call that produced them ended with ``finish_reason: length``)."""
    error: str | None = None
    """Why the cell ended ``error`` or ``blocked``."""
    started_at: str
    """ISO time the cell started (UTC)."""
    finished_at: str
    """ISO time the cell finished (UTC)."""
    scaffold_hash: str
    """Content hash of the scaffold."""
    prompt_hash: str
    """Content hash of the scenario."""
    model_hash: str
    """Content hash of the model's identity and sampling parameters."""
    model_params: ModelParams
    """The sampling parameters sent."""
    litellm_model: str
    """The litellm model string called."""


class CacheEntry(StrictRecord):
    """A provider reply, written before it is used (write-ahead), keyed by fingerprint."""

    request_fingerprint: str
    """The request it answers."""
    status: Literal["ok", "blocked"]
    """A reply, or a content-policy refusal (never retried)."""
    reply: str
    """The reply text (for ``blocked``: the provider's message)."""
    model_reported: str | None = None
    """The model version the provider reported."""
    system_fingerprint: str | None = None
    """The provider's system fingerprint."""
    finish_reason: str | None = None
    """Why the reply ended (``stop``, ``length`` ...); null when unknown or recorded before it
    was kept, so replay and resume give back what the provider said."""
    usage: Usage = Usage()
    """Tokens of the call."""
    cost_usd: float | None = None
    """Price of the call; null when unknown."""
    latency_s: float = 0.0
    """Seconds the successful attempt took."""
    recorded_at: str
    """ISO time the reply was written (UTC)."""


class ManifestConfig(StrictRecord):
    """The resolved configuration of a run: every object in full, key *names* only."""

    models: list[ModelSpec]
    """The target models."""
    scaffolds: list[ScaffoldSpec]
    """The scaffolds."""
    prompts: PromptSet
    """The prompt set."""
    rubric: RubricSpec | None = None
    """The rubric the pipeline scores on."""
    judges: list[JudgeSpec] = Field(default_factory=list)
    """The coders the pipeline runs."""
    simulated_user_models: list[ModelSpec] = Field(default_factory=list)
    """Models named by ``simulated_user.model`` in the scenarios."""
    users: ModelSpec | None = None
    """The run's choice of who plays simulated users naming no model (null: the target)."""
    run: RunSettings
    """Run settings."""
    provider: ProviderSettings
    """How calls were served."""
    replay: ReplaySettings
    """Replay source, when replaying."""
    pipeline: PipelineSettings
    """The stages run."""
    blind: BlindSettings = BlindSettings()
    """Blinding settings."""
    report: ReportSettings = ReportSettings()
    """Report settings."""
    preset: str | None = None
    """The preset selected, if any."""
    protocol: str | None = None
    """The protocol file the run was told to follow (``protocol=FILE``), as given."""


class ManifestHashes(StrictRecord):
    """Content hashes (sha256 of canonical JSON) of every config object in full."""

    models: dict[str, str]
    """Per model name."""
    scaffolds: dict[str, str]
    """Per scaffold name."""
    prompts: str
    """Of the whole prompt set."""
    rubric: str | None = None
    """Of the rubric, when one was configured."""
    judges: dict[str, str] = Field(default_factory=dict)
    """Per judge name."""
    simulated_user_models: dict[str, str] = Field(default_factory=dict)
    """Per simulated-user model name."""
    users: str | None = None
    """Of the run's user model, when one was chosen."""


class ServerListing(StrictRecord):
    """An OpenAI-compatible server's ``/models`` listing, fetched once at the start of a sweep."""

    url: str
    """The address asked (the endpoint's ``/models``; never a key)."""
    fetched_at: str
    """ISO time of the request (UTC)."""
    model_ids: list[str] | None = None
    """The ids the server listed (for llama.cpp or vLLM: the weights it serves); null when
    the request failed."""
    error: str | None = None
    """Why the listing could not be read (timeout, refused, not JSON ...); a failure is recorded,
    never fatal."""


class ServedIdentity(StrictRecord):
    """What served one model, as far as the provider said (beside its configured name)."""

    litellm_model: str
    """The litellm model string the run asked for (what the configuration says)."""
    simulated: bool = False
    """True for xstress's simulated models (answered in-process: no weights, no server)."""
    api_base: str | None = None
    """The endpoint the calls went to (``provider.api_base`` or the model's), when one was set."""
    reported_models: list[str] = Field(default_factory=list)
    """The ``model`` field of the replies (a local server often echoes the requested name)."""
    system_fingerprints: list[str] = Field(default_factory=list)
    """The ``system_fingerprint`` of the replies, when the provider sent one."""
    listing: ServerListing | None = None
    """The endpoint's ``/models`` listing (OpenAI-compatible endpoints only); null for hosted
    providers, simulated models and replays."""


class StatusCounts(StrictRecord):
    """Cells by how they ended."""

    ok: int = 0
    """Cells that ended ``ok``."""
    error: int = 0
    """Cells that ended ``error``."""
    blocked: int = 0
    """Cells that ended ``blocked``."""


class Manifest(Record):
    """What a sweep (one shard of it) ran, with what, and how it ended
    (``manifest.json``, or ``manifest.shard-K-of-N.json``; schema ``xstress.manifest/1``)."""

    schema_: Literal["xstress.manifest/1"] = Field(default="xstress.manifest/1", alias="schema")
    """Record kind and version."""
    run_id: str
    """The run directory's name."""
    simulated: bool
    """True when every model is simulated."""
    simulated_models: list[str]
    """Names of the simulated models among the targets."""
    config: ManifestConfig
    """The resolved configuration."""
    hashes: ManifestHashes
    """Content hashes of the full config objects (descriptions, rate limits and key variable
    names included): they identify files, not treatments."""
    protocol_hash: str | None = None
    """The fixed-scaffolding protocol's hash (``harness.schema.protocol``): two runs followed
    the same protocol exactly when it matches. Null when the models differ in sampling
    parameters (no single protocol) or for runs made before protocols existed."""
    versions: dict[str, str]
    """Versions of python, xstress, litellm, hydra-core and pydantic."""
    git_commit: str | None
    """The checkout's commit, when it is a git checkout."""
    shard: int
    """This shard's index."""
    num_shards: int
    """How many shards the run has."""
    cells: int
    """Cells of this shard."""
    counts: StatusCounts
    """Cells by status, so far."""
    not_started: int
    """Cells not started (budget gate or interruption)."""
    stopped_by: Literal["budget", "interrupt"] | None
    """Why the sweep stopped early, if it did."""
    cost_usd: float
    """Spent on this shard's cells, over every invocation."""
    calls_made_this_invocation: int
    """Provider calls paid for by the latest invocation (0 on a resume with nothing to do)."""
    model_versions: dict[str, list[str]]
    """Model versions the providers reported, per model name."""
    served: dict[str, ServedIdentity] = Field(default_factory=dict)
    """Per model name, what the provider reported serving (reply ``model`` and
    ``system_fingerprint``) and the endpoint's ``/models`` listing; empty in older manifests."""
    started_at: str
    """ISO time of the first invocation (UTC)."""
    finished_at: str | None
    """ISO time the latest invocation finished; null while it runs."""
