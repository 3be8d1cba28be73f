"""The certificate as printed: one A4 landscape page with the holder's name, the course, signers and a QR code."""

import io
import unicodedata

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from lms.core.pdf import BRAND, fit_text, register_fonts

#: Smallest sizes a fitted line may shrink to, in points: below these a printed name stops being readable.
MIN_NAME_SIZE = 14.0
MIN_TITLE_SIZE = 11.0
CERTIFICATE_INK = colors.HexColor("#1a1a1a")
CERTIFICATE_MUTED = colors.HexColor("#4d5358")
CERTIFICATE_GOLD = colors.HexColor("#b08d2e")
#: A4 landscape, and the width the holder's name and the course title may take.
CERTIFICATE_PAGE = (A4[1], A4[0])
CERTIFICATE_TEXT_WIDTH = CERTIFICATE_PAGE[0] - 2 * 34 * mm

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

    nfc = {k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v for k, v in data.items()}
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=CERTIFICATE_PAGE, pageCompression=1)
    canvas.setTitle(f"{nfc.get('title') or 'Giấy chứng nhận'} – {nfc['holder_name']}")
    canvas.setAuthor(nfc["issuer_name"])
    canvas.setSubject(f"{nfc['serial']} · {nfc['verify_url']}")
    canvas.setCreator("Làng Số")
    y = _draw_frame_and_heading(canvas, nfc)
    _draw_middle_block(canvas, nfc, y)
    _draw_verification(canvas, nfc)
    _draw_signers(canvas, nfc)
    if nfc.get("banner"):
        _draw_banner(canvas, nfc["banner"])
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_frame_and_heading(canvas, nfc: dict) -> float:
    """Draw the border, the logo, the issuer and the title; return the y below the title."""
    regular, bold = register_fonts()
    width, height = CERTIFICATE_PAGE
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
    size, lines = fit_text(nfc["issuer_name"].upper(), bold, max_size=14, min_size=8,
                           width=CERTIFICATE_TEXT_WIDTH - 40 * mm, max_lines=2)
    y = _centred_lines(canvas, lines, bold, size, width / 2, y)

    y -= 6 * mm
    canvas.setFillColor(BRAND)
    return _centred_lines(canvas, [nfc.get("title") or "GIẤY CHỨNG NHẬN"], bold, 34, width / 2, y, leading=1.1)


def _draw_middle_block(canvas, nfc: dict, y: float) -> None:
    """Draw the holder, the wording, the course and its details, centred in the space below y."""
    regular, bold = register_fonts()
    frame = CERTIFICATE_TEXT_WIDTH
    # The block is measured first, then centred in the space left.
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
        y = _centred_lines(canvas, lines, font, size, CERTIFICATE_PAGE[0] / 2, y - gap, leading)


def _draw_verification(canvas, nfc: dict) -> None:
    """Draw, bottom left, the QR code to /verify/<code> with the serial and the code in words."""
    regular, bold = register_fonts()
    qr_size = 30 * mm
    qr_x, qr_y = 22 * mm, 20 * mm
    _draw_qr(canvas, nfc["verify_url"], qr_x, qr_y, qr_size)
    text_x = qr_x + qr_size + 4 * mm
    text_width = CERTIFICATE_PAGE[0] / 2 - text_x
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


def _draw_signers(canvas, nfc: dict) -> None:
    """Draw, bottom right, the date line, then each signer's title, signature and name."""
    regular, bold = register_fonts()
    signers = [s for s in nfc.get("signers") or [] if s.get("name") or s.get("title")][:2]
    signer_width = 62 * mm
    right = CERTIFICATE_PAGE[0] - 22 * mm
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


def _draw_banner(canvas, banner: str) -> None:
    """Write words (revoked, preview) across the page, in translucent red."""
    regular, bold = register_fonts()
    width, height = CERTIFICATE_PAGE
    canvas.saveState()
    canvas.setFillColor(colors.HexColor("#b3261e"))
    canvas.setFillAlpha(0.28)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(24)
    size, lines = fit_text(banner, bold, max_size=60, min_size=20, width=width * 0.9, max_lines=1)
    canvas.setFont(bold, size)
    canvas.drawCentredString(0, -size / 3, lines[0])
    canvas.restoreState()
