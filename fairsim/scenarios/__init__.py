"""fairsim.scenarios."""
