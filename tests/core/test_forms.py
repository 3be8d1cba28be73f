"""Every form of the app speaks Vietnamese, WTForms' and Flask-WTF's own messages included."""

import importlib
import pkgutil
import re
from pathlib import Path

import flask_wtf
import pytest
import wtforms
from babel.messages.pofile import read_po
from werkzeug.datastructures import MultiDict
from wtforms import fields as f

import lms
from lms.core import forms as core_forms

CATALOGUE = Path(lms.__file__).parent / "translations/vi/LC_MESSAGES/messages.po"
WORD = re.compile(r"[A-Za-z][A-Za-z']{2,}")
PLACEHOLDER = re.compile(r"%\(\w+\)\w|\{\w+\}")
#: Short words both languages write the same way (abbreviations, names of things).
SHARED = {"email", "mac", "url", "uuid", "csv", "xlsx", "excel", "zalo", "pdf", "otp"}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _app_form_classes():
    for module in pkgutil.walk_packages(lms.__path__, "lms."):
        if module.name != "lms.wsgi":  # it builds an app at import, for the server
            importlib.import_module(module.name)
    found = {c for c in _all_subclasses(wtforms.Form) if c.__module__.startswith("lms.")}
    return sorted((c for c in found if c.__module__ != "lms.core.forms"), key=lambda c: c.__qualname__)


FORM_CLASSES = _app_form_classes()


def _english_words() -> set[str]:
    """Words in our English msgids that no Vietnamese translation uses."""
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    english, vietnamese = set(), set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in ids:
            english.update(w.lower() for w in WORD.findall(PLACEHOLDER.sub("", text)))
        for text in strings:
            vietnamese.update(w.lower() for w in WORD.findall(PLACEHOLDER.sub("", text or "")))
    return english - vietnamese - SHARED


ENGLISH = _english_words()


def _leaf_fields(form):
    for field in form:
        if isinstance(field, f.FormField):
            yield from _leaf_fields(field.form)
        elif isinstance(field, f.FieldList):
            for entry in field.entries:
                yield from _leaf_fields(entry.form) if isinstance(entry, f.FormField) else [entry]
        else:
            yield field


def _bad_value(field, kind: str) -> str:
    if kind == "empty":
        return ""
    huge = kind == "huge"
    if isinstance(field, (f.IntegerField, f.DecimalField, f.FloatField)):
        return "9" * 40 if huge else "mười"
    if isinstance(field, f.DateTimeField | f.DateField | f.TimeField):
        return "9" * 40 if huge else "32/13/2026"
    if isinstance(field, (f.SelectField, f.SelectMultipleField, f.RadioField)):
        return "9" * 40 if huge else "zzq"
    if isinstance(field, f.BooleanField):
        return "y"
    return "ư" * 300_000 if huge else "ư"


def _messages(errors):
    if isinstance(errors, dict):
        for value in errors.values():
            yield from _messages(value)
    elif isinstance(errors, (list, tuple)):
        for value in errors:
            yield from _messages(value)
    elif errors is not None:
        yield str(errors)


def _errors_of(app, form_class, kind):
    with app.test_request_context("/", method="POST"):
        blank = form_class(formdata=None)
        names = [(field.name, _bad_value(field, kind)) for field in _leaf_fields(blank)
                 if field.name != "csrf_token"]
        form = form_class(formdata=MultiDict(names))
        for field in _leaf_fields(form):
            if isinstance(field, (f.SelectField, f.SelectMultipleField, f.RadioField)) and field.choices is None:
                field.choices = []
        if hasattr(form, "fill_place_choices"):
            form.fill_place_choices()
        form.validate()
        return list(_messages(form.errors))


def test_forms_are_found():
    names = {c.__name__ for c in FORM_CLASSES}
    assert {"RegisterForm", "CohortForm", "QuestionForm", "CodeForm", "AttendanceReportForm"} <= names
    assert len(ENGLISH) > 300 and {"field", "required", "must", "token"} <= ENGLISH


@pytest.mark.parametrize("form_class", FORM_CLASSES, ids=lambda c: c.__qualname__)
def test_every_form_uses_the_translated_base(form_class):
    if issubclass(form_class, flask_wtf.FlaskForm):
        assert issubclass(form_class, core_forms.FlaskForm)
    else:
        assert issubclass(form_class, core_forms.Form)


@pytest.mark.parametrize("kind", ["empty", "bad", "huge"])
@pytest.mark.parametrize("form_class", FORM_CLASSES, ids=lambda c: c.__qualname__)
def test_every_error_message_is_vietnamese(app, form_class, kind):
    messages = _errors_of(app, form_class, kind)
    english = [(m, sorted({w.lower() for w in WORD.findall(m)} & ENGLISH)) for m in messages]
    assert [pair for pair in english if pair[1]] == []


def test_builtin_messages_read_in_vietnamese(app):
    from lms.accounts.forms import RegisterForm

    with app.test_request_context("/", method="POST"):
        form = RegisterForm(formdata=MultiDict({"password": "ngắn", "date_of_birth": "hôm qua"}))
        form.fill_place_choices()
        form.validate()
        assert "Cần từ 8 đến 128 ký tự." in form.password.errors
        assert "Ngày không hợp lệ." in form.date_of_birth.errors
        assert form.csrf_token.errors == ["Biểu mẫu thiếu mã bảo mật. Hãy tải lại trang rồi thử lại."]


def test_english_locale_keeps_the_english_messages(app):
    from flask_babel import force_locale

    from lms.accounts.forms import RegisterForm

    with app.test_request_context("/", method="POST"), force_locale("en"):
        form = RegisterForm(formdata=MultiDict({"password": "short"}))
        form.fill_place_choices()
        form.validate()
        assert form.password.errors == ["Field must be between 8 and 128 characters long."]
