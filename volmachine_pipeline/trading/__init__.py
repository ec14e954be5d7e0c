"""Trading assets: the book, its risk, candidates and their sizing and verdicts; the data-quality gate."""
