"""Activation slips: a one-time code for each trainee who has not logged in yet, printed on cut-out slips."""

import io
import unicodedata

import sqlalchemy as sa

from lms.accounts.models import User
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.database import utcnow
from lms.extensions import db
from lms.text import name_order


def _waiting_for_codes(cohort: Cohort):
    return (sa.select(User).join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE,
                   User.password_hash.is_(None), User.active.is_(True)))


def _without_valid_code(stmt):
    return stmt.where(sa.or_(User.activation_code_hash.is_(None), User.activation_expires_at.is_(None),
                             User.activation_expires_at < utcnow()))


def trainees_waiting_for_codes(cohort: Cohort) -> dict[str, int]:
    """Count the class's trainees who have not logged in yet, and those among them with no valid code."""
    def count(stmt):
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0

    stmt = _waiting_for_codes(cohort)
    return {"not_logged_in": count(stmt), "without_code": count(_without_valid_code(stmt))}


def issue_slips(cohort: Cohort, *, only_without_code: bool = True) -> list[dict]:
    """Give the class's trainees who have no password a fresh one-time code; return one slip each.

    With only_without_code, people holding a still-valid code are left alone, so slips already
    handed out keep working. The codes exist only in the returned slips: store them nowhere.
    """
    from lms.accounts.services import issue_activation_code

    stmt = _waiting_for_codes(cohort)
    if only_without_code:
        stmt = _without_valid_code(stmt)
    users = sorted(db.session.scalars(stmt), key=lambda u: (name_order(u.full_name), u.id))
    slips = [{"full_name": user.full_name, "phone": user.phone, "class_name": cohort.name,
              "class_code": cohort.code, "code": issue_activation_code(user)} for user in users]
    db.session.flush()
    return slips


def render_activation_slips(slips: list[dict], *, title: str) -> bytes:
    """Render A4 pages of cut-out slips (10 a page), each with a trainee's name, phone, class, login address and code.

    Each slip dict has full_name, phone, class_name, login_url and code; optional class_code.
    """
    # reportlab is loaded by whatever prints slips, not by every web worker (tests/core/test_core.py).
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas as pdf_canvas

    from lms.i18n import gettext as _
    from lms.pdf import BRAND, register_fonts

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
