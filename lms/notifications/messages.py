"""What each kind of message says, written in the reader's language when it is read."""

import contextlib
from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_datetime

from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l

WORK_APPROVED = "work_approved"
WORK_REDO = "work_redo"
CERTIFICATE_ISSUED = "certificate_issued"
SESSION_MOVED = "session_moved"
SESSION_CANCELLED = "session_cancelled"
CLASS_JOINED = "class_joined"

#: kind -> (title, body); %(name)s placeholders are filled from the message's params.
TEXTS = {
    WORK_APPROVED: (_l("Your practical work is approved"),
                    _l("“%(lesson)s” in the course “%(course)s” is approved. %(comment)s")),
    WORK_REDO: (_l("Please redo your practical work"),
                _l("The instructor asks you to redo “%(lesson)s” in the course “%(course)s”: %(comment)s")),
    CERTIFICATE_ISSUED: (_l("You have a certificate"),
                         _l("Your certificate for the course “%(course)s” is issued, number %(serial)s.")),
    SESSION_MOVED: (_l("A session of class %(class_code)s has moved"),
                    _l("The session of %(before_at)s is now on %(starts_at)s at %(venue)s.")),
    SESSION_CANCELLED: (_l("A session of class %(class_code)s is cancelled"),
                        _l("The session of %(starts_at)s is cancelled. %(reason)s")),
    CLASS_JOINED: (_l("You have joined class %(class_code)s"),
                   _l("You are in the class “%(class_name)s” of the course “%(course)s”. See its sessions under My attendance.")),
}


@dataclass(frozen=True)
class Text:
    title: str
    body: str


def _fill(params: dict) -> dict:
    # Times travel as UTC ISO strings and are shown in Vietnam time, in the reader's language.
    filled = {}
    for key, value in params.items():
        if key.endswith("_at") and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = format_datetime(datetime.fromisoformat(value), "EEEE dd/MM/yyyy HH:mm")
        filled[key] = "" if value is None else value
    return filled


def text_of(notification) -> Text:
    """Write a message's title and body in the current language."""
    texts = TEXTS.get(notification.kind or "")
    if texts is None:
        return Text(notification.title or _("Message"), notification.body or "")
    params = _fill(notification.params or {})
    title, body = (str(part) for part in texts)
    try:
        return Text(title % params, (body % params).strip())
    except (KeyError, TypeError, ValueError):
        return Text(title.split("%")[0].strip() or _("Message"), "")
