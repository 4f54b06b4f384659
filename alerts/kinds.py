"""The kinds of event, what each needs to be seen, and who must act on it."""

from __future__ import annotations

import enum

from kernel.scopes import ENTERPRISE_CREDIT, STATS_READ, WAGE_READ, WORKER_RESIDENCE


class Kind(enum.StrEnum):
    PROJECT_WARNING = "PROJECT_WARNING"
    WORKER_UNPAID = "WORKER_UNPAID"
    RESIDENCE_GAP = "RESIDENCE_GAP"
    BLACKLISTED_ON_PROJECT = "BLACKLISTED_ON_PROJECT"
    COMPLAINT_ON_RED_PROJECT = "COMPLAINT_ON_RED_PROJECT"
    WORK_ORDER_ESCALATED = "WORK_ORDER_ESCALATED"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def scopes(self) -> tuple[str, ...]:
        """What a subscriber's grant must hold: the event itself is data of these scopes
        (that a project is red is stats:read). The payload's fields still check theirs."""
        return _SCOPES[self]

    @property
    def agency(self) -> str:
        """Whose work order it opens."""
        return _AGENCY[self]

    @property
    def default_deadline(self) -> int:
        return 3

    @property
    def event_type(self) -> str:
        """The Standard Webhooks `type` of its payload."""
        return _TYPES[self]


_LABELS = {
    Kind.PROJECT_WARNING: "项目预警等级变化",
    Kind.WORKER_UNPAID: "有考勤无工资发放",
    Kind.RESIDENCE_GAP: "在岗无有效居住登记",
    Kind.BLACKLISTED_ON_PROJECT: "失信企业承接新项目",
    Kind.COMPLAINT_ON_RED_PROJECT: "红色预警项目新增投诉或案件",
    Kind.WORK_ORDER_ESCALATED: "工单逾期升级",
}
_SCOPES = {
    Kind.PROJECT_WARNING: (STATS_READ,),
    Kind.WORKER_UNPAID: (WAGE_READ,),
    Kind.RESIDENCE_GAP: (WORKER_RESIDENCE,),
    Kind.BLACKLISTED_ON_PROJECT: (ENTERPRISE_CREDIT,),
    Kind.COMPLAINT_ON_RED_PROJECT: (STATS_READ,),
    Kind.WORK_ORDER_ESCALATED: (),
}
_AGENCY = {
    Kind.PROJECT_WARNING: "hr",
    Kind.WORKER_UNPAID: "hr",
    Kind.RESIDENCE_GAP: "public_security",
    Kind.BLACKLISTED_ON_PROJECT: "housing",
    Kind.COMPLAINT_ON_RED_PROJECT: "hr",
    Kind.WORK_ORDER_ESCALATED: "",
}
_TYPES = {
    Kind.PROJECT_WARNING: "project.warning.changed",
    Kind.WORKER_UNPAID: "worker.unpaid",
    Kind.RESIDENCE_GAP: "worker.residence.missing",
    Kind.BLACKLISTED_ON_PROJECT: "enterprise.blacklisted.on_project",
    Kind.COMPLAINT_ON_RED_PROJECT: "project.red.complaint_filed",
    Kind.WORK_ORDER_ESCALATED: "work_order.escalated",
}
