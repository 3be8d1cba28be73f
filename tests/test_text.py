import unicodedata

import pytest

from lms.privacy import redact
from lms.text import InvalidPhoneNumber, fold_diacritics, normalize_phone, normalize_text


@pytest.mark.parametrize(
    "written",
    ["0912 345 678", "+84912345678", "84-912-345-678", "(091) 234.5678", "0084 912 345 678", " 0912345678 "],
)
def test_common_phone_forms_normalise_to_one(written):
    assert normalize_phone(written) == "0912345678"


@pytest.mark.parametrize(
    "bad", ["", "12345", "0912345", "091234567890", "+1 650 253 0000", "0912abc678", "0100000000", "phone"]
)
def test_malformed_phone_numbers_are_rejected(bad):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(bad)


def test_text_is_nfc_with_spaces_folded():
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị Hường ")
    assert normalize_text(decomposed) == "Nguyễn Thị Hường"
    assert unicodedata.is_normalized("NFC", normalize_text(decomposed))


def test_fold_diacritics_for_matching():
    assert fold_diacritics("Đặng Quốc Bảo") == "dang quoc bao"
    assert fold_diacritics(unicodedata.normalize("NFD", "Xã Chuyên Mỹ")) == "xa chuyen my"


def test_redact_masks_phone_numbers_and_secrets():
    line = 'POST /login?phone=0912345678&next=/ "login failed for +84 912 345 678" password=hunter2'
    cleaned = redact(line)
    assert "0912345678" not in cleaned
    assert "912 345 678" not in cleaned
    assert "hunter2" not in cleaned
    assert "/login" in cleaned
