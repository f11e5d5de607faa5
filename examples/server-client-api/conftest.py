import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "interop"))
sys.path.insert(0, os.path.join(here, "cron"))

from gatehouse_fixture import gatehouse, get_token, mgmt  # noqa: E402,F401
