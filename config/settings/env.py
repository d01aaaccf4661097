"""The one environment reader the settings modules share."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# DJANGO_ENV=production turns the dev defaults off: SECRET_KEY and ALLOWED_HOSTS must be set.
PRODUCTION = env.str("DJANGO_ENV", default="development") == "production"
