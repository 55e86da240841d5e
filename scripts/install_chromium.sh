#!/usr/bin/env bash
# Debian's chromium for the console's browser tests (tests/console); Playwright's own browser download is not
# reachable, so `playwright install` is never run. Does nothing when chromium is there; never fails the caller:
# without chromium the browser tests are skipped with a reason.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing (apt-get install -y chromium, as root): tests/console will be skipped" >&2
  exit 0
fi
echo "installing chromium for tests/console" >&2
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
  || echo "could not install chromium: tests/console will be skipped" >&2
exit 0
