import shutil
import subprocess
import unicodedata

import pytest
from reportlab.pdfbase import pdfmetrics

from lms.certificates import services
from lms.core.pdf import (
    CERTIFICATE_TEXT_WIDTH,
    MIN_NAME_SIZE,
    MIN_TITLE_SIZE,
    fit_text,
    register_fonts,
    render_certificate,
)
from tests.certificates.helpers import certificate_of, completed_trainee
from tests.factories import make_course

PDFTOTEXT = shutil.which("pdftotext")
NAMES = ["Nguyễn Thị Hường", "Đặng Quốc Bảo", "Lê Thị Ngọc Ánh"]
#: Every vowel with every tone mark, and đ.
EVERY_TONE = "àáảãạ ằắẳẵặ ầấẩẫậ èéẻẽẹ ềếểễệ ìíỉĩị òóỏõọ ồốổỗộ ờớởỡợ ùúủũụ ừứửữự ỳýỷỹỵ đĐ"
LONG_NAME = "Tôn Nữ Hoàng Thị Phương Thảo Nguyễn Lê Trần Phạm Huỳnh Hoàng Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý"
LONG_TITLE = "Kỹ năng bán hàng trên mạng xã hội, livestream và chăm sóc khách hàng cho sản phẩm " * 4


def sample(**overrides) -> dict:
    data = {
        "holder_name": "Nguyễn Thị Hường", "course_title": "Viết bài bán hàng trên mạng xã hội",
        "wording": "Đã hoàn thành khoá học", "issuer_name": "Trung tâm Khuyến công Hà Nội",
        "serial": "LS-2026-000123", "code": "ABCD-EFGH-JKMN-PQRS",
        "verify_url": "http://localhost/verify/ABCDEFGHJKMNPQRS", "issued_on": "28/11/2026", "hours": 24,
        "signers": [{"name": "Đặng Quốc Bảo", "title": "Giám đốc"}],
    }
    return {**data, **overrides}


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    result = subprocess.run([PDFTOTEXT, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", result.stdout.decode("utf-8"))


@pytest.mark.skipif(PDFTOTEXT is None, reason="needs pdftotext (poppler-utils)")
@pytest.mark.parametrize("name", [*NAMES, unicodedata.normalize("NFD", "Nguyễn Thị Hường")])
def test_every_vietnamese_letter_prints_exactly(tmp_path, name):
    text = pdf_text(render_certificate(sample(holder_name=name, wording=EVERY_TONE)), tmp_path)
    assert unicodedata.normalize("NFC", name) in text
    assert EVERY_TONE in text
    assert "LS-2026-000123" in text and "ABCD-EFGH-JKMN-PQRS" in text
    assert "http://localhost/verify/ABCDEFGHJKMNPQRS" in text


def test_the_font_is_embedded_and_the_page_is_a4_landscape():
    data = render_certificate(sample())
    assert b"BeVietnamPro" in data and b"/FontFile2" in data
    assert b"/MediaBox [ 0 0 841.8898 595.2756 ]" in data
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 1


@pytest.mark.skipif(not shutil.which("zbarimg") or not shutil.which("pdftoppm"), reason="needs zbar-tools, poppler")
def test_the_qr_code_points_at_the_verification_page(tmp_path):
    (tmp_path / "c.pdf").write_bytes(render_certificate(sample()))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "c")],
                   check=True)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "c.png")], capture_output=True, text=True)
    assert decoded.stdout.strip() == "http://localhost/verify/ABCDEFGHJKMNPQRS"


def test_very_long_names_and_titles_still_fit():
    _regular, bold = register_fonts()
    size, lines = fit_text(LONG_NAME, bold, max_size=34, min_size=MIN_NAME_SIZE, width=CERTIFICATE_TEXT_WIDTH,
                           max_lines=2, prefer_fewer_lines=True)
    assert size >= MIN_NAME_SIZE and len(lines) <= 2
    assert all(pdfmetrics.stringWidth(line, bold, size) <= CERTIFICATE_TEXT_WIDTH for line in lines)
    assert " ".join(lines) == LONG_NAME  # it fits without being cut

    size, lines = fit_text(LONG_TITLE, bold, max_size=24, min_size=MIN_TITLE_SIZE, width=CERTIFICATE_TEXT_WIDTH,
                           max_lines=3)
    assert size >= MIN_TITLE_SIZE and len(lines) <= 3
    assert all(pdfmetrics.stringWidth(line, bold, size) <= CERTIFICATE_TEXT_WIDTH for line in lines)

    absurd = "Nguyễn" * 200  # one "word" wider than the page: cut, never overflowing
    size, lines = fit_text(absurd, bold, max_size=34, min_size=MIN_NAME_SIZE, width=CERTIFICATE_TEXT_WIDTH,
                           max_lines=2, prefer_fewer_lines=True)
    assert size == MIN_NAME_SIZE and len(lines) == 2 and lines[-1].endswith("…")
    assert all(pdfmetrics.stringWidth(line, bold, size) <= CERTIFICATE_TEXT_WIDTH for line in lines)
    assert render_certificate(sample(holder_name=absurd, course_title=LONG_TITLE)).startswith(b"%PDF")


def test_short_names_print_large_on_one_line():
    _regular, bold = register_fonts()
    size, lines = fit_text("Đặng Quốc Bảo", bold, max_size=34, min_size=MIN_NAME_SIZE, width=CERTIFICATE_TEXT_WIDTH,
                           prefer_fewer_lines=True, max_lines=2)
    assert (size, lines) == (34, ["Đặng Quốc Bảo"])


def test_an_issued_certificate_renders_with_its_snapshot(app, tmp_path):
    course = make_course()
    certificate = certificate_of(completed_trainee(course, full_name="Lê Thị Ngọc Ánh"), course)
    data = services.certificate_pdf(certificate, "http://localhost/")
    assert data.startswith(b"%PDF") and len(data) < 120_000
    if PDFTOTEXT:
        text = pdf_text(data, tmp_path)
        assert "Lê Thị Ngọc Ánh" in text and certificate.serial in text and certificate.display_code in text
        assert "ĐÃ THU HỒI" not in text


def test_a_revoked_certificate_is_marked_across_the_page(app):
    from tests.certificates.helpers import make_organizer

    course = make_course()
    certificate = certificate_of(completed_trainee(course), course)
    valid_pdf = services.certificate_pdf(certificate, "http://localhost/")
    services.revoke_certificate(certificate, by=make_organizer(), reason="Sai")
    assert services.pdf_data(certificate, "http://localhost/")["banner"] == services.BANNERS[certificate.status]
    assert len(services.certificate_pdf(certificate, "http://localhost/")) > len(valid_pdf)


def test_a_logo_and_signature_images_are_drawn(tmp_path):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (400, 200), (11, 93, 75, 255)).save(buffer, "PNG")
    image = buffer.getvalue()
    plain = render_certificate(sample())
    with_images = render_certificate(sample(logo=image, signers=[{"name": "Đặng Quốc Bảo", "title": "Giám đốc",
                                                                  "signature": image}]))
    assert b"/Subtype /Image" in with_images and b"/Subtype /Image" not in plain
