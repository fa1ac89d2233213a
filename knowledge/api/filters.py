"""Filters of the document list: ?knowledge=&status=&stage=&language=&stt_model=&created_after=..."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django_filters.fields import IsoDateTimeField

from core.registry import parse_id
from knowledge.models import Document, Priority, Stage, Status


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time in UTC: any offset Python reads (up to ±23:59) is converted here, since
    PostgreSQL refuses offsets beyond ±15:59; a time that leaves the calendar is a 400."""

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("the time is out of range", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    pass


class DocumentFilter(django_filters.FilterSet):
    id = NumberInFilter(field_name="id", help_text="document ids, comma-separated")
    knowledge = django_filters.NumberFilter(field_name="knowledge_base_id", help_text="knowledge base id")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, help_text="repeat for several")
    stage = django_filters.ChoiceFilter(choices=[c for c in Stage.choices if c[0]])
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    language = django_filters.CharFilter()
    stt_model = django_filters.CharFilter(method="filter_stt_model", help_text="speech model id or name")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
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
        if (pk := parse_id(value)) is not None:
            condition |= Q(stt_model_id=pk)
        return queryset.filter(condition)
