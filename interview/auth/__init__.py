"""Staff sign-in, sign-out and passwords."""
