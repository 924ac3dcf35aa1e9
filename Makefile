# mcuprune: top-level commands. `make demo` and `make test` install missing
# dependencies first (scripts/install-deps.sh), then build.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MCUPRUNE = $(BUILD)/mcuprune

.PHONY: all deps build build-cli build-fuzz demo demo-kws test test-sanitize fuzz bench bench-standard bench-full bench-misc bench-patch bench-prune bench-quant bench-deploy bench-kernels bench-kws clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Only the program (no test binaries): what `make demo` needs.
build-cli: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target mcuprune

# The torch-free layers, their tests and one libFuzzer target per parser, built with clang
# under AddressSanitizer and UndefinedBehaviorSanitizer (fuzz/README.md).
FUZZ_BUILD ?= build-fuzz
build-fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCUPRUNE_FUZZ=ON -DMCUPRUNE_WITH_TORCH=OFF \
	  -DMCUPRUNE_WITH_VERIFIERS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

# The main job on the built-in default: vgg (about 970 KiB of int8 weights) does not fit the
# nucleo-f446re (384 KiB flash budget); train and prune it on Fashion-MNIST until it fits,
# then print the before/after table and the test accuracy, and prove that it fits: build it
# as a firmware for the board's memory map and run 20 test images on an emulated Cortex-M4
# (QEMU), every output compared with the host. Each run writes to its own directory under
# runs/, so earlier results are never overwritten.
demo: build-cli
	@out=runs/demo-$$(date +%Y%m%d-%H%M%S); \
	$(MCUPRUNE) profile --model vgg --board nucleo-f446re --no-timeline | tail -6 && \
	$(MCUPRUNE) prune --model vgg --dataset fashion-mnist --board nucleo-f446re --epochs 3 \
	  --out $$out && echo "demo: pruned model, checkpoint and report.json in $$out" && \
	$(MCUPRUNE) deploy --model $$out --dataset fashion-mnist --board nucleo-f446re --emulate --samples 20

# Keyword spotting end to end: a Speech Commands v2 folder given as DATA=..., or (default) a small
# synthetic one spoken by espeak-ng (runs/kws-data, made once); dscnn with its MFCC front end is
# trained and pruned for the nucleo-l432kc (64 KB SRAM, 256 KB flash) under a 60 ms latency
# budget, then deployed on QEMU's Cortex-M4, which runs the raw clips through the front end.
DATA ?=
KWS_EPOCHS ?= 30
demo-kws: build-cli
	@data="$(DATA)"; if [ -z "$$data" ]; then data=runs/kws-data; \
	  [ -d $$data ] || bash tests/tools/make_kws_dataset.sh $$data 6; fi; \
	out=runs/kws-$$(date +%Y%m%d-%H%M%S); \
	$(MCUPRUNE) prune --model dscnn --dataset "$$data" --board nucleo-l432kc --latency-ms 60 --epochs $(KWS_EPOCHS) \
	  --lr 0.003 --out $$out && echo "demo-kws: pruned model, checkpoint and report.json in $$out" && \
	$(MCUPRUNE) deploy --model $$out --dataset "$$data" --board nucleo-l432kc --emulate --samples 50

# Every test: the full suite, then the torch-free suites and 20,000 inputs of every fuzzer
# under the sanitizers.
test: build build-fuzz
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	@cd $(FUZZ_BUILD) && ctest --output-on-failure -j$(JOBS)

# The whole suite (LibTorch layers and CLI included) built with gcc under AddressSanitizer and
# UndefinedBehaviorSanitizer.
SANITIZE_BUILD ?= build-sanitize
test-sanitize: deps
	@cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCUPRUNE_SANITIZE=ON >/dev/null
	@cmake --build $(SANITIZE_BUILD) -j$(JOBS)
	@cd $(SANITIZE_BUILD) && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j$(JOBS)

# Longer fuzzing: FUZZ_SECONDS per target (default 300); findings stop the run (fuzz/README.md).
FUZZ_SECONDS ?= 300
fuzz: build-fuzz
	@for t in $(FUZZ_BUILD)/fuzz_*; do \
	  n=$$(basename $$t); \
	  bash fuzz/run.sh $$t fuzz/corpus/$$n $(FUZZ_BUILD)/fuzz-work/$$n $(FUZZ_SECONDS) || exit 1; \
	done

# Benchmarks write their tables to bench/results/ (docs/benchmark.md). `bench` compares the
# pruning methods on 18,000 training samples, two runs at a time (target 40 min on 2 cores): RESULTS.md;
# `bench-standard` runs the same comparison on full data (110 to 130 min on 2 cores, on an idle
# machine): RESULTS-standard.md; `bench-full` is the same comparison at full scale: RESULTS-full.md. DATA=path uses another
# dataset (CIFAR-10 binary batches or an image folder). Both continue an interrupted run.
# bench-misc: training throughput (one process, and 1 against 2 data-parallel workers), the optimal operator order, training speed at exact vs
# padded widths, prune vs train wall time, the warm-up gates' cost and the accuracy ideas at 4x (about 25 min); bench-prune (vgg
# unpruned vs pruned, about 15 min at EPOCHS=6) and bench-quant (int8 vs float for three
# models, about 20 min, then their .tflite exports run by Arm NN, about 10 min); bench-deploy
# (the C runtime on QEMU, every zoo model).
bench: build
	@/usr/bin/python3 bench/methods.py --mode quick --build $(BUILD) $(if $(DATA),--data $(DATA))

bench-standard: build
	@/usr/bin/python3 bench/methods.py --mode standard --build $(BUILD) $(if $(DATA),--data $(DATA))

bench-full: build
	@/usr/bin/python3 bench/methods.py --mode full --build $(BUILD) $(if $(DATA),--data $(DATA))

bench-patch: build
	@bash bench/patch_peak.sh $(BUILD)
	@bash bench/patch_vgg.sh $(BUILD)
	@bash bench/patch_levels.sh $(BUILD)

bench-misc: build
	@bash bench/train_throughput.sh $(BUILD)
	@bash bench/dist_throughput.sh $(BUILD)
	@bash bench/optimal_order.sh $(BUILD)
	@bash bench/width_speed.sh $(BUILD)
	@bash bench/layout_speed.sh $(BUILD)
	@bash bench/prune_speed.sh $(BUILD)
	@bash bench/warmup_speed.sh $(BUILD)
	@bash bench/prune_ideas.sh $(BUILD)
	@bash bench/patch_peak.sh $(BUILD)

bench-prune: build
	@bash bench/prune_vgg.sh

bench-quant: build
	@bash bench/quant_accuracy.sh
	@bash bench/export_armnn.sh

# bench-deploy: every zoo model, unpruned and pruned, run on QEMU's Cortex-M4 by `deploy`
# (bit-exactness, arena, flash, instructions per MAC of the DSP and portable paths, the
# instruction model against the measured instructions), then the kernels alone (bench-kernels).
bench-deploy: build bench-kernels
	@/usr/bin/python3 bench/deploy.py --build $(BUILD)
	@/usr/bin/python3 bench/fit_instructions.py --build $(BUILD) --check-only

# bench-kernels: the runtime's kernels on QEMU's Cortex-M4, layer by layer, against CMSIS-NN.
bench-kernels:
	@bash bench/kernels.sh

# bench-kws: the MFCC front end's cost on the host and the Cortex-M4, and the expected duration of
# a full Speech Commands v2 run (DATA=path: a real Speech Commands folder).
bench-kws: build
	@bash bench/kws_frontend.sh $(BUILD) $(DATA)

clean:
	rm -rf $(BUILD)
