import unicodedata

import pytest

from lms.core.privacy import redact
from lms.core.text import (
    ForeignPhoneNumber,
    InvalidPhoneNumber,
    fold_diacritics,
    name_order,
    normalize_phone,
    normalize_text,
    strip_invisible,
    vietnamese_key,
)


@pytest.mark.parametrize(
    "written",
    ["0912 345 678", "+84912345678", "84-912-345-678", "(091) 234.5678", "0084 912 345 678", " 0912345678 ",
     "+84 0912 345 678", "0084 0912345678", "84912345678",
     "\u202a+84 912 345 678\u202c"],  # as a phone's contact app copies it: wrapped in bidi controls
)
def test_common_phone_forms_normalise_to_one(written):
    assert normalize_phone(written) == "0912345678"


@pytest.mark.parametrize(
    ("written", "country"),
    [("0033612345678", 33), ("0049612345678", 49), ("00 33 6 12 34 56 78", 33), ("+33 6 12 34 56 78", 33),
     ("+1 650 253 0000", 1), ("001 650 253 0000", 1), ("0086 139 1234 5678", 86)],
)
def test_foreign_numbers_are_refused_as_foreign_not_read_as_vietnamese(written, country):
    # 0033612345678 once became 0612345678, someone else's (invalid) Vietnamese number.
    with pytest.raises(ForeignPhoneNumber) as refused:
        normalize_phone(written)
    assert refused.value.country_code == country
    assert isinstance(refused.value, InvalidPhoneNumber)  # every caller that refuses bad numbers refuses these


@pytest.mark.parametrize(
    "bad", ["", "12345", "0912345", "091234567890", "+1 650 253 0000", "0912abc678", "0100000000", "phone"]
)
def test_malformed_phone_numbers_are_rejected(bad):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(bad)


def test_bidi_controls_and_other_invisible_characters_are_stripped_from_text():
    # "Nguyễn Văn A" typed with a right-to-left override shows reversed on lists and certificates.
    for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c":
        assert normalize_text(f"Nguyễn {control}Văn A{control}") == "Nguyễn Văn A", hex(ord(control))
    assert normalize_text("\u202eNguyễn\u200b Thị\u00ad Hường\ufeff") == "Nguyễn Thị Hường"
    assert normalize_text("Lê \u2067 Văn") == "Lê Văn"  # a lone control between words leaves one space
    assert strip_invisible("a\u202eb\u200fc") == "abc"
    assert strip_invisible("Hà Nội") == "Hà Nội"


def test_text_is_nfc_with_spaces_folded():
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị Hường ")
    assert normalize_text(decomposed) == "Nguyễn Thị Hường"
    assert unicodedata.is_normalized("NFC", normalize_text(decomposed))


def test_fold_diacritics_for_matching():
    assert fold_diacritics("Đặng Quốc Bảo") == "dang quoc bao"
    assert fold_diacritics(unicodedata.normalize("NFD", "Xã Chuyên Mỹ")) == "xa chuyen my"


def test_vietnamese_key_sorts_in_dictionary_order():
    assert sorted(["Em", "Đặng", "Dương", "Ánh", "Bình", "An", "Anh"], key=vietnamese_key) == [
        "An", "Anh", "Ánh", "Bình", "Dương", "Đặng", "Em"]  # đ after d, before e; a tone mark comes second
    assert vietnamese_key("Ánh")[0] == vietnamese_key("anh")[0]  # 'Ánh' sorts with the a's
    assert sorted(["ô", "ơ", "o", "â", "ă", "a", "ư", "u"], key=vietnamese_key) == ["a", "ă", "â", "o", "ô", "ơ", "u", "ư"]
    assert sorted(["Hà", "Ha", "Hả", "Hạ", "Há", "Hã"], key=vietnamese_key) == ["Ha", "Hà", "Hả", "Hã", "Há", "Hạ"]
    assert vietnamese_key(unicodedata.normalize("NFD", "Đặng Thị Ngọc")) == vietnamese_key("Đặng Thị Ngọc")


def test_name_order_sorts_a_class_list_by_given_name_then_full_name():
    names = ["Trần Văn Đức", "Nguyễn Thị Hường", "Lê Văn An", "Phạm Thị Ánh", "Đỗ Văn Dũng", "Hoàng Thị An"]
    assert sorted(names, key=name_order) == [
        "Hoàng Thị An", "Lê Văn An", "Phạm Thị Ánh", "Đỗ Văn Dũng", "Trần Văn Đức", "Nguyễn Thị Hường"]


def test_redact_masks_phone_numbers_and_secrets():
    line = 'POST /login?phone=0912345678&next=/ "login failed for +84 912 345 678" password=hunter2'
    cleaned = redact(line)
    assert "0912345678" not in cleaned
    assert "912 345 678" not in cleaned
    assert "hunter2" not in cleaned
    assert "/login" in cleaned


def test_one_person_search_reads_names_without_tones_and_phone_endings():
    from lms.core.text import person_matcher

    name = fold_diacritics("Nguyễn Thị Hường")
    assert person_matcher("huong")(name, "0912345678")
    assert person_matcher("HƯỜNG")(name, "0912345678")
    assert person_matcher("thi h")(name, "0912345678")
    assert not person_matcher("hương x")(name, "0912345678")
    # From the start of a word: "huong" is not found inside "Phương".
    assert not person_matcher("huong")(fold_diacritics("Lê Thị Phương"), "0912345678")
    # The last digits, or the whole number as people write it.
    for typed in ("678", "345 678", "0912.345.678", "+84 912 345 678", "84912345678"):
        assert person_matcher(typed)(name, "0912345678"), typed
    assert not person_matcher("12")(name, "0912345678")
    assert not person_matcher("0912")(name, "0912345678")
    assert person_matcher("") is None and person_matcher("   ") is None


@pytest.mark.parametrize("phone", [
    "0912345678", "0912 345 678", "091.234.5678", "0912-345-678", "(091) 234.5678", "+84 912 345 678",
    "+84912345678", "84912345678", "0084 912 345 678", "(+84) 912 345 678", "+84 (0) 912 345 678",
    "024 3826 1234", "02438261234", "0387.654.321",
])
def test_redact_masks_vietnamese_phones_as_people_write_them(phone):
    assert redact(f"login failed for {phone}, retry") == "login failed for ***, retry"
    assert redact(f"/users/{phone}/edit") == "/users/***/edit"


@pytest.mark.parametrize("line", [
    "2026-12-02 16:44:23,719 huey.consumer INFO Huey consumer started with 2 thread, PID 21299 at 2026-12-02 16:44:23.718981",
    '127.0.0.1 - - [02/Dec/2026 17:13:28] "GET /cohorts/PX-01?page=2 HTTP/1.1" 200 -',
    "import of 02.12.2026 finished in 0.0345678912 s",
    "sent 5368709120 bytes (1234567890 on disk) for asset 1234567890123",
    "task ad2146be-8394-4525-bbc8-3550f3d39148 executed in 1.474s",
    "upload a0912345678b chunk 10912345678 of 0912345678901",
])
def test_redact_leaves_timestamps_dates_durations_ids_and_byte_counts_alone(line):
    assert redact(line) == line


def test_redact_masks_a_phone_next_to_a_timestamp():
    line = "2026-12-02 16:44:23 SMS to 0912 345 678 queued"
    assert redact(line) == "2026-12-02 16:44:23 SMS to *** queued"


@pytest.mark.parametrize("line", [
    "GET /login?next=/users%3Fq%3D0912345678 HTTP/1.1",
    "GET /users?q=0912+345+678 HTTP/1.1",
    "GET /users?q=%2B84912345678 HTTP/1.1",
    "GET /users?q=0912%20345%20678 HTTP/1.1",
    "GET /x?next=%2Fusers%3Fq%3D%252B84912345678 HTTP/1.1",
])
def test_a_phone_hidden_in_an_address_is_masked_in_the_access_log(line):
    masked = redact(line)
    digits = "".join(ch for ch in masked if ch.isdigit())
    assert "912345678" not in digits.replace("11", "") and "345" not in masked, masked
    assert masked.startswith("GET /") and "***" in masked


def test_a_password_hash_in_a_traceback_is_masked():
    line = "IntegrityError: (0912345678, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')"
    assert "0912345678" not in redact(line) and "argon2" not in redact(line) and redact(line).endswith("'***')")
