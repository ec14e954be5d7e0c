"""Surface domain: forwards, strike vols, fitted curves (EOD and intraday), checks and smile plots."""
