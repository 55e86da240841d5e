# Two set-up commands (README): `make run` and `make test`. Everything else is a helper of those two.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export ECHODEPTH_DATA_DIR ?= ./var

.PHONY: run test lint typecheck docs chaos bench bench-quick bench-voice bench-video bench-stream bench-crm eval eval-text calibrate schema clean sdk-sync

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml sdk/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e 'sdk/python[dev]'  # the SDK (distribution "echodepth") first: it replaces the server's old name
	$(BIN)/pip install -q -e '.[dev]'
	@scripts/install_chromium.sh  # tests/console (Debian's chromium; guarded, never fails the install)
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	@$(BIN)/echodepth db upgrade
	@KEY=$$($(BIN)/echodepth keys create --tenant local --name make-run) && \
	PASSWORD=$$($(BIN)/echodepth users create --tenant local --email admin@localhost --admin --reset) && \
	echo "" && \
	echo "EchoDepth API on http://127.0.0.1:8000  (docs: http://127.0.0.1:8000/docs)" && \
	echo "Console: http://127.0.0.1:8000/console  (sign in as admin@localhost, password $$PASSWORD; new each run)" && \
	echo "API key for tenant 'local' (shown once): $$KEY" && \
	echo "Try it:" && \
	echo "  curl -s -H 'Authorization: Bearer $$KEY' -H 'Content-Type: application/json' -d '{\"text\": \"I am really pleased with how the demo went.\"}' http://127.0.0.1:8000/v1/analyse/text" && \
	echo "  curl -s -H 'Authorization: Bearer $$KEY' http://127.0.0.1:8000/v1/result/<job_id>" && \
	echo "" && \
	exec $(BIN)/echodepth serve

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check core engine connectors tests bench scripts sdk/python
	$(BIN)/mypy
	$(BIN)/mypy --strict sdk/python/src/echodepth

docs: $(VENV)/.dev-installed  # regenerate the generated parts of docs/ (a test fails when one is stale)
	$(BIN)/python scripts/settings_table.py
	$(BIN)/python scripts/vendor_table.py

sdk-sync: $(VENV)/.dev-installed  # the SDK's blocking half from its asyncio half (a test checks it)
	$(BIN)/python sdk/python/scripts/generate_sync.py

chaos: $(VENV)/.dev-installed  # long versions of tests/chaos (own Redis and PostgreSQL; docs/operations.md)
	$(BIN)/python scripts/chaos.py

bench: $(VENV)/.dev-installed  # one table beside baselines from the same run → docs/performance.md (~30 min)
	$(BIN)/python -m bench

bench-quick: $(VENV)/.dev-installed  # the same table from shorter runs (~10 min)
	$(BIN)/python -m bench --quick

bench-voice: $(VENV)/.dev-installed
	$(BIN)/python -m bench.voice_rtf

bench-video: $(VENV)/.dev-installed
	$(BIN)/python -m bench.face_video

bench-stream: $(VENV)/.dev-installed
	$(BIN)/python -m bench.stream_latency

bench-crm: $(VENV)/.dev-installed  # needs PostgreSQL and Redis (BENCH_PG_SERVER, BENCH_REDIS_URL)
	$(BIN)/python -m bench.crm_sync

eval: $(VENV)/.dev-installed  # person-held-out figures beside baselines → docs/validation.md (needs ../shared/data)
	$(BIN)/python -m bench.eval

calibrate: $(VENV)/.installed
	$(BIN)/python scripts/calibrate_voice.py
	$(BIN)/python scripts/calibrate_faces.py

eval-text: $(VENV)/.installed
	$(BIN)/python scripts/eval_text_model.py

schema: $(VENV)/.installed
	$(BIN)/python -c "from pathlib import Path; from core.sdk.schema import write_json_schema; write_json_schema(Path('docs/schema/result.v1.json'))"

clean:
	rm -rf $(VENV) var .pytest_cache
