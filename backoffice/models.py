"""The back office keeps no tables of its own: only a proxy model that shows django-axes' failed sign-ins as
login lockouts. This module also makes Django send the app its post_migrate signal (only apps with a models
module get one): backoffice.apps gives the roles the permissions of new models then."""

from axes.models import AccessAttempt


class LoginLockout(AccessAttempt):
    """django-axes' failed sign-ins, in the admin's words: a user name and address with too many wrong
    passwords is paused; releasing it deletes the row (backoffice.services.release_lockouts)."""

    class Meta:
        proxy = True
        verbose_name = "login lockout"
        verbose_name_plural = "login lockouts"
