"""References to the merged entity types, resolved when the schema is built.

A connector returns an entity as its key type (e.g. `WorkerKey`); every connector's fields
on that entity read the key from `self`, exactly like a federation entity reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import strawberry
from strawberry.types.lazy_type import LazyType

from kernel.access import public, scoped
from kernel.identifiers import mask_id_number
from kernel.scalars import USCC, CaseNumber, IdNumber
from kernel.scopes import WORKER_IDENTITY


@strawberry.type
class WorkerKey:
    id_number: IdNumber = scoped(
        WORKER_IDENTITY,
        mask=mask_id_number,
        description="公民身份号码 (key); masked as 110***********123X without worker:identity",
    )


@strawberry.type
class ProjectKey:
    code: str = public(description="项目编码, e.g. the construction permit number (key)")


@strawberry.type
class EnterpriseKey:
    uscc: USCC = public(description="统一社会信用代码 (key)")


@strawberry.type
class DisputeCaseKey:
    case_number: CaseNumber = public(description="案号 (key)")


# Type checkers see the key type a resolver returns; strawberry sees the merged type.
if TYPE_CHECKING:
    WorkerRef: TypeAlias = WorkerKey
    ProjectRef: TypeAlias = ProjectKey
    EnterpriseRef: TypeAlias = EnterpriseKey
    DisputeCaseRef: TypeAlias = DisputeCaseKey
else:
    WorkerRef = LazyType("Worker", "graph.merged")
    ProjectRef = LazyType("Project", "graph.merged")
    EnterpriseRef = LazyType("Enterprise", "graph.merged")
    DisputeCaseRef = LazyType("DisputeCase", "graph.merged")
