# The two commands of the README: `make` (install what is missing, run the main job) and `make test`.
.PHONY: all deps demo test bench

all: demo

deps:
	@./scripts/install-deps

demo: deps
	swift run -c release swiftgan demo

test: deps
	SWIFTGAN_PYTHON="$$(./scripts/test-venv)" swift test --no-parallel

bench: deps
	swift run -c release swiftgan bench
