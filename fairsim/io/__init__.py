"""fairsim.io."""
