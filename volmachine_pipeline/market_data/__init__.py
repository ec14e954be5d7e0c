"""Market-data domain: raw quotes, clean quotes + quarantine, underlying bars, simulator truth."""
