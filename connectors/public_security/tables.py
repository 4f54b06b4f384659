"""What the police can load into the hub: identities (household registration) and
temporary residence registrations. A residence must name an identity the police sent."""

from __future__ import annotations

from typing import Any, Final

from connectors.public_security.models import Identity, ImportBatch, Residence
from ingest import columns, values
from ingest.tables import ColumnSpec, Problem, RowRule, TableSpec
from ingest.targets import AgencyTables, Importable, Reference
from kernel.scopes import Scope

INGEST: Final = Scope(
    "ingest:public_security",
    "公安数据报送",
    "Load the police's own tables: identities and temporary residence registrations.",
)

RESIDENCE_STATUS: Final = {
    "valid": ("有效", "正常"),
    "expired": ("已过期", "过期", "失效"),
    "cancelled": ("已注销", "注销"),
}

IDENTITIES_SPEC: Final = TableSpec(
    agency="public_security", name="identities", title="人口身份信息", title_en="identities",
    key=("id_number",),
    columns=(
        columns.id_number("id_number"),
        columns.worker_name("name"),
        columns.region_code("household_region_code", "户籍地区代码", "户籍所在地代码"),
        ColumnSpec(
            "household_address", "户籍地址", values.text(200), synonyms=("户籍地", "address")
        ),
    ),
)  # fmt: skip


def _valid_after_registered(registered: object, until: object) -> Problem | None:
    if registered is not None and until is not None and until < registered:  # type: ignore[operator]
        return ("valid_until", "valid until a day before it was registered", "有效期早于登记日期")
    return None


RESIDENCES_SPEC: Final = TableSpec(
    agency="public_security", name="residences", title="临时居住登记",
    title_en="temporary residence registrations",
    key=("registration_no",),
    rules=(RowRule(("registered_on", "valid_until"), _valid_after_registered),),
    columns=(
        ColumnSpec("registration_no", "登记编号", values.text(32), synonyms=("居住证编号",)),
        columns.id_number("id_number"),
        columns.region_code("region_code", "居住地区代码", "居住地行政区划代码"),
        ColumnSpec("address", "居住地址", values.text(200), synonyms=("暂住地址", "住址")),
        ColumnSpec("registered_on", "登记日期", values.date(), synonyms=("申报日期",)),
        ColumnSpec("valid_until", "有效期至", values.date(), synonyms=("截止日期",)),
        ColumnSpec(
            "status", "登记状态", values.enumeration(RESIDENCE_STATUS), synonyms=("状态",)
        ),
    ),
)  # fmt: skip


def _table(model: Any) -> Any:
    return model.__table__


IDENTITIES: Final = Importable(
    IDENTITIES_SPEC, _table(Identity), key=("id_number",), entities=(("Worker", "id_number"),)
)
RESIDENCES: Final = Importable(
    RESIDENCES_SPEC,
    _table(Residence),
    key=("registration_no",),
    references=(
        Reference(("id_number",), "ps_identity", ("id_number",), "identity", "人口身份信息"),
    ),
    entities=(("Worker", "id_number"),),
)

TABLES: Final = AgencyTables(
    "public_security",
    INGEST,
    _table(ImportBatch),
    (IDENTITIES, RESIDENCES),
    module=__name__,
)
