"""Recruiters' area: screenings, questions, rubrics, invitations."""
