"""fairsim.allocation."""
