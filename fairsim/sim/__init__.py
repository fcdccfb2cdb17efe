"""fairsim.sim."""
