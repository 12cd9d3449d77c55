"""Registry of environmental rights: instruments, double-entry ledger with serial blocks,
allocation, transfers, compliance, retirement, pledges, freezes, cash and exchange holds.

The public API is :class:`greencircle.registry.service.RegistryService`.
"""
