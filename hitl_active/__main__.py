import sys

from hitl_active.cli import main

sys.exit(main())
