"""What the condition builder in the promotion editor offers (promotions/static/promotions/condition-builder.js):
the facts of promotions.rules grouped by subject with a label, a description and the input their values take,
the operators of each type in words, and the choices of this program (channels, sponsors, tiers, membership
types, category values, custom categories). The builder reads and writes the rule JSON of RULES.md; this module
only describes, it decides nothing the rules do not."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from promotions import rules
from promotions.explain import OPERATOR_WORDS

# fact -> (subject, label, description, picker or unit). Pickers name a list of choices below; "money" is an
# amount in the program's currency.
FACTS: dict[str, tuple[str, str, str, str]] = {
    "tx.totalAmount": ("Purchase", "Total amount", "What the whole purchase cost.", "money"),
    "tx.itemCount": ("Purchase", "Number of items", "Items on the receipt (quantities added up).", ""),
    "tx.channel": ("Purchase", "Channel", "The store, web shop or partner where it was bought.", "channel"),
    "tx.sponsor": ("Purchase", "Sponsor", "The sponsor the purchase is booked with.", "sponsor"),
    "tx.paymentMethod": ("Purchase", "Payment method", "As the till sends it, e.g. card or cash.", ""),
    "tx.currency": ("Purchase", "Currency", "The purchase's currency code, e.g. EUR.", ""),
    "tx.hour": ("Time", "Hour of the day", "0 to 23, in the program's time zone.", "hour"),
    "tx.weekday": ("Time", "Day of the week", "Monday to Sunday, in the program's time zone.", "weekday"),
    "member.tier": ("Member", "Tier", "The member's tier when buying.", "tier"),
    "member.type": ("Member", "Membership type", "Consumer, business, ...", "membershipType"),
    "member.daysSinceEnrollment": ("Member", "Days since enrollment", "0 on the day the member joined.", "days"),
    "member.isBirthday": ("Member", "Birthday today", "The member's birthday is on the purchase's day.", ""),
    "member.status": ("Member", "Status", "Active, anonymous (an unclaimed card), ...", "status"),
    "line.productKey": ("Line", "Product", "The product of the line, chosen from the catalog.", "product"),
    "line.quantity": ("Line", "Quantity", "How many of the product.", ""),
    "line.amount": ("Line", "Line amount", "What the line cost.", "money"),
    "line.unitPrice": ("Line", "Unit price", "What one item cost.", "money"),
    "line.brand": ("Line", "Brand", "The product's brand in the catalog.", ""),
    "line.customCategories": ("Line", "Custom categories", "Groups of products made in the catalog.", "custom"),
    "line.known": ("Line", "Known product", "The catalog has the product.", ""),
}
SUBJECTS = ["Purchase", "Time", "Member", "Line"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def builder_config(currency: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Everything the builder needs, as JSON for the page (a handful of queries)."""
    from loyalty.models import MembershipType, Sponsor, Tier
    from memberships.models import MembershipStatus
    from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory

    facts = []
    for name, kind in {**rules.TX_FACTS, **rules.LINE_FACTS}.items():
        subject, label, description, picker = FACTS.get(name, ("Other", name, "", ""))
        facts.append(
            {
                "fact": name,
                "type": kind,
                "subject": subject,
                "label": label,
                "description": description,
                "picker": picker,
                "line": name in rules.LINE_FACTS,
            }
        )
    masters = list(MasterCategory.objects.order_by("name"))
    values: dict[str, dict[str, str]] = {m.key: {} for m in masters}
    for master_key, key, value_name in CategoryValue.objects.order_by("name").values_list("master__key", "key", "name"):
        values.setdefault(master_key, {})[key] = value_name
    for master in masters:
        facts.append(
            {
                "fact": f"line.category.{master.key}",
                "type": rules.STRING,
                "subject": "Line",
                "label": f"{master.name} (category)",
                "description": f"The product's {master.name.lower()} in the catalog.",
                "picker": f"category:{master.key}",
                "line": True,
            }
        )
    return {
        "facts": facts,
        "subjects": SUBJECTS,
        "prefixes": [
            {"prefix": "tx.properties.", "label": "Purchase property…", "line": False},
            {"prefix": "member.properties.", "label": "Member property…", "line": False},
            {"prefix": "line.attributes.", "label": "Product attribute…", "line": True},
        ],
        "operators": {kind: sorted(ops, key=list(OPERATOR_WORDS).index) for kind, ops in rules.OPERATORS.items()},
        "operatorWords": OPERATOR_WORDS,
        "currency": currency,
        "choices": {
            "channel": list(Channel.objects.order_by("name").values_list("key", "name")),
            "sponsor": list(Sponsor.objects.order_by("name").values_list("key", "name")),
            "tier": list(Tier.objects.order_by("rank").values_list("key", "name")),
            "membershipType": list(MembershipType.objects.order_by("name").values_list("key", "name")),
            "status": [(s.value, s.label.split(" (")[0]) for s in MembershipStatus],
            "custom": list(CustomCategory.objects.order_by("name").values_list("key", "name")),
            "weekday": [(n, name) for n, name in enumerate(WEEKDAYS, start=1)],
            "hour": [(h, f"{h:02d}:00–{h:02d}:59") for h in range(24)],
            **{f"category:{master}": list(names.items()) for master, names in values.items()},
        },
        "productSearch": reverse("admin:promotions_promotion_products"),
        "errors": errors or [],
    }


def product_choices(text: str, limit: int = 20, channel: str = "") -> list[dict[str, str]]:
    """Products whose key or name contains `text` (any case), one per key, with the channels that sell it;
    with a channel key, its products only, each with its price there (the simulator fills it in)."""
    from django.db.models import Q

    from promotions.models import Product

    text = text.strip()[:100]
    if not text:
        return []
    found: dict[str, dict[str, str]] = {}
    rows = Product.objects.filter(Q(key__icontains=text) | Q(name__icontains=text))
    if channel:
        rows = rows.filter(channel__key=channel)
    for key, name, channel_name, price in rows.order_by("key", "channel__name").values_list(
        "key", "name", "channel__name", "price"
    )[: limit * 4]:
        if key in found:
            found[key]["channels"] += f", {channel_name}"
        elif len(found) < limit:
            found[key] = {
                "key": key,
                "name": name,
                "channels": channel_name,
                "price": f"{price:.2f}" if price is not None and channel else "",
            }
    return list(found.values())
