"""Give a staff user an authenticator (TOTP) and show the QR code to scan, for the first administrator of an
installation with ADMIN_REQUIRE_2FA (others can be given one in the admin, under TOTP devices)."""

import io

import qrcode
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from backoffice.services import new_authenticator
from loyalty.actors import Actor


class Command(BaseCommand):
    help = "Add an authenticator app (TOTP) to a staff user and print its QR code and setup link."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="authenticator app", help="what the user calls this device")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None or not user.is_staff:
            raise CommandError(f"No staff user named {options['username']!r}.")
        device = new_authenticator(user=user, name=options["name"], actor=Actor.for_system("add_authenticator"))
        code = qrcode.QRCode(border=1)
        code.add_data(device.config_url)
        picture = io.StringIO()
        code.print_ascii(out=picture, invert=True)
        self.stdout.write(picture.getvalue())
        self.stdout.write("Scan this with an authenticator app, or enter this link in it:")
        self.stdout.write(device.config_url)
