"""Constants shared by tests (kept apart from conftest so test modules can import them)."""

DEMO_PASSWORD = "demo-pass-2026"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"
