# Kiroku: `make run` runs kirokud on its embedded defaults; `make test`
# installs what the tests need when it is missing and runs them.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
TOOLS     := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(PATH)

.PHONY: run build test test-deps vet clean

run:
	$(GO) run ./cmd/kirokud $(ARGS)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kirokud ./cmd/kirokud

# Debian packages the tests drive: SIPp (sip-tester) as caller and agent.
APT_PKGS := sip-tester
test-deps:
	@missing=""; \
	command -v sipp >/dev/null || missing="$$missing sip-tester"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

vet:
	$(GO) vet ./...

test: test-deps vet
	$(GO) test -race -count=1 -timeout 20m ./...

clean:
	rm -rf bin kiroku-data
