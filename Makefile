# airgap — see README.md. Every target works on a fresh Debian/Ubuntu machine as root.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
AIRGAP := src/Airgap.Cli/bin/$(CONFIG)/net10.0/airgap
TESTKIT := tests/Airgap.TestKit/bin/$(CONFIG)/net10.0/airgap-testkit
# Debian packages the integration tests, the demo and the benchmark start for real.
TEST_PACKAGES := docker-registry skopeo umoci containerd runc docker.io openssh-server sudo busybox-static apache2-utils time rpm createrepo-c dnf gnupg dpkg-dev debootstrap apt-utils

.PHONY: build test unit integration deps publish demo bench e2e e2e-cluster docs clean

build:
	$(DOTNET) build Airgap.sln -c $(CONFIG) --nologo -v quiet

deps:
	@missing=""; for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f '$${Status}' $$p 2>/dev/null | grep -q ' installed$$' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; guard=1; fi; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
	  [ -n "$$guard" ] && rm -f /usr/sbin/policy-rc.d; [ $$rc -eq 0 ]; \
	fi

test: deps build
	$(DOTNET) test tests/Airgap.Tests -c $(CONFIG) --no-build --nologo
	$(DOTNET) test tests/Airgap.IntegrationTests -c $(CONFIG) --no-build --nologo

# Pages generated from the code; a unit test fails when they are stale.
docs: build
	$(AIRGAP) cluster init-config --reference > docs/cluster-yaml.md

unit: build
	$(DOTNET) test tests/Airgap.Tests -c $(CONFIG) --no-build --nologo

integration: deps build
	$(DOTNET) test tests/Airgap.IntegrationTests -c $(CONFIG) --no-build --nologo

publish:
	@for arch in amd64 arm64; do \
	  rid=linux-$$( [ $$arch = amd64 ] && echo x64 || echo arm64 ); \
	  $(DOTNET) publish src/Airgap.Cli -c $(CONFIG) -r $$rid --self-contained \
	    -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:DebugType=none \
	    -o dist/$$rid --nologo -v quiet || exit 1; \
	  cp dist/$$rid/airgap dist/airgap-linux-$$arch; \
	  echo "dist/airgap-linux-$$arch"; \
	done

e2e: deps build publish
	bash scripts/e2e.sh

e2e-cluster: deps build publish
	bash scripts/e2e-cluster.sh

demo: deps build
	bash scripts/demo.sh

bench: deps build publish
	bash bench/run.sh

clean:
	rm -rf dist bench/work
	$(DOTNET) clean Airgap.sln --nologo -v quiet
