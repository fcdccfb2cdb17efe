"""fairsim.mechanisms."""
