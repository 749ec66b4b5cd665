"""The config dict the CLI reads (``--config settings:CONFIG``), as YaraOrm.init takes it."""

import os

CONFIG = {
    "connections": {"default": os.environ.get("DEMO_DB_URL", "sqlite://demo.sqlite3")},
    "apps": {"shop": {"models": ["shop.models"]}},
}
