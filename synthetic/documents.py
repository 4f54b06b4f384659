"""Places, banks and the numbers on the world's papers.

ID numbers (a bijection of a worker's serial, so batches never collide), payroll-card numbers
with their Luhn digit, wage special accounts, deposits, insurance policies, temporary
residence registrations and certificates; the court and mediation committee of a district;
amounts in yuan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from kernel.identifiers import id_number_check_char
from kernel.regions import ORIGIN_COUNTIES, SITE_DISTRICTS, Region
from synthetic.facts import InjuryInsurance, Residence, WageAccount, WageDeposit
from synthetic.stories import STORY_ORDER_CODES_FROM

# --- places -----------------------------------------------------------------------------

SITES: Final = {r.code: r for r in SITE_DISTRICTS}
ORIGINS: Final = {r.code: r for r in ORIGIN_COUNTIES}
CITY_ABBREVIATIONS: Final = {
    "郑州市": "郑", "芜湖市": "芜", "南京市": "宁", "无锡市": "锡", "杭州市": "杭", "宁波市": "甬",
    "重庆市": "渝", "贵阳市": "筑", "长沙市": "长", "武汉市": "武", "佛山市": "佛",
}  # fmt: skip


def local_name(site: Region) -> str:
    """新密市 for a county-level city, 郑州市中原区 for a city district."""
    return site.name if site.name.endswith("市") else site.city + site.name


def court_name(region_code: str) -> str:
    return f"{local_name(SITES[region_code])}人民法院"


def committee_name(region_code: str) -> str:
    return f"{SITES[region_code].name}建筑业劳资纠纷人民调解委员会"


# --- identities -------------------------------------------------------------------------

_BORN_FROM: Final = date(1965, 1, 1)
_BIRTH_DAYS: Final = (date(2003, 12, 31) - _BORN_FROM).days + 1
_MALE_ORDER_SLOTS: Final = 450  # of 500: odd codes 1-899 for men, even 0-98 for women
_ORDER_SLOTS: Final = 500
# A prime above the identity space, hence coprime with it: serial -> slot is a bijection.
_SCRAMBLE: Final = 2_147_483_647


class IdentitySpace:
    """Distinct ID numbers from worker serials: origin county x birth 1965-2003 x order code.

    Order codes stay below the stories' (900-999); nine in ten workers are men.
    """

    def __init__(self, rng: random.Random) -> None:
        self._births = [f"{_BORN_FROM + timedelta(days=d):%Y%m%d}" for d in range(_BIRTH_DAYS)]
        self._size = len(ORIGIN_COUNTIES) * _BIRTH_DAYS * _ORDER_SLOTS
        assert self._size < _SCRAMBLE
        self._offset = rng.randrange(self._size)

    def id_number(self, serial: int) -> tuple[str, bool]:
        """The serial's ID number and whether it is a man's."""
        slot = (serial * _SCRAMBLE + self._offset) % self._size
        slot, county = divmod(slot, len(ORIGIN_COUNTIES))
        slot, born = divmod(slot, _BIRTH_DAYS)
        order = 2 * slot + 1 if slot < _MALE_ORDER_SLOTS else 2 * (slot - _MALE_ORDER_SLOTS)
        assert order < STORY_ORDER_CODES_FROM
        first17 = f"{ORIGIN_COUNTIES[county].code}{self._births[born]}{order:03d}"
        return first17 + id_number_check_char(first17), order % 2 == 1


# --- banks and money --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bank:
    name: str
    card_bin: str
    account_prefix: str


BANKS: Final = (
    Bank("中国工商银行", "622202", "17"),
    Bank("中国农业银行", "622848", "16"),
    Bank("中国银行", "621661", "25"),
    Bank("中国建设银行", "621700", "41"),
    Bank("中国邮政储蓄银行", "621799", "94"),
)
STORY_BANK: Final = BANKS[3]

_LUHN_DOUBLED: Final = str.maketrans("0123456789", "0246813579")  # 2d, digits summed


def card_number(bank: Bank, serial: int) -> str:
    """A 19-digit card number with its Luhn check digit (string arithmetic: a million calls)."""
    body = f"{bank.card_bin}{serial:012d}"
    doubled = body[-1::-2].translate(_LUHN_DOUBLED)  # every other digit from the right
    total = sum(doubled.encode()) + sum(body[-2::-2].encode()) - ord("0") * len(body)
    return body + str(-total % 10)


def wage_account(bank: Bank, site: Region, code: str, opened_on: date, status: str) -> WageAccount:
    return WageAccount(
        account_no=bank.account_prefix + code,
        bank_name=f"{bank.name}{local_name(site)}支行",
        opened_on=opened_on,
        status=status,
    )


def wage_deposit(contract_price_fen: int, paid_on: date, status: str) -> WageDeposit:
    """2% of the contract price, capped at 3 million yuan, in whole hundreds of yuan."""
    amount = min(contract_price_fen // 50, 300_000_000) // 10_000 * 10_000
    return WageDeposit(amount_fen=amount, status=status, paid_on=paid_on)


def injury_insurance(code: str, start: date, end: date) -> InjuryInsurance:
    return InjuryInsurance(policy_no=f"GS{code}", insured_from=start, insured_to=end)


def round_up(fen: int, step: int = 10_000) -> int:
    return -(-fen // step) * step


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}元"


# --- residence registrations and certificates -------------------------------------------

RENEWED: Final = 365  # days a registration renewed every year is valid for
SHORT_STAY: Final = 180  # days of a registration that has since lapsed
CERTIFICATE_TERM: Final = timedelta(days=5 * 365 + 1)


def residence(
    serial: int, k: int, site: Region, address: str, registered: date, term: int, end: date
) -> Residence:
    """The worker's k-th registration, valid `term` days; its status as of `end`."""
    valid_until = registered + timedelta(days=term)
    return Residence(
        registration_no=f"JZ{site.code}{registered:%Y%m%d}{serial:08d}{k}",
        region_code=site.code,
        address=address,
        registered_on=registered,
        valid_until=valid_until,
        status="valid" if valid_until >= end else "expired",
    )


def renewed_since(rng: random.Random, entry: date, end: date) -> date:
    """When a registration valid on `end` was last renewed: yearly since soon after entry."""
    registered = min(entry + timedelta(days=rng.randint(0, 20)), end)
    return registered + timedelta(days=365 * ((end - registered).days // 365))
