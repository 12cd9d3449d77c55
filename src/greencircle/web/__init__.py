"""Web console: server-rendered pages (Jinja2), static assets and i18n catalogs."""
