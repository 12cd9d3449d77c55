"""Background jobs with progress, for long operations started over HTTP."""
