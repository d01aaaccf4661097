"""The one environment reader the settings modules share."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# DJANGO_ENV=production turns the dev defaults off: SECRET_KEY and ALLOWED_HOSTS must be set.
PRODUCTION = env.str("DJANGO_ENV", default="development") == "production"


def timeouts_option(role: str, *, lock: float, statement: float) -> str:
    """libpq `options` that bound a web process's waits: `-c lock_timeout=... -c statement_timeout=...` in ms.
    Processes in the role `command` (manage.py but runserver) get none."""
    if role == "command":
        return ""
    return f"-c lock_timeout={round(lock * 1000)} -c statement_timeout={round(statement * 1000)}"
