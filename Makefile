# mcuprune: top-level commands. `make demo` and `make test` install missing
# dependencies first (scripts/install-deps.sh), then build.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MCUPRUNE = $(BUILD)/mcuprune

.PHONY: all deps build demo test bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The main job on the built-in default: train tinycnn on Fashion-MNIST, print test accuracy.
# Each run writes to its own directory under runs/, so earlier results are never overwritten.
demo: build
	@out=runs/demo-$$(date +%Y%m%d-%H%M%S); \
	$(MCUPRUNE) train --model tinycnn --dataset fashion-mnist --epochs 2 --batch-size 64 \
	  --out $$out && echo "demo: model, checkpoint and report.json in $$out"

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	@bash bench/train_throughput.sh

clean:
	rm -rf $(BUILD)
