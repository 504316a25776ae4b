"""The human-readable custody report (`custody-report.pdf`) of an export package.

Made with reportlab from the package manifest alone, so it says exactly what the package
proves: per item its metadata, SHA-256 and files, the full custody history (time, event,
actor, reason, ledger index), then the checkpoint (origin, size, root), the time stamps and
how to verify the package.

Chinese text (notes, department names) is set in the PDF standard CID font `STSong-Light`
(Adobe-GB1, UniGB-UCS2-H).  It is not embedded: no CJK font file ships offline in a package
here, and every conforming PDF reader supplies this font (Acrobat's Asian font pack, poppler
with poppler-data).  The text itself is in the PDF as Unicode, so it can be searched and
copied even where a viewer lacks the font.
"""

from __future__ import annotations

import io
import json
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CJK_FONT = "STSong-Light"
_registered = False


def _fonts() -> None:
    global _registered  # noqa: PLW0603 - register the CID font once per process
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        _registered = True


def _text(value: Any) -> str:
    """Escaped paragraph markup; text beyond Latin-1 is set in the CJK font."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    marked = escape(text)
    if any(ord(char) > 0xFF for char in text):
        return f'<font name="{CJK_FONT}">{marked}</font>'
    return marked


class _Doc:
    def __init__(self) -> None:
        styles = getSampleStyleSheet()
        self.h1, self.h2, self.body = styles["Title"], styles["Heading2"], styles["BodyText"]
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=9)
        self.flow: list[Any] = []

    def para(self, markup: str, style: ParagraphStyle | None = None) -> None:
        self.flow.append(Paragraph(markup, style or self.body))

    def table(self, rows: list[list[Any]], widths: list[float], header: bool = True) -> None:
        cells = [[Paragraph(_text(cell), self.small) for cell in row] for row in rows]
        table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1 if header else 0)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")))
        table.setStyle(TableStyle(style))
        self.flow.append(table)
        self.flow.append(Spacer(1, 4 * mm))


def _custody_rows(item: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [["index", "time (UTC)", "event", "actor", "reason / details"]]
    for entry in item.get("custody", []):
        leaf = json.loads(entry["leaf"])
        actor = leaf.get("actor") or {}
        details = dict(leaf.get("details") or {})
        reason = details.pop("reason", None)
        shown = reason if reason else json.dumps(details, ensure_ascii=False, sort_keys=True)
        rows.append(
            [
                entry["index"],
                leaf.get("at", ""),
                leaf.get("kind", ""),
                f"{actor.get('kind', '')} {actor.get('id') or ''}".strip(),
                shown,
            ]
        )
    return rows


def _item(doc: _Doc, item: dict[str, Any]) -> None:
    doc.para(_text(f"Item {item['id']}"), doc.h2)
    meta = item.get("metadata", {})
    doc.table([[key, value] for key, value in meta.items()], [45, 125], header=False)
    rows: list[list[Any]] = [["file", "SHA-256", "bytes", "C2PA"]]
    for file in item.get("files", []):
        c2pa = (file.get("c2pa") or {}).get("mode", "none")
        rows.append([file["path"], file["sha256"], file["size"], c2pa])
    doc.table(rows, [55, 80, 18, 17])
    doc.para("Custody history (ledger entries, each with an inclusion proof):")
    doc.table(_custody_rows(item), [12, 33, 32, 38, 55])


def _verify_help(doc: _Doc, manifest: dict[str, Any]) -> None:
    doc.para("How to verify", doc.h2)
    for line in (
        "Run <b>citywitness verify package.zip --trust log.vkey --trust c2pa-root.pem "
        "--trust tsa-root.pem</b> on any computer, without network access. Obtain the "
        "keys independently of this package (from the platform operator, a witness or the "
        "court's records): without --trust the verifier uses the keys inside the package and "
        "says that trust was not anchored.",
        "It recomputes the SHA-256 of every file, checks each custody entry's inclusion proof "
        "against the checkpoint root, the log's signature and the witnesses' cosignatures on "
        "the checkpoint, the RFC 3161 time stamps, and the C2PA manifests. It exits with "
        "status 0 only if every check holds.",
        f"Checkpoint origin {_text(manifest['log']['origin'])}, size {manifest['log']['size']}, "
        f"root {manifest['log']['root']}.",
    ):
        doc.para(line)


def custody_report(manifest: dict[str, Any]) -> bytes:
    """The PDF custody report of a package manifest (see `export_writer`)."""
    _fonts()
    doc = _Doc()
    exporter = manifest["exporter"]
    doc.para("Evidence custody report", doc.h1)
    doc.table(
        [
            ["created", manifest["created_at"]],
            ["exported by", f"{exporter['user']['username']} ({exporter['user']['id']})"],
            ["reason", exporter["reason"]],
            ["software", exporter["software"]],
            ["checkpoint", f"{manifest['log']['origin']} / size {manifest['log']['size']}"],
            ["root (base64)", manifest["log"]["root"]],
            ["time stamps", ", ".join(str(s["size"]) for s in manifest["timestamps"]) or "none"],
            ["witness keys", ", ".join(manifest["keys"]["witnesses"]) or "none"],
        ],
        [35, 135],
        header=False,
    )
    for item in manifest["items"]:
        _item(doc, item)
    _verify_help(doc, manifest)
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title="Evidence custody report",
        author="CityWitness",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=1,
    )
    template.build(doc.flow)
    return buffer.getvalue()
