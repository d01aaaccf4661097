from django.urls import path

from loyalty import views

urlpatterns = [
    path("about", views.AboutView.as_view(), name="about"),
    path("audits", views.AuditViewSet.as_view({"get": "list"}), name="audits"),
    path(
        "loyaltyops/events/list",
        views.EventViewSet.as_view({"get": "list"}),
        name="events-list",
    ),
    path(
        "loyaltyops/events/acknowledge",
        views.EventViewSet.as_view({"get": "acknowledge"}),
        name="events-acknowledge",
    ),
]
