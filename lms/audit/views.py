"""The admins' audit screen: filter the log, page through it, export it. No route changes an event."""

import io

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user

from lms.audit import services
from lms.audit.access import audit_reader_required
from lms.audit.forms import AuditFilterForm
from lms.audit.hooks import account_names
from lms.audit.models import AuditAction, AuditObject
from lms.core.db import utcnow, writes_database
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.params import paginate
from lms.core.responses import NO_STORE, XLSX_MIMETYPE
from lms.core.timezone import to_local

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50
EXPORT_HEADER = (_l("When"), _l("Account number of who did it"), _l("Who did it"), _l("Their role"), _l("Action"),
                 _l("Account number of whose data"), _l("Whose data"), _l("What"), _l("Client address"))


def _form() -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    form.validate()
    return form


@bp.get("/admin/audit")
@audit_reader_required
def index():
    """Show the events that match the filters, newest first."""
    form = _form()
    page = paginate(services.find_events(form.to_filter()), per_page=PAGE_SIZE, count=True)
    names = account_names([e.actor_id for e in page.items] + [e.subject_id for e in page.items])
    return render_template("audit/index.html", form=form, page=page, names=names, kept=form.kept(),
                           describe_roles=services.describe_roles, describe_object=services.describe_object)


@bp.get("/admin/audit.<any(xlsx, csv):fmt>")
@writes_database
@audit_reader_required
def export(fmt: str):
    """Download the events that match the filters (formula-safe); the download is itself an event."""
    from lms.core.spreadsheets.write import iter_csv, write_xlsx

    form = _form()
    # The export shows the log as it stood when it was asked for, without the event it adds itself.
    stmt = services.find_events(form.to_filter(up_to_id=services.last_event_id()))
    services.record_event(AuditAction.EXPORTED_LIST, current_user, object_kind=AuditObject.AUDIT_LOG,
                          object_ref=fmt, client_address=request.remote_addr)
    db.session.commit()
    header = [str(h) for h in EXPORT_HEADER]
    filename = f"nhat-ky-truy-cap-{to_local(utcnow()):%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = Response(stream_with_context(iter_csv(services.export_rows(stmt), header)), mimetype="text/csv")
    else:
        buffer = io.BytesIO()
        kinds = ["datetime", "integer", None, None, None, "integer"]
        write_xlsx([(_("Audit log"), header, services.export_rows(stmt), kinds)], buffer)
        response = Response(buffer.getvalue(), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = NO_STORE
    return response
