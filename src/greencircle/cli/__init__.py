"""Typer command line: ``greencircle <domain> <verb>``."""
