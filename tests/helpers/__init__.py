"""What tests share: people, bookings, servers, raw HTTP, schedules, plans, tokens.
Tests import from here, never from another test module (fixtures live in conftest.py)."""
