"""Tamper-evident audit log: the pure RFC 9162 Merkle core and C2SP signed checkpoints.

``merkle`` holds tree hashing, proof generation over a batch-fetched store of perfect
subtree hashes, and proof verification; ``checkpoint`` holds C2SP tlog-checkpoint bodies
and signed notes; ``algorithms`` is the registry of hash and signature algorithms; and
``errors`` the domain exceptions. None of them does I/O.
"""
