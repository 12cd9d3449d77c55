"""Reference data shipped with the package (CSV with ``source`` and ``status`` columns)."""
