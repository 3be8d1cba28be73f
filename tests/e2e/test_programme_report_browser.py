"""On a phone-sized Chromium, the organizer downloads the report for the authorities from the dashboard."""

import re
import shutil
import subprocess

import pytest

from tests.e2e.conftest import log_in_with_the_form, screenshot

pytestmark = pytest.mark.e2e


def test_the_organizer_downloads_the_report_as_excel_and_pdf(demo_site, phone_page, tmp_path):
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    page = phone_page
    log_in_with_the_form(page, demo_site.base_url, demo_site.accounts["organizer"], demo_site.password)
    page.goto(demo_site.base_url + "/reports")
    excel = page.get_by_role("link", name="Tải báo cáo (Excel)")
    expect(excel).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "reports-dashboard-report-buttons")
    enrolled = int(page.locator("a.funnel-number").first.inner_text().replace(".", ""))

    with page.expect_download() as xlsx_download:
        excel.click()
    download = xlsx_download.value
    assert re.fullmatch(r"bao-cao-ket-qua-boi-duong-\d{4}-01-01-\d{4}-\d\d-\d\d\.xlsx", download.suggested_filename)
    xlsx = tmp_path / download.suggested_filename
    download.save_as(xlsx)
    totals = list(load_workbook(xlsx)["Tổng hợp"].iter_rows(values_only=True))
    assert totals[1][1] == enrolled  # the file's number is the dashboard's

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Tải báo cáo (PDF)").click()
    download = pdf_download.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
                        .stdout.decode().split())
        for expected in ("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập – Tự do – Hạnh phúc",
                         "BÁO CÁO KẾT QUẢ BỒI DƯỠNG", "NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"):
            assert expected in text, expected
        assert re.search(r"ngày \d\d? tháng \d\d? năm \d{4}", text, re.IGNORECASE)
