"""singer-sdk's built-in tap test suite, run against the loopback fake Matomo.

The suite builds its streams at collection time, so the fake server starts when this module is
imported. It checks discovery, schemas, records against schemas, PK presence and attribute types;
the checks it makes weakly (PK uniqueness, final state) are made in tests/test_sync.py.
"""

from __future__ import annotations

import atexit

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_matomo.tap import TapMatomo
from tests import hand_built
from tests.conftest import catalog_selecting
from tests.fake_live import FakeLive
from tests.fake_matomo import TOKEN, FakeMatomo

_SERVER = FakeMatomo(synthesize=True)
_SERVER.handlers["Live.getLastVisitsDetails"] = FakeLive()
hand_built.install(_SERVER)  # calls no recording answers (entry/exit titles, cart products)
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

#: Streams that read only what a user names (subtables, pages, Users Flow steps) send no request
#: under this config; tests/test_report_families.py and tests/test_items_transitions_plugins.py
#: sync each of them against recorded answers.
OPT_IN_STREAMS = [
    stream.name
    for stream in TapMatomo(
        config=SAMPLE_CONFIG, parse_env_config=False, validate_config=False
    ).streams.values()
    if not stream.selected_by_default
    and stream.name not in ("user_ids", "main_metrics", "all_websites")  # off, but they read
] + ["actions_page_url", "actions_page_title"]

#: An attribute test warns when every value is null, as `other_metrics` is for reports whose
#: metrics the schema all declares: nothing to check there, not a failure.
pytestmark = pytest.mark.filterwarnings("ignore:No records were available to test:UserWarning")

#: Every stream selected, so the suite also checks the streams off by default that read
#: something under this config (User IDs, main metrics, All Websites).
EVERY_STREAM = catalog_selecting(
    SAMPLE_CONFIG,
    set(TapMatomo(config=SAMPLE_CONFIG, parse_env_config=False, validate_config=False).streams),
)

TestTapMatomo = get_tap_test_class(
    tap_class=TapMatomo,
    config=SAMPLE_CONFIG,
    parse_env_config=False,
    catalog=EVERY_STREAM,
    suite_config=SuiteConfig(max_records_limit=50, ignore_no_records_for_streams=OPT_IN_STREAMS),
)
