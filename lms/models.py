"""Import every model module, so mappers and migrations see the whole schema."""

from lms.accounts import models as accounts_models  # noqa: F401
from lms.assignments import models as assignments_models  # noqa: F401
from lms.attendance import models as attendance_models  # noqa: F401
from lms.audit import models as audit_models  # noqa: F401
from lms.certificates import models as certificates_models  # noqa: F401
from lms.cohorts import models as cohorts_models  # noqa: F401
from lms.courses import models as courses_models  # noqa: F401
from lms.learning import models as learning_models  # noqa: F401
from lms.media import models as media_models  # noqa: F401
from lms.notifications import models as notifications_models  # noqa: F401
from lms.privacy import models as privacy_models  # noqa: F401
from lms.quizzes import models as quizzes_models  # noqa: F401
from lms.reports import models as reports_models  # noqa: F401
