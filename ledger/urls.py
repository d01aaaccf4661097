from django.urls import path

from ledger.views import DepositViewSet

urlpatterns = [
    path("deposits/redeem/reversal", DepositViewSet.as_view({"post": "reverse_redemption"}), name="redeem-reversal"),
    path("deposits/<str:key>/statement", DepositViewSet.as_view({"get": "statement"}), name="deposit-statement"),
    path("deposits/<str:key>/redeemable", DepositViewSet.as_view({"get": "redeemable"}), name="deposit-redeemable"),
    path("deposits/<str:key>/redeem", DepositViewSet.as_view({"post": "redeem"}), name="deposit-redeem"),
    path("deposits/<str:key>/adjust", DepositViewSet.as_view({"post": "adjust"}), name="deposit-adjust"),
    path(
        "deposits/<str:sourceKey>/transfer/<str:targetKey>",
        DepositViewSet.as_view({"post": "transfer"}),
        name="deposit-transfer",
    ),
]
