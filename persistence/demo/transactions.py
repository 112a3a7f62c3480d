"""Two years of plausible money movements on one demo customer's accounts.

An `AccountHistory` walks the calendar month by month and posts what that kind of account
sees: card purchases at the market's merchants, salary, rent and utility direct debits on
the current account, card and loan repayments, standing orders into savings, interest,
cashback, plan fees. Movements between two of the customer's accounts are posted on both
sides, and spending is scaled to the customer's income (`Budget`), so balances stay
plausible. This is the hot path of `custodian demo` (about two thousand rows a customer),
so a movement is a plain tuple (`Movement`), not a `domain.customer.accounts.Transaction`: one
merchant look-up, a few random numbers and one tuple per row.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from domain.customer.accounts import Account, AccountType, TransactionDirection, TransactionStatus
from persistence.demo import catalogue as cat

HISTORY_MONTHS = 24
"""Whole calendar months of history before the month of `as_of`."""
PENDING_WINDOW = timedelta(days=3)
"""Movements this close to the end of the history are not booked yet."""
REVERSAL_RATE = 0.004
_MONTH = timedelta(days=30)

# Plain strings, the stored values of the domain enums: cheaper to carry per row.
CREDIT: str = TransactionDirection.CREDIT.value
DEBIT: str = TransactionDirection.DEBIT.value
BOOKED: str = TransactionStatus.BOOKED.value
PENDING: str = TransactionStatus.PENDING.value
REVERSED: str = TransactionStatus.REVERSED.value
Period = tuple[datetime, datetime]
Movement = tuple[datetime, int, str, str, str, str, str | None, str | None]
"""One transaction: (booked_at, amount in minor units (positive), direction, status,
description, category, merchant, reference). Its id is given when it is stored
(`persistence.demo.generate.demo_transaction_ids`), in storing order."""


def month_periods(as_of: date, months: int) -> list[Period]:
    """Calendar months from `months` before the month of `as_of` up to midnight of `as_of`.

    The last period is the current month so far (empty when `as_of` is the first).
    """
    year, month = as_of.year, as_of.month - months
    while month < 1:
        year, month = year - 1, month + 12
    starts = []
    for _ in range(months + 1):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    return [*pairwise(starts), (starts[-1], end)]


def cents(value: int) -> Decimal:
    """Minor units as an exact two-decimal amount: 1234 -> Decimal('12.34')."""
    return Decimal(value).scaleb(-2)


@dataclass(frozen=True, slots=True)
class Budget:
    """One customer's monthly money: income, fixed costs, and how freely they spend."""

    employer: str
    net_salary: int
    landlord: str
    rent: int
    utilities: tuple[tuple[str, int, int], ...]
    """(payee, amount, day of month) of each utility direct debit."""
    saving: int
    loan_instalment: int
    plan_fee: int
    spend_factor: float
    """Multiplies catalogue prices, so card spending fits what is left after fixed costs."""


def make_budget(rng: random.Random, market: cat.Market, kinds: set[AccountType]) -> Budget:
    """Draw a budget for a customer holding accounts of `kinds`."""
    net = int(rng.randint(*cat.ANNUAL_SALARY_RANGE) / 12 * rng.uniform(0.68, 0.76))
    rent = int(net * rng.uniform(0.22, 0.32))
    utilities = tuple(
        (name, rng.randint(25_00, 110_00), rng.randint(4, 15))
        for name in rng.sample(cat.UTILITIES, k=rng.randint(2, 4))
    )
    saving = int(net * rng.uniform(0.04, 0.12)) if AccountType.SAVINGS in kinds else 0
    loan = rng.randint(120_00, 450_00) if AccountType.LOAN in kinds else 0
    fee = rng.choice((4_99, 9_99, 14_99)) if AccountType.SUBSCRIPTION in kinds else 0
    left = net - rent - sum(u[1] for u in utilities) - saving - loan - fee
    purchases = cat.MONTHLY_PURCHASES[AccountType.CURRENT]
    if AccountType.CREDIT_CARD in kinds:
        purchases += cat.MONTHLY_PURCHASES[AccountType.CREDIT_CARD]
    # Spend 85-100 % of what is left, so balances drift a little but stay plausible.
    target = left * rng.uniform(0.85, 1.0)
    factor = max(target / (purchases * cat.MEAN_PURCHASE[market.country]), 0.2)
    return Budget(
        rng.choice(cat.EMPLOYERS),
        net,
        rng.choice(cat.LANDLORDS),
        rent,
        utilities,
        saving,
        loan,
        fee,
        factor,
    )


class AccountHistory:
    """The account and its balance (in minor units) while its transactions are generated."""

    def __init__(
        self, account: Account, market: cat.Market, budget: Budget, rng: random.Random
    ) -> None:
        self.account = account
        self.market = market
        self.budget = budget
        self.rng = rng
        self.balance = _opening_balance(rng, account.type)
        self.current = self
        self.pending_after = datetime.max.replace(tzinfo=UTC)
        self.spent_last_month = 0
        self.movements: list[Movement] = []

    def link(self, current: AccountHistory) -> None:
        """Make `current` the other side of this account's internal transfers."""
        self.current = current

    def finished_account(self) -> Account:
        """The account with the balance its booked transactions add up to."""
        return replace(self.account, balance=cents(self.balance))

    def post(
        self,
        booked_at: datetime,
        amount: int,
        direction: str,
        description: str,
        category: str,
        *,
        merchant: str | None = None,
        reference: str | None = None,
        may_reverse: bool = False,
    ) -> None:
        """Record one movement of `amount` minor units; booked ones move the balance."""
        if booked_at >= self.pending_after:
            status = PENDING
        elif may_reverse and self.rng.random() < REVERSAL_RATE:
            status = REVERSED
        else:
            status = BOOKED
            self.balance += amount if direction == CREDIT else -amount
        self.movements.append(
            (booked_at, amount, direction, status, description, category, merchant, reference)
        )

    def start(self, periods: list[Period]) -> None:
        """Fix when movements turn pending; fund an account opened during the history.

        Called on every account before any `generate`, the current account first.
        """
        self.pending_after = periods[-1][1] - PENDING_WINDOW
        if self.account.opened_at < periods[0][0]:
            return  # the opening balance stands for everything before the history
        opening, self.balance = self.balance, 0
        if self is self.current:
            self.post(self.account.opened_at, opening, CREDIT, "OPENING DEPOSIT", "transfers")
        elif opening:
            text = "LOAN DRAWDOWN" if opening < 0 else "OPENING DEPOSIT"
            self.transfer(self.account.opened_at, abs(opening), opening > 0, text, "transfers")

    def generate(self, periods: list[Period]) -> None:
        """Record this account's movements over `periods`."""
        account, end = self.account, periods[-1][1]
        stop_at = min(account.closed_at or end, end)
        for start, stop in periods:
            low, high = max(start, account.opened_at), min(stop, stop_at)
            if low < high:
                self._month(start, low, high)
        if account.closed_at is not None and account.closed_at < end and self.balance:
            self.transfer(
                account.closed_at,
                abs(self.balance),
                self.balance < 0,
                "ACCOUNT CLOSURE",
                "transfers",
            )

    def _month(self, start: datetime, low: datetime, high: datetime) -> None:
        purchases = cat.MONTHLY_PURCHASES[self.account.type]
        spent = 0
        if purchases:
            share = min((high - low) / _MONTH, 1.0)
            count = round(purchases * share * (0.75 + self.rng.random() / 2))
            spent = self._purchases(low, high, count)
        _SCHEDULES[self.account.type](self, start, low, high)
        self.spent_last_month = spent

    def _purchases(self, low: datetime, high: datetime, count: int) -> int:
        """Card payments at the market's merchants; returns what they cost."""
        rng, country = self.rng, self.market.country
        merchants = rng.choices(
            cat.MERCHANTS[country], cum_weights=cat.MERCHANT_WEIGHTS[country], k=count
        )
        first, span = low.timestamp(), (high - low).total_seconds()
        factor = self.budget.spend_factor
        loyalty = self.account.type is AccountType.LOYALTY
        total = 0
        for merchant in merchants:
            # Squaring the uniform draw skews amounts towards the cheap end of the range.
            price = merchant.low + (merchant.high - merchant.low) * rng.random() ** 2
            amount = max(int(price * factor), 1)
            booked = datetime.fromtimestamp(first + span * rng.random(), UTC)
            if loyalty:  # cashback earned on a purchase made elsewhere: 1-3 percent of it
                self.post(
                    booked,
                    max(amount // 60, 1),
                    CREDIT,
                    f"CASHBACK {merchant.name.upper()}",
                    "rewards",
                    merchant=merchant.name,
                )
            else:
                self.post(
                    booked,
                    amount,
                    DEBIT,
                    merchant.description,
                    merchant.category,
                    merchant=merchant.name,
                    may_reverse=True,
                )
                total += amount
        return total

    def on_day(self, start: datetime, day: int, low: datetime, high: datetime) -> datetime | None:
        """`day` of the month starting at `start`, at a random hour, if the account was open."""
        at = start + timedelta(days=day - 1, seconds=self.rng.randrange(6 * 3600, 20 * 3600))
        return at if low <= at < high else None

    def transfer(
        self, at: datetime, amount: int, into_self: bool, text: str, category: str
    ) -> None:
        """A movement between this account and the current account, posted on both sides."""
        mine, theirs = (CREDIT, DEBIT) if into_self else (DEBIT, CREDIT)
        reference = f"TRF-{self.rng.randrange(10**8):08d}"
        self.post(at, amount, mine, text, category, reference=reference)
        self.current.post(
            at, amount, theirs, f"{text} {self.account.name.upper()}", category, reference=reference
        )


def _current(h: AccountHistory, start: datetime, low: datetime, high: datetime) -> None:
    """Salary in, rent and utilities out."""
    b, rng = h.budget, h.rng
    if at := h.on_day(start, rng.randint(25, 28), low, high):
        h.post(
            at,
            int(b.net_salary * rng.uniform(0.98, 1.03)),
            CREDIT,
            f"SALARY {b.employer.upper()}",
            "income",
            merchant=b.employer,
            reference=f"SAL-{start:%Y%m}",
        )
    if at := h.on_day(start, 1, low, high):
        h.post(
            at,
            b.rent,
            DEBIT,
            f"DIRECT DEBIT {b.landlord.upper()}",
            "housing",
            merchant=b.landlord,
            reference=f"DD-{start:%Y%m}-RENT",
        )
    for payee, amount, day in b.utilities:
        if at := h.on_day(start, day, low, high):
            h.post(
                at,
                int(amount * rng.uniform(0.9, 1.1)),
                DEBIT,
                f"DIRECT DEBIT {payee.upper()}",
                "utilities",
                merchant=payee,
                reference=f"DD-{start:%Y%m}",
            )


def _credit_card(h: AccountHistory, start: datetime, low: datetime, high: datetime) -> None:
    """Last month's spending repaid in full from the current account."""
    if h.spent_last_month and (at := h.on_day(start, 3, low, high)):
        h.transfer(at, h.spent_last_month, True, "CARD REPAYMENT", "transfers")


def _savings(h: AccountHistory, start: datetime, low: datetime, high: datetime) -> None:
    """A standing order in, interest at month end, now and then a withdrawal."""
    rng = h.rng
    if at := h.on_day(start, 2, low, high):
        h.transfer(at, h.budget.saving, True, "STANDING ORDER", "savings")
    if (
        rng.random() < 0.12
        and h.balance > 100_00
        and (at := h.on_day(start, rng.randint(5, 24), low, high))
    ):
        h.transfer(at, int(h.balance * rng.uniform(0.1, 0.4)), False, "WITHDRAWAL", "transfers")
    if h.balance > 0 and (at := h.on_day(start, 28, low, high)):
        h.post(at, max(h.balance * 3 // 1200, 1), CREDIT, "INTEREST PAID", "interest")


def _loan(h: AccountHistory, start: datetime, low: datetime, high: datetime) -> None:
    """The monthly instalment, until the loan is repaid."""
    if h.balance < 0 and (at := h.on_day(start, 1, low, high)):
        h.transfer(
            at, min(h.budget.loan_instalment, -h.balance), True, "LOAN REPAYMENT", "loan_repayment"
        )


def _subscription(h: AccountHistory, start: datetime, low: datetime, high: datetime) -> None:
    """The plan fee charged, then collected by direct debit from the current account."""
    if at := h.on_day(start, 1, low, high):
        h.post(at, h.budget.plan_fee, DEBIT, "MONTHLY PLAN FEE", "fees")
        h.transfer(at, h.budget.plan_fee, True, "PLAN FEE DIRECT DEBIT", "fees")


def _loyalty(h: AccountHistory, start: datetime, low: datetime, high: datetime) -> None:
    """Every few months the customer spends their rewards."""
    rng = h.rng
    if (
        rng.random() < 0.25
        and h.balance > 5_00
        and (at := h.on_day(start, rng.randint(1, 28), low, high))
    ):
        h.post(at, int(h.balance * rng.uniform(0.5, 1.0)), DEBIT, "REWARD REDEEMED", "rewards")


_SCHEDULES: dict[AccountType, Callable[[AccountHistory, datetime, datetime, datetime], None]] = {
    AccountType.CURRENT: _current,
    AccountType.CREDIT_CARD: _credit_card,
    AccountType.SAVINGS: _savings,
    AccountType.LOAN: _loan,
    AccountType.SUBSCRIPTION: _subscription,
    AccountType.LOYALTY: _loyalty,
}
"""What each kind of account sees every month besides card purchases."""


def _opening_balance(rng: random.Random, kind: AccountType) -> int:
    """The balance in minor units before the generated history starts."""
    match kind:
        case AccountType.CURRENT:
            return rng.randint(200_00, 4_000_00)
        case AccountType.SAVINGS:
            return rng.randint(500_00, 25_000_00)
        case AccountType.LOAN:
            return -rng.randint(3_000_00, 30_000_00)
        case AccountType.LOYALTY:
            return rng.randint(0, 50_00)
        case _:
            return 0
