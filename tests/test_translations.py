"""The Vietnamese catalogue covers every string the code and templates show."""

import subprocess
import sys
import unicodedata
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "lms/translations/vi/LC_MESSAGES/messages.po"


def test_every_message_in_the_code_has_a_vietnamese_translation(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "-o", str(template), "--no-location", str(ROOT)],
        check=True, capture_output=True, cwd=ROOT,
    )
    with template.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        value = message.string if isinstance(message.string, str) else message.string[0]
        translated[key] = value
    assert len(wanted) > 100, "extraction found too few messages: check babel.cfg"
    missing = sorted(m for m in wanted if not translated.get(m))
    assert missing == [], f"untranslated: {missing[:10]} — run `make translations` and translate"


def test_catalogue_is_nfc():
    assert unicodedata.is_normalized("NFC", CATALOGUE.read_text(encoding="utf-8"))
