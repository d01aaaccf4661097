"""Settings, grouped by concern; every value comes from the environment with a safe default."""

from .api import *  # noqa: F403
from .base import *  # noqa: F403
from .security import *  # noqa: F403
from .tasks import *  # noqa: F403
from .webhooks import *  # noqa: F403
