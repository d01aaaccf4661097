"""Membership numbers: 10 digits, the last a Luhn check digit, drawn at random.

Random (not sequential) so that numbers cannot be guessed from one another; unique in the
database, and never reused because memberships are never deleted.
"""

import secrets

LENGTH = 10


def luhn_check_digit(body: str) -> str:
    """The digit that makes body + digit pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:  # doubled: these positions sit right before the check digit
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_membership_number(value: str) -> bool:
    return (
        len(value) == LENGTH
        and value.isascii()
        and value.isdigit()
        and value[0] != "0"
        and luhn_check_digit(value[:-1]) == value[-1]
    )


def generate_membership_number() -> str:
    """A fresh candidate; the caller inserts it and draws again on a (rare) collision."""
    body = str(secrets.randbelow(9 * 10 ** (LENGTH - 2)) + 10 ** (LENGTH - 2))
    return body + luhn_check_digit(body)
