"""Columns every agency's files carry, declared once: the keys that join agencies' records
(ID numbers, credit codes, project codes, case numbers) with the headers agencies and the
national interface use for them."""

from __future__ import annotations

from ingest import values
from ingest.tables import ColumnSpec

ID_NUMBER_HEADERS = (
    "身份证号",
    "身份证号码",
    "证件号码",
    "公民身份证号",
    "idCardNumber",
    "idNumber",
)


def id_number(
    name: str = "worker_id_number", title: str = "公民身份号码", *, required: bool = True
) -> ColumnSpec:
    """A worker's (or any person's) ID number, GB 11643."""
    synonyms = tuple(h for h in ID_NUMBER_HEADERS if h != title)
    return ColumnSpec(name, title, values.id_number(), required=required, synonyms=synonyms)


def worker_name(name: str = "worker_name", *, required: bool = True) -> ColumnSpec:
    return ColumnSpec(
        name, "姓名", values.text(50), required=required,
        synonyms=("工人姓名", "人员姓名", "workerName", "name"),
    )  # fmt: skip


def project_code(*, required: bool = True) -> ColumnSpec:
    """The project's code as the housing platform assigns it."""
    return ColumnSpec(
        "project_code", "项目编码", values.text(32), required=required,
        synonyms=("项目编号", "项目代码", "projectCode"),
    )  # fmt: skip


def uscc(name: str, title: str, *synonyms: str, required: bool = True) -> ColumnSpec:
    """An enterprise's unified social credit code, GB 32100."""
    return ColumnSpec(name, title, values.uscc(), required=required, synonyms=synonyms)


def case_number() -> ColumnSpec:
    return ColumnSpec("case_number", "案号", values.case_number(), synonyms=("caseNumber",))


def region_code(
    name: str = "region_code", title: str = "行政区划代码", *synonyms: str
) -> ColumnSpec:
    return ColumnSpec(
        name, title, values.region_code(), synonyms=(*synonyms, "地区代码", "regionCode")
    )
