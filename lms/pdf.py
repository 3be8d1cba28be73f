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
