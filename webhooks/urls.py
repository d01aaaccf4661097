"""The webhook routes, spelled as API.md has them."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/eventtypes", views.EventTypeListView.as_view(), name="webhook-event-types"),
    path("webhooks/endpoints", views.EndpointListView.as_view(), name="webhook-endpoints"),
    path("webhooks/endpoints/<str:id>", views.EndpointDetailView.as_view(), name="webhook-endpoint"),
    path("webhooks/endpoints/<str:id>/rotate", views.EndpointRotateView.as_view(), name="webhook-endpoint-rotate"),
    path("webhooks/endpoints/<str:id>/test", views.EndpointTestView.as_view(), name="webhook-endpoint-test"),
    path("webhooks/deliveries", views.DeliveryListView.as_view(), name="webhook-deliveries"),
    path("webhooks/deliveries/<str:id>/retry", views.DeliveryRetryView.as_view(), name="webhook-delivery-retry"),
]
