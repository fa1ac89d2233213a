"""Filters of the document list: ?knowledge=&status=&stage=&language=&stt_model=&created_after=..."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from knowledge.models import Document, Priority, Stage, Status


class DocumentFilter(django_filters.FilterSet):
    knowledge = django_filters.NumberFilter(field_name="knowledge_base_id", help_text="knowledge base id")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, help_text="repeat for several")
    stage = django_filters.ChoiceFilter(choices=[c for c in Stage.choices if c[0]])
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    language = django_filters.CharFilter()
    stt_model = django_filters.CharFilter(method="filter_stt_model", help_text="speech model id or name")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="part of the name")
    ordering = django_filters.OrderingFilter(
        fields=["created_at", "updated_at", "name", "status", "duration", "size", "progress"],
        help_text="e.g. -created_at (default), name, duration",
    )

    class Meta:
        model = Document
        fields: list[str] = []

    def filter_stt_model(self, queryset: QuerySet[Document], name: str, value: str) -> QuerySet[Document]:
        condition = Q(stt_model__name=value)
        if value.isdigit():
            condition |= Q(stt_model_id=int(value))
        return queryset.filter(condition)
