"""Domain-free helpers: identifiers, integer quantities and money, time."""
