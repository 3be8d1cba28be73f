"""The sign-in sheet of one class session, printed for trainees to sign by hand."""

import io
import unicodedata
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lms.core.pdf import BRAND, national_header, numbered_canvas, register_fonts

_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
_SIGN_IN_ROW_HEIGHT = 9.4 * mm


def _plain(text) -> str:
    """Escape text for a Paragraph, in NFC (no Markdown: a name is printed as written)."""
    return escape(unicodedata.normalize("NFC", str(text or "")))


def _when_in_vietnam(starts_at, ends_at) -> str:
    from lms.core.timezone import to_local

    starts, ends = to_local(starts_at), to_local(ends_at)
    return f"{_WEEKDAYS[starts.weekday()]}, {starts:%d/%m/%Y}, {starts:%H:%M}–{ends:%H:%M} (giờ Việt Nam)"


def render_sign_in_sheet(session_info: dict, trainees: list[dict]) -> bytes:
    """Render an A4 sign-in sheet for one class session, in Vietnamese, to PDF bytes.

    :param session_info: class_code, class_name, course, starts_at and ends_at (timezone-aware,
        printed in Vietnam time), venue, topic; optionally instructors (names) and cancelled, and
        issuing_body, issuing_body_parent and place for the national header (dated the session's day).
    :param trainees: dicts with full_name, phone and village, in the order to print; the phone is
        printed as given (the caller decides whether to mask it).
    """
    from reportlab.platypus import KeepTogether

    regular, _ = register_fonts()
    styles = _sheet_styles()
    code = unicodedata.normalize("NFC", str(session_info.get("class_code", "")))
    when = _when_in_vietnam(session_info["starts_at"], session_info["ends_at"])
    from lms.core.timezone import to_local

    story = national_header(session_info.get("issuing_body") or "", parent=session_info.get("issuing_body_parent") or "",
                            place=session_info.get("place") or "", day=to_local(session_info["starts_at"]).date(),
                            width=A4[0] - 30 * mm)
    story += _session_details(session_info, when, styles)
    story.append(Spacer(1, 4 * mm))
    story.append(_trainee_table(trainees, styles))
    story.append(Spacer(1, 6 * mm))
    signature = Table(
        [[Paragraph(f"Tổng số học viên trong danh sách: {len(trainees)}<br/>Số học viên có mặt: ..........",
                    styles["info"]),
          [Paragraph("GIẢNG VIÊN", styles["sign"]), Paragraph("(Ký và ghi rõ họ tên)", styles["note"])]]],
        colWidths=[95 * mm, 85 * mm], rowHeights=[32 * mm],
    )
    signature.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(KeepTogether([signature]))

    footer = unicodedata.normalize("NFC", f"Lớp {code} · {when}")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
                            bottomMargin=16 * mm, title=f"Danh sách ký tên {code}", author="Làng Số")
    doc.build(story, canvasmaker=numbered_canvas(regular, footer))
    return buffer.getvalue()


def _sheet_styles() -> dict[str, ParagraphStyle]:
    regular, bold = register_fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, alignment=1, textColor=BRAND,
                                spaceAfter=6),
        "info": ParagraphStyle("info", fontName=regular, fontSize=10.5, leading=14.5),
        "warn": ParagraphStyle("warn", fontName=bold, fontSize=11, leading=15, textColor=colors.HexColor("#b00020")),
        "head": ParagraphStyle("head", fontName=bold, fontSize=9.5, leading=12, alignment=1),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=10, leading=12),
        "sign": ParagraphStyle("sign", fontName=bold, fontSize=10.5, leading=14, alignment=1),
        "note": ParagraphStyle("note", fontName=regular, fontSize=9, leading=12, alignment=1,
                               textColor=colors.HexColor("#4d5358")),
    }


def _session_details(session_info: dict, when: str, styles: dict) -> list:
    """Return the sheet's title and the session's details, one line each (empty ones left out)."""
    story = [Paragraph("DANH SÁCH KÝ TÊN THAM DỰ BUỔI HỌC", styles["title"])]
    lines = [
        ("Lớp", f"{session_info.get('class_code', '')} — {session_info.get('class_name', '')}"),
        ("Khoá học", session_info.get("course", "")),
        ("Thời gian", when),
        ("Địa điểm", session_info.get("venue", "")),
        ("Chủ đề", session_info.get("topic", "")),
        ("Giảng viên", ", ".join(session_info.get("instructors") or [])),
    ]
    story += [Paragraph(f"<b>{label}:</b> {_plain(value)}", styles["info"]) for label, value in lines if value]
    if session_info.get("cancelled"):
        story.append(Paragraph("Buổi học này đã bị huỷ.", styles["warn"]))
    return story


def _trainee_table(trainees: list[dict], styles: dict) -> Table:
    """Return the table of trainees with a blank signature column (ten blank lines when nobody is listed)."""
    regular, _ = register_fonts()
    header = [Paragraph(text, styles["head"]) for text in ("STT", "Họ và tên", "Số điện thoại", "Thôn/xóm", "Chữ ký")]
    rows = [[str(n), Paragraph(_plain(t.get("full_name")), styles["cell"]), _plain(t.get("phone")),
             Paragraph(_plain(t.get("village")), styles["cell"]), ""] for n, t in enumerate(trainees, 1)]
    if not rows:  # nobody on the list yet: lines to write names by hand
        rows = [[str(n), "", "", "", ""] for n in range(1, 11)]
    table = Table([header, *rows], colWidths=[12 * mm, 57 * mm, 29 * mm, 37 * mm, 45 * mm],
                  rowHeights=[None] + [_SIGN_IN_ROW_HEIGHT] * len(rows), repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), regular),
        ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#6b7177")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6f0ec")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 1), (0, -1), "CENTER"),
    ]))
    return table
