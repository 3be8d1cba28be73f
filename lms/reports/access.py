"""Who sees the programme's figures: its organizers and the admins (scoped officials come with issue 14's next slice)."""

from lms.accounts.access import role_required
from lms.accounts.models import Role

#: The decorator of every reports route.
programme_staff_required = role_required(Role.ORGANIZER)
