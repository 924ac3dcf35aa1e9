# mcuprune: top-level commands. `make demo` and `make test` install missing
# dependencies first (scripts/install-deps.sh), then build.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MCUPRUNE = $(BUILD)/mcuprune

.PHONY: all deps build demo test bench bench-prune bench-quant clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The main job on the built-in default: vgg (about 970 KiB of int8 weights) does not fit the
# nucleo-f446re (384 KiB flash budget); train and prune it on Fashion-MNIST until it fits,
# then print the before/after table and the test accuracy. Each run writes to its own
# directory under runs/, so earlier results are never overwritten.
demo: build
	@out=runs/demo-$$(date +%Y%m%d-%H%M%S); \
	$(MCUPRUNE) profile --model vgg --board nucleo-f446re --no-timeline | tail -6 && \
	$(MCUPRUNE) prune --model vgg --dataset fashion-mnist --board nucleo-f446re --epochs 3 \
	  --out $$out && echo "demo: pruned model, checkpoint and report.json in $$out"

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Benchmarks write their tables to bench/results/. `bench` is the quick set (minutes);
# bench-prune (vgg unpruned vs pruned, about 15 min at EPOCHS=6) and bench-quant (int8 vs
# float for three models, about 20 min, then their .tflite exports run by Arm NN, about
# 10 min) train real models.
bench: build
	@bash bench/train_throughput.sh
	@bash bench/optimal_order.sh

bench-prune: build
	@bash bench/prune_vgg.sh

bench-quant: build
	@bash bench/quant_accuracy.sh
	@bash bench/export_armnn.sh

clean:
	rm -rf $(BUILD)
