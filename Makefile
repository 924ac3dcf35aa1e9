# mcuprune: top-level commands. `make demo` and `make test` install missing
# dependencies first (scripts/install-deps.sh), then build.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MCUPRUNE = $(BUILD)/mcuprune

.PHONY: all deps build demo test bench bench-full bench-misc bench-prune bench-quant bench-deploy clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The main job on the built-in default: vgg (about 970 KiB of int8 weights) does not fit the
# nucleo-f446re (384 KiB flash budget); train and prune it on Fashion-MNIST until it fits,
# then print the before/after table and the test accuracy, and prove that it fits: build it
# as a firmware for the board's memory map and run 20 test images on an emulated Cortex-M4
# (QEMU), every output compared with the host. Each run writes to its own directory under
# runs/, so earlier results are never overwritten.
demo: build
	@out=runs/demo-$$(date +%Y%m%d-%H%M%S); \
	$(MCUPRUNE) profile --model vgg --board nucleo-f446re --no-timeline | tail -6 && \
	$(MCUPRUNE) prune --model vgg --dataset fashion-mnist --board nucleo-f446re --epochs 3 \
	  --out $$out && echo "demo: pruned model, checkpoint and report.json in $$out" && \
	$(MCUPRUNE) deploy --model $$out --dataset fashion-mnist --board nucleo-f446re --emulate --samples 20

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Benchmarks write their tables to bench/results/ (docs/benchmark.md). `bench` compares the
# pruning methods on less data and fewer epochs (under 25 min on 2 cores): RESULTS.md;
# `bench-full` is the same comparison at full scale: RESULTS-full.md. DATA=path uses another
# dataset (CIFAR-10 binary batches or an image folder). Both continue an interrupted run.
# bench-misc: training throughput and the optimal operator order (minutes); bench-prune (vgg
# unpruned vs pruned, about 15 min at EPOCHS=6) and bench-quant (int8 vs float for three
# models, about 20 min, then their .tflite exports run by Arm NN, about 10 min); bench-deploy
# (the C runtime on QEMU, every zoo model).
bench: build
	@/usr/bin/python3 bench/methods.py --mode quick --build $(BUILD) $(if $(DATA),--data $(DATA))

bench-full: build
	@/usr/bin/python3 bench/methods.py --mode full --build $(BUILD) $(if $(DATA),--data $(DATA))

bench-misc: build
	@bash bench/train_throughput.sh $(BUILD)
	@bash bench/optimal_order.sh $(BUILD)

bench-prune: build
	@bash bench/prune_vgg.sh

bench-quant: build
	@bash bench/quant_accuracy.sh
	@bash bench/export_armnn.sh

# bench-deploy: every zoo model, unpruned and pruned, run on QEMU's Cortex-M4 by `deploy`
# (bit-exactness, arena, flash, instructions per MAC of the DSP and portable paths).
bench-deploy: build
	@/usr/bin/python3 bench/deploy.py --build $(BUILD)

clean:
	rm -rf $(BUILD)
