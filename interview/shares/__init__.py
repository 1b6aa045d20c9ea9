"""Share links for hiring managers without an account (view-only, expiring, revocable)."""
