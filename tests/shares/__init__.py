"""Share link tests."""
