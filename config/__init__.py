"""Settings defaults and vendor facts as data (YAML), read by ``core.settings``."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent

__all__ = ["CONFIG_DIR"]
