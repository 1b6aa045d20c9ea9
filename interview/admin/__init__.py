"""Organisation administration: staff accounts and roles."""
