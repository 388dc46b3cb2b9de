"""``python -m analysis results/<study>``: the same as ``python -m analysis.report``."""

import sys

from analysis.report import main

sys.exit(main())
