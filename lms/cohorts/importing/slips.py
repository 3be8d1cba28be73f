"""Activation slips: a one-time code for each trainee who has not logged in yet (printed by slip_pdf.py)."""


import sqlalchemy as sa

from lms.accounts.models import User
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import name_order


def _waiting_for_codes(cohort: Cohort):
    return (sa.select(User).join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE,
                   User.password_hash.is_(None), User.active.is_(True)))


def _without_valid_code(stmt):
    from lms.accounts.services import MAX_CODE_TRIES

    # A code typed wrong too often is refused from then on: it needs a new slip like an expired one.
    return stmt.where(sa.or_(User.activation_code_hash.is_(None), User.activation_expires_at.is_(None),
                             User.activation_expires_at < utcnow(), User.code_tries >= MAX_CODE_TRIES))


def trainees_waiting_for_codes(cohort: Cohort) -> dict[str, int]:
    """Count the class's trainees who have not logged in yet, and those among them with no valid code."""
    def count(stmt):
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0

    stmt = _waiting_for_codes(cohort)
    return {"not_logged_in": count(stmt), "without_code": count(_without_valid_code(stmt))}


def issue_slips(cohort: Cohort, *, only_without_code: bool = True) -> list[dict]:
    """Give the class's trainees who have no password a fresh one-time code; return one slip each.

    With only_without_code, people holding a still-valid code are left alone, so slips already
    handed out keep working. The codes exist only in the returned slips: store them nowhere.
    """
    from lms.accounts.services import issue_activation_code

    stmt = _waiting_for_codes(cohort)
    if only_without_code:
        stmt = _without_valid_code(stmt)
    users = sorted(db.session.scalars(stmt), key=lambda u: (name_order(u.full_name), u.id))
    slips = [{"full_name": user.full_name, "phone": user.phone, "class_name": cohort.name,
              "class_code": cohort.code, "code": issue_activation_code(user)} for user in users]
    db.session.flush()
    return slips
