"""Data privacy: retention, the candidate's export and deletion, purges and leftovers."""
