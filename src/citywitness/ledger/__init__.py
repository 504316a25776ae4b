"""The tamper-evident custody ledger: an RFC 9162 Merkle log of custody events with C2SP signed
checkpoints, proofs and tiles (see docs/ledger.md)."""
