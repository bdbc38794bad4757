"""Run the tap: ``python -m tap_matomo``."""

from tap_matomo.tap import TapMatomo

TapMatomo.cli()
