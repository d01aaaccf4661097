"""The voucher routes, spelled exactly as API.md has them. `voucher/types` and `voucher/type` are
literal; a type key or a code never collides with them (they have one more path segment)."""

from django.urls import path

from vouchers import views

urlpatterns = [
    path("voucher/types", views.VoucherTypeListView.as_view(), name="voucher-types"),
    path("voucher/type", views.VoucherTypeCreateView.as_view(), name="voucher-type-create"),
    path("voucher", views.VoucherListView.as_view(), name="vouchers"),
    path("voucher/<str:token>/info", views.VoucherInfoView.as_view(), name="voucher-info"),
    path("voucher/<str:type>/issue", views.VoucherIssueView.as_view(), name="voucher-issue"),
    path("voucher/<str:token>/convert", views.VoucherConvertView.as_view(), name="voucher-convert"),
    path("voucher/<str:token>/revoke", views.VoucherRevokeView.as_view(), name="voucher-revoke"),
]
