"""Offline verifier throughput on a package with a ~1 GiB original, against `sha256sum` of
the same package in the same run.

    .venv/bin/python bench/bench_verify.py [--size-mib 1024] [--runs 2]

Generates (in a temporary directory, deleted afterwards) a real MP4 made with PyAV and
grown to the requested size with a second `mdat` box of random bytes, so the C2PA
library hashes the whole file as it would a long recording.  Writes a package of it with
the real exporter (`ledger.export_writer.write_package`: a small signed log, a C2PA sidecar,
the PDF report) and times:

- `sha256sum` of the package (the baseline: reading and hashing every byte once), and the
  same through Python's hashlib (OpenSSL; faster than coreutils where it uses the CPU's SHA
  instructions and coreutils does not, so this second ratio is the stricter one);
- `citywitness verify`'s code (`verify_package`) on the package, with the log key and the
  C2PA root as trust anchors; it must report no failure.

Prints MiB/s for each and the ratio verify / sha256sum (issue 4's goal: >= 0.8).  The
verifier reads each original twice (its SHA-256, then the C2PA hard binding); it runs those
two on two threads, so the ratio depends on having two free cores.  The goal needs a quiet
machine: report `uptime`'s load with the numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import os
import shutil
import struct
import subprocess
import tempfile
import time
import uuid
from fractions import Fraction
from pathlib import Path

import av
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from citywitness.ledger.c2pa_identity import load_or_create_identity
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.export_writer import (
    CustodyEntry,
    ExportFile,
    ExportInfo,
    ExportItem,
    LogEvidence,
    write_package,
)
from citywitness.ledger.merkle import inclusion_proof_from_leaves, leaf_hash, root_from_leaves
from citywitness.ledger.note import Checkpoint, NoteSigner, SignedNote
from citywitness.ledger.report_pdf import custody_report
from citywitness.ledger.verify_package import verify_package
from citywitness.ledger.verify_trust import Trust

MIB = 1024 * 1024
ORIGIN = "bench.citywitness/log"
BLOCK = 16 * MIB


def small_mp4() -> bytes:
    """A one-second 64x48 H.264 MP4."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"preset": "ultrafast"}
        for i in range(10):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([16 + i * 20]) * plane.buffer_size)
            frame.pts, frame.time_base = i, Fraction(1, 10)
            container.mux(video.encode(frame))
        container.mux(video.encode())
    return buffer.getvalue()


def make_original(path: Path, size: int) -> tuple[str, int]:
    """A valid MP4 of about `size` bytes (an extra `mdat` box pads it); its SHA-256 and size."""
    head = small_mp4()
    pad = max(0, size - len(head) - 8)
    if pad + 8 >= 2**32:
        raise SystemExit("--size-mib must stay under 4 GiB (32-bit box size)")
    digest = hashlib.sha256()
    block = os.urandom(BLOCK)
    with path.open("wb") as out:
        for piece in (head, struct.pack(">I4s", pad + 8, b"mdat")):
            out.write(piece)
            digest.update(piece)
        while pad > 0:
            piece = block[: min(pad, BLOCK)]
            out.write(piece)
            digest.update(piece)
            pad -= len(piece)
    return digest.hexdigest(), path.stat().st_size


def _leaf(kind: str, item_id: str, **details: object) -> bytes:
    document = {
        "v": 1,
        "kind": kind,
        "object": {"type": "evidence", "id": item_id},
        "department": None,
        "actor": {"kind": "system", "id": None},
        "at": "2026-01-02T03:04:05.000000Z",
        "details": details,
    }
    return canonical_json(document)


def make_package(folder: Path, original: Path, sha: str, size: int) -> tuple[Path, list[Path]]:
    """A package of one item with `original`; the trust files (log key, C2PA root)."""
    item_id = str(uuid.uuid4())
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    identity = load_or_create_identity(folder / "c2pa", "Bench City")
    leaves = [
        _leaf("evidence.ingested", item_id, sha256=sha, size=size),
        _leaf("evidence.exported", item_id, export="bench"),
    ]
    hashes = [leaf_hash(data) for data in leaves]
    body = Checkpoint(ORIGIN, len(hashes), root_from_leaves(hashes)).body()
    note = SignedNote(body, (signer.sign(body),)).encode()
    custody = tuple(
        CustodyEntry(i, leaves[i], tuple(inclusion_proof_from_leaves(hashes, i))) for i in (0, 1)
    )
    file = ExportFile(
        "original", "original", "video/mp4", sha, size, "mp4", lambda: original.open("rb")
    )
    metadata = {"sha256": sha, "size_bytes": size, "media_type": "video/mp4"}
    package = folder / "package.zip"
    write_package(
        package,
        items=[ExportItem(item_id, metadata, (file,), custody)],
        log=LogEvidence(checkpoint_note=note, log_vkey=signer.verifier_key()),
        identity=identity,
        info=ExportInfo(dt.datetime.now(dt.UTC), "CityWitness bench", item_id, "bench", "bench"),
        report=custody_report,
    )
    (folder / "log.vkey").write_text(signer.verifier_key() + "\n")
    (folder / "root.pem").write_bytes(identity.anchor_pem)
    return package, [folder / "log.vkey", folder / "root.pem"]


def timed_sha256sum(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


def timed_hashlib(path: Path) -> float:
    """The same bytes through Python's hashlib (OpenSSL, as the verifier hashes)."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(4 * MIB):
            digest.update(chunk)
    return time.perf_counter() - started


def timed_verify(path: Path, trust: Trust) -> float:
    started = time.perf_counter()
    report = verify_package(path, trust)
    elapsed = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"the package did not verify: {report.failures()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the original")
    parser.add_argument("--runs", type=int, default=2, help="timed runs of each (best kept)")
    args = parser.parse_args()
    if shutil.which("sha256sum") is None:
        raise SystemExit("sha256sum is not installed")
    with tempfile.TemporaryDirectory(prefix="cw-bench-verify-") as scratch:
        folder = Path(scratch)
        original = folder / "original.mp4"
        sha, size = make_original(original, args.size_mib * MIB)
        started = time.perf_counter()
        package, trust_files = make_package(folder, original, sha, size)
        export_s = time.perf_counter() - started
        original.unlink()
        trust = Trust.from_files(trust_files)
        total = package.stat().st_size / MIB
        timed_sha256sum(package)  # warm the page cache for both
        baseline = min(timed_sha256sum(package) for _ in range(args.runs))
        in_process = min(timed_hashlib(package) for _ in range(args.runs))
        verify = min(timed_verify(package, trust) for _ in range(args.runs))
    load = os.getloadavg()
    print(f"package: {total:.0f} MiB (original {size / MIB:.0f} MiB); cores: {os.cpu_count()}")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"export (write_package)   {export_s:7.2f} s  {total / export_s:8.1f} MiB/s")
    print(f"sha256sum (baseline)     {baseline:7.2f} s  {total / baseline:8.1f} MiB/s")
    print(f"hashlib.sha256 (python)  {in_process:7.2f} s  {total / in_process:8.1f} MiB/s")
    print(f"verify_package           {verify:7.2f} s  {total / verify:8.1f} MiB/s")
    print(f"ratio verify / sha256sum {baseline / verify:7.2f}  (goal >= 0.8)")
    print(f"ratio verify / hashlib   {in_process / verify:7.2f}")


if __name__ == "__main__":
    main()
