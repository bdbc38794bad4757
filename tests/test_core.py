"""singer-sdk's built-in tap test suite, run against the loopback fake Matomo.

The suite builds its streams at collection time, so the fake server starts when this module is
imported. It checks discovery, schemas, records against schemas, PK presence and attribute types;
the checks it makes weakly (PK uniqueness, final state) are made in tests/test_sync.py.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_matomo.tap import TapMatomo
from tests.fake_matomo import TOKEN, FakeMatomo

_SERVER = FakeMatomo(synthesize=True)
_SERVER.start()
atexit.register(_SERVER.stop)

SAMPLE_CONFIG = {
    "url": _SERVER.url,
    "token_auth": TOKEN,
    "site_ids": [1, 2, 3],
    "start_date": "2026-11-20",
    "end_date": "2026-11-26",
    "retry_wait_seconds": 0,
}

TestTapMatomo = get_tap_test_class(
    tap_class=TapMatomo,
    config=SAMPLE_CONFIG,
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=50),
)
