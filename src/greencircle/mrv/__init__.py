"""MRV: emission factor library, exact calculations, batch engine, intake quality checks.

Pure functions live in :mod:`~greencircle.mrv.calc`; the relational batch engine in
:mod:`~greencircle.mrv.engine`; the CLI contract in :mod:`~greencircle.mrv.cli_core`.
"""
