"""The /promos endpoints of the catalog and the program overview: parse, call, present.

Domain errors (promotions.errors) become HTTP answers in loyalty.api.errors; lists paginate by
limit/offset with a count and refuse unknown query parameters (loyalty.api.filters).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from loyalty.api.serializers import StrictInputSerializer, parse_query
from loyalty.api.views import ApiGenericView, ApiView
from promotions import catalog_selectors as selectors
from promotions.catalog_services import set_custom_category
from promotions.filters import CategoryValueFilter, ChannelFilter, MasterCategoryFilter, ProductFilter
from promotions.models import CategoryValue, Channel, MasterCategory, Product
from promotions.serializers import (
    CatalogChannelOutput,
    CatalogProductDetailsOutput,
    CatalogProductOutput,
    CategoryValueOutput,
    CustomCategoryInput,
    CustomCategoryResultOutput,
    MasterCategoryOutput,
    ProgramOutput,
)

TAGS = ["promos"]
CHANNEL_KEY = OpenApiParameter("channelKey", str, OpenApiParameter.PATH, description="The channel's key.")


class NoQueryParameters(StrictInputSerializer):
    """For endpoints that take no query parameters: any one given is a 400, not silently ignored."""


def refuse_query_parameters(request) -> None:
    parse_query(NoQueryParameters, request)


class ChannelListView(ApiGenericView):
    queryset = Channel.objects.none()
    filterset_class = ChannelFilter

    @extend_schema(
        tags=TAGS,
        operation_id="listChannels",
        summary="The channels (stores, web shops, partners)",
        description="By key. Each channel names the sponsor that issues the points earned there; "
        "`POST /tx` takes the channel's `key`.",
        responses={200: CatalogChannelOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(selectors.channels()))
        return self.get_paginated_response(CatalogChannelOutput(page, many=True).data)


class ProductSearchView(ApiGenericView):
    queryset = Product.objects.none()
    filterset_class = ProductFilter

    @extend_schema(
        tags=TAGS,
        operation_id="searchProducts",
        summary="Search products",
        description="Filters combine with AND. Each product comes with its category values "
        "(`categories`: {master category: value}) and its custom categories, the facts promotion "
        "rules test. By channel, then key, unless `ordering` says otherwise.",
        responses={200: CatalogProductOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(selectors.products()))
        return self.get_paginated_response(CatalogProductOutput(page, many=True).data)


class ProductDetailsView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="getProduct",
        summary="One product's details",
        description="The product `productKey` of the channel `channelKey`, with its channel, its category values "
        "per master category and its custom categories: the facts promotion rules test. 404 `channel_not_found` "
        "or `product_not_found`.",
        parameters=[
            CHANNEL_KEY,
            OpenApiParameter("productKey", str, OpenApiParameter.PATH, description="The product's key in the channel."),
        ],
        responses={200: CatalogProductDetailsOutput},
    )
    def get(self, request, channelKey, productKey):  # the path's names, as API.md spells them
        refuse_query_parameters(request)
        product = selectors.product_by_key(channelKey, productKey)
        return Response(CatalogProductDetailsOutput(product).data)


class ProgramView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="getProgram",
        summary="The program: sponsors, point types, tiers, channels and earning basics",
        description="What an integrator discovers first. Where a request leaves `sponsor` or `pointType` out, "
        "the sponsor with `isDefault` and the point type with `isMain` apply.",
        responses={200: ProgramOutput},
    )
    def get(self, request):
        refuse_query_parameters(request)
        return Response(ProgramOutput(selectors.program_overview()).data)


class MasterCategoryListView(ApiGenericView):
    queryset = MasterCategory.objects.none()
    filterset_class = MasterCategoryFilter

    @extend_schema(
        tags=TAGS,
        operation_id="listCategories",
        summary="Filtered list of master categories",
        description="The dimensions products are classified along (department, brand, season, ...). "
        "Rules refer to a product's value as `line.category.<key>`.",
        responses={200: MasterCategoryOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(selectors.master_categories()))
        return self.get_paginated_response(MasterCategoryOutput(page, many=True).data)


class CategoryValueListView(ApiGenericView):
    queryset = CategoryValue.objects.none()
    filterset_class = CategoryValueFilter

    @extend_schema(
        tags=TAGS,
        operation_id="listCategoryValues",
        summary="Filtered list of a master category's values in a channel",
        description="The values of the master category `key` in the channel `channelKey` (for example the brands "
        "a store sells), each with the number of the channel's products that have it. 404 `channel_not_found` or "
        "`category_not_found` (no such master category).",
        parameters=[
            CHANNEL_KEY,
            OpenApiParameter("key", str, OpenApiParameter.PATH, description="The master category's key."),
        ],
        responses={200: CategoryValueOutput(many=True)},
    )
    def get(self, request, channelKey, key):
        channel = selectors.channel_by_key(channelKey)
        master = selectors.master_category_by_key(key)
        page = self.paginate_queryset(self.filter_queryset(selectors.category_values(channel, master)))
        return self.get_paginated_response(CategoryValueOutput(page, many=True).data)


class CustomCategoryView(ApiView):
    @extend_schema(
        tags=TAGS,
        operation_id="setCustomCategory",
        summary="Set a custom category and assign products to it",
        description="Creates the custom category when its key is new (201), else updates it (200). "
        "With `replace` it holds exactly the given products afterwards; without, they are added. "
        "If any product is not in the catalog nothing changes: 400 `unknown_products`, with each "
        "missing product in `errors` (`field` = `products.<index>`).",
        request=CustomCategoryInput,
        responses={200: CustomCategoryResultOutput, 201: CustomCategoryResultOutput},
    )
    def post(self, request):
        refuse_query_parameters(request)
        data = CustomCategoryInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = set_custom_category(
            key=values["key"],
            name=values.get("name"),
            description=values.get("description"),
            products=[(item["channel"], item["product_key"]) for item in values["products"]],
            replace=values["replace"],
            actor=request.actor,
        )
        return Response(
            CustomCategoryResultOutput(result).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
