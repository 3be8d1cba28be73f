"""People and their roles."""

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l
from lms.core.places import Commune, get_commune
from lms.core.text import search_key


class Role(LabelledEnum):
    TRAINEE = "trainee"
    INSTRUCTOR = "instructor"
    ORGANIZER = "organizer"
    ADMIN = "admin"
    #: A commune's (or province's) official: reads the programme's figures of their places, changes nothing.
    OFFICIAL = "official"

    @classmethod
    def labels(cls):
        return {
            cls.TRAINEE: _l("Trainee"),
            cls.INSTRUCTOR: _l("Instructor"),
            cls.ORGANIZER: _l("Organizer"),
            cls.ADMIN: _l("Administrator"),
            cls.OFFICIAL: _l("Commune official"),
        }


#: Roles that may see and manage other people's accounts.
STAFF_ROLES = frozenset({Role.INSTRUCTOR, Role.ORGANIZER, Role.ADMIN})


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(sa.String(120))
    #: The name as searches compare it (lms.core.text.search_key): kept with the name, so a search is one LIKE.
    search_name: Mapped[str] = mapped_column(
        sa.String(130), default=lambda context: search_key(context.get_current_parameters().get("full_name")),
        server_default="")
    #: Canonical national form, e.g. 0912345678 (lms.core.text.normalize_phone).
    phone: Mapped[str] = mapped_column(sa.String(16), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    #: Official ward/commune code after the July 2025 reform (vietnam-provinces).
    commune_code: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    village: Mapped[str | None] = mapped_column(sa.String(120))
    business_name: Mapped[str | None] = mapped_column(sa.String(160))
    #: None until the person sets a password (imported trainees activate with a code).
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: Keyed hash of a one-time activation code for imported trainees (cheap by design: an import
    #: of thousands must not pay for thousands of password hashes; the code is random and short-lived).
    activation_code_hash: Mapped[str | None] = mapped_column(sa.String(64))
    activation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When a one-time reset code (held in password_hash while must_change_password) stops working.
    reset_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Tries of the current one-time code (activation or reset), each counted before it is checked so that
    #: tries sent together cannot slip past the limit (lms.accounts.services.MAX_CODE_TRIES); a right code
    #: and a new code set it back to 0.
    code_tries: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Bumped at logout and when the password changes, so every older session and remember-me
    #: cookie (they carry it in get_id()) stops working on every device.
    auth_epoch: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    role_rows: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    #: The provinces and communes an organizer or official answers for (none: an organizer's whole programme).
    places: Mapped[list["StaffPlace"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="StaffPlace.id"
    )

    def __repr__(self) -> str:
        return f"<User {self.id}>"

    @property
    def roles(self) -> set[Role]:
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: Role) -> bool:
        """Return True if the user holds any of these roles."""
        return bool(self.roles & set(roles))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def commune(self) -> Commune | None:
        return get_commune(self.commune_code)

    def get_id(self) -> str:
        return f"{self.id}.{self.auth_epoch}"


@sa.event.listens_for(User, "before_update")
def _keep_search_name(_mapper, _connection, user: User) -> None:
    """Fold a changed name again: searches read search_name, never full_name."""
    if sa.inspect(user).attrs.full_name.history.has_changes():
        user.search_name = search_key(user.full_name)


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column_type(Role), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class StaffPlace(db.Model):
    """A province or a commune whose trainees an organizer or an official answers for."""

    __tablename__ = "staff_places"
    __table_args__ = (
        sa.CheckConstraint("(province_code IS NULL) <> (commune_code IS NULL)", name="one_kind_of_place"),
        sa.UniqueConstraint("user_id", "province_code", "commune_code", name="uq_staff_places_user_place"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    province_code: Mapped[int | None] = mapped_column(sa.Integer)
    commune_code: Mapped[int | None] = mapped_column(sa.Integer)

    user: Mapped[User] = relationship(back_populates="places")

    @property
    def name(self) -> str:
        """Return the place as people read it: "Xã Chuyên Mỹ, Thành phố Hà Nội", or the province's name."""
        from lms.core.places import provinces

        if self.commune_code is not None:
            commune = get_commune(self.commune_code)
            return commune.full_name if commune else str(self.commune_code)
        return dict(provinces()).get(self.province_code, str(self.province_code))


def load_user(user_id: str) -> User | None:
    """Return the logged-in user if the cookie's password epoch is still current."""
    try:
        raw_id, raw_epoch = user_id.split(".")
        # Roles come in the same query: every page asks for them (menu, access checks).
        user = db.session.get(User, int(raw_id), options=[sa.orm.joinedload(User.role_rows)])
    except (ValueError, TypeError):
        return None
    if user is None or str(user.auth_epoch) != raw_epoch:
        return None
    return user
