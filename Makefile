# edgert's entry points. `make demo` and `make test` work on a fresh machine: both prepare
# their own virtual environment (.venv) and Debian toolchains through scripts/setup.sh.
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: demo test native bench fuzz clean

demo:
	scripts/setup.sh
	.venv/bin/edgert demo

test:  # the C parsers are fuzzed first (FUZZ_SECONDS each, 0 skips), then the pytest suite
	scripts/setup.sh test,peers
	if [ "$${FUZZ_SECONDS:-60}" != 0 ]; then $(MAKE) -C fuzz run FUZZ_SECONDS=$${FUZZ_SECONDS:-60}; fi
	$(PY) -m pytest $(PYTEST_ARGS)

native:  # rebuild the C extension in place after editing native/
	$(PY) native/build.py

bench:
	scripts/setup.sh bench
	for b in bench/*.py; do $(PY) $$b || exit 1; done

fuzz:  # libFuzzer + ASan/UBSan on the C .ert loader and the firmware frame parser (FUZZ_SECONDS each)
	scripts/setup.sh test
	$(MAKE) -C fuzz run FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

clean:
	rm -rf build *.egg-info .pytest_cache firmware/build
