from django.urls import path

from transactions.views import TransactionViewSet

urlpatterns = [
    path("tx", TransactionViewSet.as_view({"get": "list", "post": "create"}), name="tx"),
    path("tx/reversal", TransactionViewSet.as_view({"post": "reversal"}), name="tx-reversal"),
    path("tx/rewardsHistory", TransactionViewSet.as_view({"get": "rewards_history"}), name="tx-rewards-history"),
    path("tx/<str:txId>/details", TransactionViewSet.as_view({"get": "details"}), name="tx-details"),
    path("tx/<str:txId>/rewardsDetails", TransactionViewSet.as_view({"get": "rewards_details"}), name="tx-rewards"),
]
