"""Admin login protection (django-axes lockouts, django-otp two-factor) and the Content-Security-Policy."""

from datetime import timedelta

from csp.constants import NONCE, NONE, SELF

from .env import env

# django-axes: after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address, that pair is
# locked out for ADMIN_LOGIN_LOCKOUT_MINUTES (docs/admin.md, "Signing in"). The address is REMOTE_ADDR, as
# the audit log records it.
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "backoffice.login.locked_out"
AXES_VERBOSE = False

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out pair before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]

# django-otp: staff with an authenticator (a TOTP device) give its code at login; with ADMIN_REQUIRE_2FA every
# staff user must, and one without a device cannot sign in until an administrator adds one.
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Loyalty admin")
AXES_ENABLE_ADMIN = False  # the back office shows lockouts in its own words (backoffice.admin)

# Content-Security-Policy (django-csp), on every page: everything comes from this server, no inline script and
# no inline style except a <style> or <script> carrying the request's nonce (docs/admin.md, "Every page"). The API
# docs pages add their few needs to it in loyalty/api/docs.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
