"""Every PDF the app makes is rendered here, with an embedded font that has every Vietnamese letter."""

import io
import re
import unicodedata
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer

BRAND = colors.HexColor("#0b5d4b")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@cache
def register_fonts() -> tuple[str, str]:
    """Register Be Vietnam Pro (regular, bold) with reportlab once; return their names."""
    import fontpkg_be_vietnam_pro

    files = fontpkg_be_vietnam_pro.ROOT / "files"
    pdfmetrics.registerFont(TTFont("BeVietnamPro", str(files / "BeVietnamPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont("BeVietnamPro-Bold", str(files / "BeVietnamPro-Bold.ttf")))
    pdfmetrics.registerFontFamily("BeVietnamPro", normal="BeVietnamPro", bold="BeVietnamPro-Bold",
                                  italic="BeVietnamPro", boldItalic="BeVietnamPro-Bold")
    return "BeVietnamPro", "BeVietnamPro-Bold"


class TickBox(Flowable):
    """A paragraph with an empty box to tick by hand (the font has no ballot-box glyph)."""

    indent = 17

    def __init__(self, paragraph: Paragraph):
        super().__init__()
        self.paragraph = paragraph

    def wrap(self, available_width, available_height):
        _, self.height = self.paragraph.wrap(available_width - self.indent, available_height)
        return available_width, self.height

    def draw(self):
        leading = self.paragraph.style.leading
        self.canv.setLineWidth(0.8)
        self.canv.rect(2, self.height - leading + 2.5, 9, 9, stroke=1, fill=0)
        self.paragraph.drawOn(self.canv, self.indent, 0)


def _inline(text: str) -> str:
    # NFC first: decomposed tone marks are drawn beside their letters.
    return _BOLD.sub(r"<b>\1</b>", escape(unicodedata.normalize("NFC", text)))


def render_handout(markdown_text: str, *, footer: str = "") -> bytes:
    """Render a one-page handout from a small Markdown subset (#, ##, -, [ ], **bold**) to PDF bytes."""
    regular, bold = register_fonts()
    styles = {
        "title": ParagraphStyle("title", fontName=bold, fontSize=20, leading=25, textColor=BRAND, spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=13.5, leading=18, textColor=BRAND, spaceBefore=8, spaceAfter=3),
        "p": ParagraphStyle("p", fontName=regular, fontSize=11, leading=15.5, spaceAfter=3),
        "li": ParagraphStyle("li", fontName=regular, fontSize=11, leading=15.5, leftIndent=14, bulletIndent=2, spaceAfter=1),
        "check": ParagraphStyle("check", fontName=regular, fontSize=11, leading=15.5, spaceAfter=1),
    }
    story = []
    for raw in markdown_text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            story.append(Spacer(1, 3))
        elif line.startswith("# "):
            story.append(Paragraph(_inline(line[2:]), styles["title"]))
        elif line.startswith("## "):
            story.append(Paragraph(_inline(line[3:]), styles["h2"]))
        elif line.startswith("- "):
            story.append(Paragraph(_inline(line[2:]), styles["li"], bulletText="•"))
        elif line.startswith("[ ] "):
            story.append(TickBox(Paragraph(_inline(line[4:]), styles["check"])))
        else:
            story.append(Paragraph(_inline(line), styles["p"]))

    def draw_footer(canvas, doc):
        if footer:
            canvas.saveState()
            canvas.setFont(regular, 8.5)
            canvas.setFillColor(colors.HexColor("#4d5358"))
            canvas.drawString(18 * mm, 10 * mm, unicodedata.normalize("NFC", footer))
            canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=_title_of(markdown_text), author=footer or "Làng Số")
    doc.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()


def _title_of(markdown_text: str) -> str:
    first = next((line for line in markdown_text.splitlines() if line.startswith("# ")), "# Làng Số")
    return unicodedata.normalize("NFC", first[2:].strip())


# --- Certificates --------------------------------------------------------------------------------

#: Smallest sizes a fitted line may shrink to, in points: below these a printed name stops being readable.
MIN_NAME_SIZE = 14.0
MIN_TITLE_SIZE = 11.0
CERTIFICATE_INK = colors.HexColor("#1a1a1a")
CERTIFICATE_MUTED = colors.HexColor("#4d5358")
CERTIFICATE_GOLD = colors.HexColor("#b08d2e")
#: A4 landscape, and the width the holder's name and the course title may take.
CERTIFICATE_PAGE = (A4[1], A4[0])
CERTIFICATE_TEXT_WIDTH = CERTIFICATE_PAGE[0] - 2 * 34 * mm


def fit_text(text: str, font: str, *, max_size: float, min_size: float, width: float, max_lines: int = 1,
             prefer_fewer_lines: bool = False) -> tuple[float, list[str]]:
    """Return the largest font size (and the wrapped lines) at which the text fits `width` in `max_lines`.

    With prefer_fewer_lines a smaller single line beats a larger two-line block (names); otherwise
    the size wins (titles). Text that fits nowhere is set at min_size, broken inside words and cut
    with an ellipsis, so it never leaves the frame.
    """
    text = " ".join(unicodedata.normalize("NFC", text or "").split())
    sizes = []
    size = max_size
    while size >= min_size - 1e-6:
        sizes.append(round(size, 2))
        size -= 0.5
    attempts = ([(n, s) for n in range(1, max_lines + 1) for s in sizes] if prefer_fewer_lines
                else [(max_lines, s) for s in sizes])
    for lines_allowed, size in attempts:
        lines = _wrap(text, font, size, width)
        if len(lines) <= lines_allowed:
            return size, lines
    lines = _wrap(text, font, min_size, width)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and pdfmetrics.stringWidth(last + "…", font, min_size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return min_size, lines


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break text into lines no wider than width, greedily; words wider than a line are cut."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if pdfmetrics.stringWidth(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        if pdfmetrics.stringWidth(current, font, size) > width:
            pieces = _cut_word(current, font, size, width)
            lines.extend(pieces[:-1])
            current = pieces[-1]
    if current or not lines:
        lines.append(current)
    return lines


def _cut_word(word: str, font: str, size: float, width: float) -> list[str]:
    """Cut a word wider than a line into pieces that fit (glyph widths add up: one pass)."""
    pieces, start, used = [], 0, 0.0
    for index, char in enumerate(word):
        advance = pdfmetrics.stringWidth(char, font, size)
        if used + advance > width and index > start:
            pieces.append(word[start:index])
            start, used = index, 0.0
        used += advance
    pieces.append(word[start:])
    return pieces


#: Decoded logos and signatures by their bytes (bytes keep their hash): a cohort's certificates share them.
_certificate_images: dict[bytes, object] = {}


def _certificate_image(data: bytes):
    """Decode, shrink and keep an image (logo, signature): every certificate reuses it."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    reader = _certificate_images.get(data)
    if reader is None:
        image = Image.open(io.BytesIO(data))
        image.load()
        image = image.convert("RGBA" if image.mode in {"RGBA", "LA", "P"} else "RGB")
        image.thumbnail((600, 300))
        if len(_certificate_images) >= 32:
            _certificate_images.clear()
        reader = _certificate_images[data] = ImageReader(image)
    return reader


def _draw_qr(canvas, url: str, x: float, y: float, size: float) -> None:
    """Draw the QR code of url as vector squares (crisp at any printer resolution)."""
    import segno

    # A fixed mask skips segno's scoring of all eight (most of its time); every mask decodes alike.
    matrix = segno.make(url, error="m", micro=False, mask=4).matrix
    border = 2
    cells = len(matrix) + 2 * border
    canvas.setFillColor(colors.white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    # One path of whole-module rectangles in module units: far less to format than a rect() call per run.
    runs = []
    for row_index, row in enumerate(matrix):
        bottom = cells - border - row_index - 1
        start = None
        for col_index, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = col_index
            elif not dark and start is not None:
                runs.append(f"{start + border} {bottom} {col_index - start} 1 re")
                start = None
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(size / cells, size / cells)
    canvas.setFillColor(colors.black)
    canvas.addLiteral("\n".join(runs) + "\nf")
    canvas.restoreState()


def _centred_lines(canvas, lines: list[str], font: str, size: float, centre_x: float, top: float,
                   leading: float = 1.2) -> float:
    """Draw lines centred under `top`; return the y below the last line."""
    canvas.setFont(font, size)
    y = top
    for line in lines:
        y -= size * leading
        canvas.drawCentredString(centre_x, y + size * (leading - 1) + size * 0.05, line)
    return y


def render_certificate(data: dict) -> bytes:
    """Render one certificate on an A4 landscape page and return the PDF bytes.

    data: holder_name, course_title, wording, issuer_name, serial, code, verify_url, issued_on, and
    optionally title, hours, completed_on, expires_on, date_line, signers ([{name, title, signature
    (image bytes)}]), logo (image bytes), banner (words across the page: revoked, preview).
    """
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = register_fonts()
    nfc = {k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v for k, v in data.items()}
    width, height = CERTIFICATE_PAGE
    centre = width / 2
    frame = CERTIFICATE_TEXT_WIDTH
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"{nfc.get('title') or 'Giấy chứng nhận'} – {nfc['holder_name']}")
    canvas.setAuthor(nfc["issuer_name"])
    canvas.setSubject(f"{nfc['serial']} · {nfc['verify_url']}")
    canvas.setCreator("Làng Số")

    # Frame: a brand border with a thin gold line inside.
    canvas.setStrokeColor(BRAND)
    canvas.setLineWidth(5)
    canvas.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
    canvas.setStrokeColor(CERTIFICATE_GOLD)
    canvas.setLineWidth(1.2)
    canvas.rect(14 * mm, 14 * mm, width - 28 * mm, height - 28 * mm)

    if nfc.get("logo"):
        canvas.drawImage(_certificate_image(nfc["logo"]), 20 * mm, height - 44 * mm, 26 * mm, 24 * mm,
                         preserveAspectRatio=True, anchor="nw", mask="auto")

    y = height - 22 * mm
    canvas.setFillColor(BRAND)
    size, lines = fit_text(nfc["issuer_name"].upper(), bold, max_size=14, min_size=8, width=frame - 40 * mm,
                           max_lines=2)
    y = _centred_lines(canvas, lines, bold, size, centre, y)

    y -= 6 * mm
    canvas.setFillColor(BRAND)
    y = _centred_lines(canvas, [nfc.get("title") or "GIẤY CHỨNG NHẬN"], bold, 34, centre, y, leading=1.1)

    # The middle block (holder, wording, course, details) is measured first, then centred in the space left.
    block = [(CERTIFICATE_MUTED, regular, 13, ["Chứng nhận"], 0, 1.2)]
    size, lines = fit_text(nfc["holder_name"], bold, max_size=34, min_size=MIN_NAME_SIZE, width=frame,
                           max_lines=2, prefer_fewer_lines=True)
    block.append((CERTIFICATE_INK, bold, size, lines, 1 * mm, 1.25))
    size, lines = fit_text(nfc.get("wording") or "", regular, max_size=14, min_size=10, width=frame, max_lines=2)
    block.append((CERTIFICATE_MUTED, regular, size, lines, 1 * mm, 1.2))
    size, lines = fit_text(nfc["course_title"], bold, max_size=24, min_size=MIN_TITLE_SIZE, width=frame,
                           max_lines=3)
    block.append((BRAND, bold, size, lines, 1 * mm, 1.2))
    details = []
    if nfc.get("hours"):
        details.append(f"Thời lượng: {nfc['hours']} giờ")
    if nfc.get("completed_on"):
        details.append(f"Hoàn thành ngày {nfc['completed_on']}")
    if nfc.get("expires_on"):
        details.append(f"Có giá trị đến ngày {nfc['expires_on']}")
    if details:
        size, lines = fit_text(" · ".join(details), regular, max_size=11.5, min_size=8, width=frame, max_lines=2)
        block.append((CERTIFICATE_INK, regular, size, lines, 3 * mm, 1.2))
    block_height = sum(gap + len(lines) * size * leading for _, _, size, lines, gap, leading in block)
    room = y - 3 * mm - 68 * mm
    y -= 3 * mm + max(0.0, room - block_height) * 0.4
    for colour, font, size, lines, gap, leading in block:
        canvas.setFillColor(colour)
        y = _centred_lines(canvas, lines, font, size, centre, y - gap, leading)

    # Bottom left: the QR code to /verify/<code>, with the serial and the code in words.
    qr_size = 30 * mm
    qr_x, qr_y = 22 * mm, 20 * mm
    _draw_qr(canvas, nfc["verify_url"], qr_x, qr_y, qr_size)
    text_x = qr_x + qr_size + 4 * mm
    text_width = width / 2 - text_x
    canvas.setFillColor(CERTIFICATE_INK)
    canvas.setFont(regular, 9.5)
    canvas.drawString(text_x, qr_y + qr_size - 8, f"Số hiệu: {nfc['serial']}")
    canvas.setFont(bold, 9.5)
    canvas.drawString(text_x, qr_y + qr_size - 22, f"Mã xác thực: {nfc['code']}")
    canvas.setFont(regular, 9.5)
    canvas.drawString(text_x, qr_y + qr_size - 36, f"Ngày cấp: {nfc['issued_on']}")
    canvas.setFillColor(CERTIFICATE_MUTED)
    size, lines = fit_text(nfc["verify_url"], regular, max_size=8.5, min_size=6, width=text_width, max_lines=2)
    canvas.setFont(regular, size)
    canvas.drawString(text_x, qr_y + qr_size - 50, "Quét mã hoặc mở địa chỉ để kiểm tra:")
    for index, line in enumerate(lines):
        canvas.drawString(text_x, qr_y + qr_size - 62 - index * (size + 2), line)

    # Bottom right: the date line, then each signer's title, signature and name.
    signers = [s for s in nfc.get("signers") or [] if s.get("name") or s.get("title")][:2]
    signer_width = 62 * mm
    right = width - 22 * mm
    centres = ([right - signer_width / 2 - i * (signer_width + 6 * mm) for i in range(len(signers))][::-1]
               or [right - signer_width / 2])
    canvas.setFillColor(CERTIFICATE_INK)
    if nfc.get("date_line"):
        canvas.setFont(regular, 10.5)
        date_centre = centres[-1] if len(centres) == 1 else (centres[0] + centres[-1]) / 2
        canvas.drawCentredString(date_centre, 62 * mm, nfc["date_line"])
    for signer_centre, signer in zip(centres, signers, strict=False):
        size, lines = fit_text(unicodedata.normalize("NFC", signer.get("title") or "").upper(), bold, max_size=10,
                               min_size=7, width=signer_width, max_lines=2)
        _centred_lines(canvas, lines, bold, size, signer_centre, 57 * mm)
        if signer.get("signature"):
            canvas.drawImage(_certificate_image(signer["signature"]), signer_centre - signer_width / 2, 27 * mm,
                             signer_width, 18 * mm, preserveAspectRatio=True, anchor="c", mask="auto")
        size, lines = fit_text(unicodedata.normalize("NFC", signer.get("name") or ""), bold, max_size=12,
                               min_size=8, width=signer_width, max_lines=1)
        _centred_lines(canvas, lines, bold, size, signer_centre, 25 * mm)

    if nfc.get("banner"):
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#b3261e"))
        canvas.setFillAlpha(0.28)
        canvas.translate(centre, height / 2)
        canvas.rotate(24)
        size, lines = fit_text(nfc["banner"], bold, max_size=60, min_size=20, width=width * 0.9, max_lines=1)
        canvas.setFont(bold, size)
        canvas.drawCentredString(0, -size / 3, lines[0])
        canvas.restoreState()

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Sign-in sheet for one class session

_VIETNAM = "Asia/Ho_Chi_Minh"
_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
_SIGN_IN_ROW_HEIGHT = 9.4 * mm


def _plain(text) -> str:
    """Escape text for a Paragraph, in NFC (no Markdown: a name is printed as written)."""
    return escape(unicodedata.normalize("NFC", str(text or "")))


def _when_in_vietnam(starts_at, ends_at) -> str:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(_VIETNAM)
    starts, ends = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{_WEEKDAYS[starts.weekday()]}, {starts:%d/%m/%Y}, {starts:%H:%M}–{ends:%H:%M} (giờ Việt Nam)"


def _numbered_canvas(font: str, footer: str):
    """Return a canvas class that writes "Trang x/y" once the number of pages is known."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                self.setFont(font, 8.5)
                self.setFillColor(colors.HexColor("#4d5358"))
                self.drawString(15 * mm, 9 * mm, footer)
                self.drawRightString(A4[0] - 15 * mm, 9 * mm, f"Trang {number}/{total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def render_sign_in_sheet(session_info: dict, trainees: list[dict]) -> bytes:
    """Render an A4 sign-in sheet for one class session, in Vietnamese, to PDF bytes.

    :param session_info: class_code, class_name, course, starts_at and ends_at (timezone-aware,
        printed in Vietnam time), venue, topic; optionally instructors (names) and cancelled.
    :param trainees: dicts with full_name, phone and village, in the order to print; the phone is
        printed as given (the caller decides whether to mask it).
    """
    from reportlab.platypus import KeepTogether, Table, TableStyle

    regular, bold = register_fonts()
    styles = {
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
    code = unicodedata.normalize("NFC", str(session_info.get("class_code", "")))
    when = _when_in_vietnam(session_info["starts_at"], session_info["ends_at"])
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
    story.append(Spacer(1, 4 * mm))

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
    story.append(table)
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
    doc.build(story, canvasmaker=_numbered_canvas(regular, footer))
    return buffer.getvalue()


def render_activation_slips(slips: list[dict], *, title: str) -> bytes:
    """Render A4 pages of cut-out slips (10 a page), each with a trainee's name, phone, class, login address and code.

    Each slip dict has full_name, phone, class_name, login_url and code; optional class_code.
    """
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas as pdf_canvas

    from lms.core.i18n import gettext as _

    regular, bold = register_fonts()
    nfc = lambda text: unicodedata.normalize("NFC", str(text or ""))  # noqa: E731
    page_width, page_height = A4
    columns, rows = 2, 5
    margin = 10 * mm
    slip_width = (page_width - 2 * margin) / columns
    slip_height = (page_height - 2 * margin) / rows
    pad = 5 * mm
    qr_size = 21 * mm
    labels = {
        "phone": nfc(_("Phone")),
        "login": nfc(_("Activate at")),
        "code": nfc(_("One-time activation code")),
        "hint": nfc(_("Open this address, type your phone number and this code, then choose your own password.")),
    }

    hint_lines = simpleSplit(labels["hint"], regular, 7.5, slip_width - 2 * pad)[:2]

    def fit(text: str, font: str, size: float, width: float) -> float:
        while size > 7 and stringWidth(text, font, size) > width:
            size -= 0.5
        return size

    def spaced(code: str) -> str:
        code = nfc(code)
        return f"{code[:4]} {code[4:]}" if len(code) == 8 else code

    buffer = io.BytesIO()
    canvas = pdf_canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(nfc(title))
    canvas.setAuthor("Làng Số")
    qr_forms: dict[str, str] = {}

    def qr_form(url: str) -> str:
        # Every slip of a class shows the same address: draw its QR code once and reuse it.
        if url not in qr_forms:
            name = f"qr{len(qr_forms)}"
            widget = QrCodeWidget(url, barLevel="M")
            x0, y0, x1, y1 = widget.getBounds()
            drawing = Drawing(qr_size, qr_size, transform=[qr_size / (x1 - x0), 0, 0, qr_size / (y1 - y0), 0, 0])
            drawing.add(widget)
            canvas.beginForm(name)
            renderPDF.draw(drawing, canvas, 0, 0)
            canvas.endForm()
            qr_forms[url] = name
        return qr_forms[url]

    if not slips:
        canvas.setFont(bold, 14)
        canvas.drawString(margin, page_height - margin - 14, nfc(title))
    for index, slip in enumerate(slips):
        position = index % (columns * rows)
        if index and position == 0:
            canvas.showPage()
        column, row = position % columns, position // columns
        x = margin + column * slip_width
        y = page_height - margin - (row + 1) * slip_height
        canvas.saveState()
        canvas.setDash(3, 3)
        canvas.setStrokeColor(colors.HexColor("#9aa5a1"))
        canvas.setLineWidth(0.5)
        canvas.rect(x, y, slip_width, slip_height, stroke=1, fill=0)
        canvas.restoreState()
        text_width = slip_width - 2 * pad - qr_size - 3 * mm
        top = y + slip_height - pad
        class_line = nfc(slip.get("class_name", ""))
        if slip.get("class_code"):
            class_line = f"{class_line} · {nfc(slip['class_code'])}"
        canvas.setFillColor(BRAND)
        size = fit(class_line, regular, 8.5, text_width)
        canvas.setFont(regular, size)
        canvas.drawString(x + pad, top - 8, class_line)
        canvas.setFillColor(colors.black)
        name = nfc(slip.get("full_name", ""))
        size = fit(name, bold, 14, text_width)
        canvas.setFont(bold, size)
        canvas.drawString(x + pad, top - 26, name)
        canvas.setFont(regular, 10)
        canvas.drawString(x + pad, top - 41, f"{labels['phone']}: {nfc(slip.get('phone', ''))}")
        login = f"{labels['login']}: {nfc(slip.get('login_url', ''))}"
        canvas.setFont(regular, fit(login, regular, 9, text_width))
        canvas.drawString(x + pad, top - 55, login)
        canvas.setFont(regular, 8)
        canvas.setFillColor(colors.HexColor("#4d5358"))
        canvas.drawString(x + pad, top - 73, labels["code"])
        canvas.setFillColor(colors.black)
        canvas.setFont(bold, 26)
        canvas.drawString(x + pad, top - 100, spaced(slip.get("code", "")))
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#4d5358"))
        for line_number, line in enumerate(reversed(hint_lines)):
            canvas.drawString(x + pad, y + pad - 2 + line_number * 9, line)
        canvas.setFillColor(colors.black)
        if slip.get("login_url"):
            canvas.saveState()
            canvas.translate(x + slip_width - pad - qr_size, top - qr_size - 2)
            canvas.doForm(qr_form(nfc(slip["login_url"])))
            canvas.restoreState()
    canvas.save()
    return buffer.getvalue()
