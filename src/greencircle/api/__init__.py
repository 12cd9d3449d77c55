"""HTTP API: app factory, middleware, dependencies and routers under ``/v1``."""
