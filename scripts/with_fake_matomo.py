"""Run a command against the loopback fake Matomo of the tests, as if a Matomo were configured.

The fake answers from the recorded Matomo 5 responses in tests/fixtures/recordings (three sites,
traffic up to 2026-11-26, missing periods filled with recorded ones), including the visit log.
The command gets the TAP_MATOMO_* settings pointing at it, so that the whole pipeline can be
tried without a Matomo or a network::

    .venv/bin/python scripts/with_fake_matomo.py make run MELTANO_ENVIRONMENT=offline  # run-offline
    .venv/bin/python scripts/with_fake_matomo.py tap-matomo --config ENV
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import hand_built  # noqa: E402
from tests.fake_live import FakeLive  # noqa: E402
from tests.fake_matomo import TOKEN, FakeMatomo  # noqa: E402

#: The recorded month of traffic (the recordings end on 2026-11-26).
SETTINGS = {
    "TAP_MATOMO_TOKEN_AUTH": TOKEN,
    "TAP_MATOMO_SITE_IDS": "[1,2,3]",
    "TAP_MATOMO_START_DATE": "2026-11-01",
    "TAP_MATOMO_END_DATE": "2026-11-26",
}


def main(command: list[str]) -> int:
    """Serve the fake while the command runs; return the command's exit code."""
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    with FakeMatomo(synthesize=True) as fake:
        hand_built.install(fake)
        fake.handlers["Live.getLastVisitsDetails"] = FakeLive()
        env = {**os.environ, **SETTINGS, "TAP_MATOMO_URL": fake.url}
        print(f"with_fake_matomo: fake Matomo at {fake.url}", file=sys.stderr)
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
