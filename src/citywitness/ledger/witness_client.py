"""The witness: an independent party that checks the log only grows, and cosigns it.

A witness (another department, a court, an outside auditor) runs `citywitness witness`.
Each round it fetches the platform's latest checkpoint, checks the log's signature with
the pinned log key, checks a consistency proof from the last checkpoint it saw, cosigns
(C2SP tlog-cosignature, cosignature/v1), hands the cosignature to the platform, and only
then remembers the new checkpoint (its state file, replaced atomically).

If the log shows two different roots for one size, or a consistency proof fails, the log
has forked (shown different histories to different people): the witness refuses to
cosign, reports both signed checkpoints to the platform as evidence, and stops with
`ForkDetected`.  The state file keeps the checkpoint it trusted.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from citywitness.ledger.merkle import HASH_SIZE, verify_consistency
from citywitness.ledger.note import (
    Checkpoint,
    CosignatureSigner,
    NoteError,
    NoteVerifier,
    SignedNote,
)

log = logging.getLogger(__name__)

STATE_VERSION = 1
API_PATH = "/api/v1/ledger"


class WitnessError(RuntimeError):
    """This round failed (network, refused, a bad signature); nothing was cosigned."""


class ForkDetected(WitnessError):
    """The log is not append-only: two roots for one size, or a failed consistency proof."""

    def __init__(self, message: str, *, reported: bool) -> None:
        super().__init__(message)
        self.reported = reported


@dataclass(frozen=True)
class WitnessState:
    """What a witness remembers: the log key it pinned and the last checkpoint it cosigned."""

    name: str
    log_vkey: str
    origin: str
    size: int
    root: str  # base64
    note: str  # the log-signed note, as served

    @classmethod
    def load(cls, path: Path) -> WitnessState | None:
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("version", None) != STATE_VERSION:
                raise WitnessError(f"state file {path} has an unknown version")
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise WitnessError(f"state file {path} is damaged: {exc}") from exc

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file, fsync, rename, fsync the directory."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        payload = json.dumps({"version": STATE_VERSION, **asdict(self)}, indent=2)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


@dataclass(frozen=True)
class RoundResult:
    """What one round did: `cosigned` a new checkpoint, or found nothing new."""

    size: int
    root: str
    cosigned: bool
    message: str


def api_base(log_url: str) -> str:
    base = log_url.rstrip("/")
    return base if base.endswith(API_PATH) else base + API_PATH


class LogClient:
    """The platform's ledger API, as a witness uses it."""

    def __init__(self, client: httpx.AsyncClient, log_url: str, token: str | None) -> None:
        self._client = client
        self._base = api_base(log_url)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _get(self, path: str, params: dict[str, int] | None = None) -> httpx.Response:
        try:
            reply = await self._client.get(self._base + path, params=params, headers=self._headers)
        except httpx.HTTPError as exc:
            raise WitnessError(f"log unreachable: {type(exc).__name__}") from exc
        if reply.status_code != 200:
            raise WitnessError(f"GET {path} answered HTTP {reply.status_code}: {_why(reply)}")
        return reply

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(self._base + path, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise WitnessError(f"log unreachable: {type(exc).__name__}") from exc

    async def log_key(self) -> str:
        return (await self._get("/key")).text.strip()

    async def checkpoint(self) -> bytes:
        return (await self._get("/checkpoint")).content

    async def consistency(self, old: int, new: int) -> list[bytes]:
        data = (await self._get("/proof/consistency", {"old": old, "new": new})).json()
        try:
            proof = [base64.b64decode(item, validate=True) for item in data["hashes"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise WitnessError("the consistency proof is malformed") from exc
        if any(len(item) != HASH_SIZE for item in proof):
            raise WitnessError("the consistency proof is malformed")
        return proof

    async def cosign(self, note: bytes) -> None:
        reply = await self._post("/cosignatures", {"note": note.decode("utf-8")})
        if reply.status_code != 201:
            raise WitnessError(
                f"the platform refused the cosignature (HTTP {reply.status_code}): {_why(reply)}"
            )

    async def report_fork(self, notes: list[bytes], proof: list[bytes], witness: str) -> bool:
        body = {
            "witness": witness,
            "notes": [n.decode("utf-8") for n in notes],
            "proof": [base64.b64encode(p).decode("ascii") for p in proof],
        }
        try:
            reply = await self._post("/forks", body)
        except WitnessError:
            return False
        return reply.status_code in (200, 201)


def _why(reply: httpx.Response) -> str:
    try:
        detail = reply.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail or reply.reason_phrase)[:300]


class Witness:
    """One witness of one log: its key, its state file and the log's API."""

    def __init__(
        self,
        *,
        name: str,
        signer: CosignatureSigner,
        state_file: Path,
        client: LogClient,
        log_vkey: str | None = None,
        clock: Any = time.time,
    ) -> None:
        self.name = name
        self.signer = signer
        self.state_file = state_file
        self.client = client
        self.log_vkey = log_vkey
        self.clock = clock

    async def _verifier(self, state: WitnessState | None) -> tuple[str, NoteVerifier]:
        vkey = self.log_vkey or (state.log_vkey if state else None)
        if state is not None and vkey != state.log_vkey:
            raise WitnessError("--log-key differs from the log key pinned in the state file")
        if vkey is None:
            vkey = await self.client.log_key()  # trust on first use, then pinned
        try:
            return vkey, NoteVerifier.from_vkey(vkey)
        except NoteError as exc:
            raise WitnessError(f"the log key is not a valid verifier key: {exc}") from exc

    async def run_once(self) -> RoundResult:
        """One round: fetch, verify, cosign, hand over, remember (see the module doc)."""
        state = WitnessState.load(self.state_file)
        vkey, verifier = await self._verifier(state)
        raw = await self.client.checkpoint()
        note, checkpoint = _verified_checkpoint(raw, verifier)
        root = base64.b64encode(checkpoint.root).decode("ascii")
        if state is not None:
            if checkpoint.origin != state.origin:
                raise WitnessError(f"the log's origin changed to {checkpoint.origin!r}")
            if not await self._consistent(state, raw, checkpoint):
                return RoundResult(state.size, state.root, False, "nothing new to cosign")
        cosignature = self.signer.cosign(note.body, int(self.clock()))
        await self.client.cosign(note.with_signature(cosignature).encode())
        new_state = WitnessState(
            self.name, vkey, checkpoint.origin, checkpoint.size, root, raw.decode()
        )
        new_state.save(self.state_file)
        log.info("cosigned", extra={"size": checkpoint.size})
        return RoundResult(checkpoint.size, root, True, f"cosigned size {checkpoint.size}")

    async def _consistent(self, state: WitnessState, raw: bytes, checkpoint: Checkpoint) -> bool:
        """Whether the new checkpoint extends the remembered one (True: cosign it); raise
        `ForkDetected` when it cannot."""
        old_root = base64.b64decode(state.root)
        old_note = state.note.encode("utf-8")
        if checkpoint.size == state.size:
            if checkpoint.root == old_root:
                return False
            await self._fork(f"two roots for size {state.size}", [old_note, raw], [])
        older, newer = sorted(
            [(state.size, old_root), (checkpoint.size, checkpoint.root)], key=lambda c: c[0]
        )
        proof = await self.client.consistency(older[0], newer[0])
        if not verify_consistency(older[0], newer[0], proof, older[1], newer[1]):
            why = f"consistency proof from size {older[0]} to {newer[0]} fails"
            await self._fork(why, [old_note, raw], proof)
        return checkpoint.size > state.size  # an older (stale) checkpoint is not cosigned

    async def _fork(self, why: str, notes: list[bytes], proof: list[bytes]) -> None:
        reported = await self.client.report_fork(notes, proof, self.name)
        log.critical("ledger fork detected", extra={"reason": why, "reported": reported})
        raise ForkDetected(f"LOG FORK DETECTED: {why}; refusing to cosign", reported=reported)


def _verified_checkpoint(raw: bytes, verifier: NoteVerifier) -> tuple[SignedNote, Checkpoint]:
    try:
        note = SignedNote.decode(raw)
        checkpoint = Checkpoint.parse(note.body)
    except NoteError as exc:
        raise WitnessError(f"the log served a malformed checkpoint: {exc}") from exc
    if not verifier.verify(note):
        raise WitnessError("the checkpoint is not signed by the pinned log key")
    return note, checkpoint
