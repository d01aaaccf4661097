"""The promotion rule format (RULES.md): validation with plain-language messages, and compilation
into closures the engine evaluates. Pure: no database access."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

# Facts -----------------------------------------------------------------------------------------

NUMBER, STRING, BOOL, LIST, ANY = "number", "string", "bool", "list", "any"

TX_FACTS = {
    "tx.totalAmount": NUMBER,
    "tx.channel": STRING,
    "tx.sponsor": STRING,
    "tx.paymentMethod": STRING,
    "tx.currency": STRING,
    "tx.hour": NUMBER,
    "tx.weekday": NUMBER,
    "tx.itemCount": NUMBER,
    "member.tier": STRING,
    "member.type": STRING,
    "member.daysSinceEnrollment": NUMBER,
    "member.isBirthday": BOOL,
    "member.status": STRING,
}
LINE_FACTS = {
    "line.productKey": STRING,
    "line.quantity": NUMBER,
    "line.amount": NUMBER,
    "line.unitPrice": NUMBER,
    "line.brand": STRING,
    "line.customCategories": LIST,
    "line.known": BOOL,
}
TX_PREFIXES = {"tx.properties.": ANY, "member.properties.": ANY}
LINE_PREFIXES = {"line.category.": STRING, "line.attributes.": ANY}

OPERATORS = {
    NUMBER: {"eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "notIn", "exists"},
    STRING: {"eq", "ne", "in", "notIn", "contains", "startsWith", "exists"},
    BOOL: {"eq", "ne", "exists"},
    LIST: {"contains", "containsAny", "exists"},
    ANY: {"eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "notIn", "contains", "startsWith", "exists"},
}
EFFECT_TYPES = {"perAmount", "perItem", "fixed", "multiplier", "issueVoucher"}
STACKING = {"combinable", "exclusive", "stop"}
CAP_PERIODS = {"day", "month", "lifetime"}
HOUR = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_AMOUNT = Decimal(10) ** 12  # points, rates and caps above this overflow the arithmetic (and are mistakes)


def fact_type(name: str, *, in_line: bool) -> str | None:
    if name in TX_FACTS:
        return TX_FACTS[name]
    for prefix, kind in TX_PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return kind
    if in_line:
        if name in LINE_FACTS:
            return LINE_FACTS[name]
        for prefix, kind in LINE_PREFIXES.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                return kind
    return None


# Validation ------------------------------------------------------------------------------------


class RuleErrors(Exception):
    """Every problem found, each as {"field": path, "code": ..., "message": plain words}."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def _decimal(value: Any) -> Decimal | None:
    kind = type(value)  # fast paths first: the engine calls this for every test of every line
    if kind is Decimal:
        return value if value.is_finite() else None
    if kind is str:
        return _decimal_text(value)
    if kind is int and -(10**18) < value < 10**18:
        return Decimal(value)
    if isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


@functools.lru_cache(maxsize=4096)
def _decimal_text(value: str) -> Decimal | None:
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


class _Validator:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def error(self, path: str, message: str, code: str = "invalid") -> None:
        self.errors.append({"field": path, "code": code, "message": message})

    def number(self, value: Any, path: str, *, minimum: Decimal | None = Decimal(0), above: bool = False) -> None:
        number = _decimal(value)
        if number is None:
            self.error(path, f"Give a number, not {value!r}.")
        elif minimum is not None and (number <= minimum if above else number < minimum):
            self.error(path, f"Give a number {'above' if above else 'of at least'} {minimum}.")
        elif minimum is not None and number > MAX_AMOUNT:
            self.error(path, f"Give a number of at most {MAX_AMOUNT:,.0f}.")

    def keys(self, value: Any, path: str, allowed: set[str], required: set[str] = frozenset()) -> bool:
        if not isinstance(value, dict):
            self.error(path, "Give an object.")
            return False
        for key in sorted(set(value) - allowed):
            self.error(
                f"{path}.{key}" if path else key, f"Unknown setting {key!r}; known: {', '.join(sorted(allowed))}."
            )
        for key in sorted(required - set(value)):
            self.error(f"{path}.{key}" if path else key, "This is required.", "required")
        return True

    def condition(self, node: Any, path: str, *, in_line: bool) -> None:
        if not isinstance(node, dict) or not node:
            self.error(
                path, "A condition is an object: {all: [...]}, {any: [...]}, {not: ...}, a line scope or a fact test."
            )
            return
        if "all" in node or "any" in node:
            kind = "all" if "all" in node else "any"
            self.keys(node, path, {kind})
            children = node[kind]
            if not isinstance(children, list) or not children:
                self.error(f"{path}.{kind}", f"'{kind}' takes a non-empty list of conditions.")
                return
            for index, child in enumerate(children):
                self.condition(child, f"{path}.{kind}[{index}]", in_line=in_line)
        elif "not" in node:
            self.keys(node, path, {"not"})
            self.condition(node["not"], f"{path}.not", in_line=in_line)
        elif "lines" in node:
            if in_line:
                self.error(path, "A line scope cannot be nested inside another line scope.")
                return
            self.keys(node, path, {"lines", "where"}, {"lines", "where"})
            if node.get("lines") not in ("any", "every", "none"):
                self.error(f"{path}.lines", "Choose which lines must match: any, every or none.")
            if "where" in node:
                self.condition(node["where"], f"{path}.where", in_line=True)
        else:
            self.leaf(node, path, in_line=in_line)

    def leaf(self, node: dict, path: str, *, in_line: bool) -> None:
        self.keys(node, path, {"fact", "op", "value"}, {"fact", "op"})
        name, op = node.get("fact"), node.get("op")
        if not isinstance(name, str):
            if "fact" in node:
                self.error(f"{path}.fact", "Name a fact, e.g. tx.totalAmount.")
            return
        kind = fact_type(name, in_line=in_line)
        if kind is None:
            where = "" if in_line else " (line facts such as line.productKey belong inside a line scope)"
            self.error(f"{path}.fact", f"Unknown fact {name!r}{where}.", "unknown_fact")
            return
        if not isinstance(op, str) or op not in OPERATORS[kind]:
            self.error(f"{path}.op", f"{name} can be tested with {', '.join(sorted(OPERATORS[kind]))}, not {op!r}.")
            return
        if op == "exists":
            return
        if "value" not in node:
            self.error(f"{path}.value", "This test needs a value.", "required")
            return
        value = node["value"]
        if op in ("in", "notIn", "containsAny"):
            if not isinstance(value, list) or not value:
                self.error(f"{path}.value", f"'{op}' takes a non-empty list of values.")
            elif kind == NUMBER:
                for i, item in enumerate(value):
                    self.number(item, f"{path}.value[{i}]", minimum=None)
        elif op == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.error(f"{path}.value", "'between' takes [low, high].")
            else:
                for i, item in enumerate(value):
                    self.number(item, f"{path}.value[{i}]", minimum=None)
        elif kind == NUMBER or op in ("gt", "gte", "lt", "lte"):
            self.number(value, f"{path}.value", minimum=None)
        elif kind == BOOL and not isinstance(value, bool):
            self.error(f"{path}.value", "Give true or false.")
        elif kind in (STRING, LIST) and not isinstance(value, str):
            self.error(f"{path}.value", "Give a text value.")

    def effect(self, effect: Any, path: str, *, base: bool) -> None:
        if not isinstance(effect, dict):
            self.error(path, "An effect is an object with a type.")
            return
        kind = effect.get("type")
        if not isinstance(kind, str) or kind not in EFFECT_TYPES:
            self.error(f"{path}.type", f"Choose an effect type: {', '.join(sorted(EFFECT_TYPES))}.")
            return
        allowed = {
            "perAmount": {"type", "points", "per", "lines"},
            "perItem": {"type", "points", "lines"},
            "fixed": {"type", "points"},
            "multiplier": {"type", "factor", "lines"},
            "issueVoucher": {"type", "voucherType"},
        }[kind]
        required = {
            "perAmount": {"points", "per"},
            "perItem": {"points"},
            "fixed": {"points"},
            "multiplier": {"factor"},
            "issueVoucher": {"voucherType"},
        }[kind]
        self.keys(effect, path, allowed, required)
        if "points" in effect:
            self.number(effect["points"], f"{path}.points")
        if "per" in effect:
            self.number(effect["per"], f"{path}.per", above=True)
        if "factor" in effect:
            self.number(effect["factor"], f"{path}.factor", minimum=Decimal(1))
        if "lines" in effect and effect["lines"] not in ("all", "qualifying"):
            self.error(f"{path}.lines", "Choose which lines earn: all or qualifying.")
        if kind == "multiplier" and base:
            self.error(f"{path}.type", "A base promotion cannot multiply itself; use perAmount or perItem.")
        if kind == "issueVoucher" and not isinstance(effect.get("voucherType"), str):
            self.error(f"{path}.voucherType", "Name the voucher type by its key.")


@functools.cache
def _time_zones() -> frozenset[str]:
    """The IANA names, read once: zoneinfo walks the zone files on every call (~0.1 s)."""
    return frozenset(zoneinfo.available_timezones())


DEFINITION_KEYS = {
    "validity",
    "scope",
    "condition",
    "effects",
    "pointType",
    "maturationDays",
    "expiresAt",
    "caps",
    "priority",
    "stacking",
    "base",
}


def validate_definition(definition: Any) -> dict[str, Any]:
    """The definition with defaults filled in, or RuleErrors listing every problem."""
    v = _Validator()
    if not v.keys(definition, "", DEFINITION_KEYS, {"effects", "pointType"}):
        raise RuleErrors(v.errors)
    d = dict(definition)
    d.setdefault("validity", {})
    d.setdefault("scope", {})
    d.setdefault("condition", None)
    d.setdefault("caps", {})
    d.setdefault("priority", 0)
    d.setdefault("stacking", "combinable")
    d.setdefault("base", False)
    d.setdefault("maturationDays", None)
    d.setdefault("expiresAt", None)

    validity = d["validity"]
    if v.keys(validity, "validity", {"from", "until", "weekdays", "hours", "timeZone"}):
        for key in ("from", "until"):
            if validity.get(key) is not None:
                try:
                    moment = datetime.fromisoformat(str(validity[key]))
                    if moment.tzinfo is None:
                        v.error(f"validity.{key}", "Give the time with its offset, e.g. 2026-12-01T00:00:00+01:00.")
                except ValueError:
                    v.error(f"validity.{key}", "Give an ISO 8601 time, e.g. 2026-12-01T00:00:00+01:00.")
        dated = validity.get("from") and validity.get("until")
        if (
            dated
            and not any(e["field"].startswith("validity.") for e in v.errors)
            and datetime.fromisoformat(str(validity["until"])) <= datetime.fromisoformat(str(validity["from"]))
        ):
            v.error("validity.until", "The end must come after the start.")
        weekdays = validity.get("weekdays")
        if weekdays is not None and (
            not isinstance(weekdays, list)
            or not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 7 for x in weekdays)
        ):
            v.error("validity.weekdays", "List weekdays as numbers 1 (Monday) to 7 (Sunday).")
        hours = validity.get("hours")
        if hours is not None and (
            not isinstance(hours, list)
            or len(hours) != 2
            or not all(isinstance(h, str) and HOUR.match(h) for h in hours)
        ):
            v.error("validity.hours", 'Give opening hours as ["07:00", "12:00"].')
        elif hours is not None and hours[0] == hours[1]:
            v.error("validity.hours", "The hours start and end at the same time; leave them out for all day.")
        zone = validity.get("timeZone")
        if zone is not None and (not isinstance(zone, str) or zone not in _time_zones()):
            v.error("validity.timeZone", "Use an IANA time zone such as Europe/Amsterdam.")

    scope = d["scope"]
    if v.keys(scope, "scope", {"sponsors", "channels", "tiers", "membershipTypes"}):
        for key, value in scope.items():
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                v.error(f"scope.{key}", "Give a list of keys (empty: all).")

    if d["condition"] is not None:
        v.condition(d["condition"], "condition", in_line=False)

    effects = d.get("effects")
    if "effects" not in d:
        pass  # reported as required
    elif not isinstance(effects, list) or not effects:
        v.error("effects", "Give at least one effect.")
    else:
        for index, effect in enumerate(effects):
            v.effect(effect, f"effects[{index}]", base=bool(d["base"]))

    if "pointType" in d and (not isinstance(d["pointType"], str) or not d["pointType"]):
        v.error("pointType", "Name the point type the points go to.")
    if d["maturationDays"] is not None and (
        not isinstance(d["maturationDays"], int)
        or isinstance(d["maturationDays"], bool)
        or not 0 <= d["maturationDays"] <= 365
    ):
        v.error("maturationDays", "Give 0 to 365 days, or leave it out to use the point type's.")
    if d["expiresAt"] is not None:
        try:
            if datetime.fromisoformat(str(d["expiresAt"])).tzinfo is None:
                v.error("expiresAt", "Give the time with its offset.")
        except ValueError:
            v.error("expiresAt", "Give an ISO 8601 time, or leave it out to use the point type's expiry.")

    caps = d["caps"]
    if v.keys(caps, "caps", {"perTransaction", "perMember", "budget"}):
        for key in ("perTransaction", "budget"):
            if key in caps:
                v.number(caps[key], f"caps.{key}")
        per_member = caps.get("perMember", [])
        if isinstance(per_member, dict):
            per_member = [per_member]
            caps["perMember"] = per_member
        if not isinstance(per_member, list):
            v.error("caps.perMember", 'Give [{"period": "month", "points": "2000"}].')
        else:
            for i, cap in enumerate(per_member):
                if v.keys(cap, f"caps.perMember[{i}]", {"period", "points"}, {"period", "points"}):
                    if not isinstance(cap.get("period"), str) or cap["period"] not in CAP_PERIODS:
                        v.error(f"caps.perMember[{i}].period", "Choose day, month or lifetime.")
                    if "points" in cap:
                        v.number(cap["points"], f"caps.perMember[{i}].points")

    if not isinstance(d["priority"], int) or isinstance(d["priority"], bool):
        v.error("priority", "Give a whole number; higher runs first.")
    if not isinstance(d["stacking"], str) or d["stacking"] not in STACKING:
        v.error("stacking", "Choose combinable, exclusive or stop.")
    if not isinstance(d["base"], bool):
        v.error("base", "Give true or false.")
    if v.errors:
        raise RuleErrors(v.errors)
    return d


# Compilation -----------------------------------------------------------------------------------

Trace = list[dict[str, Any]]


@dataclass(frozen=True)
class Line:
    index: int
    product_key: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    known: bool = True
    categories: dict[str, str] = field(default_factory=dict)
    custom_categories: frozenset[str] = frozenset()
    brand: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    tier: str = ""
    type: str = ""
    days_since_enrollment: int | None = None
    is_birthday: bool = False
    status: str = "active"
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tx:
    occurred_at: datetime
    total_amount: Decimal
    currency: str
    channel: str
    sponsor: str
    lines: tuple[Line, ...]
    payment_method: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


class Facts:
    """Facts of one evaluation, computed on first use and kept."""

    def __init__(self, tx: Tx, member: Member, local: datetime):
        self.tx, self.member, self.local = tx, member, local
        self._cache: dict[str, Any] = {}
        self.matched_lines: dict[str, tuple[frozenset[int], list[int]]] = {}  # per `where` (by its text)
        self._line_values: dict[str, dict[str, set[int]] | None] = {}
        self._by_index: dict[int, Line] | bool | None = False  # False: not made yet

    def lines_by_index(self) -> dict[int, Line] | None:
        """The lines by their index; None when two lines share one (then no shortcuts by index)."""
        if self._by_index is False:
            by_index = {line.index: line for line in self.tx.lines}
            self._by_index = by_index if len(by_index) == len(self.tx.lines) else None
        return self._by_index  # type: ignore[return-value]

    def lines_with(self, name: str, get: Callable[[Line], Any]) -> dict[str, set[int]] | None:
        """The lines by their text value of a line fact (lines without one left out); None when some
        line has a value that is neither text nor missing."""
        if name not in self._line_values:
            index: dict[str, set[int]] | None = None
            if self.lines_by_index() is not None:
                index = {}
                for line in self.tx.lines:
                    value = get(line)
                    if type(value) is str:
                        index.setdefault(value, set()).add(line.index)
                    elif value is not None:
                        index = None
                        break
            self._line_values[name] = index
        return self._line_values[name]

    def get(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            value = self._cache[name] = self._compute(name)
            return value

    _SIMPLE: dict[str, Callable[[Facts], Any]] = {
        "tx.totalAmount": lambda f: f.tx.total_amount,
        "tx.channel": lambda f: f.tx.channel,
        "tx.sponsor": lambda f: f.tx.sponsor,
        "tx.paymentMethod": lambda f: f.tx.payment_method,
        "tx.currency": lambda f: f.tx.currency,
        "tx.hour": lambda f: Decimal(f.local.hour),
        "tx.weekday": lambda f: Decimal(f.local.isoweekday()),
        "tx.itemCount": lambda f: sum((line.quantity for line in f.tx.lines), Decimal(0)),
        "member.tier": lambda f: f.member.tier,
        "member.type": lambda f: f.member.type,
        "member.daysSinceEnrollment": lambda f: (
            None if f.member.days_since_enrollment is None else Decimal(f.member.days_since_enrollment)
        ),
        "member.isBirthday": lambda f: f.member.is_birthday,
        "member.status": lambda f: f.member.status,
    }

    def _compute(self, name: str) -> Any:
        tx, member = self.tx, self.member
        if name in self._SIMPLE:
            return self._SIMPLE[name](self)
        if name.startswith("tx.properties."):
            return tx.properties.get(name[len("tx.properties.") :])
        if name.startswith("member.properties."):
            return member.properties.get(name[len("member.properties.") :])
        raise KeyError(name)


def line_fact(line: Line, name: str) -> Any:
    if name.startswith("line.category."):
        return line.categories.get(name[len("line.category.") :])
    if name.startswith("line.attributes."):
        return line.attributes.get(name[len("line.attributes.") :])
    return {
        "line.productKey": line.product_key,
        "line.quantity": line.quantity,
        "line.amount": line.amount,
        "line.unitPrice": line.unit_price,
        "line.brand": line.brand,
        "line.customCategories": sorted(line.custom_categories),
        "line.known": line.known,
    }[name]


_LINE_GETTERS: dict[str, Callable[[Line], Any]] = {
    "line.productKey": lambda line: line.product_key,
    "line.quantity": lambda line: line.quantity,
    "line.amount": lambda line: line.amount,
    "line.unitPrice": lambda line: line.unit_price,
    "line.brand": lambda line: line.brand,
    "line.customCategories": lambda line: sorted(line.custom_categories),
    "line.known": lambda line: line.known,
}


def line_getter(name: str) -> Callable[[Line], Any]:
    """`line_fact(line, name)` as a function of the line, resolved once at compile time."""
    if name.startswith("line.category."):
        key = name[len("line.category.") :]
        return lambda line: line.categories.get(key)
    if name.startswith("line.attributes."):
        key = name[len("line.attributes.") :]
        return lambda line: line.attributes.get(key)
    return _LINE_GETTERS[name]


def _coerce(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Numbers compare as numbers when both sides are numbers; everything else as text."""
    a, e = _decimal(actual), _decimal(expected)
    if a is not None and e is not None and not isinstance(actual, bool) and not isinstance(expected, bool):
        return a, e
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual, expected
    return (None if actual is None else str(actual)), str(expected)


def compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "exists":
        return actual not in (None, "", [])
    if actual is None:
        return op in ("ne", "notIn")
    if op in ("in", "notIn"):
        hit = any(_coerce(actual, item)[0] == _coerce(actual, item)[1] for item in expected)
        return hit if op == "in" else not hit
    if op == "between":
        low, high = (_coerce(actual, expected[0]), _coerce(actual, expected[1]))
        if not all(isinstance(x, Decimal) for x in (*low, *high)):
            return False  # ordering is for numbers: text is neither in nor out of a range
        return low[1] <= low[0] <= high[1]
    if op == "contains":
        if isinstance(actual, list):
            return expected in actual
        return str(expected) in str(actual)
    if op == "containsAny":
        return isinstance(actual, list) and any(item in actual for item in expected)
    if op == "startsWith":
        return str(actual).startswith(str(expected))
    a, e = _coerce(actual, expected)
    if op in ("gt", "gte", "lt", "lte") and not (isinstance(a, Decimal) and isinstance(e, Decimal)):
        return False  # ordering is for numbers: "abc" is neither above nor below 5
    try:
        return {
            "eq": lambda: a == e,
            "ne": lambda: a != e,
            "gt": lambda: a > e,
            "gte": lambda: a >= e,
            "lt": lambda: a < e,
            "lte": lambda: a <= e,
        }[op]()
    except TypeError:
        return False


class _Expected:
    """One expected value, coerced once: `pair(actual)` is `_coerce(actual, value)` for a present actual."""

    __slots__ = ("is_bool", "number", "raw", "text")

    def __init__(self, value: Any):
        self.raw, self.number, self.text, self.is_bool = value, _decimal(value), str(value), isinstance(value, bool)

    def pair(self, actual: Any) -> tuple[Any, Any]:
        if self.number is not None:
            number = _decimal(actual)
            if number is not None:
                return number, self.number
        if self.is_bool or isinstance(actual, bool):
            return actual, self.raw
        return str(actual), self.text


_ORDER = {
    "eq": lambda a, e: a == e,
    "ne": lambda a, e: a != e,
    "gt": lambda a, e: a > e,
    "gte": lambda a, e: a >= e,
    "lt": lambda a, e: a < e,
    "lte": lambda a, e: a <= e,
}


def comparator(op: str, expected: Any) -> Callable[[Any], bool]:
    """`compare(op, actual, expected)` as a function of `actual`, with the expected side prepared once.
    `compare` stays the definition; tests check that the two always agree."""
    if op == "exists":
        return lambda actual: actual not in (None, "", [])
    if op in ("in", "notIn"):
        items = [_Expected(item) for item in expected]
        want = op == "in"
        # Text items that are not numbers compare with a text fact as plain text: one set lookup.
        texts = frozenset(item.text for item in items if item.number is None and not item.is_bool)
        others = [item for item in items if item.number is not None]  # bool items never equal a text

        def member_of(actual: Any) -> bool:
            if actual is None:
                return not want
            if type(actual) is str and (not others or _decimal_text(actual) is None):
                return (actual in texts) is want
            for item in items:
                a, e = item.pair(actual)
                if a == e:
                    return want
            return not want

        return member_of
    if op == "between":
        low, high = _Expected(expected[0]), _Expected(expected[1])
        lo_number, hi_number = low.number, high.number

        def between(actual: Any) -> bool:
            if actual is None:
                return False
            if type(actual) is Decimal and lo_number is not None and hi_number is not None and actual.is_finite():
                return lo_number <= actual <= hi_number
            a, lo = low.pair(actual)
            _, hi = high.pair(actual)
            if not (isinstance(a, Decimal) and isinstance(lo, Decimal) and isinstance(hi, Decimal)):
                return False
            return lo <= a <= hi

        return between
    if op == "contains":
        text = str(expected)
        return lambda actual: (
            actual is not None and (expected in actual if isinstance(actual, list) else text in str(actual))
        )
    if op == "containsAny":
        return lambda actual: isinstance(actual, list) and any(item in actual for item in expected)
    if op == "startsWith":
        text = str(expected)
        return lambda actual: actual is not None and str(actual).startswith(text)
    prepared, test, ordering = _Expected(expected), _ORDER[op], op in ("gt", "gte", "lt", "lte")
    number, plain_text = prepared.number, prepared.number is None and not prepared.is_bool

    def compare_one(actual: Any) -> bool:
        if actual is None:
            return op == "ne"
        kind = type(actual)
        if kind is Decimal and number is not None and actual.is_finite():
            return test(actual, number)
        if kind is str and plain_text:  # a text against a text that is no number: as text
            return False if ordering else test(actual, prepared.text)
        a, e = prepared.pair(actual)
        if ordering and not (isinstance(a, Decimal) and isinstance(e, Decimal)):
            return False
        try:
            return test(a, e)
        except TypeError:
            return False

    return compare_one


def _show(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral_value() else str(value)  # 30, not 3E+1
    return value


# A compiled condition: (facts, line or None, path) -> (result, trace, qualifying line indexes or None)
Predicate = Callable[[Facts, Line | None, Trace], tuple[bool, set[int] | None]]


def compile_condition(node: dict | None, path: str = "condition") -> Predicate:
    if node is None:
        return lambda facts, line, trace: (True, None)
    if "all" in node or "any" in node:
        kind = "all" if "all" in node else "any"
        children = [compile_condition(child, f"{path}.{kind}[{i}]") for i, child in enumerate(node[kind])]

        # No short-circuit: every child runs, so the trace is complete.
        if kind == "all":

            def all_of(facts, line, trace):
                ok, qualifying = True, None
                for child in children:
                    child_ok, lines = child(facts, line, trace)
                    ok = ok and child_ok
                    if lines is not None:  # the lines every scope qualifies
                        qualifying = lines if qualifying is None else qualifying & lines
                return ok, qualifying

            return all_of

        def any_of(facts, line, trace):
            ok, qualifying, every_line = False, None, False
            for child in children:
                child_ok, lines = child(facts, line, trace)
                if child_ok:
                    ok = True
                    if lines is None:  # a holding alternative that does not name lines: every line qualifies
                        every_line = True
                    else:
                        qualifying = lines if qualifying is None else qualifying | lines
            return ok, (None if every_line else qualifying)

        return any_of
    if "not" in node:
        inner = compile_condition(node["not"], f"{path}.not")

        def negate(facts, line, trace):
            inner_trace: Trace = []
            ok, _ = inner(facts, line, inner_trace)
            for step in inner_trace:  # under a `not`, a step that holds is what makes it fail
                if not step.pop("negated", False):
                    step["negated"] = True
            trace.extend(inner_trace)
            return (not ok), None

        return negate
    if "lines" in node:
        quantifier = node["lines"]
        where, fast, key = _compile_where(node["where"]), _where_by_value(node["where"]), repr(node["where"])

        def scope(facts, line, trace):
            lines = facts.tx.lines
            known = facts.matched_lines.get(key)
            if known is None:  # promotions often share a line test: run each once per evaluation
                matched = fast(facts) if fast is not None else None
                if matched is None:
                    matched = frozenset(c.index for c in lines if where(facts, c))
                known = facts.matched_lines[key] = (matched, sorted(matched))
            matched = known[0]
            count = len(matched)
            ok = count > 0 if quantifier == "any" else count == 0 if quantifier == "none" else 0 < count == len(lines)
            trace.append({"node": path, "lines": quantifier, "matched": list(known[1]), "result": ok})
            return ok, (matched if quantifier != "none" else None)

        return scope
    name, op, expected = node["fact"], node["op"], node.get("value")
    is_line = name.startswith("line.")
    test, shown = comparator(op, expected), _show(expected)
    get = line_getter(name) if is_line else None

    def leaf(facts, line, trace):
        actual = get(line) if is_line else facts.get(name)
        ok = test(actual)
        if line is None:
            step = {"node": path, "fact": name, "op": op, "expected": shown, "actual": _show(actual), "result": ok}
            trace.append(step)
        return ok, None

    return leaf


TEXT_LINE_FACTS = ("line.productKey", "line.brand")


def _where_by_value(node: dict) -> Callable[[Facts], frozenset[int] | None] | None:
    """For `where: {fact: <a text line fact>, op: eq | in, value: <texts that are no numbers>}`: the
    matching lines straight from an index of the lines by value (None: no shortcut, test each line)."""
    if "all" in node:  # narrow to the lines one indexable test allows, then test the rest on those
        children = node["all"]
        shortcuts = [(i, narrow) for i, child in enumerate(children) if (narrow := _where_by_value(child)) is not None]
        if not shortcuts:
            return None
        position, narrow = shortcuts[0]
        rest = [_compile_where(child) for i, child in enumerate(children) if i != position]

        def narrowed(facts: Facts) -> frozenset[int] | None:
            candidates = narrow(facts)
            if candidates is None:
                return None
            by_index = facts.lines_by_index()
            return frozenset(i for i in candidates if all(test(facts, by_index[i]) for test in rest))

        return narrowed
    name, op = node.get("fact"), node.get("op")
    if not isinstance(name, str) or op not in ("eq", "in"):
        return None
    if not (name in TEXT_LINE_FACTS or name.startswith("line.category.")):
        return None
    values = [node.get("value")] if op == "eq" else node.get("value")
    if not all(isinstance(v, str) and _decimal_text(v) is None for v in values):
        return None  # numbers compare as numbers: leave those to the comparator
    get = line_getter(name)

    def by_value(facts: Facts) -> frozenset[int] | None:
        index = facts.lines_with(name, get)
        if index is None:
            return None
        found: set[int] = set()
        for value in values:
            found |= index.get(value, set())
        return frozenset(found)

    return by_value


def _compile_where(node: dict) -> Callable[[Facts, Line], bool]:
    """The `where` of a line scope: per line, only whether it holds (no trace, no qualifying lines,
    so it may stop early)."""
    if "all" in node or "any" in node:
        children = [_compile_where(child) for child in node["all" if "all" in node else "any"]]
        if len(children) == 1:
            return children[0]
        if "all" in node:

            def all_of(facts: Facts, line: Line) -> bool:
                for child in children:  # noqa: SIM110 -- a plain loop: no generator per line
                    if not child(facts, line):
                        return False
                return True

            return all_of

        def any_of(facts: Facts, line: Line) -> bool:
            for child in children:  # noqa: SIM110 -- a plain loop: no generator per line
                if child(facts, line):
                    return True
            return False

        return any_of
    if "not" in node:
        inner = _compile_where(node["not"])
        return lambda facts, line: not inner(facts, line)
    name, test = node["fact"], comparator(node["op"], node.get("value"))
    if name.startswith("line."):
        get = line_getter(name)
        return lambda facts, line: test(get(line))
    return lambda facts, line: test(facts.get(name))


def parse_hours(hours: list[str] | None) -> tuple[time, time] | None:
    if not hours:
        return None
    start, end = (time.fromisoformat(h) for h in hours)
    return start, end
