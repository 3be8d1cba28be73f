"""PDF building blocks: the embedded font with every Vietnamese letter, fitted text, page numbers, handouts."""

import io
import re
import unicodedata
from datetime import date
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

BRAND = colors.HexColor("#0b5d4b")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@cache
def register_fonts() -> tuple[str, str]:
    """Register Be Vietnam Pro (regular, bold) with reportlab once; return their names."""
    import fontpkg_be_vietnam_pro

    files = fontpkg_be_vietnam_pro.ROOT / "files"
    pdfmetrics.registerFont(TTFont("BeVietnamPro", str(files / "BeVietnamPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont("BeVietnamPro-Bold", str(files / "BeVietnamPro-Bold.ttf")))
    pdfmetrics.registerFont(TTFont("BeVietnamPro-Italic", str(files / "BeVietnamPro-Italic.ttf")))
    pdfmetrics.registerFont(TTFont("BeVietnamPro-BoldItalic", str(files / "BeVietnamPro-BoldItalic.ttf")))
    pdfmetrics.registerFontFamily("BeVietnamPro", normal="BeVietnamPro", bold="BeVietnamPro-Bold",
                                  italic="BeVietnamPro-Italic", boldItalic="BeVietnamPro-BoldItalic")
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


def numbered_canvas(font: str, footer: str):
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


# ---------------------------------------------------------------------------------------------
# The header and signatures of a Vietnamese official document (Decree 30/2020/NĐ-CP, appendix I)

NATION = "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập – Tự do – Hạnh phúc"


def place_and_date(place: str, day: date) -> str:
    """Return the place-and-date line: "Phú Xuyên, ngày 04 tháng 12 năm 2026".

    Decree 30 writes days below 10 and the months 1 and 2 with a leading zero (so they cannot be
    altered by hand); without a place the line starts at "Ngày".
    """
    day_text = f"{day.day:02d}" if day.day < 10 else str(day.day)
    month_text = f"{day.month:02d}" if day.month < 3 else str(day.month)
    words = f"ngày {day_text} tháng {month_text} năm {day.year}"
    place = " ".join(unicodedata.normalize("NFC", place or "").split())
    return f"{place}, {words}" if place else words[0].upper() + words[1:]


def national_header(issuing_body: str, *, parent: str = "", place: str = "", day: date, width: float) -> list:
    """Return the flowables of an official document's header, as wide as `width`.

    Left: the issuing body's superior in capitals, the issuing body in bold capitals and a short rule
    under it. Right: the national title and motto in bold, a short rule under the motto, and the
    place-and-date line in italics under them.
    """
    regular, bold = register_fonts()
    # The right column is as wide as the national title needs; the issuing body gets the rest.
    right_width = min(max(pdfmetrics.stringWidth(NATION, bold, 11), pdfmetrics.stringWidth(MOTTO, bold, 12))
                      + 6 * mm, width * 0.6)
    left_width = width - right_width

    def style(name, font, size, **extra):
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.3, alignment=1, **extra)

    upper = style("header-upper", regular, 11)
    body_style = style("header-body", bold, 11)
    nation = style("header-nation", bold, 11)
    motto_style = style("header-motto", bold, 12)
    dated = style("header-date", "BeVietnamPro-Italic", 11, spaceBefore=5 * mm)

    def rule(text: str, font: str, size: float, cap: float):
        # Decree 30: a rule a third to a half as long as the line above it, centred under it.
        line = pdfmetrics.stringWidth(text, font, size)
        return HRFlowable(width=min(max(line * 0.4, 20 * mm), cap), thickness=0.6, color=colors.black,
                          spaceBefore=6, spaceAfter=0, hAlign="CENTER")

    body = " ".join(unicodedata.normalize("NFC", issuing_body or "").split()).upper()
    left = []
    if (parent or "").strip():
        left.append(Paragraph(escape(" ".join(unicodedata.normalize("NFC", parent).split()).upper()), upper))
    if body:
        left.append(Paragraph(escape(body), body_style))
        left.append(rule(body, bold, 11, left_width * 0.6))
    right = [Paragraph(NATION, nation), Paragraph(MOTTO, motto_style),
             rule(MOTTO, bold, 12, right_width * 0.8),
             Paragraph(escape(place_and_date(place, day)), dated)]
    table = Table([[left, right]], colWidths=[left_width, right_width])
    # ALIGN centres the rules too: inside a cell a flowable's own hAlign is not used.
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
    return [table, Spacer(1, 6 * mm)]


def signature_blocks(blocks: list[tuple[str, str]], *, width: float, height: float = 34 * mm) -> Table:
    """Return signature blocks side by side: each a title in bold capitals and its note in italics."""
    regular, bold = register_fonts()
    title = ParagraphStyle("sign-title", fontName=bold, fontSize=11, leading=14, alignment=1)
    note = ParagraphStyle("sign-note", fontName="BeVietnamPro-Italic", fontSize=10, leading=13, alignment=1)
    cells = [[Paragraph(escape(t), title), Paragraph(escape(n), note)] for t, n in blocks]
    table = Table([cells], colWidths=[width / len(blocks)] * len(blocks), rowHeights=[height])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table
