# The two commands of the README: `make` (install what is missing, run the main job) and `make test`.
.PHONY: all deps train demo test bench

all: train

deps:
	@./scripts/install-deps

# The main job: a DCGAN on Fashion-MNIST, 2 epochs (about 10 minutes on 2 cores).
train: deps
	swift run -c release swiftgan train --epochs 2

demo: deps
	swift run -c release swiftgan demo

test: deps
	SWIFTGAN_PYTHON="$$(./scripts/test-venv)" swift test --no-parallel

bench: deps
	swift run -c release swiftgan bench
