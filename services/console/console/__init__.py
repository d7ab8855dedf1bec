"""The operations console: portfolio health, loans, live events, contacts and plans, in the
browser, read from the four services' REST APIs and the platform's topics (no database)."""
