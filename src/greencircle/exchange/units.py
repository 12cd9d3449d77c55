"""The unit of every traded quantity and price, from one source: the instrument class.

Each registry instrument class (``registry/data/instruments.toml``, read through the
registry's public catalog) declares its unit: allowances and offsets in ``tCO2e``,
pollutant-discharge rights in ``kg``, water rights in ``m3``, energy-use rights in
``tce``. Exchange quantities are whole units of that unit and prices are money of the
market's currency per one unit (``CNY/kg``); the API returns the codes (``unit``,
``currency``, ``price_unit``), screens show them through :mod:`greencircle.kit.fmt`.
Nothing in the exchange assumes tonnes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from greencircle.kit import fmt
from greencircle.registry.markets import default_catalog

__all__ = [
    "class_units_text",
    "display_helpers",
    "instrument_units",
    "market_currency",
    "price_text",
    "price_unit",
    "unit_fields",
    "unit_of",
]

#: Decimals of a price on screen (the tick is 0.01 of the currency in every market).
PRICE_PLACES = 2


def unit_of(instrument_class: str) -> str:
    """The unit code of an instrument class (``"pollutant"`` → ``"kg"``)."""
    return default_catalog().instrument_class(instrument_class).unit


def market_currency(market_code: str) -> str:
    """The currency code of a market (``"CN-CQ"`` → ``"CNY"``)."""
    return default_catalog().market(market_code).currency.value


def price_unit(currency: str, unit: str) -> str:
    """The code of a price per unit: ``("CNY", "kg")`` → ``"CNY/kg"``."""
    return f"{currency}/{unit}"


def unit_fields(market_code: str, instrument_class: str) -> dict[str, str]:
    """``unit``, ``currency`` and ``price_unit`` of an instrument of ``market_code``, for API
    views (codes as stored, e.g. ``{"unit": "kg", "currency": "CNY", "price_unit":
    "CNY/kg"}``)."""
    unit = unit_of(instrument_class)
    currency = market_currency(market_code)
    return {"unit": unit, "currency": currency, "price_unit": price_unit(currency, unit)}


def instrument_units(instrument_code: str) -> dict[str, str]:
    """:func:`unit_fields` of an instrument by its code (``market:product:vintage[:…]``)."""
    market_code, product = instrument_code.split(":", 2)[:2]
    cls = default_catalog().market(market_code).product(product).class_code
    return unit_fields(market_code, cls)


def price_text(value: Decimal | str | None, currency: str, unit: str, lang: str) -> str:
    """A price as people read it: ``("4000.00", "CNY", "kg", "en")`` → ``"4,000.00 CNY/kg"``."""
    if value is None or value == "":
        return "–"
    number = fmt.number(value, lang, places=PRICE_PLACES, min_places=PRICE_PLACES)
    return f"{number} {currency}/{fmt.unit_label(unit)}"


def class_units_text(lang: str) -> str:
    """Every instrument class with its unit label, in ``lang``: ``"碳排放配额 tCO₂e；…"``
    (from the registry catalog: the note on the exchange overview)."""
    sep = "；" if lang == "zh-CN" else "; "
    return sep.join(
        f"{c.name_zh if lang == 'zh-CN' else c.name_en} {fmt.unit_label(c.unit)}"
        for c in default_catalog().classes.values()
    )


def display_helpers(lang: str) -> dict[str, Any]:
    """Template helpers of the exchange pages in ``lang``: ``fmt_price(value, currency,
    unit)`` and ``fmt_units(value, unit)`` (whole units with their unit label)."""

    def fmt_price(value: Decimal | str | None, currency: str, unit: str) -> str:
        return price_text(value, currency, unit, lang)

    def fmt_units(value: int | str | None, unit: str) -> str:
        return fmt.quantity(value, unit, lang, places=0)

    def unit_price(currency: str, unit: str) -> str:
        return f"{currency}/{fmt.unit_label(unit)}"

    return {"fmt_price": fmt_price, "fmt_units": fmt_units, "unit_price": unit_price}
