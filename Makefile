# zk-xds developer commands. `make run` and `make test` work on a fresh Debian machine.
.PHONY: help install build run clean-run demo-client test lint format protos bench bench-profile soak clean

help:
	@echo "make run          install what is missing, start a local ZooKeeper + demo service, serve xDS"
	@echo "make clean-run    stop make run's ZooKeeper and delete its data (policies included): the next make run starts clean"
	@echo "make demo-client  call the demo service through zk-xds with gRPC's xDS client"
	@echo "make test         run every test (unit, integration with real ZooKeeper, end to end)"
	@echo "make lint         lint and check formatting (biome; also part of make test)"
	@echo "make format       format the sources in place (biome)"
	@echo "make bench        run the performance benchmark"
	@echo "make soak         memory soak: an hour of registry churn, 1,000 proxies, session expiries (SOAK_ARGS=...)"
	@echo "make protos       refresh the vendored Envoy protos from @grpc/grpc-js-xds and their generated TypeScript types"

install:
	scripts/install-deps.sh

build: install
	npm run --silent build

run:
	scripts/run-demo.sh

clean-run:
	scripts/local-zookeeper.sh clean .run/zookeeper

demo-client:
	node deploy/demo/demo-client.mjs --xds 127.0.0.1:$${XDS_PORT:-18000} --service demo

test:
	scripts/test.sh

lint:
	npx biome ci --error-on-warnings --diagnostic-level=info .

format:
	npx biome format --write .

protos:
	scripts/vendor-protos.sh

clean:
	rm -rf dist .run

bench: build
	node dist/bench/spine-bench.js --services 10000 --instances 10 --changes 30
	node dist/bench/scenarios.js --protocol sotw --style envoy
	node dist/bench/scenarios.js --protocol delta --style envoy
	node dist/bench/scenarios.js --protocol sotw --style grpc
	node dist/bench/churn-bench.js --proxies 1000 --rate 100 --duration-s 30 --label workers-1
	node dist/bench/churn-bench.js --proxies 1000 --rate 100 --duration-s 30 --workers 2 --label workers-2
	node dist/bench/scope-bench.js --services 1000 --instances 10 --proxies 2000 --scope 10 --churn-rate 100
	scripts/connection-storm-bench.sh --proxies 10000

bench-profile: build
	node dist/bench/profile-cold-start.js --services 10000 --instances 10

# Not in CI: an hour by default; e.g. SOAK_ARGS="--duration-min 10 --expire-every-min 2" for a short one.
soak: build
	node dist/bench/soak.js $(SOAK_ARGS)
