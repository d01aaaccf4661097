"""The sidebar by a manager's tasks: every registered page is in exactly one area, the areas come in
the order of a manager's day, and a member can be found from any page."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from backoffice.site import AREAS, BackOfficeSite, task_areas
from tests.factories import StaffUserFactory


def test_the_admin_site_is_the_back_office():
    assert isinstance(admin.site, BackOfficeSite)


def test_every_registered_page_is_in_exactly_one_area():
    registered = {f"{model._meta.app_label}.{model.__name__}" for model in admin.site._registry}
    listed = [m for _, _, models in AREAS for m in models]
    assert len(listed) == len(set(listed))
    assert registered == set(listed)  # a new ModelAdmin must be given its area here


@pytest.mark.django_db
def test_the_sidebar_lists_areas_by_task_with_developers_last():
    request = RequestFactory().get("/admin/")
    request.user = StaffUserFactory()
    areas = admin.site.get_app_list(request)
    assert [a["name"] for a in areas] == [name for _, name, _ in AREAS]
    settings = next(a for a in areas if a["app_label"] == "settings")
    assert [m["name"] for m in settings["models"]] == [
        "Programs",
        "Point types",
        "Tiers",
        "Sponsors",
        "Channels",
        "Membership types",
    ]
    assert admin.site.get_app_list(request, "memberships")[0]["app_label"] == "memberships"  # an app's own page


def test_a_page_no_area_names_is_still_reachable_under_other():
    app_dict = {
        "memberships": {"models": [{"object_name": "Membership", "admin_url": "/m/"}]},
        "newapp": {"models": [{"object_name": "Thing", "admin_url": "/t/"}]},
    }
    areas = task_areas(app_dict)
    assert [(a["app_label"], [m["object_name"] for m in a["models"]]) for a in areas] == [
        ("members", ["Membership"]),
        ("other", ["Thing"]),
    ]


@pytest.mark.django_db
def test_a_member_is_found_from_the_sidebar_of_any_page(client):
    client.force_login(StaffUserFactory())
    html = client.get("/admin/loyalty/sponsor/").content.decode()
    assert 'action="/admin/memberships/membership/"' in html and 'name="q"' in html
    assert 'class="dashboard-link' in html
