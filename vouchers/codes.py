"""Voucher codes: cryptographically random, from an alphabet without look-alike characters.

A code is `prefix + body + suffix`; the body follows the type's pattern (`#` is a random character,
anything else is kept, e.g. `####-####`) or is `length` random characters. Random characters come
from os.urandom in bulk and are mapped onto the alphabet by rejection sampling (bytes past the last
whole multiple of the alphabet size are dropped), so every character is equally likely and a
hundred thousand codes take milliseconds.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator

# No 0/O, 1/I/L: what a member reads off a receipt is what the till types in.
SAFE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LOOK_ALIKES = set("0O1IL")
ALLOWED_CHARACTERS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
LITERAL = re.compile(r"^[A-Z0-9-]*$")
SLOT = "#"
MIN_ENTROPY_BITS = 40
MAX_TOKEN_LENGTH = 64
# Codes made elsewhere (a partner, a printer) and imported: what the till, the API path and a
# case-insensitive lookup can carry. Their randomness cannot be measured here; a floor on the
# length keeps out short words and typos.
GIVEN_CODE = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?$")
MIN_GIVEN_CHARACTERS = 8


def normalize(token: str) -> str:
    """Codes are upper case: what a member types in lower case still finds the voucher. Anything that
    cannot be a code (too long, control characters) becomes "", which finds nothing."""
    if not isinstance(token, str):
        return ""
    token = token.strip().upper()
    return token if len(token) <= MAX_TOKEN_LENGTH and token.isprintable() else ""


def given_code_problem(token: str) -> str:
    """Why a code made elsewhere cannot be stored ("" when it can). Call it on the normalized code."""
    if not token:
        return "The code is empty."
    if len(token) > MAX_TOKEN_LENGTH:
        return f"A code has at most {MAX_TOKEN_LENGTH} characters."
    if not GIVEN_CODE.match(token):
        return "Use only letters, digits and '-' (not at the start or end), without spaces."
    if sum(1 for ch in token if ch != "-") < MIN_GIVEN_CHARACTERS:
        return f"A code needs at least {MIN_GIVEN_CHARACTERS} letters or digits."
    return ""


def slots(length: int, pattern: str) -> int:
    return pattern.count(SLOT) if pattern else length


def entropy_bits(alphabet: str, length: int, pattern: str = "") -> float:
    if len(alphabet) < 2:
        return 0.0
    return slots(length, pattern) * math.log2(len(alphabet))


def format_problems(alphabet: str, length: int, prefix: str, suffix: str, pattern: str) -> dict[str, str]:
    """What is wrong with a code format, by field (empty when it is usable)."""
    problems: dict[str, str] = {}
    if len(set(alphabet)) != len(alphabet) or not set(alphabet) <= ALLOWED_CHARACTERS:
        problems["code_alphabet"] = "Use upper-case letters and digits, each once."
    elif set(alphabet) & LOOK_ALIKES:
        problems["code_alphabet"] = "Leave out the look-alike characters 0, O, 1, I and L."
    elif len(alphabet) < 8:
        problems["code_alphabet"] = "Give at least 8 characters (e.g. the digits 2-9)."
    for name, value in (("code_prefix", prefix), ("code_suffix", suffix)):
        if not LITERAL.match(value):
            problems[name] = "Use upper-case letters, digits and '-'."
    if pattern and not LITERAL.match(pattern.replace(SLOT, "")):
        problems["code_pattern"] = "Use '#' for a random character; other characters: A-Z, 0-9, '-'."
    if problems:
        return problems
    if entropy_bits(alphabet, length, pattern) < MIN_ENTROPY_BITS:
        field = "code_pattern" if pattern else "code_length"
        needed = math.ceil(MIN_ENTROPY_BITS / math.log2(len(alphabet)))
        problems[field] = f"Codes must be unguessable: give at least {needed} random characters with this alphabet."
    elif len(prefix) + len(pattern or "x" * length) + len(suffix) > MAX_TOKEN_LENGTH:
        problems["code_length"] = f"A code may have at most {MAX_TOKEN_LENGTH} characters in all."
    return problems


class CodeGenerator:
    """Makes codes of one format. `many(n)` returns n distinct codes."""

    def __init__(
        self, *, alphabet: str = SAFE_ALPHABET, length: int = 12, prefix: str = "", suffix: str = "", pattern: str = ""
    ):
        self.alphabet = alphabet
        self.width = slots(length, pattern)
        self.prefix, self.suffix = prefix, suffix
        size = len(alphabet)
        usable = 256 - 256 % size  # bytes at or past this would make early characters likelier
        self._table = bytes(ord(alphabet[b % size]) if b < usable else 0 for b in range(256))
        self._rejected = bytes(range(usable, 256))
        self._accept_ratio = usable / 256
        if pattern:
            template = "".join("{}" if ch == SLOT else ch.replace("{", "{{").replace("}", "}}") for ch in pattern)
            self._shape = lambda body: template.format(*body)
        else:
            self._shape = None

    def _characters(self, count: int) -> str:
        """`count` uniformly random characters of the alphabet."""
        out: list[str] = []
        have = 0
        while have < count:
            need = count - have
            raw = os.urandom(int(need / self._accept_ratio) + 64)
            chunk = raw.translate(self._table, self._rejected).decode("ascii")
            out.append(chunk)
            have += len(chunk)
        return "".join(out)[:count]

    def _bodies(self, count: int) -> Iterator[str]:
        width = self.width
        chars = self._characters(count * width)
        for start in range(0, count * width, width):
            yield chars[start : start + width]

    def many(self, count: int) -> list[str]:
        """`count` distinct codes (distinct among themselves; the caller checks the database)."""
        seen: set[str] = set()
        result: list[str] = []
        for _ in range(20):  # with 40 bits or more a repeat is rare; twenty rounds never run out
            if len(result) >= count:
                break
            for body in self._bodies(count - len(result)):
                code = self.prefix + (self._shape(body) if self._shape else body) + self.suffix
                if code not in seen:
                    seen.add(code)
                    result.append(code)
        if len(result) < count:
            raise RuntimeError("could not draw enough distinct codes")
        return result

    def one(self) -> str:
        return self.many(1)[0]
