"""Points on the wire are decimal strings; in the database they are integers in minor units."""

from decimal import ROUND_DOWN as DEC_DOWN
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from decimal import ROUND_UP as DEC_UP

from ledger.errors import InvalidAmount

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": DEC_DOWN, "up": DEC_UP}
MAX_MINOR = 10**15


def to_minor(points: Decimal | str | int, precision: int) -> int:
    """Exact conversion: more decimals than the precision is refused, never rounded silently."""
    try:
        value = Decimal(str(points))
    except InvalidOperation as exc:
        raise InvalidAmount(f"{points!r} is not a number.") from exc
    if not value.is_finite():
        raise InvalidAmount(f"{points!r} is not a number.")
    scaled = value.scaleb(precision)
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(f"{points} has more than {precision} decimal places.")
    minor = int(scaled)
    if abs(minor) >= MAX_MINOR:
        raise InvalidAmount(f"{points} is out of range.")
    return minor


def round_to_minor(points: Decimal, precision: int, rounding: str) -> int:
    """For computed rewards (the rules engine): rounded by the program's rule."""
    return int(Decimal(points).scaleb(precision).quantize(Decimal(1), rounding=ROUNDING[rounding]))


def to_points(minor: int, precision: int) -> str:
    return str(Decimal(minor).scaleb(-precision).quantize(Decimal(1).scaleb(-precision)))


def show_points(minor: int, precision: int) -> str:
    """For people: the point type's precision and thousands separators ("2,554.53")."""
    return f"{Decimal(minor).scaleb(-precision).quantize(Decimal(1).scaleb(-precision)):,}"
