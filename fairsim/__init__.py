"""fairsim: a mechanism-design and fairness simulation engine.

Importing :mod:`fairsim` is cheap: domain modules, numba kernels, torch and Mesa are imported only
when they are used. Start with :mod:`fairsim.mechanisms.facility` and :mod:`fairsim.axioms.facility`.
"""

from fairsim.errors import FairsimError, FormatError, InputError, ScenarioError

__version__ = "0.1.0"

__all__ = ["FairsimError", "FormatError", "InputError", "ScenarioError", "__version__"]
