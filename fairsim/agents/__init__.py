"""fairsim.agents: Mesa agents with private types and their reporting behaviours.

* :mod:`fairsim.agents.facility`: :class:`FacilityAgent` and the registered behaviours
  ``facility.truthful``, ``facility.best_response``, ``facility.random_misreport``.
* :mod:`fairsim.agents.locations`: ``draw_locations`` for the scenario location distributions.

Submodules are imported on demand (Mesa is only imported when an agent is created).
"""
