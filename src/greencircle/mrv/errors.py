"""Exceptions of the MRV domain.

Expected row-level outcomes (a rejected activity row) are result records, not exceptions;
these classes are for calls that cannot produce an answer at all. Each carries a stable
``code``; the API/CLI layer maps them onto the platform error tree.
"""

from __future__ import annotations


class MrvError(Exception):
    """Root of MRV errors."""

    code = "mrv.error"


class FactorNotFoundError(MrvError, LookupError):
    """No factor applies to the requested (method, item, jurisdiction, year)."""

    code = "mrv.factor_not_found"


class FactorSetIntegrityError(MrvError):
    """A published factor set does not match its recorded content hash."""

    code = "mrv.factor_set_integrity"


class UnitError(MrvError, ValueError):
    """A unit is unknown or does not fit the quantity it is attached to."""

    code = "mrv.unit"


class InvalidInputError(MrvError, ValueError):
    """An input value cannot be used (negative quantity, oxidation rate above 1, ...)."""

    code = "mrv.invalid_input"


class InputFileError(MrvError):
    """An input file cannot be read at all (encoding, header, CSV syntax)."""

    code = "mrv.input_file"
