import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gatehouse_fixture import gatehouse, get_token  # noqa: E402,F401
