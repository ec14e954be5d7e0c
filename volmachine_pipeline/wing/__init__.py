"""Wing domain: wing_features, wing_model (point-in-time regression) and wing_theos / theo_curves assets."""
