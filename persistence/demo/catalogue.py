"""Reference tables the demo generator draws from: markets, merchants, interaction scripts.

Everything here is computed once at import, so generating a transaction is a table look-up
and a random number rather than a Faker call. Merchant names are the chains people see on
their statements in each market; amounts are integer minor units (cents, pence) with a
plausible range per merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from domain.customer.accounts import AccountType
from domain.customer.interactions import Channel, InteractionDirection, InteractionKind
from domain.customer.profile import AcquisitionChannel


@dataclass(frozen=True, slots=True)
class Market:
    """A country the demo bank serves: its Faker locale, language, currency and phone plan."""

    country: str
    locale: str
    language: str
    currency: str
    phone_prefix: str
    """E.164 prefix of a mobile number, followed by `phone_digits` random digits."""
    phone_digits: int
    weight: int


MARKETS: tuple[Market, ...] = (
    # +44 7700 900xxx is Ofcom's range reserved for drama: these numbers ring nobody.
    Market("GB", "en_GB", "en-GB", "GBP", "+447700900", 3, 30),
    Market("DE", "de_DE", "de-DE", "EUR", "+49151", 8, 18),
    Market("FR", "fr_FR", "fr-FR", "EUR", "+336", 8, 14),
    Market("NL", "nl_NL", "nl-NL", "EUR", "+316", 8, 10),
    Market("ES", "es_ES", "es-ES", "EUR", "+346", 8, 10),
    Market("IT", "it_IT", "it-IT", "EUR", "+39347", 7, 8),
    Market("IE", "en_IE", "en-IE", "EUR", "+35385", 7, 5),
    # +1 202 555 01xx is the North American range reserved for fiction.
    Market("US", "en_US", "en-US", "USD", "+120255501", 2, 5),
)
MARKET_WEIGHTS: tuple[int, ...] = tuple(accumulate(m.weight for m in MARKETS))
UNIT_LABELS: dict[str, str] = {
    "GB": "Flat",
    "IE": "Apartment",
    "US": "Apt",
    "FR": "Appartement",
    "DE": "Wohnung",
    "ES": "Piso",
    "IT": "Interno",
}
"""How the second address line names a flat, per country (absent: no second line)."""

ACQUISITION_CHANNELS: tuple[AcquisitionChannel, ...] = (
    AcquisitionChannel.WEB,
    AcquisitionChannel.APP,
    AcquisitionChannel.BRANCH,
    AcquisitionChannel.PHONE,
    AcquisitionChannel.REFERRAL,
    AcquisitionChannel.PARTNER,
)
ACQUISITION_WEIGHTS: tuple[int, ...] = tuple(accumulate((30, 28, 14, 6, 15, 7)))

# Beyond the current account every customer has: what else people tend to hold.
EXTRA_ACCOUNT_TYPES: tuple[AccountType, ...] = (
    AccountType.CREDIT_CARD,
    AccountType.SAVINGS,
    AccountType.LOYALTY,
    AccountType.SUBSCRIPTION,
    AccountType.LOAN,
)
EXTRA_ACCOUNT_WEIGHTS: tuple[int, ...] = tuple(accumulate((35, 30, 15, 10, 10)))

ACCOUNT_NAMES: dict[AccountType, tuple[str, ...]] = {
    AccountType.CURRENT: ("Everyday Account", "Current Account", "Premier Current Account"),
    AccountType.SAVINGS: ("Easy Access Saver", "Rainy Day Saver", "Fixed Rate Saver"),
    AccountType.CREDIT_CARD: ("Classic Credit Card", "Rewards Credit Card", "Travel Card"),
    AccountType.LOAN: ("Personal Loan", "Car Loan", "Home Improvement Loan"),
    AccountType.SUBSCRIPTION: (
        "Premium Banking Plan",
        "Travel Insurance Plan",
        "Device Protection",
    ),
    AccountType.LOYALTY: ("Cashback Rewards", "Loyalty Points"),
}

# Mean card purchases per month on an account of each type; regular payments (salary,
# rent, repayments, fees) come on top. Averages about 30 transactions a month per account.
MONTHLY_PURCHASES: dict[AccountType, int] = {
    AccountType.CURRENT: 58,
    AccountType.CREDIT_CARD: 45,
    AccountType.LOYALTY: 22,
    AccountType.SAVINGS: 0,
    AccountType.SUBSCRIPTION: 0,
    AccountType.LOAN: 0,
}


@dataclass(frozen=True, slots=True)
class Merchant:
    """A place people pay: the statement text and a plausible amount range in minor units."""

    name: str
    category: str
    low: int
    high: int
    weight: int
    description: str
    """The statement line, as a card payment prints it."""


# (name, category, low, high, weight). Ranges are in minor units of the market's currency.
_COMMON: tuple[tuple[str, str, int, int, int], ...] = (
    ("Amazon", "shopping", 599, 8999, 8),
    ("Netflix", "subscriptions", 799, 1799, 2),
    ("Spotify", "subscriptions", 999, 1699, 2),
    ("Apple", "subscriptions", 99, 2999, 2),
    ("Uber", "transport", 650, 3200, 4),
    ("Starbucks", "coffee", 280, 790, 7),
    ("McDonald's", "dining", 450, 1900, 4),
    ("IKEA", "home", 900, 24000, 1),
    ("Zara", "clothing", 1990, 12000, 2),
    ("H&M", "clothing", 999, 7500, 2),
    ("Shell", "fuel", 2500, 9500, 4),
    ("Booking.com", "travel", 6500, 48000, 1),
    ("Ryanair", "travel", 2900, 21000, 1),
    ("Airbnb", "travel", 9000, 65000, 1),
    ("Deliveroo", "dining", 1400, 4800, 3),
    ("Steam", "entertainment", 499, 5999, 1),
    ("Decathlon", "sport", 899, 15000, 1),
    ("Vue Cinemas", "entertainment", 890, 3400, 1),
    ("Local Pharmacy", "health", 350, 4500, 2),
    ("Cash Machine", "cash", 2000, 20000, 3),
)
_LOCAL: dict[str, tuple[tuple[str, str, int, int, int], ...]] = {
    "GB": (
        ("Tesco", "groceries", 250, 12000, 14),
        ("Sainsbury's", "groceries", 300, 11000, 10),
        ("Aldi", "groceries", 400, 9000, 6),
        ("Pret A Manger", "coffee", 295, 1250, 6),
        ("TfL Travel", "transport", 175, 850, 10),
        ("Boots", "health", 250, 4500, 4),
        ("Greggs", "dining", 150, 900, 4),
        ("Trainline", "transport", 1200, 15000, 2),
    ),
    "DE": (
        ("REWE", "groceries", 300, 12000, 14),
        ("EDEKA", "groceries", 300, 11000, 10),
        ("Lidl", "groceries", 250, 9000, 8),
        ("dm-drogerie markt", "health", 200, 4000, 5),
        ("Deutsche Bahn", "transport", 390, 14000, 5),
        ("BVG", "transport", 300, 900, 6),
        ("Bäckerei Kamps", "coffee", 190, 900, 6),
        ("MediaMarkt", "electronics", 1999, 89900, 1),
    ),
    "FR": (
        ("Carrefour", "groceries", 300, 13000, 14),
        ("Monoprix", "groceries", 250, 8000, 9),
        ("Boulangerie Paul", "coffee", 150, 1200, 8),
        ("SNCF Connect", "transport", 900, 16000, 4),
        ("RATP", "transport", 210, 900, 8),
        ("Fnac", "electronics", 1299, 59900, 2),
        ("Pharmacie Centrale", "health", 400, 5000, 4),
    ),
    "NL": (
        ("Albert Heijn", "groceries", 250, 11000, 15),
        ("Jumbo", "groceries", 300, 10000, 9),
        ("NS Reizigers", "transport", 280, 3500, 8),
        ("HEMA", "shopping", 250, 4500, 5),
        ("Kruidvat", "health", 199, 3500, 5),
        ("Bol.com", "shopping", 999, 19900, 4),
    ),
    "ES": (
        ("Mercadona", "groceries", 300, 12000, 15),
        ("Carrefour Express", "groceries", 200, 6000, 8),
        ("Renfe", "transport", 250, 9500, 5),
        ("Metro de Madrid", "transport", 150, 1200, 7),
        ("El Corte Inglés", "shopping", 1500, 25000, 3),
        ("Cafetería Central", "coffee", 120, 800, 8),
    ),
    "IT": (
        ("Esselunga", "groceries", 300, 12000, 14),
        ("Coop", "groceries", 250, 9000, 9),
        ("Trenitalia", "transport", 500, 9900, 6),
        ("ATM Milano", "transport", 200, 900, 6),
        ("Bar Centrale", "coffee", 110, 600, 10),
        ("Farmacia Comunale", "health", 400, 4000, 4),
    ),
    "IE": (
        ("Dunnes Stores", "groceries", 300, 12000, 12),
        ("SuperValu", "groceries", 300, 11000, 10),
        ("Tesco Ireland", "groceries", 250, 10000, 8),
        ("Irish Rail", "transport", 300, 6500, 5),
        ("Dublin Bus", "transport", 200, 650, 6),
        ("Insomnia Coffee", "coffee", 300, 800, 7),
    ),
    "US": (
        ("Walmart", "groceries", 300, 15000, 12),
        ("Whole Foods Market", "groceries", 500, 16000, 8),
        ("Target", "shopping", 500, 12000, 8),
        ("Chipotle", "dining", 950, 2600, 6),
        ("CVS Pharmacy", "health", 300, 5000, 5),
        ("Exxon", "fuel", 2500, 8000, 6),
        ("Dunkin'", "coffee", 250, 900, 7),
    ),
}


def _statement_line(name: str, category: str) -> str:
    return "CASH WITHDRAWAL" if category == "cash" else f"CARD PAYMENT {name.upper()}"


MERCHANTS: dict[str, tuple[Merchant, ...]] = {
    country: tuple(
        Merchant(*row, description=_statement_line(row[0], row[1]))
        for row in (*_LOCAL[country], *_COMMON)
    )
    for country in _LOCAL
}
"""Per country: the merchants a card there is used at."""
MERCHANT_WEIGHTS: dict[str, tuple[int, ...]] = {
    country: tuple(accumulate(m.weight for m in merchants))
    for country, merchants in MERCHANTS.items()
}
"""Cumulative weights for `random.choices(cum_weights=...)`, per country."""
MEAN_PURCHASE: dict[str, float] = {
    # Amounts are drawn as low + (high - low) * u**2, whose mean is low + (high - low) / 3.
    country: sum(m.weight * (m.low + (m.high - m.low) / 3) for m in merchants)
    / sum(m.weight for m in merchants)
    for country, merchants in MERCHANTS.items()
}
"""Expected price of one card purchase in minor units, per country: budgets scale by it."""

ANNUAL_SALARY_RANGE = (24_000_00, 95_000_00)
"""Gross yearly salary in minor units; the monthly credit is a share of it."""

LANDLORDS: tuple[str, ...] = (
    "City Lettings",
    "Harbour Homes",
    "Oak Property Management",
    "Parkside Residential",
    "Home Mortgage Services",
)
UTILITIES: tuple[str, ...] = ("Energy Supply Co", "Metro Water", "FibreNet Broadband", "MobileOne")


@dataclass(frozen=True, slots=True)
class InteractionScript:
    """A kind of contact: where it happens, which way, what was said and how it ended."""

    kind: InteractionKind
    direction: InteractionDirection
    channels: tuple[Channel, ...]
    summaries: tuple[str, ...]
    outcomes: tuple[str | None, ...]
    scored: bool
    """Whether the customer is asked for a 1-5 satisfaction score afterwards."""
    weight: int


C = Channel
INTERACTION_SCRIPTS: tuple[InteractionScript, ...] = (
    InteractionScript(
        InteractionKind.SUPPORT,
        InteractionDirection.INBOUND,
        (C.PHONE, C.CHAT, C.BRANCH, C.WEB, C.EMAIL, C.APP),
        (
            "Asked how to reset the app passcode",
            "Reported a lost card and ordered a new one",
            "Asked why a card payment was declined abroad",
            "Asked for a copy of last year's statements",
            "Updated the standing order for rent",
            "Asked about the overdraft limit",
            "Could not log in to online banking",
            "Queried a pending card payment",
        ),
        (
            "Resolved on first contact",
            "Resolved after a call back",
            "Card replaced",
            "Documents sent",
            "Escalated to the specialist team",
        ),
        True,
        40,
    ),
    InteractionScript(
        InteractionKind.COMPLAINT,
        InteractionDirection.INBOUND,
        (C.PHONE, C.EMAIL, C.BRANCH, C.MAIL, C.CHAT),
        (
            "Complained about a fee charged twice",
            "Complained about waiting time on the phone",
            "Complained that a transfer arrived late",
            "Disputed a card payment not recognised",
            "Complained about a branch closing early",
        ),
        (
            "Upheld, fee refunded",
            "Upheld, apology and goodwill payment",
            "Not upheld, explanation sent",
            "Chargeback raised",
            "Referred to the complaints team",
        ),
        True,
        7,
    ),
    InteractionScript(
        InteractionKind.SALES,
        InteractionDirection.OUTBOUND,
        (C.PHONE, C.BRANCH, C.APP, C.WEB),
        (
            "Offered a savings account review",
            "Discussed a personal loan quote",
            "Presented the premium account upgrade",
            "Reviewed the mortgage options",
        ),
        (
            "Product taken up",
            "Customer will think about it",
            "Not interested",
            "Appointment booked",
        ),
        True,
        8,
    ),
    InteractionScript(
        InteractionKind.MARKETING,
        InteractionDirection.OUTBOUND,
        (C.EMAIL, C.APP, C.MAIL, C.PHONE),
        (
            "Sent the seasonal savings offer",
            "Sent the cashback partner newsletter",
            "Invited to try the new budgeting tools",
            "Sent the travel card promotion",
        ),
        ("Opened", "Clicked through", "No response", "Unsubscribed"),
        False,
        20,
    ),
    InteractionScript(
        InteractionKind.NOTIFICATION,
        InteractionDirection.OUTBOUND,
        (C.APP, C.EMAIL, C.MAIL),
        (
            "Monthly statement is available",
            "Card expires soon, a new one is on its way",
            "Terms and conditions are changing",
            "Annual summary of fees",
        ),
        (None, "Delivered", "Read"),
        False,
        20,
    ),
    InteractionScript(
        InteractionKind.SURVEY,
        InteractionDirection.OUTBOUND,
        (C.EMAIL, C.APP, C.WEB, C.PHONE),
        (
            "How likely are you to recommend us",
            "How was your recent branch visit",
            "Rate your experience with the mobile app",
        ),
        ("Answered", "Answered with comments", "Not answered"),
        True,
        5,
    ),
)
INTERACTION_WEIGHTS: tuple[int, ...] = tuple(accumulate(s.weight for s in INTERACTION_SCRIPTS))

CAMPAIGNS: tuple[str, ...] = (
    "spring-savings-boost",
    "cashback-partners",
    "budgeting-tools",
    "travel-card-summer",
    "premium-upgrade",
    "refer-a-friend",
)

EMPLOYERS: tuple[str, ...] = (
    "Northwind Logistics",
    "Bluewater Health Trust",
    "Contoso Retail",
    "Fabrikam Engineering",
    "Lakeside Council",
    "Tailspin Airlines",
    "Woodgrove Software",
    "Adventure Works",
    "Litware Media",
)
