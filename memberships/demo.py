"""Demo members (idempotent): 300 enrolled members with cards and alternate ids, a few anonymous
cards, a cancelled and a merged membership, remarks, and one company with its users and cards.

Everything goes through the services, so the demo also fills the audit log and the event feed.
A second run finds the demo rows by their card numbers and changes nothing.
"""

import random
import unicodedata
from datetime import date, timedelta

from django.utils import timezone

from loyalty.actors import Actor
from loyalty.models import MembershipType
from memberships import services
from memberships.models import Card, LegalEntity, Membership, MembershipStatus

# seed_demo runs this after the demo data of these apps.
AFTER = ("loyalty",)

MEMBERS = 300
FIRST_NAMES = [
    "Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Greta", "Hugo", "Iris", "Jens", "Katja", "Lars",
    "Mila", "Noah", "Olga", "Piet", "Quinn", "Rosa", "Sven", "Tess", "Ugo", "Vera", "Wim", "Yara", "Zoë",
]  # fmt: skip
LAST_NAMES = [
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Müller", "Schmidt", "Dubois", "Rossi",
    "Nowak", "Novák", "García", "Silva", "Hansen", "Johansson", "Kowalski", "Peeters", "Janssens", "Moreau",
]  # fmt: skip
CITIES = [("Amsterdam", "NL"), ("Utrecht", "NL"), ("Rotterdam", "NL"), ("Antwerpen", "BE"), ("Köln", "DE")]
REMARKS = [
    "Called about a missing purchase; booked manually.",
    "Prefers contact by e-mail, not by phone.",
    "Card damaged; a replacement was sent.",
]


def ascii_slug(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace(" ", "")


def card_number(index: int) -> str:
    return f"6010{index:08d}"


def seed(actor: Actor) -> None:
    rng = random.Random(20261125)  # the same demo every time
    consumer = MembershipType.objects.filter(is_default=True).first() or MembershipType.objects.first()
    if consumer is None:
        return
    today = timezone.localdate()
    existing = set(Card.objects.filter(number__startswith="6010").values_list("number", flat=True))
    members: list[Membership] = []
    for index in range(1, MEMBERS + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country = rng.choice(CITIES)
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
        consent = rng.random() < 0.6
        if card_number(index) in existing:
            continue
        members.append(
            services.enroll_membership(
                actor=actor,
                first_name=first,
                last_name=last,
                email=f"{ascii_slug(first)}.{ascii_slug(last)}.{index}@example.com",
                phone=f"+316{rng.randrange(10_000_000, 99_999_999)}",
                birth_date=birth,
                membership_type=consumer,
                card_number=card_number(index),
                card_type="virtual" if index % 5 == 0 else "physical",
                alternate_ids=[("crm", f"CRM-{index:05d}")] + ([("shop", f"WEB{index:06d}")] if index % 2 else []),
                marketing_consent=consent,
                consent_source="demo sign-up form",
                street=f"Hoofdstraat {index}",
                postal_code=f"{1000 + index} AB",
                city=city,
                country=country,
                language=rng.choice(["nl", "en", "de"]),
                channel=rng.choice(["store", "web", "app"]),
                enrolled_at=timezone.now() - timedelta(days=rng.randrange(0, 3 * 365)),
                properties={"favoriteStore": rng.choice(["centre", "north", "airport"])},
            )
        )
    for membership in members[:3]:
        for text in REMARKS:
            services.add_remark(membership=membership, text=text, actor=actor)

    # Cards handed out in a store that nobody has registered yet.
    for index in range(1, 6):
        number = f"6099{index:08d}"
        if not Card.objects.filter(number=number).exists():
            services.create_anonymous_membership(card_number=number, actor=actor, channel="store")

    # One member who left, and one who had two memberships merged.
    leaver = Membership.objects.filter(cards__number=card_number(MEMBERS)).first()
    if leaver and leaver.status == MembershipStatus.ACTIVE:
        services.cancel_membership(membership=leaver, reason="Moved abroad (demo)", actor=actor)
    duplicate = Membership.objects.filter(alternate_ids__value=f"CRM-{MEMBERS - 1:05d}").first()
    survivor = Membership.objects.filter(cards__number=card_number(MEMBERS - 2)).first()
    if duplicate and survivor and duplicate != survivor and duplicate.status == MembershipStatus.ACTIVE:
        services.merge_memberships(source=duplicate, target=survivor, actor=actor)

    _seed_company(actor, today)


def _seed_company(actor: Actor, today: date) -> None:
    business = MembershipType.objects.filter(is_company=True).first()
    if business is None:
        return
    users = []
    for index, (first, last) in enumerate([("Lotte", "Kramer"), ("Joost", "Mulder"), ("Sanne", "Bos")], start=1):
        number = f"6020{index:08d}"
        user = Membership.objects.filter(cards__number=number).first()
        if user is None:
            user = services.enroll_membership(
                actor=actor,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}@northwind-logistics.example.com",
                membership_type=business,
                card_number=number,
                channel="sales",
            )
        users.append(user)
    entity, _ = services.save_legal_entity(
        membership_type=business,
        registration_number="NL-KVK-40512345",
        name="Northwind Logistics B.V.",
        vat_number="NL004051234B01",
        street="Havenweg 12",
        postal_code="3089 JM",
        city="Rotterdam",
        country="NL",
        users=users,
        actor=actor,
    )
    entity = LegalEntity.objects.get(pk=entity.pk)
    for index in (1, 2):
        services.save_legal_entity_card(
            legal_entity=entity,
            number=f"6030{index:08d}",
            card_type="physical",
            valid_until=today.replace(year=today.year + 3, month=12, day=31),
            actor=actor,
        )
