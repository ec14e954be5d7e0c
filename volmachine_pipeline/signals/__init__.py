"""Signals domain: realised vol, curve signals (constant-maturity vols, skew), the regime and the edges."""
