"""The candidate's side: tokenized links, consent, the interview."""
