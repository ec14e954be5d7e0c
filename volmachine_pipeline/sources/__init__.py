"""Market-data HTTP sources: option chains fetched from vendor APIs (Polygon, Tradier)."""
