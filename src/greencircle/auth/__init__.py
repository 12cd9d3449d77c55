"""Identity and access: jurisdictions, organisations, facilities, users, roles, tokens."""
