"""``python -m fairsim`` is the ``fairsim`` command."""

import sys

from fairsim.cli import main

sys.exit(main())
