"""The refusals of the memberships app, each with its stable `code` (docs/memberships.md lists them)."""

from loyalty.errors import Conflict, DomainError, InvalidInput, NotFound


class MembershipNotFound(NotFound):
    code = "membership_not_found"
    default_detail = "No membership has this number, active card or alternate id."


class AmbiguousKey(Conflict):
    code = "ambiguous_key"
    default_detail = "This key matches more than one membership; use the membership number."


class MembershipTypeNotFound(NotFound):
    code = "membership_type_not_found"
    default_detail = "No membership type has this key."


class UnknownMembershipType(InvalidInput):
    """A membership type named in a request body that does not exist or takes no enrollments."""

    code = "unknown_membership_type"
    default_detail = "Unknown or inactive membership type."


class UnknownChannel(InvalidInput):
    """An enrollment channel that is neither a channel of the catalog nor one of the enrollment
    sources (memberships.hooks.ENROLLMENT_SOURCES)."""

    code = "unknown_channel"
    default_detail = "Unknown channel."


class UnknownSponsor(InvalidInput):
    code = "unknown_sponsor"
    default_detail = "Unknown or inactive sponsor."


class NotCompanyType(InvalidInput):
    code = "not_company_type"
    default_detail = "Legal entities need a company membership type."


class CardTaken(Conflict):
    code = "card_taken"
    default_detail = "This card number is already in use."


class AlternateIdTaken(Conflict):
    code = "alternate_id_taken"
    default_detail = "This alternate id is already in use."


class KeyTaken(Conflict):
    """The value already identifies another holder: it is another member's membership number, card
    number or alternate id value, or a legal entity's card number (one key space, docs/memberships.md)."""

    code = "key_taken"
    default_detail = "This value already identifies another member (number, card or alternate id)."


class EmailTaken(Conflict):
    code = "email_taken"
    default_detail = "Another membership already uses this e-mail address."


class MembershipNotActive(Conflict):
    """The membership is cancelled, blocked or merged and cannot take this change."""

    code = "membership_not_active"
    default_detail = "The membership cannot be changed in its current status."


class MembershipAnonymous(Conflict):
    code = "membership_anonymous"
    default_detail = "The membership is anonymous: claim it to give it personal data."


class MergeIntoSelf(Conflict):
    code = "merge_into_self"
    default_detail = "A membership cannot be merged into itself."


class InvalidMerge(Conflict):
    code = "invalid_merge"
    default_detail = "These memberships cannot be merged."


class NotAnonymous(Conflict):
    code = "not_anonymous"
    default_detail = "Only an anonymous membership can be claimed."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = "The membership cannot move to that status from its current one."


class CardNotFound(NotFound):
    code = "card_not_found"
    default_detail = "No card has this number."


class AlternateIdNotFound(NotFound):
    code = "alternate_id_not_found"
    default_detail = "The membership has no such alternate id."


class AmbiguousAlternateId(Conflict):
    code = "ambiguous_alternate_id"
    default_detail = "The membership has this value under several types; name the type."


class LegalEntityNotFound(NotFound):
    code = "legal_entity_not_found"
    default_detail = "This member belongs to no legal entity."


class LegalEntityNotActive(Conflict):
    code = "legal_entity_not_active"
    default_detail = "The legal entity is cancelled."


class MemberOfOtherLegalEntity(Conflict):
    code = "member_of_other_legal_entity"
    default_detail = "The member is already a user of another legal entity."


__all__ = [
    "AlternateIdNotFound",
    "AlternateIdTaken",
    "AmbiguousAlternateId",
    "AmbiguousKey",
    "CardNotFound",
    "CardTaken",
    "DomainError",
    "EmailTaken",
    "InvalidMerge",
    "InvalidTransition",
    "KeyTaken",
    "LegalEntityNotActive",
    "LegalEntityNotFound",
    "MemberOfOtherLegalEntity",
    "MembershipAnonymous",
    "MembershipNotActive",
    "MembershipNotFound",
    "MembershipTypeNotFound",
    "MergeIntoSelf",
    "NotAnonymous",
    "NotCompanyType",
    "UnknownMembershipType",
    "UnknownSponsor",
]
