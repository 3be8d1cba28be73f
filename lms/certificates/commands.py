"""CLI commands for certificates: issue to a class, list, verify a signed file offline, rotate the signing key."""

import json
import sys

import click
from flask.cli import with_appcontext

certificates_group = click.Group("certificates", help="Issue, list and verify certificates.")


@certificates_group.command("issue")
@click.option("--cohort", "cohort_code", required=True, help="The class code, e.g. PX-VBBH-01.")
@click.option("--by", "by_phone", default=None, help="Phone number of the organizer recorded as issuer.")
@with_appcontext
def issue_command(cohort_code: str, by_phone: str | None):
    """Issue certificates to everyone in a class who meets the course's rules; print how many."""
    from lms.accounts.services import find_user_by_phone
    from lms.certificates import services
    from lms.cohorts.services import get_cohort_by_code
    from lms.core.extensions import db

    cohort = get_cohort_by_code(cohort_code)
    if cohort is None:
        raise click.ClickException(f"No class has the code {cohort_code}.")
    by = find_user_by_phone(by_phone) if by_phone else None
    if by_phone and by is None:
        raise click.ClickException(f"No account has the phone number {by_phone}.")
    summary = services.issue_for_cohort(cohort, by=by)
    db.session.commit()
    click.echo(f"{summary.issued} certificates issued for {cohort.code} ({summary.total} trainees: "
               f"{summary.already} already had one, {summary.not_complete} not complete, "
               f"{summary.revoked} revoked before).")


@certificates_group.command("list")
@click.option("--cohort", "cohort_code", default=None, help="Only this class.")
@click.option("--phone", default=None, help="Only this trainee.")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@with_appcontext
def list_command(cohort_code: str | None, phone: str | None, output: str):
    """List certificates: serial, verification code, holder, course, status."""
    from lms.accounts.forms import foreign_phone_text
    from lms.certificates.register import RegisterFilters, register_query
    from lms.cohorts.services import get_cohort_by_code
    from lms.core.extensions import db
    from lms.core.text import ForeignPhoneNumber, InvalidPhoneNumber, normalize_phone

    filters = RegisterFilters()
    if cohort_code:
        filters.cohort = get_cohort_by_code(cohort_code)
        if filters.cohort is None:
            raise click.ClickException(f"No class has the code {cohort_code}.")
    if phone:
        try:
            filters.phone = normalize_phone(phone)
        except ForeignPhoneNumber as exc:
            raise click.ClickException(f"{phone}: {foreign_phone_text(exc)}") from None
        except InvalidPhoneNumber:
            raise click.ClickException(f"Not a Vietnamese phone number: {phone}") from None
    rows = [{"serial": c.serial, "code": c.display_code, "holder": c.holder_name, "course": c.course_title,
             "status": c.effective_status().value, "issued_at": c.issued_at.isoformat()}
            for c in db.session.scalars(register_query(filters))]
    if output == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    columns = ("serial", "code", "holder", "course", "status")
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in columns}
    widths["course"] = min(widths["course"], 48)
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(row[c][:widths[c]].ljust(widths[c]) for c in columns))
    click.echo(f"{len(rows)} certificates")


@certificates_group.command("verify")
@click.argument("file", type=click.File("rb"))
@click.option("--keys", "keys_file", type=click.File("rb"), default=None,
              help="Published keys (/.well-known/lang-so-keys.json); default: this installation's.")
@with_appcontext
def verify_command(file, keys_file):
    """Check a signed certificate JSON file offline: exit 0 if valid, 1 if not."""
    from lms.certificates.signing import check_certificate_document

    try:
        document = json.loads(file.read().decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
    except DuplicateKey as exc:
        # Two values for one key: a reader could take either, so the signature proves nothing.
        click.echo(f"NOT VALID: the key {exc} appears twice in one object")
        sys.exit(1)
    except (UnicodeDecodeError, ValueError):
        click.echo("NOT VALID: the file is not a JSON document")
        sys.exit(1)
    if keys_file is not None:
        try:
            keys = json.loads(keys_file.read().decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
        except (UnicodeDecodeError, ValueError):
            raise click.ClickException("The keys file is not JSON.") from None
    else:
        keys = _installation_keys()
    result = check_certificate_document(document, keys)
    if not result.ok:
        click.echo(f"NOT VALID: {result.reason}")
        sys.exit(1)
    subject = document.get("credentialSubject", {})
    click.echo(f"VALID: {document.get('serialNumber')} · {subject.get('name')} · "
               f"{subject.get('achievement', {}).get('name')} (key {result.kid})")


def _installation_keys() -> dict:
    from flask import current_app

    from lms.certificates.signing import keyring_for

    return keyring_for(current_app).published()


@certificates_group.command("rotate-key")
@with_appcontext
def rotate_key_command():
    """Make a new signing key; the old public key stays published so old documents still verify."""
    from flask import current_app

    from lms.certificates.signing import keyring_for

    new, old = keyring_for(current_app).rotate()
    click.echo(f"New signing key {new}" + (f"; {old} retired (still verifies)." if old else "."))


class DuplicateKey(ValueError):
    """A JSON object names one key twice."""


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    document = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKey(json.dumps(key, ensure_ascii=False))
        document[key] = value
    return document
