"""fairsim.agents."""
