"""The 18 membership endpoints of API.md (and remark creation). Each view parses, calls a service
or selector, and presents; domain errors become HTTP answers in loyalty.api.errors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from loyalty.api.pagination import LimitOffsetPagination
from loyalty.api.serializers import parse
from loyalty.api.views import ApiGenericView, ApiView
from memberships import selectors, services
from memberships.filters import MembershipFilter
from memberships.hooks import accounts_of
from memberships.models import Card, Membership, Remark
from memberships.serializers import (
    AlternateIdDeleteQuery,
    AlternateIdInput,
    AlternateIdOutput,
    CancelMembershipInput,
    CardOutput,
    ClaimMembershipInput,
    EnrollMembershipInput,
    LegalEntityCardInput,
    LegalEntityInput,
    LegalEntityOutput,
    MembershipAccountOutput,
    MembershipDetailsOutput,
    MembershipSummaryOutput,
    MergeMembershipsInput,
    RemarkInput,
    RemarkOutput,
    UpdateDetailsInput,
    identity_values,
    legal_entity_values,
)
from memberships.services.common import membership_type_for_enrollment, sponsor_for_enrollment

TAGS = ["memberships"]
KEY = OpenApiParameter(
    "key",
    str,
    OpenApiParameter.PATH,
    description="The membership number, an active card number or an alternate id value. "
    "A merged membership's number leads to the membership it was merged into.",
)
USER_ID = OpenApiParameter(
    "userId",
    str,
    OpenApiParameter.PATH,
    description="The key (number, active card or alternate id) of a member user of the legal entity.",
)
TYPE_ID = OpenApiParameter("typeId", str, OpenApiParameter.PATH, description="A company membership type key.")
ALTERNATE_ID = OpenApiParameter("alternateId", str, OpenApiParameter.PATH, description="The alternate id value.")
CARD_KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The card number.")
NO_CONTENT = OpenApiResponse(description="Done; no body.")


def personal_context(request) -> dict[str, Any]:
    return {"personal_data": selectors.can_view_personal_data(request.actor)}


def details_response(request, membership: Membership, status_code: int = 200) -> Response:
    membership = selectors.memberships().prefetch_related("alternate_ids").get(pk=membership.pk)
    return Response(MembershipDetailsOutput(membership, context=personal_context(request)).data, status=status_code)


def consent_arguments(data: dict[str, Any]) -> dict[str, Any]:
    consents = data.get("consents")
    if not consents:
        return {}
    return {"marketing_consent": consents["marketing"], "consent_source": consents.get("source", "")}


class SearchPagination(LimitOffsetPagination):
    """Limit/offset with a count, where a page that is not full tells the count without a COUNT
    query: a targeted search (one e-mail, one card) costs one query instead of two."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)
        page = list(queryset[self.offset : self.offset + self.limit])
        if len(page) < self.limit and (page or self.offset == 0):
            self.count = self.offset + len(page)
        else:
            self.count = self.get_count(queryset)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        return page


class MembershipListView(ApiGenericView):
    """GET /memberships (search) and POST /memberships (enroll)."""

    queryset = Membership.objects.none()
    filterset_class = MembershipFilter
    pagination_class = SearchPagination
    serializer_class = MembershipSummaryOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listMembers",
        summary="Search memberships",
        description="Filters combine with AND. Newest enrollment first unless `ordering` says otherwise. "
        "Personal data is null for staff without the personal-data permission.",
        responses={200: MembershipSummaryOutput(many=True)},
    )
    def get(self, request):
        queryset = self.filter_queryset(selectors.search_memberships())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            MembershipSummaryOutput(page, many=True, context=personal_context(request)).data
        )

    @extend_schema(
        tags=TAGS,
        operation_id="enrollMember",
        summary="Enroll a new membership",
        description="Optionally with a card, alternate ids and consents. Refused with `card_taken`, "
        "`alternate_id_taken`, `key_taken` (the card number or an alternate id value is another member's number, "
        "card or alternate id), `email_taken` (when the program requires unique e-mail addresses), "
        "`unknown_membership_type`, `unknown_sponsor` or `unknown_channel` (`channel` is a channel of the catalog "
        "or one of the enrollment sources web, app, store, phone, sales, partner, admin, import, api).",
        request=EnrollMembershipInput,
        responses={201: MembershipDetailsOutput},
    )
    def post(self, request):
        data = parse(EnrollMembershipInput, request.data)
        membership = services.enroll_membership(
            actor=request.actor,
            membership_type=membership_type_for_enrollment(data.get("membership_type")),
            card_number=data.get("card_number", ""),
            card_type=data["card_type"],
            alternate_ids=[(item["type"], item["value"]) for item in data.get("alternate_ids", [])],
            channel=data.get("channel", ""),
            sponsor=sponsor_for_enrollment(data.get("sponsor")),
            **identity_values(data),
            **consent_arguments(data),
        )
        return details_response(request, membership, status.HTTP_201_CREATED)


class MembershipAccountsView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="listMemberAccounts",
        summary="The membership's point accounts with balances",
        description="One entry per point type: balance, blocked (not yet matured) and redeemable points, as "
        "decimal strings. Provided by the ledger; an empty list until the ledger is installed.",
        parameters=[KEY],
        responses={200: MembershipAccountOutput(many=True)},
    )
    def get(self, request, key):
        membership = selectors.resolve_membership(key)
        return Response(MembershipAccountOutput(accounts_of(membership), many=True).data)


class MembershipDetailsView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="getMemberDetails",
        summary="Membership details",
        description="`membershipNumber`, `status`, type, tier and tier standing, personal data, address, "
        "consents, properties, how the member joined, the legal entity, alternate ids and the lifecycle times. "
        "A merged membership's number shows that membership itself, with `status` `merged` and `mergedInto`, "
        "the number of the membership it was merged into (every other call with that number acts on the "
        "survivor; its cards and alternate ids lead there). Personal data is null for staff without the "
        "personal-data permission.",
        parameters=[KEY],
        responses={200: MembershipDetailsOutput},
    )
    def get(self, request, key):
        return details_response(request, selectors.resolve_membership(key, follow_merges=False))

    @extend_schema(
        tags=TAGS,
        operation_id="updateMemberDetails",
        summary="Update membership details",
        description="Partial: only the fields given change, validated as at enrollment. Refused for a "
        "cancelled membership (`membership_not_active`) and an anonymous one (`membership_anonymous`: "
        "claim it instead).",
        parameters=[KEY],
        request=UpdateDetailsInput,
        responses={200: MembershipDetailsOutput},
    )
    def put(self, request, key):
        data = parse(UpdateDetailsInput, request.data)
        membership = selectors.resolve_membership(key)
        membership_type = (
            membership_type_for_enrollment(data["membership_type"]) if data.get("membership_type") else None
        )
        membership = services.update_membership(
            membership=membership,
            actor=request.actor,
            changes=identity_values(data),
            membership_type=membership_type,
            **consent_arguments(data),
        )
        return details_response(request, membership)


class MembershipMergeView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="mergeMemberships",
        summary="Merge two memberships",
        description="Cards, alternate ids, remarks (and, through the ledger, balances and lots) move from "
        "the source to the target; the source becomes `merged` and its number leads to the target. "
        "Refused with `merge_into_self`, or `invalid_merge` when either is cancelled, blocked or merged.",
        request=MergeMembershipsInput,
        responses={200: MembershipDetailsOutput},
    )
    def post(self, request):
        data = parse(MergeMembershipsInput, request.data)
        source = selectors.resolve_membership(data["source_key"], follow_merges=False)
        target = selectors.resolve_membership(data["target_key"], follow_merges=False)
        survivor = services.merge_memberships(source=source, target=target, actor=request.actor)
        return details_response(request, survivor)


class MembershipClaimView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="claimMembership",
        summary="Claim an anonymous membership",
        description="With personal data: the anonymous membership becomes the claimant's and active. With "
        "`membershipKey`: it is merged into the claimant's existing membership. Answers with the "
        "membership the claimant now has. Refused with `not_anonymous` for a claimed membership.",
        parameters=[KEY],
        request=ClaimMembershipInput,
        responses={200: MembershipDetailsOutput},
    )
    def post(self, request, key):
        data = parse(ClaimMembershipInput, request.data)
        membership = selectors.resolve_membership(key)
        into = selectors.resolve_membership(data["membership_key"]) if data.get("membership_key") else None
        result = services.claim_membership(
            membership=membership,
            actor=request.actor,
            into=into,
            identity=None if into else identity_values(data),
            **consent_arguments(data),
        )
        return details_response(request, result)


class MembershipCancelView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="cancelMembership",
        summary="Cancel a membership",
        description="Cards are deactivated and the points forfeited by a booking; nothing is deleted. "
        "Only reactivation in the admin opens it again.",
        parameters=[KEY],
        request=CancelMembershipInput,
        responses={200: MembershipDetailsOutput},
    )
    def post(self, request, key):
        data = parse(CancelMembershipInput, request.data)
        membership = selectors.resolve_membership(key)
        membership = services.cancel_membership(membership=membership, reason=data["reason"], actor=request.actor)
        return details_response(request, membership)


class AlternateIdListView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="addAlternateId",
        summary="Add an alternate id",
        description="Links another system's id for the member (`type`, such as `crm`, and `value`), which then "
        "works as `{key}`. A type and value, unique per type (`alternate_id_taken`); a value another member holds "
        "as number, card or alternate id of any type is `key_taken`. Answers 201.",
        parameters=[KEY],
        request=AlternateIdInput,
        responses={201: AlternateIdOutput},
    )
    def post(self, request, key):
        data = parse(AlternateIdInput, request.data)
        membership = selectors.resolve_membership(key)
        alternate_id = services.add_alternate_id(
            membership=membership, id_type=data["type"], value=data["value"], actor=request.actor
        )
        return Response(AlternateIdOutput(alternate_id).data, status=status.HTTP_201_CREATED)


class AlternateIdDetailView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="removeAlternateId",
        summary="Remove an alternate id",
        description="Unlinks the alternate id with this value from the membership; it no longer leads to the "
        "member. When the membership has the value under several types, name the type with `type` "
        "(otherwise 409 `ambiguous_alternate_id`); 404 `alternate_id_not_found` when it has no such value. "
        "Answers 204 without a body.",
        parameters=[
            KEY,
            ALTERNATE_ID,
            OpenApiParameter("type", str, description="The type, needed when the value occurs under several."),
        ],
        responses={204: NO_CONTENT},
    )
    def delete(self, request, key, alternateId):
        query = parse(AlternateIdDeleteQuery, request.query_params.dict())
        membership = selectors.resolve_membership(key)
        services.delete_alternate_id(
            membership=membership, value=alternateId, id_type=query.get("type", ""), actor=request.actor
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipCardsView(ApiGenericView):
    queryset = Card.objects.none()
    serializer_class = CardOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listMemberCards",
        summary="The membership's cards",
        description="Every card of the membership, active and deactivated, newest first, by `limit` and `offset`.",
        parameters=[KEY],
        responses={200: CardOutput(many=True)},
    )
    def get(self, request, key):
        membership = selectors.resolve_membership(key)
        page = self.paginate_queryset(self.filter_queryset(selectors.cards_of(membership)))
        return self.get_paginated_response(CardOutput(page, many=True).data)


class CardDeleteView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="deleteCard",
        summary="Delete (deactivate) a card",
        description="The card stops identifying its holder; it and its history stay, and its number is never "
        "issued again. Deleting a card that is already inactive changes nothing.",
        parameters=[CARD_KEY],
        responses={204: NO_CONTENT},
    )
    def delete(self, request, key):
        services.delete_card(card=selectors.card_by_number(key), actor=request.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipRemarksView(ApiGenericView):
    queryset = Remark.objects.none()
    serializer_class = RemarkOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listRemarks",
        summary="Customer-service remarks on a membership",
        description="The notes with their author and time, newest first, by `limit` and `offset`.",
        parameters=[KEY],
        responses={200: RemarkOutput(many=True)},
    )
    def get(self, request, key):
        membership = selectors.resolve_membership(key)
        page = self.paginate_queryset(self.filter_queryset(selectors.remarks_of(membership)))
        return self.get_paginated_response(RemarkOutput(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="addRemark",
        summary="Add a customer-service remark",
        description="A note (`text`, at most 4000 characters) recorded with its author (the API client or "
        "staff user calling) and time. Every membership takes remarks, a cancelled one too. Answers 201 with "
        "the remark.",
        parameters=[KEY],
        request=RemarkInput,
        responses={201: RemarkOutput},
    )
    def post(self, request, key):
        data = parse(RemarkInput, request.data)
        membership = selectors.resolve_membership(key)
        remark = services.add_remark(membership=membership, text=data["text"], actor=request.actor)
        return Response(RemarkOutput(remark).data, status=status.HTTP_201_CREATED)


class UserLegalEntityView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="getLegalEntity",
        summary="The legal entity this member user belongs to",
        description="The company the member user `userId` belongs to: registration number, name, VAT number, "
        "membership type, status, address and the numbers of its member users. 404 `legal_entity_not_found` when "
        "the member belongs to none.",
        parameters=[USER_ID],
        responses={200: LegalEntityOutput},
    )
    def get(self, request, userId):
        membership = selectors.resolve_membership(userId)
        return Response(LegalEntityOutput(selectors.legal_entity_of(membership)).data)


class TypeLegalEntityView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="saveLegalEntity",
        summary="Create or update a legal entity of a membership type",
        description="The registration number identifies the company: 201 when it is new, 200 when an existing "
        "one was updated. `name` is always given; every other section left out stays as it is: `vatNumber`, "
        "`address` (given, it is replaced whole; null or `{}` clears it) and `users` (given, exactly those "
        "memberships are its member users; `[]` or null releases them all).",
        parameters=[TYPE_ID],
        request=LegalEntityInput,
        responses={200: LegalEntityOutput, 201: LegalEntityOutput},
    )
    def put(self, request, typeId):
        data = parse(LegalEntityInput, request.data)
        membership_type = selectors.membership_type_by_key(typeId)
        users = None
        if "users" in data:
            users = [selectors.resolve_membership(key) for key in dict.fromkeys(data["users"] or [])]
        legal_entity, created = services.save_legal_entity(
            membership_type=membership_type,
            registration_number=data["registration_number"],
            name=data["name"],
            users=users,
            actor=request.actor,
            **legal_entity_values(data),
        )
        legal_entity = selectors.legal_entities().get(pk=legal_entity.pk)
        return Response(LegalEntityOutput(legal_entity).data, status=201 if created else 200)


class LegalEntityCancelView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="cancelLegalEntity",
        summary="Cancel a legal entity",
        description="With a `reason`. Its cards are deactivated; its users keep their own memberships. A "
        "cancelled entity takes no changes (`legal_entity_not_active`).",
        parameters=[USER_ID],
        request=CancelMembershipInput,
        responses={200: LegalEntityOutput},
    )
    def post(self, request, userId):
        data = parse(CancelMembershipInput, request.data)
        legal_entity = selectors.legal_entity_of(selectors.resolve_membership(userId))
        services.cancel_legal_entity(legal_entity=legal_entity, reason=data["reason"], actor=request.actor)
        return Response(LegalEntityOutput(selectors.legal_entities().get(pk=legal_entity.pk)).data)


class LegalEntityCardsView(ApiGenericView):
    queryset = Card.objects.none()
    serializer_class = CardOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listLegalEntityCards",
        summary="The cards issued to the user's legal entity",
        description="The cards of the legal entity (company) that the member user `userId` belongs to, active "
        "and deactivated, newest first, by `limit` and `offset`. These cards belong to the company, not to any "
        "member user. 404 `legal_entity_not_found` when the member belongs to none.",
        parameters=[USER_ID],
        responses={200: CardOutput(many=True)},
    )
    def get(self, request, userId):
        legal_entity = selectors.legal_entity_of(selectors.resolve_membership(userId))
        page = self.paginate_queryset(self.filter_queryset(selectors.cards_of(legal_entity)))
        return self.get_paginated_response(CardOutput(page, many=True).data)


class LegalEntityCardView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="saveLegalEntityCard",
        summary="Create or update a card of the legal entity",
        description="201 for a new card, 200 when the entity's card with this number was updated (a "
        "deactivated one comes back active). A card number held by anyone else is `card_taken`, a member's number "
        "or alternate id `key_taken`.",
        parameters=[USER_ID],
        request=LegalEntityCardInput,
        responses={200: CardOutput, 201: CardOutput},
    )
    def put(self, request, userId):
        data = parse(LegalEntityCardInput, request.data)
        legal_entity = selectors.legal_entity_of(selectors.resolve_membership(userId))
        card, created = services.save_legal_entity_card(
            legal_entity=legal_entity,
            number=data["number"],
            card_type=data["type"],
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
            actor=request.actor,
        )
        return Response(CardOutput(card).data, status=201 if created else 200)
