"""Rejections of registry operations: one class per stable code.

Each is a :class:`~greencircle.errors.PlatformError` (rendered as ``{"error": code,
"detail": ...}``); :data:`REJECTIONS` maps every code to its class so hot paths that return
result codes (holds for the exchange) can raise the same error on demand.
"""

from __future__ import annotations

from greencircle.errors import Conflict, Forbidden, Invalid, NotFound, PlatformError


class RegistryError(PlatformError):
    """Root of registry rejections."""

    code = "registry_error"


# -- 422: the request cannot be accepted as it stands -------------------------------------
class InsufficientAvailable(RegistryError, Invalid):
    """The account's available balance is below the requested quantity."""

    code = "insufficient_available"


class UnitsPledged(RegistryError, Invalid):
    """The units needed are pledged; pledged units can be neither traded nor surrendered."""

    code = "units_pledged"


class Frozen(RegistryError, Invalid):
    """The units needed are frozen by a regulator."""

    code = "frozen"


class OffsetCapExceeded(RegistryError, Invalid):
    """Offsets surrendered would exceed the market's offset cap."""

    code = "offset_cap_exceeded"


class WrongMarket(RegistryError, Invalid):
    """The instrument, account or product does not belong to this market."""

    code = "wrong_market"


class UnknownMarket(RegistryError, NotFound):
    """No such market in the catalog."""

    code = "unknown_market"


class JurisdictionNotEligible(RegistryError, Forbidden):
    """The organisation's jurisdiction is not admitted to this market."""

    code = "jurisdiction_not_eligible"


class OrgTypeNotEligible(RegistryError, Forbidden):
    """This kind of organisation may not hold accounts on this market."""

    code = "org_type_not_eligible"


class AfterDeadline(RegistryError, Invalid):
    """The compliance deadline for that year has passed."""

    code = "after_deadline"


class VintageNotEligible(RegistryError, Invalid):
    """The vintage of these allowances may not be used for that compliance year."""

    code = "vintage_not_eligible"


class NotEligibleForCompliance(RegistryError, Invalid):
    """This instrument cannot be surrendered on this market."""

    code = "not_eligible_for_compliance"


class SurrenderExceedsObligation(RegistryError, Invalid):
    """The surrender would exceed the remaining obligation."""

    code = "surrender_exceeds_obligation"


class NotCovered(RegistryError, Invalid):
    """This market does not cover the organisation for that year (no obligation here)."""

    code = "not_covered"


class EmissionsNotVerified(RegistryError, Invalid):
    """No verified emissions for this organisation and year yet."""

    code = "emissions_not_verified"


class InvalidQuantity(RegistryError, Invalid):
    """Quantities must be positive integers in the instrument's minor unit."""

    code = "invalid_quantity"


class OutstandingLimit(RegistryError, Invalid):
    """Issuing or depositing this would take the instrument's outstanding amount beyond
    the registry's bound (``ledger.MAX_OUTSTANDING`` minor units)."""

    code = "outstanding_limit"


class InvalidInstrument(RegistryError, Invalid):
    """The instrument attributes do not match the instrument class."""

    code = "invalid_instrument"


class SameAccount(RegistryError, Invalid):
    """Source and destination are the same account."""

    code = "same_account"


class HoldExceeded(RegistryError, Invalid):
    """More was posted than the hold still reserves."""

    code = "hold_exceeded"


# -- 403: who may do it -------------------------------------------------------------------
class NotHolder(RegistryError, Forbidden):
    """Only the account holder may move its units."""

    code = "not_holder"


class OutOfJurisdiction(RegistryError, Forbidden):
    """The regulator acts only within its jurisdiction."""

    code = "out_of_jurisdiction"


class FourEyesRequired(RegistryError, Forbidden):
    """A second, different user must approve this."""

    code = "four_eyes_required"


class NotPledgee(RegistryError, Forbidden):
    """Only the pledgee may approve release or enforce the pledge."""

    code = "not_pledgee"


# -- 404 / 409 ----------------------------------------------------------------------------
class RegistryNotFound(RegistryError, NotFound):
    """The registry object does not exist or is not visible to you."""

    code = "not_found"


class InvalidState(RegistryError, Conflict):
    """The object is not in a state that allows this operation."""

    code = "invalid_state"


class IdempotencyConflict(RegistryError, Conflict):
    """The idempotency key was used before with a different request."""

    code = "idempotency_conflict"


REJECTIONS: dict[str, type[RegistryError]] = {
    cls.code: cls
    for cls in (
        InsufficientAvailable,
        UnitsPledged,
        Frozen,
        OffsetCapExceeded,
        WrongMarket,
        UnknownMarket,
        JurisdictionNotEligible,
        OrgTypeNotEligible,
        AfterDeadline,
        VintageNotEligible,
        NotEligibleForCompliance,
        SurrenderExceedsObligation,
        NotCovered,
        EmissionsNotVerified,
        InvalidQuantity,
        OutstandingLimit,
        InvalidInstrument,
        SameAccount,
        HoldExceeded,
        NotHolder,
        OutOfJurisdiction,
        FourEyesRequired,
        NotPledgee,
        RegistryNotFound,
        InvalidState,
        IdempotencyConflict,
    )
}


def rejection(code: str, detail: str) -> RegistryError:
    """The error instance for a rejection ``code``."""
    return REJECTIONS[code](detail)
