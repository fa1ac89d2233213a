from rest_framework.pagination import LimitOffsetPagination


class LimitOffset(LimitOffsetPagination):
    """``?limit=&offset=`` on every list; at most 500 per page."""

    max_limit = 500
