"""The report for the authorities, "Báo cáo kết quả bồi dưỡng": the programme's figures by commune and by course.

Every number comes from lms.reports.figures (count, by_commune, by_course, by_commune_and_course),
the same queries as the dashboard and the lists behind its numbers, so a file can never disagree with
the screen. Gathering returns plain rows (`build_programme_report`); the writers turn them into an
XLSX workbook (streamed by the one spreadsheet writer) or an A4 PDF laid out as an official document.

The report is a form for the authorities, so its wording is Vietnamese whatever language the reader
of the site uses (as the attendance export's): the figures' labels and definitions are the
catalogue's Vietnamese, the rest is kept here.
"""

import io
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import IO
from xml.sax.saxutils import escape

import sqlalchemy as sa
from flask_babel import force_locale

from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.places import get_commune
from lms.core.spreadsheets.write import write_xlsx
from lms.core.text import fold_diacritics, vietnamese_key
from lms.core.timezone import VIETNAM
from lms.courses.models import Course
from lms.reports import snapshots
from lms.reports.figures import NO_COMMUNE, WHOLE, Figure, Period, Scope

TITLE = "BÁO CÁO KẾT QUẢ BỒI DƯỠNG"
#: The figures of the report, in the order of their columns.
FIGURES = tuple(Figure)
NO_COMMUNE_NAME = "Không rõ xã/phường"
TOTAL = "Tổng cộng"
SHEET_TOTALS, SHEET_COMMUNES, SHEET_COURSES, SHEET_PAIRS, SHEET_NOTES = (
    "Tổng hợp", "Theo xã", "Theo khoá học", "Theo xã và khoá học", "Ghi chú")
SIGNATURES = (("NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)"), ("THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên, đóng dấu)"))

Counts = dict[Figure, int]


@dataclass(frozen=True)
class Issuer:
    """Who issues the report: the body, its superior (may be empty), and the place of the date line."""

    body: str
    parent: str = ""
    place: str = ""

    @classmethod
    def from_config(cls, config) -> "Issuer":
        """Return the issuer the settings name (LMS_ISSUING_BODY, LMS_ISSUING_BODY_PARENT, LMS_REPORT_PLACE)."""
        return cls(body=config.get("ISSUING_BODY") or config.get("LMS_ORG_NAME") or "Làng Số",
                   parent=config.get("ISSUING_BODY_PARENT") or "", place=config.get("REPORT_PLACE") or "")


@dataclass(frozen=True)
class Row:
    """One line of a breakdown: its names (a commune, a course, or both) and its count of each figure."""

    names: tuple[str, ...]
    counts: Counts


@dataclass(frozen=True)
class ProgrammeReport:
    """Everything the report prints, gathered once; the writers only lay it out."""

    period: Period
    issuer: Issuer
    #: When it was made (UTC); printed in Vietnam time.
    generated_at: datetime
    #: The communes whose trainees it counts, by name; None for the whole programme.
    communes_in_scope: list[str] | None
    course_title: str | None
    labels: dict[Figure, str]
    definitions: dict[Figure, str]
    totals: Counts
    by_commune: list[Row] = field(default_factory=list)
    by_course: list[Row] = field(default_factory=list)
    by_commune_and_course: list[Row] = field(default_factory=list)

    @property
    def generated_local(self) -> datetime:
        return self.generated_at.astimezone(VIETNAM)

    def period_text(self) -> str:
        return f"Từ ngày {self.period.first:%d/%m/%Y} đến ngày {self.period.last:%d/%m/%Y}"

    def scope_text(self) -> str:
        if self.communes_in_scope is None:
            return "Toàn chương trình (học viên ở mọi xã/phường)"
        if not self.communes_in_scope:
            return "Chưa có xã/phường nào"
        return "Học viên sống tại: " + ", ".join(self.communes_in_scope)


def commune_name(code: int) -> str:
    """Return a commune's official name ("Xã Chuyên Mỹ"), or what stands for none recorded."""
    commune = get_commune(code) if code != NO_COMMUNE else None
    return commune.name if commune else NO_COMMUNE_NAME


def _added_up(rows) -> Counts:
    totals = dict.fromkeys(FIGURES, 0)
    for counts in rows:
        for f in FIGURES:
            totals[f] += counts[f]
    return totals


def _grouped(pairs: dict[tuple[int, int], Counts], part: int) -> dict[int, Counts]:
    """Add the (commune, course) pairs up by commune (part 0) or by course (part 1)."""
    keys: dict[int, list[Counts]] = {}
    for key, counts in pairs.items():
        keys.setdefault(key[part], []).append(counts)
    return {key: _added_up(rows) for key, rows in keys.items()}


def build_programme_report(period: Period, *, issuer: Issuer, scope: Scope = WHOLE, commune_code: int | None = None,
                           course_id: int | None = None, now: datetime | None = None,
                           counted=None) -> ProgrammeReport:
    """Gather the report's figures for a period, within a reader's scope, for one commune and one course if given.

    The caller checks that the commune exists and is in the scope (a commune outside it counts nobody
    here); only reads. `counted`: the worker's figures of the period (snapshots.SnapshotFigures) to
    read instead of counting, for the same scope.
    """
    if commune_code is not None:
        scope = Scope(frozenset({commune_code}) if scope.allows(commune_code) else frozenset())
        if counted is not None:
            counted = replace(counted, scope=scope)
    with force_locale("vi"):  # the report's language, whoever asks
        labels = {f: f.label for f in FIGURES}
        definitions = {f: f.definition for f in FIGURES}
    # One count, by commune and course: each enrolment is in exactly one pair, so the communes, the
    # courses and the totals are the pairs' sums (what figures.count and by_commune would each count).
    pairs = (counted or snapshots.LiveFigures(period, scope)).by_commune_and_course(FIGURES, course_id=course_id)
    totals = _added_up(pairs.values())
    communes = _grouped(pairs, 0)
    if not scope.whole:
        # A commune of the reader's with nobody enrolled is reported as such, not left out.
        communes = {code: communes.get(code, dict.fromkeys(FIGURES, 0)) for code in scope.communes} | communes
    courses = _grouped(pairs, 1)
    titles = dict(db.session.execute(sa.select(Course.id, Course.title).where(
        Course.id.in_(sorted(courses) or [course_id or 0]))).all())
    if course_id is not None and course_id not in titles:
        titles[course_id] = db.session.scalar(sa.select(Course.title).where(Course.id == course_id)) or ""
    names = {code: commune_name(code) for code in communes}

    def commune_order(code):
        return code == NO_COMMUNE, vietnamese_key(names[code])

    commune_rows = [Row((names[code],), counts) for code, counts in
                    sorted(communes.items(), key=lambda item: commune_order(item[0]))
                    if counts[Figure.ENROLLED] or not scope.whole]
    course_rows = [Row((titles.get(cid, ""),), counts) for cid, counts in
                   sorted(courses.items(), key=lambda item: vietnamese_key(titles.get(item[0], "")))
                   if counts[Figure.ENROLLED]]
    pair_rows = [Row((names.get(code) or commune_name(code), titles.get(cid, "")), counts) for (code, cid), counts in
                 sorted(pairs.items(), key=lambda item: (commune_order(item[0][0]) if item[0][0] in names
                                                         else (True, ()), vietnamese_key(titles.get(item[0][1], ""))))
                 if counts[Figure.ENROLLED]]
    in_scope = None if scope.whole else sorted((commune_name(c) for c in scope.communes), key=vietnamese_key)
    return ProgrammeReport(period=period, issuer=issuer, generated_at=now or utcnow(), communes_in_scope=in_scope,
                           course_title=titles.get(course_id) if course_id is not None else None, labels=labels,
                           definitions=definitions, totals=totals, by_commune=commune_rows, by_course=course_rows,
                           by_commune_and_course=pair_rows)


def sums(rows: list[Row]) -> Counts:
    """Return the totals row of a breakdown: each figure summed over its rows."""
    return {f: sum(row.counts[f] for row in rows) for f in FIGURES}


def report_filename(extension: str, period: Period, *, commune_code: int | None = None,
                    course_slug: str | None = None) -> str:
    """Return an ASCII file name: bao-cao-ket-qua-boi-duong-2026-01-01-2026-12-04[-xa-chuyen-my][-slug].xlsx."""
    parts = ["bao-cao-ket-qua-boi-duong", period.first.isoformat(), period.last.isoformat()]
    if commune_code is not None:
        parts.append("-".join(fold_diacritics(commune_name(commune_code)).split()) or str(commune_code))
    if course_slug:
        parts.append(course_slug)
    name = "-".join(parts)
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in name) + "." + extension


# ---------------------------------------------------------------------------------------------
# XLSX


def notes_rows(report: ProgrammeReport) -> list[tuple[str, str]]:
    """Return the notes: who issued the report, for which period and communes, when, and each figure in words."""
    rows = [("Đơn vị báo cáo", report.issuer.body)]
    if report.issuer.parent:
        rows.append(("Cơ quan chủ quản", report.issuer.parent))
    rows += [
        ("Kỳ báo cáo", f"{report.period_text()} (theo giờ Việt Nam, tính cả hai ngày)"),
        ("Phạm vi", report.scope_text()),
        ("Khoá học", report.course_title or "Tất cả các khoá học"),
        ("Lập lúc", f"{report.generated_local:%d/%m/%Y %H:%M} (giờ Việt Nam)"),
        ("Đơn vị tính", "Lượt ghi danh: một học viên trong một khoá học. Học viên học hai khoá được tính ở mỗi "
                        "khoá; học viên học hai lớp của cùng một khoá được tính một lần."),
        ("Theo xã", "Theo xã/phường nơi học viên sinh sống, ghi trong hồ sơ học viên."),
    ]
    rows += [(report.labels[f], report.definitions[f]) for f in FIGURES]
    return rows


def _numbers(counts: Counts) -> list[int]:
    return [counts[f] for f in FIGURES]


def _breakdown_sheet(name: str, lead: tuple[str, ...], rows: list[Row], labels: list[str]):
    def lines():
        for number, row in enumerate(rows, 1):
            yield (number, *row.names, *_numbers(row.counts))
        yield (None, TOTAL, *[""] * (len(lead) - 1), *_numbers(sums(rows)))

    header = ("STT", *lead, *labels)
    return name, header, lines(), ("integer", *[None] * len(lead), *["integer"] * len(FIGURES))


def write_programme_xlsx(report: ProgrammeReport, target: str | IO[bytes]) -> dict[str, int]:
    """Write the report as a workbook: totals, by commune, by course, by commune and course, notes."""
    labels = [report.labels[f] for f in FIGURES]
    totals_row = (report.scope_text() if report.communes_in_scope is not None else "Toàn chương trình",
                  *_numbers(report.totals))
    return write_xlsx([
        (SHEET_TOTALS, ("Phạm vi", *labels), [totals_row], (None, *["integer"] * len(FIGURES))),
        _breakdown_sheet(SHEET_COMMUNES, ("Xã/phường",), report.by_commune, labels),
        _breakdown_sheet(SHEET_COURSES, ("Khoá học",), report.by_course, labels),
        _breakdown_sheet(SHEET_PAIRS, ("Xã/phường", "Khoá học"), report.by_commune_and_course, labels),
        (SHEET_NOTES, ("Mục", "Nội dung"), notes_rows(report), None),
    ], target)


# ---------------------------------------------------------------------------------------------
# PDF


def _number(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # Vietnamese groups thousands with dots


def _plain(text) -> str:
    return escape(unicodedata.normalize("NFC", str(text or "")))


def render_programme_pdf(report: ProgrammeReport) -> bytes:
    """Render the report as an A4 official document: national header, title, tables, notes, signatures."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    from lms.core.pdf import national_header, numbered_canvas, register_fonts, signature_blocks

    regular, bold = register_fonts()
    margin = 15 * mm
    width = A4[0] - 2 * margin
    styles = {
        "title": ParagraphStyle("title", fontName=bold, fontSize=14, leading=18, alignment=1, spaceAfter=2),
        "sub": ParagraphStyle("sub", fontName="BeVietnamPro-Italic", fontSize=10.5, leading=14, alignment=1),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=11, leading=14, spaceBefore=6 * mm, spaceAfter=2 * mm,
                             keepWithNext=1),  # a heading never ends a page without its table
        "p": ParagraphStyle("p", fontName=regular, fontSize=10, leading=13.5),
        "head": ParagraphStyle("head", fontName=bold, fontSize=8, leading=10, alignment=1),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=8.5, leading=10.5),
        "total": ParagraphStyle("total", fontName=bold, fontSize=8.5, leading=10.5),
        "note": ParagraphStyle("note", fontName=regular, fontSize=9, leading=12, spaceAfter=2),
    }
    grid = [
        ("FONTNAME", (0, 0), (-1, -1), regular),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#6b7177")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 1), (0, -1), "CENTER"),
    ]

    def figures_table(lead: tuple[str, ...], lead_widths: list[float], rows: list[Row]) -> Table:
        number_width = (width - 11 * mm - sum(lead_widths)) / len(FIGURES)
        header = [Paragraph(text, styles["head"]) for text in
                  ("STT", *lead, *(_plain(report.labels[f]) for f in FIGURES))]
        body = [[str(n), *(Paragraph(_plain(name), styles["cell"]) for name in row.names),
                 *(_number(v) for v in _numbers(row.counts))] for n, row in enumerate(rows, 1)]
        total = ["", Paragraph(TOTAL, styles["total"]), *[""] * (len(lead) - 1), *map(_number, _numbers(sums(rows)))]
        table = Table([header, *body, total], colWidths=[11 * mm, *lead_widths, *[number_width] * len(FIGURES)],
                      repeatRows=1)
        table.setStyle(TableStyle([*grid, ("ALIGN", (len(lead) + 1, 1), (-1, -1), "RIGHT"),
                                   ("FONTNAME", (0, -1), (-1, -1), bold),
                                   ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f4f4f4")),
                                   *([("SPAN", (1, -1), (len(lead), -1))] if len(lead) > 1 else [])]))
        return table

    story = national_header(report.issuer.body, parent=report.issuer.parent, place=report.issuer.place,
                            day=report.generated_local.date(), width=width)
    story += [Paragraph(TITLE, styles["title"]), Paragraph(_plain(report.period_text()), styles["sub"]),
              Spacer(1, 3 * mm), Paragraph(f"<b>Phạm vi:</b> {_plain(report.scope_text())}", styles["p"]),
              Paragraph(f"<b>Khoá học:</b> {_plain(report.course_title or 'Tất cả các khoá học')}", styles["p"]),
              Paragraph("<b>Đơn vị tính:</b> lượt ghi danh (một học viên trong một khoá học).", styles["p"])]

    story.append(Paragraph("I. TỔNG HỢP", styles["h2"]))
    summary = Table([[Paragraph("Chỉ tiêu", styles["head"]), Paragraph("Số lượt", styles["head"])],
                     *[[Paragraph(_plain(report.labels[f]), styles["cell"]), _number(report.totals[f])]
                       for f in FIGURES]], colWidths=[100 * mm, 30 * mm], repeatRows=1, hAlign="LEFT")
    summary.setStyle(TableStyle([*grid, ("ALIGN", (1, 1), (1, -1), "RIGHT"), ("ALIGN", (0, 1), (0, -1), "LEFT")]))
    story.append(summary)
    sections = [
        ("II. THEO XÃ/PHƯỜNG (NƠI HỌC VIÊN SINH SỐNG)", ("Xã/phường",), [45 * mm], report.by_commune),
        ("III. THEO KHOÁ HỌC", ("Khoá học",), [45 * mm], report.by_course),
        ("IV. THEO XÃ/PHƯỜNG VÀ KHOÁ HỌC", ("Xã/phường", "Khoá học"), [30 * mm, 36 * mm],
         report.by_commune_and_course),
    ]
    for heading, lead, lead_widths, rows in sections:
        story.append(Paragraph(heading, styles["h2"]))
        story.append(figures_table(lead, lead_widths, rows))

    story.append(Paragraph("GHI CHÚ", styles["h2"]))
    story += [Paragraph(f"<b>{_plain(report.labels[f])}:</b> {_plain(report.definitions[f])}", styles["note"])
              for f in FIGURES]
    # The signatures never stand alone on a page: the last line of the report goes with them.
    story.append(KeepTogether([
        Paragraph(f"Số liệu lập lúc {report.generated_local:%H:%M} ngày {report.generated_local:%d/%m/%Y} "
                  "(giờ Việt Nam).", styles["note"]),
        Spacer(1, 4 * mm), signature_blocks(list(SIGNATURES), width=width, height=32 * mm)]))

    footer = unicodedata.normalize("NFC", f"Báo cáo kết quả bồi dưỡng · {report.period.first:%d/%m/%Y}–"
                                          f"{report.period.last:%d/%m/%Y}")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=15 * mm,
                            bottomMargin=16 * mm, title="Báo cáo kết quả bồi dưỡng", author=report.issuer.body)
    doc.build(story, canvasmaker=numbered_canvas(regular, footer))
    return buffer.getvalue()

