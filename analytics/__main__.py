"""Entry point: ``python -m analytics``."""

from analytics.cli import main

raise SystemExit(main())
