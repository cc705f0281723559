# The two commands of the README: `make` (install what is missing, run the main job) and `make test`.
.PHONY: all deps train demo test docs bench bench-studio bench-vs-frameworks bench-vs-pytorch fuzz recipes

all: train

deps:
	@./scripts/install-deps

# The main job: a DCGAN on Fashion-MNIST, 2 epochs (about 10 minutes on 2 cores).
train: deps
	swift run -c release swiftgan train --epochs 2

demo: deps
	swift run -c release swiftgan demo

# The suite under a watchdog (SWIFTGAN_TEST_WATCHDOG_SECONDS, default 1500): it prints the wall
# time and the slowest tests, or, past the limit, the tests still running and their processes.
# The release build comes first: the signal tests run it too, as users run it (SWIFTGAN_RELEASE_BINARY).
test: deps
	@./scripts/install-deps --test
	swift build -c release --product swiftgan
	SWIFTGAN_PYTHON="$$(./scripts/test-venv)" SWIFTGAN_RELEASE_BINARY="$$PWD/.build/release/swiftgan" \
		./scripts/test-watchdog stdbuf -oL -eL swift test --no-parallel

# The DocC catalogs beside each library (Sources/*/Documentation.docc) as static sites in
# .build/docs/TARGET (open index.html through a web server, e.g. python3 -m http.server).
DOC_TARGETS = Tensors NN GANModels RunFormat GANEvaluation GANTraining GANStudio
docs:
	@mkdir -p .build/docs
	@for t in $(DOC_TARGETS); do \
		swift package --allow-writing-to-directory .build/docs generate-documentation --target $$t \
			--disable-indexing --transform-for-static-hosting --output-path .build/docs/$$t || exit 1; \
	done
	@echo "documentation in .build/docs/{$$(echo $(DOC_TARGETS) | tr ' ' ,)}"

bench: deps
	swift run -c release swiftgan bench

# SwiftGAN against PyTorch and TensorFlow (installed into .venv-bench on first use) on the same GANs,
# alternating the sides; prints a table at the end (about 25 minutes on 2 cores, once installed). ARGS are passed on, e.g.
# make bench-vs-frameworks ARGS="--workloads dcgan28 --rounds 5 --frameworks torch-eager,tf"
bench-vs-frameworks: deps
	swift build -c release --product swiftgan
	mkdir -p runs
	"$$(./scripts/bench-venv)" scripts/bench_vs_frameworks.py --swiftgan .build/release/swiftgan --json runs/bench-vs-frameworks.json $(ARGS)

# The studio under load (scripts/studio-load): 64-image grids over 50 connections on loopback with wrk.
# make bench-studio RUN=runs/dcgan-cpu-…   (default: the newest run under runs/)
bench-studio: deps
	@./scripts/install-deps --bench-studio
	swift build -c release --product swiftgan
	./scripts/studio-load .build/release/swiftgan "$${RUN:-$$(ls -td runs/*/ | head -1)}" $(ARGS)

# The recipe search (scripts/recipe-search.py): trains recipes × seeds × horizons on Fashion-MNIST,
# evaluates each, prints the table of docs/guide/recipes.md. Hours of CPU: run it in the background; it resumes.
# make recipes ARGS="--recipes batch --epochs 1,5 --seeds 0,1,2"
# Colour, at wall-clock budgets, two runs side by side on one thread each:
# make recipes ARGS="--recipes colour --data emoji --minutes 30 --seeds 1,2,3 --threads 1 --parallel 2 --out runs/colour"
recipes: deps
	swift build -c release --product swiftgan
	scripts/recipe-search.py --swiftgan .build/release/swiftgan $(ARGS)

# The earlier name of the same benchmark.
bench-vs-pytorch: bench-vs-frameworks

# libFuzzer on every reader of outside bytes (IDX, SVHN .mat, CIFAR, safetensors, state.json,
# config.json, PNG/JPEG): the tests write the seed corpus, then each target runs FUZZ_SECONDS
# (default 60). Crashing inputs go to runs/fuzz/TARGET/; keep them in Tests/FuzzTests/Regressions.
# The C shims are instrumented too (-Xcc); gold cannot link libFuzzer with SwiftPM's entry point, lld can.
FUZZ_SECONDS ?= 60
fuzz: deps
	SWIFTGAN_PYTHON="$$(./scripts/test-venv)" swift test --no-parallel --filter FuzzTests.seedCorpusOfValidFilesIsAccepted
	swift build -c release --product swiftgan-fuzz --scratch-path .build/fuzz/build \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld -Xcc -fsanitize=fuzzer-no-link,address
	./scripts/fuzz $(FUZZ_SECONDS) $(TARGETS)
