"""fairsim.reports."""
