"""What the witness modules share: the log's identity, the audit seam, note decoding."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from citywitness.ledger.note import Checkpoint, NoteError, NoteVerifier, SignedNote
from citywitness.ledger.witness_errors import InvalidNote, NotThisLog


class AuditRecorder(Protocol):
    """What the ledger needs of the audit trail (the request's `Auditor` fits)."""

    async def record(
        self,
        action: str,
        *,
        object_type: str | None = None,
        object_id: uuid.UUID | str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class LogIdentity:
    """This log as outsiders see it: its origin line and its checkpoint verifier."""

    origin: str
    verifier: NoteVerifier


def decode_checkpoint(log: LogIdentity, text: str) -> tuple[SignedNote, Checkpoint]:
    """The note and its checkpoint, if this log signed it (`InvalidNote`, `NotThisLog`)."""
    try:
        note = SignedNote.decode(text.encode("utf-8"))
        checkpoint = Checkpoint.parse(note.body)
    except NoteError as exc:
        raise InvalidNote(str(exc)) from exc
    except UnicodeEncodeError as exc:  # a lone surrogate from JSON
        raise InvalidNote("the note is not valid UTF-8 text") from exc
    if checkpoint.origin != log.origin or not log.verifier.verify(note):
        raise NotThisLog
    return note, checkpoint
