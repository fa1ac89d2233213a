"""Who may do what in a knowledge base. The API, the admin and the web page all ask here.

A superuser sees everything. Anyone else sees the knowledge bases they created (owner) or were
given a role in (``Membership``); each role includes the ones below it: owner > editor > viewer.
Objects in knowledge bases a user cannot see do not exist for them (404); seeing one without the
role an action needs is a 403."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from knowledge.models import ROLE_RANK, Document, KnowledgeBase, Membership, Paragraph, Role


def _roles_at_least(role: Role) -> list[str]:
    return [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]


def knowledge_bases_for(user: Any, role: Role = Role.VIEWER) -> QuerySet[KnowledgeBase]:
    """The knowledge bases where ``user`` holds at least ``role``."""
    queryset = KnowledgeBase.objects.all()
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_superuser:
        return queryset
    granted = Membership.objects.filter(user=user, role__in=_roles_at_least(role)).values("knowledge_base_id")
    return queryset.filter(Q(owner=user) | Q(pk__in=granted))


def documents_for(user: Any, role: Role = Role.VIEWER) -> QuerySet[Document]:
    return Document.objects.filter(knowledge_base__in=knowledge_bases_for(user, role))


def paragraphs_for(user: Any, role: Role = Role.VIEWER) -> QuerySet[Paragraph]:
    return Paragraph.objects.filter(knowledge_base__in=knowledge_bases_for(user, role))


def with_member_role(queryset: QuerySet[KnowledgeBase], user: Any) -> QuerySet[KnowledgeBase]:
    """``queryset`` with each knowledge base's ``member_role`` for ``user`` (their Membership's
    role, or None), so that ``role_of`` needs no query per row of a list."""
    if not getattr(user, "is_authenticated", False):
        return queryset
    granted = Membership.objects.filter(knowledge_base=OuterRef("pk"), user=user).values("role")[:1]
    return queryset.annotate(member_role=Subquery(granted))


def role_of(user: Any, knowledge_base: KnowledgeBase) -> Role | None:
    """The user's role in the knowledge base (None: no access). Reads ``member_role`` when the
    knowledge base was loaded ``with_member_role`` for this user."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser or knowledge_base.owner_id == user.pk:
        return Role.OWNER
    if hasattr(knowledge_base, "member_role"):
        role = knowledge_base.member_role
    else:
        role = (
            Membership.objects.filter(knowledge_base=knowledge_base, user=user).values_list("role", flat=True).first()
        )
    return Role(role) if role else None


def allows(user: Any, knowledge_base: KnowledgeBase, role: Role) -> bool:
    held = role_of(user, knowledge_base)
    return held is not None and ROLE_RANK[held] >= ROLE_RANK[role]
