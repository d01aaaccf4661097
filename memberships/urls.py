"""The membership routes, spelled exactly as API.md has them (note legalEntity vs legalentity).

Literal segments (merge, card, type) come before the `{key}` routes that could swallow them.
"""

from django.urls import path

from memberships import views

urlpatterns = [
    path("memberships", views.MembershipListView.as_view(), name="memberships"),
    path("memberships/merge", views.MembershipMergeView.as_view(), name="memberships-merge"),
    path("memberships/card/<str:key>", views.CardDeleteView.as_view(), name="memberships-card-delete"),
    path(
        "memberships/type/<str:typeId>/legalEntity",
        views.TypeLegalEntityView.as_view(),
        name="memberships-type-legal-entity",
    ),
    path("memberships/<str:key>/accounts", views.MembershipAccountsView.as_view(), name="memberships-accounts"),
    path("memberships/<str:key>/details", views.MembershipDetailsView.as_view(), name="memberships-details"),
    path("memberships/<str:key>/claim", views.MembershipClaimView.as_view(), name="memberships-claim"),
    path("memberships/<str:key>/cancel", views.MembershipCancelView.as_view(), name="memberships-cancel"),
    path(
        "memberships/<str:key>/alternateids",
        views.AlternateIdListView.as_view(),
        name="memberships-alternate-ids",
    ),
    path(
        "memberships/<str:key>/alternateids/<str:alternateId>",
        views.AlternateIdDetailView.as_view(),
        name="memberships-alternate-id",
    ),
    path("memberships/<str:key>/cards", views.MembershipCardsView.as_view(), name="memberships-cards"),
    path("memberships/<str:key>/remarks", views.MembershipRemarksView.as_view(), name="memberships-remarks"),
    path(
        "memberships/<str:userId>/legalEntity",
        views.UserLegalEntityView.as_view(),
        name="memberships-legal-entity",
    ),
    path(
        "memberships/<str:userId>/legalentity/cancel",
        views.LegalEntityCancelView.as_view(),
        name="memberships-legal-entity-cancel",
    ),
    path(
        "memberships/<str:userId>/legalentity/cards",
        views.LegalEntityCardsView.as_view(),
        name="memberships-legal-entity-cards",
    ),
    path(
        "memberships/<str:userId>/legalentity/card",
        views.LegalEntityCardView.as_view(),
        name="memberships-legal-entity-card",
    ),
]
