"""Pure, exact emission calculations (Decimal in, Decimal out; no I/O).

Rounding rule (identical in the batch engine, see :mod:`greencircle.mrv.engine`):

1. a measured NCV is converted to GJ per fuel unit with an exact ratio and rounded half to
   even to 10 decimals (input numbers carry at most 10 decimals);
2. for fuels the carbon per fuel unit ``C = NCV x CC x OF / 1000`` [tC/unit] is rounded half
   to even to ``FACTOR_SCALE`` = 12 decimals (exact for every published default and for
   measured values with up to 4 decimals each);
3. emissions ``quantity x unit ratio x factor (x 44/12)`` are computed exactly and rounded
   once, half to even, to ``RESULT_SCALE`` = 10 decimals [tCO2].

The activity in the factor's unit is reported separately (rounded half to even to 10
decimals); it is not an intermediate of the emissions. All products are exact, so the
result does not depend on row order, grouping, platform or thread count.

References
----------
.. [1] 国家发展改革委办公厅, 中国发电企业等24个行业企业温室气体排放核算方法与报告指南（试行）,
   2013-2015 (E = FC x NCV x CC x OF x 44/12; purchased electricity and heat).
.. [2] 生态环境部, 企业温室气体排放核算与报告指南 发电设施 (环办气候函〔2022〕111号).
.. [3] IPCC 2006 Guidelines for National Greenhouse Gas Inventories, Vol.2 Ch.1 (Tier 1
   stationary combustion) and Vol.3 Ch.2 (mineral industry: clinker, carbonates).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from greencircle.mrv._exact import (
    ACTIVITY_SCALE,
    FACTOR_SCALE,
    INPUT_SCALE,
    RESULT_SCALE,
    decimal_places,
    from_scaled,
    round_half_even,
    to_scaled,
)
from greencircle.mrv.errors import InvalidInputError
from greencircle.mrv.factors import (
    METHOD_ELECTRICITY,
    METHOD_FUEL,
    METHOD_GWP,
    METHOD_HEAT,
    FactorLibrary,
    load_library,
    worst_status,
)
from greencircle.mrv.units import Ratio, activity_ratio, ncv_ratio

__all__ = [
    "ENGINE_NAME",
    "ENGINE_VERSION",
    "METHOD_IDS",
    "Calculation",
    "activity_in_factor_unit",
    "calculate_activity",
    "carbonate_tco2",
    "clinker_tco2",
    "clinker_tier2_tco2",
    "co2e_t",
    "electricity_tco2",
    "fuel_carbon_tc_per_unit",
    "fuel_combustion_tco2",
    "heat_tco2",
    "ipcc_fuel_combustion_tco2",
    "method_id",
    "non_co2_tco2e",
]

ENGINE_NAME: Final = "greencircle.mrv"
ENGINE_VERSION: Final = "1.0.0"
"""Version of the calculation engine (bump when any rounding or formula changes)."""

METHOD_IDS: Final = {
    "fuel": "fuel_combustion@1",
    "electricity": "purchased_electricity@1",
    "electricity/exported": "exported_electricity@1",
    "heat": "purchased_heat@1",
    "heat/exported": "exported_heat@1",
    "ipcc_fuel": "ipcc2006_fuel_combustion@1",
    "clinker": "ipcc2006_clinker_tier1@1",
    "clinker_tier2": "ipcc2006_clinker_tier2@1",
    "carbonate": "ipcc2006_carbonate@1",
    "gwp": "gwp100_co2e@1",
}
"""Method ids (``name@version``) written into results and receipts."""

MAX_ACTIVITY: Final = 10**9
"""Upper bound (exclusive) of one activity row in the factor's unit (t, 10^4 Nm3, MWh, GJ)."""
MAX_QUANTITY_X_RATIO: Final = 10**13
"""Upper bound (exclusive) of quantity x numerator of its unit ratio (overflow guard)."""
MAX_CARBON_PER_UNIT: Final = Decimal(100)
"""Upper bound (exclusive) of carbon per fuel unit [tC/unit] from measured parameters."""


def method_id(category: str, direction: str = "consumed") -> str:
    """Method id for an activity category and direction."""
    key = f"{category}/exported" if direction == "exported" else category
    return METHOD_IDS[key]


def _non_negative(name: str, value: Decimal) -> None:
    if not value.is_finite() or value < 0:
        raise InvalidInputError(f"{name} must be a finite decimal >= 0, got {value}")


def _positive(name: str, value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise InvalidInputError(f"{name} must be a finite decimal > 0, got {value}")


def _rounded(exact: Fraction, scale: int) -> Decimal:
    return from_scaled(round_half_even(exact.numerator * 10**scale, exact.denominator), scale)


def activity_in_factor_unit(quantity: Decimal, ratio: Ratio) -> Decimal:
    """Activity converted to the factor's unit, rounded half-even to 10 decimals.

    Parameters
    ----------
    quantity : Decimal
        Reported quantity (>= 0) in its own unit.
    ratio : Ratio
        Exact conversion ratio to the factor's unit (:mod:`greencircle.mrv.units`).

    Returns
    -------
    Decimal
        ``[[quantity x ratio]]_10`` in the factor's unit.
    """
    _non_negative("quantity", quantity)
    return _rounded(Fraction(quantity) * ratio.fraction, ACTIVITY_SCALE)


def fuel_carbon_tc_per_unit(
    ncv_gj_per_unit: Decimal, carbon_content_tc_per_tj: Decimal, oxidation_rate: Decimal
) -> Decimal:
    """Oxidised carbon per fuel unit ``C = NCV x CC x OF / 1000`` [tC/unit], 12 decimals.

    Parameters
    ----------
    ncv_gj_per_unit : Decimal
        Net calorific value [GJ/t or GJ/10^4 Nm3].
    carbon_content_tc_per_tj : Decimal
        Carbon content per unit of heat [tC/TJ].
    oxidation_rate : Decimal
        Carbon oxidation rate [-], 0 < OF <= 1.
    """
    _positive("ncv", ncv_gj_per_unit)
    _positive("carbon content", carbon_content_tc_per_tj)
    _positive("oxidation rate", oxidation_rate)
    if oxidation_rate > 1:
        raise InvalidInputError(f"oxidation rate must be <= 1, got {oxidation_rate}")
    exact = (
        Fraction(_at_input_scale(ncv_gj_per_unit))
        * Fraction(_at_input_scale(carbon_content_tc_per_tj))
        * Fraction(_at_input_scale(oxidation_rate))
        / 1000
    )
    return _rounded(exact, FACTOR_SCALE)


def _at_input_scale(value: Decimal) -> Decimal:
    return from_scaled(to_scaled(value, INPUT_SCALE), INPUT_SCALE)


def fuel_combustion_tco2(
    consumption: Decimal,
    ncv_gj_per_unit: Decimal,
    carbon_content_tc_per_tj: Decimal,
    oxidation_rate: Decimal,
) -> Decimal:
    """CO2 from fuel combustion, China ETS method [tCO2].

    Parameters
    ----------
    consumption : Decimal
        Fuel consumed in the fuel's unit [t, or 10^4 Nm3 for gaseous fuels].
    ncv_gj_per_unit : Decimal
        Net calorific value [GJ/t or GJ/10^4 Nm3]; measured value where available.
    carbon_content_tc_per_tj : Decimal
        Carbon content per unit of heat [tC/TJ].
    oxidation_rate : Decimal
        Carbon oxidation rate [-].

    Returns
    -------
    Decimal
        Emissions [tCO2] with 10 decimals.

    Notes
    -----
    .. math:: E = FC \\times NCV \\times CC \\times OF \\times 44/12

    with CC converted from tC/TJ to tC/GJ (/1000). Evaluated as
    ``[[ FC x [[NCV x CC x OF / 1000]]_12 x 44/12 ]]_10`` (half-even roundings).

    Examples
    --------
    >>> fuel_combustion_tco2(Decimal(1), Decimal("42.652"), Decimal("20.2"), Decimal("0.98"))
    Decimal('3.0959096373')
    """
    _non_negative("consumption", consumption)
    carbon = fuel_carbon_tc_per_unit(ncv_gj_per_unit, carbon_content_tc_per_tj, oxidation_rate)
    return _fuel_from_carbon(Fraction(consumption), carbon)


def _fuel_from_carbon(consumption: Fraction, carbon: Decimal) -> Decimal:
    return _rounded(consumption * Fraction(carbon) * 44 / 12, RESULT_SCALE)


def ipcc_fuel_combustion_tco2(
    consumption_t: Decimal,
    ncv_gj_per_t: Decimal,
    co2_ef_kg_per_tj: Decimal,
    oxidation_rate: Decimal = Decimal(1),
) -> Decimal:
    """CO2 from fuel combustion, IPCC 2006 Tier 1 [tCO2].

    Notes
    -----
    .. math:: E = FC \\times NCV \\times EF_{CO2} \\times OF / 10^6

    FC [t], NCV [GJ/t = TJ/Gg], EF [kgCO2/TJ]; Vol.2 Ch.2 Eq. 2.1.
    """
    _non_negative("consumption", consumption_t)
    _positive("ncv", ncv_gj_per_t)
    _positive("co2 emission factor", co2_ef_kg_per_tj)
    _positive("oxidation rate", oxidation_rate)
    exact = (
        Fraction(consumption_t)
        * Fraction(ncv_gj_per_t)
        * Fraction(co2_ef_kg_per_tj)
        * Fraction(oxidation_rate)
        / 10**6
    )
    return _rounded(exact, RESULT_SCALE)


def _per_unit_factor(activity: Fraction, factor: Decimal, exported: bool) -> Decimal:
    f = _rounded(Fraction(factor), FACTOR_SCALE)
    e = _rounded(activity * Fraction(f), RESULT_SCALE)
    return -e if exported else e


def electricity_tco2(
    electricity_mwh: Decimal, ef_tco2_per_mwh: Decimal, *, exported: bool = False
) -> Decimal:
    """Emissions of purchased (or, negative, exported) electricity [tCO2].

    Notes
    -----
    .. math:: E = AD_{MWh} \\times EF_{grid}

    Exported electricity is subtracted: the result is ``-E``.

    Examples
    --------
    >>> electricity_tco2(Decimal(1), Decimal("0.1404"))
    Decimal('0.1404000000')
    """
    _non_negative("electricity", electricity_mwh)
    _positive("grid factor", ef_tco2_per_mwh)
    return _per_unit_factor(Fraction(electricity_mwh), ef_tco2_per_mwh, exported)


def heat_tco2(
    heat_gj: Decimal, ef_tco2_per_gj: Decimal = Decimal("0.11"), *, exported: bool = False
) -> Decimal:
    """Emissions of purchased (or, negative, exported) heat [tCO2].

    Notes
    -----
    .. math:: E = AD_{GJ} \\times 0.11

    0.11 tCO2/GJ is the default heat supply factor of the China ETS accounting guides.
    """
    _non_negative("heat", heat_gj)
    _positive("heat factor", ef_tco2_per_gj)
    return _per_unit_factor(Fraction(heat_gj), ef_tco2_per_gj, exported)


def clinker_tco2(clinker_t: Decimal, ef_tco2_per_t: Decimal = Decimal("0.52")) -> Decimal:
    """Process CO2 of cement clinker, IPCC 2006 Tier 1 [tCO2].

    Notes
    -----
    .. math:: E = M_{cl} \\times EF_{clc}

    ``EF_clc`` = 0.52 tCO2/t clinker, the published default already including the CKD
    correction (0.510 x 1.02 = 0.5202, published rounded). IPCC 2006 Vol.3 Ch.2 Eq. 2.1;
    clinker imports/exports adjustments are the caller's.
    """
    _non_negative("clinker", clinker_t)
    _positive("clinker factor", ef_tco2_per_t)
    return _rounded(Fraction(clinker_t) * Fraction(ef_tco2_per_t), RESULT_SCALE)


def clinker_tier2_tco2(
    clinker_t: Decimal,
    ef_clinker_tco2_per_t: Decimal = Decimal("0.510"),
    ckd_correction: Decimal = Decimal("1.02"),
) -> Decimal:
    """Process CO2 of clinker with an explicit CKD correction (IPCC 2006 Eq. 2.2) [tCO2].

    Notes
    -----
    .. math:: E = M_{cl} \\times EF_{cl} \\times CF_{ckd}
    """
    _non_negative("clinker", clinker_t)
    _positive("clinker factor", ef_clinker_tco2_per_t)
    _positive("CKD correction", ckd_correction)
    exact = Fraction(clinker_t) * Fraction(ef_clinker_tco2_per_t) * Fraction(ckd_correction)
    return _rounded(exact, RESULT_SCALE)


def carbonate_tco2(
    mass_t: Decimal, ef_tco2_per_t: Decimal, calcination_fraction: Decimal = Decimal(1)
) -> Decimal:
    """Process CO2 from carbonate use [tCO2].

    Parameters
    ----------
    mass_t : Decimal
        Carbonate consumed [t].
    ef_tco2_per_t : Decimal
        Stoichiometric factor [tCO2/t] (CaCO3 0.4397, CaMg(CO3)2 0.4773).
    calcination_fraction : Decimal
        Fraction calcined [-], default 1.

    Notes
    -----
    .. math:: E = M \\times EF \\times F

    IPCC 2006 Vol.3 Ch.2 Eq. 2.14 and Table 2.1.
    """
    _non_negative("carbonate", mass_t)
    _positive("carbonate factor", ef_tco2_per_t)
    if not 0 <= calcination_fraction <= 1:
        raise InvalidInputError("calcination fraction must be within [0, 1]")
    exact = Fraction(mass_t) * Fraction(ef_tco2_per_t) * Fraction(calcination_fraction)
    return _rounded(exact, RESULT_SCALE)


def co2e_t(mass_t: Decimal, gwp: Decimal) -> Decimal:
    """CO2-equivalent of a gas mass: ``mass x GWP100`` [tCO2e], 10 decimals."""
    _non_negative("gas mass", mass_t)
    _positive("gwp", gwp)
    return _rounded(Fraction(mass_t) * Fraction(gwp), RESULT_SCALE)


def non_co2_tco2e(
    mass_t: Decimal, gas: str, report: str = "AR5", *, library: FactorLibrary | None = None
) -> tuple[Decimal, str]:
    """CO2e of a non-CO2 gas with a GWP set from the library.

    Returns
    -------
    tuple of (Decimal, str)
        Emissions [tCO2e] and the factor id of the GWP used.
    """
    lib = library or load_library()
    match = lib.lookup(METHOD_GWP, gas, jurisdiction=report)
    return co2e_t(mass_t, match.factor.value), match.factor.factor_id


@dataclass(frozen=True, slots=True)
class Calculation:
    """Result of one activity record computed with the Decimal functions.

    Attributes
    ----------
    emissions_tco2 : Decimal
        Signed emissions (exported rows negative), 10 decimals.
    method : str
        Method id.
    factor_ids : tuple of str
        Factors used (empty when every fuel parameter was measured).
    activity : Decimal
        Activity in the factor's unit (10 decimals).
    activity_unit : str
        The factor's unit.
    factor_status : str
        Least assured status among default values used (``'measured'`` when none was).
    fallback : str or None
        Year fallback note, if any.
    measured : tuple of str
        Measured fuel parameters that overrode defaults.
    factor_year : str
        Years of the factor used (``'2022'``, ``'2019-2020'``; ``''`` if year-independent).
    ncv_gj_per_unit, carbon_content_tc_per_tj, oxidation_rate, factor_value : Decimal or None
        Values used (fuel parameters, or the grid/heat factor).
    """

    emissions_tco2: Decimal
    method: str
    factor_ids: tuple[str, ...]
    activity: Decimal
    activity_unit: str
    factor_status: str
    fallback: str | None
    measured: tuple[str, ...]
    factor_year: str
    ncv_gj_per_unit: Decimal | None = None
    carbon_content_tc_per_tj: Decimal | None = None
    oxidation_rate: Decimal | None = None
    factor_value: Decimal | None = None


def _check_input_scale(name: str, value: Decimal) -> None:
    if decimal_places(value) > INPUT_SCALE:
        raise InvalidInputError(f"{name} has more than {INPUT_SCALE} decimal places")


def calculate_activity(
    category: str,
    item: str,
    quantity: Decimal,
    unit: str,
    year: int,
    *,
    direction: str = "consumed",
    ncv: Decimal | None = None,
    ncv_unit: str | None = None,
    carbon_content_tc_per_tj: Decimal | None = None,
    oxidation_rate: Decimal | None = None,
    library: FactorLibrary | None = None,
) -> Calculation:
    """Compute one activity record exactly as the batch engine does (reference path).

    Parameters
    ----------
    category : {'fuel', 'electricity', 'heat'}
        Activity category.
    item : str
        Fuel code, grid code, or ``heat``.
    quantity : Decimal
        Quantity >= 0 in ``unit`` (at most 10 decimals).
    unit : str
        Unit of the quantity; must fit the item (mass or normal volume for fuels, energy
        for electricity and heat).
    year : int
        Factor year (the period's year unless overridden); earlier-year fallback is noted.
    direction : {'consumed', 'exported'}
        Exported electricity/heat gives negative emissions.
    ncv, ncv_unit, carbon_content_tc_per_tj, oxidation_rate : optional
        Measured fuel parameters overriding the defaults.
    library : FactorLibrary, optional
        Factor library (default: the shipped one).

    Returns
    -------
    Calculation

    Raises
    ------
    InvalidInputError, UnitError, FactorNotFoundError
        When the record cannot be computed.
    """
    lib = library or load_library()
    if direction not in ("consumed", "exported"):
        raise InvalidInputError(f"direction must be 'consumed' or 'exported', got {direction}")
    _non_negative("quantity", quantity)
    _check_input_scale("quantity", quantity)
    if category == "fuel":
        if direction == "exported":
            raise InvalidInputError("only electricity and heat can be exported")
        factor = lib.lookup(METHOD_FUEL, item).factor
        ratio = activity_ratio("fuel", unit, factor.per_unit)
        _check_bounds(quantity, ratio)
        measured: list[str] = []
        statuses: list[str] = []
        if ncv is not None:
            if not ncv_unit:
                raise InvalidInputError("ncv given without ncv_unit")
            _positive("ncv", ncv)
            _check_input_scale("ncv", ncv)
            ncv_used = _rounded(
                Fraction(ncv) * ncv_ratio(ncv_unit, factor.per_unit).fraction, INPUT_SCALE
            )
            if ncv_used >= 10**4:
                raise InvalidInputError("ncv must be below 10^4 GJ per unit")
            measured.append("ncv")
        else:
            ncv_used = factor.parameter("ncv").value
            statuses.append(factor.parameter("ncv").status)
        if carbon_content_tc_per_tj is not None:
            _check_input_scale("carbon_content", carbon_content_tc_per_tj)
            if carbon_content_tc_per_tj > 100:
                raise InvalidInputError("carbon content above 100 tC/TJ")
            cc_used = carbon_content_tc_per_tj
            measured.append("carbon_content")
        else:
            cc_used = factor.parameter("carbon_content").value
            statuses.append(factor.parameter("carbon_content").status)
        if oxidation_rate is not None:
            _check_input_scale("oxidation_rate", oxidation_rate)
            of_used = oxidation_rate
            measured.append("oxidation_rate")
        else:
            of_used = factor.parameter("oxidation_rate").value
            statuses.append(factor.parameter("oxidation_rate").status)
        carbon = fuel_carbon_tc_per_unit(ncv_used, cc_used, of_used)
        if carbon >= MAX_CARBON_PER_UNIT:
            raise InvalidInputError("measured fuel parameters give >= 100 tC per unit")
        emissions = _fuel_from_carbon(Fraction(quantity) * ratio.fraction, carbon)
        return Calculation(
            emissions_tco2=emissions,
            method=method_id("fuel"),
            factor_ids=(factor.factor_id,) if len(measured) < 3 else (),
            activity=activity_in_factor_unit(quantity, ratio),
            activity_unit=factor.per_unit,
            factor_status=worst_status(statuses) if statuses else "measured",
            fallback=None,
            measured=tuple(measured),
            factor_year="",
            ncv_gj_per_unit=ncv_used,
            carbon_content_tc_per_tj=cc_used,
            oxidation_rate=of_used,
        )
    if category not in ("electricity", "heat"):
        raise InvalidInputError(f"unknown category '{category}'")
    if any(v is not None for v in (ncv, ncv_unit, carbon_content_tc_per_tj, oxidation_rate)):
        raise InvalidInputError("measured fuel parameters given on a non-fuel record")
    method = METHOD_ELECTRICITY if category == "electricity" else METHOD_HEAT
    if category == "heat" and item != "heat":
        raise InvalidInputError("heat records use item 'heat'")
    match = lib.lookup(method, item, year)
    ratio = activity_ratio(category, unit)
    _check_bounds(quantity, ratio)
    exported = direction == "exported"
    emissions = _per_unit_factor(Fraction(quantity) * ratio.fraction, match.factor.value, exported)
    return Calculation(
        emissions_tco2=emissions,
        method=method_id(category, direction),
        factor_ids=(match.factor.factor_id,),
        activity=activity_in_factor_unit(quantity, ratio),
        activity_unit=match.factor.per_unit,
        factor_status=match.factor.status,
        fallback=match.fallback,
        measured=(),
        factor_year=match.factor.years,
        factor_value=match.factor.value,
    )


def _check_bounds(quantity: Decimal, ratio: Ratio) -> None:
    if Fraction(quantity) * ratio.fraction >= MAX_ACTIVITY:
        raise InvalidInputError(f"quantity must be below {MAX_ACTIVITY:,} in the factor unit")
    if Fraction(quantity) * ratio.numerator >= MAX_QUANTITY_X_RATIO:
        raise InvalidInputError("quantity too large for its unit")
