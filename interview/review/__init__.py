"""Reviewing: queues, scoring against the rubric, assignments, results and decisions."""
