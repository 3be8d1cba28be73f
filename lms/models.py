"""Import every model module, so mappers and migrations see the whole schema."""

from lms.accounts import models as accounts_models  # noqa: F401
from lms.courses import models as courses_models  # noqa: F401
from lms.media import models as media_models  # noqa: F401
