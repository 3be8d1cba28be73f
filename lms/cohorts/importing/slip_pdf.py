"""The activation slips as a PDF: A4 pages of ten cut-out slips (reportlab, loaded only by what prints them)."""

import io
import unicodedata

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as pdf_canvas

from lms.core.i18n import gettext as _
from lms.core.pdf import BRAND, register_fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
COLUMNS, ROWS = 2, 5
MARGIN = 10 * mm
SLIP_WIDTH = (PAGE_WIDTH - 2 * MARGIN) / COLUMNS
SLIP_HEIGHT = (PAGE_HEIGHT - 2 * MARGIN) / ROWS
PAD = 5 * mm
QR_SIZE = 21 * mm
GREY = colors.HexColor("#4d5358")


def _nfc(text) -> str:
    return unicodedata.normalize("NFC", str(text or ""))


def _fit(text: str, font: str, size: float, width: float) -> float:
    """Return the largest size down from size (to 7 points) at which the text fits the width."""
    while size > 7 and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _spaced(code: str) -> str:
    code = _nfc(code)
    return f"{code[:4]} {code[4:]}" if len(code) == 8 else code


def render_activation_slips(slips: list[dict], *, title: str) -> bytes:
    """Render A4 pages of cut-out slips (10 a page), each with a trainee's name, phone, class, login address and code.

    Each slip dict has full_name, phone, class_name, login_url and code; optional class_code.
    """
    regular, bold = register_fonts()
    sheet = _SlipSheet(regular, bold)
    buffer = io.BytesIO()
    canvas = pdf_canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(_nfc(title))
    canvas.setAuthor("Làng Số")
    if not slips:
        canvas.setFont(bold, 14)
        canvas.drawString(MARGIN, PAGE_HEIGHT - MARGIN - 14, _nfc(title))
    for index, slip in enumerate(slips):
        position = index % (COLUMNS * ROWS)
        if index and position == 0:
            canvas.showPage()
        column, row = position % COLUMNS, position // COLUMNS
        sheet.draw(canvas, slip, MARGIN + column * SLIP_WIDTH, PAGE_HEIGHT - MARGIN - (row + 1) * SLIP_HEIGHT)
    canvas.save()
    return buffer.getvalue()


class _SlipSheet:
    """Draws one slip at a time, with the labels in the current language and each address's QR code drawn once."""

    def __init__(self, regular: str, bold: str):
        self.regular, self.bold = regular, bold
        self.labels = {
            "phone": _nfc(_("Phone")),
            "login": _nfc(_("Activate at")),
            "code": _nfc(_("One-time activation code")),
            "hint": _nfc(_("Open this address, type your phone number and this code, then choose your own password.")),
        }
        self.hint_lines = simpleSplit(self.labels["hint"], regular, 7.5, SLIP_WIDTH - 2 * PAD)[:2]
        self.qr_forms: dict[str, str] = {}

    def qr_form(self, canvas, url: str) -> str:
        # Every slip of a class shows the same address: draw its QR code once and reuse it.
        if url not in self.qr_forms:
            name = f"qr{len(self.qr_forms)}"
            widget = QrCodeWidget(url, barLevel="M")
            x0, y0, x1, y1 = widget.getBounds()
            drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0])
            drawing.add(widget)
            canvas.beginForm(name)
            renderPDF.draw(drawing, canvas, 0, 0)
            canvas.endForm()
            self.qr_forms[url] = name
        return self.qr_forms[url]

    def draw(self, canvas, slip: dict, x: float, y: float) -> None:
        """Draw one slip with its lower left corner at (x, y): a dashed cutting line, the text, the QR code."""
        regular, bold, labels = self.regular, self.bold, self.labels
        canvas.saveState()
        canvas.setDash(3, 3)
        canvas.setStrokeColor(colors.HexColor("#9aa5a1"))
        canvas.setLineWidth(0.5)
        canvas.rect(x, y, SLIP_WIDTH, SLIP_HEIGHT, stroke=1, fill=0)
        canvas.restoreState()
        text_width = SLIP_WIDTH - 2 * PAD - QR_SIZE - 3 * mm
        top = y + SLIP_HEIGHT - PAD
        class_line = _nfc(slip.get("class_name", ""))
        if slip.get("class_code"):
            class_line = f"{class_line} · {_nfc(slip['class_code'])}"
        canvas.setFillColor(BRAND)
        canvas.setFont(regular, _fit(class_line, regular, 8.5, text_width))
        canvas.drawString(x + PAD, top - 8, class_line)
        canvas.setFillColor(colors.black)
        name = _nfc(slip.get("full_name", ""))
        canvas.setFont(bold, _fit(name, bold, 14, text_width))
        canvas.drawString(x + PAD, top - 26, name)
        canvas.setFont(regular, 10)
        canvas.drawString(x + PAD, top - 41, f"{labels['phone']}: {_nfc(slip.get('phone', ''))}")
        login = f"{labels['login']}: {_nfc(slip.get('login_url', ''))}"
        canvas.setFont(regular, _fit(login, regular, 9, text_width))
        canvas.drawString(x + PAD, top - 55, login)
        canvas.setFont(regular, 8)
        canvas.setFillColor(GREY)
        canvas.drawString(x + PAD, top - 73, labels["code"])
        canvas.setFillColor(colors.black)
        canvas.setFont(bold, 26)
        canvas.drawString(x + PAD, top - 100, _spaced(slip.get("code", "")))
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(GREY)
        for line_number, line in enumerate(reversed(self.hint_lines)):
            canvas.drawString(x + PAD, y + PAD - 2 + line_number * 9, line)
        canvas.setFillColor(colors.black)
        if slip.get("login_url"):
            canvas.saveState()
            canvas.translate(x + SLIP_WIDTH - PAD - QR_SIZE, top - QR_SIZE - 2)
            canvas.doForm(self.qr_form(canvas, _nfc(slip["login_url"])))
            canvas.restoreState()
