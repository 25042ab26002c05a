"""What a reader may see of the registries: the audience of `supervision.disclosure` for the
signed-in user, and — for an inspector — the entities of his or her own tasks only."""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.disclosure import Audience, audience_of, scoped, visible
from supervision.errors import Forbidden
from supervision.planning import queries as pq
from supervision.registry.models import Entity


@dataclass(frozen=True)
class EntityScope:
    audience: Audience
    among: Any  # a subquery of the entity ids this reader may see; None: all of them

    @property
    def fields(self) -> frozenset[str]:
        return visible("entity", self.audience)

    def refuse_hidden_filters(self, **filters: Any) -> None:
        """Filtering on a field the reader cannot see would reveal it row by row."""
        for name, value in filters.items():
            if value is not None and value != "" and name not in self.fields:
                raise Forbidden(
                    f"无权按“{name}”筛选：该字段对您的角色不可见",
                    f"filtering on {name} is not allowed: your role does not see it",
                )

    def check(self, session: Session, entity: Entity) -> None:
        if self.among is None:
            return
        if (
            session.exec(
                select(Entity.id).where(Entity.id == entity.id, col(Entity.id).in_(self.among))
            ).first()
            is None
        ):
            raise Forbidden(
                "只能查看本人检查任务中的市场主体",
                "inspectors read only the entities of their own tasks",
            )


def entity_scope(user: User) -> EntityScope:
    audience = audience_of(user)
    among = pq.task_entity_ids(user.inspector_id) if scoped("entity", audience) else None
    return EntityScope(audience, among)
