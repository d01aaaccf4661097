"""The /promos routes, spelled exactly as API.md has them."""

from django.urls import path

from promotions import views

urlpatterns = [
    path("promos/channel/data", views.ChannelListView.as_view(), name="promos-channels"),
    path("promos/program", views.ProgramView.as_view(), name="promos-program"),
    path("promos/product/data", views.ProductSearchView.as_view(), name="promos-products"),
    path("promos/product/categories", views.MasterCategoryListView.as_view(), name="promos-categories"),
    path("promos/product/customcategory", views.CustomCategoryView.as_view(), name="promos-custom-category"),
    path(
        "promos/product/categories/<str:channelKey>/<str:key>/values",
        views.CategoryValueListView.as_view(),
        name="promos-category-values",
    ),
    path(
        "promos/product/<str:channelKey>/<str:productKey>/details",
        views.ProductDetailsView.as_view(),
        name="promos-product-details",
    ),
]
