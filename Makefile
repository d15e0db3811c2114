# Thin wrapper over meson: every target installs what it needs, then hands over to ninja.
BUILD      ?= build
ASAN_BUILD ?= build-asan
BUILD_DEPS  = meson ninja-build pkg-config gcc libc6-dev libcmocka-dev libarchive-dev libncurses-dev libmicrohttpd-dev
CHECK_DEPS  = $(BUILD_DEPS) python3 smem clang libclang-rt-14-dev strace valgrind zstd libarchive-tools tmux prometheus prometheus-node-exporter chromium zsh fish
# The static capture for phones and Chromebooks, and what runs it here (make capture-cross;
# make check tests it under qemu-user and capture --adb against adb, and goes on without).
CROSS_DEPS  = gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user-static adb
DEB_DEPS    = $(BUILD_DEPS) debhelper dpkg-dev lintian git
BENCH_DEPS  = $(BUILD_DEPS) python3 smem smemstat procps prometheus-process-exporter

FUZZ_SECONDS ?= 600

.PHONY: all build capture-static capture-cross cross-setup run check test asan asan-build bench demo examples fuzz install deb clean format

all: build

build:
	@tools/deps.sh $(BUILD_DEPS)
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	ninja -C $(BUILD)

# memledger-capture linked statically: one file to copy to a phone or a router.
capture-static: build
	ninja -C $(BUILD) memledger-capture-static
	@ls -l $(BUILD)/memledger-capture-static

# memledger-capture for arm64 (arm64-v8a) and armv7 (armeabi-v7a) devices, static, libc only:
# build/memledger-capture-arm64 and -armv7, what capture --adb pushes.
capture-cross:
	@tools/deps.sh $(CROSS_DEPS)
	@$(MAKE) --no-print-directory cross-setup
	ninja -C $(BUILD) memledger-capture-arm64 memledger-capture-armv7
	@ls -l $(BUILD)/memledger-capture-arm64 $(BUILD)/memledger-capture-armv7

# A build directory set up before the cross compilers were installed looks for them again.
cross-setup:
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@if command -v aarch64-linux-gnu-gcc >/dev/null && \
		! ninja -C $(BUILD) -t targets all | grep -q '^memledger-capture-arm64:'; then \
		meson setup --reconfigure $(BUILD) >/dev/null; fi

run: build
	$(BUILD)/memledger $(ARGS)

# Unit, fixture and live tests, then the same tests built with ASan and UBSan. What the
# tests change on the machine (swap, cgroups, helper processes) is said and undone after,
# pass or fail (tools/check-state.sh); the duration is said at the end.
check:
	@tools/deps.sh $(CHECK_DEPS)
	@tools/deps.sh $(CROSS_DEPS) || echo "memledger: the cross compilers, qemu-user or adb" \
		"could not be installed: the cross and adb tests will SKIP" >&2
	@$(MAKE) --no-print-directory cross-setup
	@date +%s > $(BUILD)/check-started
	ninja -C $(BUILD)
	@$(MAKE) --no-print-directory asan-build
	@tools/check-state.sh before $(BUILD)/check-state
	@status=0; \
	meson test -C $(BUILD) --print-errorlogs || status=1; \
	[ $$status = 0 ] && { ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
		meson test -C $(ASAN_BUILD) --print-errorlogs || status=1; }; \
	tools/check-state.sh after $(BUILD)/check-state; \
	took=$$(( $$(date +%s) - $$(cat $(BUILD)/check-started) )); \
	if [ $$status = 0 ]; then \
		echo "memledger: make check passed in $$took s (both builds, after the packages)"; \
	else \
		echo "memledger: make check FAILED after $$took s"; \
	fi; \
	exit $$status

# The tests and the libFuzzer targets built with clang, ASan and UBSan.
asan-build:
	@[ -f $(ASAN_BUILD)/build.ninja ] || CC=clang meson setup $(ASAN_BUILD) --buildtype=debug \
		-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true >/dev/null
	ninja -C $(ASAN_BUILD)

# The libFuzzer targets of the ASan build, FUZZ_SECONDS each (make check runs 30 s each).
fuzz:
	@tools/deps.sh $(CHECK_DEPS)
	@$(MAKE) --no-print-directory asan-build
	tests/fuzz.sh $(FUZZ_SECONDS) $(ASAN_BUILD)/tests/fuzz_parse $(ASAN_BUILD)/tests/fuzz_tree \
		$(ASAN_BUILD)/tests/fuzz_archive $(ASAN_BUILD)/memledger-capture

# The test helper's family, its PIDs, and the manual's examples run on it.
demo: build
	tools/demo.sh $(BUILD)

# Rewrites the examples of doc/manual.md and README.md from one run of the demo: each is
# its command's output.
examples: build
	tools/demo.sh $(BUILD) > $(BUILD)/demo.out
	python3 tools/readme_examples.py $(BUILD)/memledger doc/manual.md $(BUILD)/demo.out
	python3 tools/readme_examples.py $(BUILD)/memledger README.md $(BUILD)/demo.out --subset

bench: build
	@tools/deps.sh $(BENCH_DEPS)
	python3 bench/bench.py --memledger $(BUILD)/memledger $(ARGS)

install: build
	meson install -C $(BUILD)

# A Debian package (debian/: debhelper, meson) of the working tree, built in build-deb/
# and checked by lintian: build-deb/memledger_VERSION_ARCH.deb.
deb:
	@tools/deps.sh $(DEB_DEPS)
	rm -rf build-deb && mkdir -p build-deb/memledger
	git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C build-deb/memledger
	cd build-deb/memledger && dpkg-buildpackage -b -us -uc
	lintian --fail-on error,warning build-deb/*.changes
	@ls -l build-deb/*.deb

format:
	clang-format -i include/*.h include/memledger/*.h lib/*.[ch] src/*.[ch] tests/*.c tests/live/*.c bench/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-deb
