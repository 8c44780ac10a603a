# llm-baremetal: one set of core sources, two programs.
#   build/llm.efi  UEFI application (gnu-efi, freestanding, SSE2 baseline)
#   build/llm      Linux host program (tests, benchmarks, tools)
# `make run` boots the EFI app in QEMU+OVMF; `make test` runs every test.

CC      ?= gcc
BUILD   := build
MODELS_DIR ?= $(abspath ../shared/models)

# Freestanding core: only platform.h and lib.h below it.
CORE_SRC := errors.c pfjob.c prof.c lib.c fmt.c mathf.c kernels.c simd.c simd_avx2.c simd_avx2vnni.c simd_avx512.c simd_avx512_g4.c model.c model_gguf.c gguf.c quant.c engine.c tokenizer.c tokenizer_spm.c tokenizer_bpe.c transformer.c \
            sampler.c generate.c config.c menu.c demo.c template.c chat.c app.c gguf_write.c bench.c lz4.c json.c export.c storage.c session.c api.c client.c client_remote.c client_download.c sha256.c
# The network stack (net_*.c) and HTTP (http*.c) are core too; net_snp.c is
# the UEFI device and builds only there.
CORE_SRC += $(filter-out net_snp.c,$(sort $(wildcard net*.c http*.c)))
EFI_SRC  := llama2_efi.c platform_efi.c crt_efi.c $(wildcard net_snp.c)
HOST_SRC := main_host.c platform_posix.c tool_synth.c tool_bench.c tool_quantize.c tool_compare.c

WARN    := -Wall -Wextra -Werror
# No FMA contraction and no -ffast-math: the generic kernels must round
# exactly like the reference implementation.
COMMON  := -std=c11 -O2 -ffp-contract=off -fno-math-errno $(WARN) -MMD -MP

# Each ISA file is built with its extensions only; simd.c calls into it only
# when CPUID and XGETBV say this CPU can run it.
ISA_AVX2   := -mavx2 -mfma -mf16c
ISA_AVX512 := $(ISA_AVX2) -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx512vnni
$(foreach b,efi host san,$(BUILD)/$(b)/simd_avx2.o): ISA_FLAGS := $(ISA_AVX2)
$(foreach b,efi host san,$(BUILD)/$(b)/simd_avx2vnni.o): ISA_FLAGS := $(ISA_AVX2) -mavxvnni
$(foreach b,efi host san,$(BUILD)/$(b)/simd_avx512.o): ISA_FLAGS := $(ISA_AVX512)
$(foreach b,efi host san,$(BUILD)/$(b)/simd_avx512_g4.o): ISA_FLAGS := $(ISA_AVX512)

# ---- UEFI build -------------------------------------------------------------
EFI_INC    := /usr/include/efi
EFI_LIBDIR := /usr/lib
EFI_CFLAGS := $(COMMON) -DLLM_EFI -ffreestanding -fpic -fshort-wchar -mno-red-zone \
              -fno-stack-protector -fno-strict-aliasing -fno-builtin-printf \
              -maccumulate-outgoing-args -DGNU_EFI_USE_MS_ABI \
              -msse2 -mno-avx -I. -I$(EFI_INC) -I$(EFI_INC)/x86_64 -I$(EFI_INC)/protocol
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic --no-undefined \
              -T $(EFI_LIBDIR)/elf_x86_64_efi.lds -L$(EFI_LIBDIR)

EFI_OBJ := $(addprefix $(BUILD)/efi/,$(CORE_SRC:.c=.o) $(EFI_SRC:.c=.o) web_chat.o)

# ---- host builds ------------------------------------------------------------
HOST_CFLAGS := $(COMMON) -D_GNU_SOURCE -g
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
HOST_OBJ := $(addprefix $(BUILD)/host/,$(CORE_SRC:.c=.o) $(HOST_SRC:.c=.o) web_chat.o)
SAN_OBJ  := $(addprefix $(BUILD)/san/,$(CORE_SRC:.c=.o) platform_posix.o web_chat.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_OBJ := $(addprefix $(BUILD)/san/,$(TEST_SRC:.c=.o))

.PHONY: all efi host test unit run image deps clean bench bench-compare bench-api models
all: efi host

efi: $(BUILD)/llm.efi
host: $(BUILD)/llm $(BUILD)/san/llm $(BUILD)/san/unit_tests

# The chat page the HTTP API serves at / (web/chat.html), as a C array.
$(BUILD)/gen/web_chat.c: web/chat.html scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh web_chat_html $< >$@

$(BUILD)/efi/web_chat.o: $(BUILD)/gen/web_chat.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/host/web_chat.o: $(BUILD)/gen/web_chat.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/san/web_chat.o: $(BUILD)/gen/web_chat.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/efi/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) $(ISA_FLAGS) -c $< -o $@

$(BUILD)/llm.so: $(EFI_OBJ)
	ld $(EFI_LDFLAGS) $(EFI_LIBDIR)/crt0-efi-x86_64.o $^ -o $@ -lefi -lgnuefi

$(BUILD)/llm.efi: $(BUILD)/llm.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
	        -j .rela -j .rel.* -j .rela.* -j .reloc \
	        --target efi-app-x86_64 --subsystem=10 $< $@

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(ISA_FLAGS) -c $< -o $@

$(BUILD)/llm: $(HOST_OBJ)
	$(CC) $^ -o $@ -lpthread

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $(ISA_FLAGS) -I. -c $< -o $@

$(BUILD)/san/llm: $(SAN_OBJ) $(BUILD)/san/main_host.o
	$(CC) $(SAN_FLAGS) $^ -o $@ -lpthread

# Unit tests link the core and may compare against libm.
$(BUILD)/san/unit_tests: $(SAN_OBJ) $(TEST_OBJ)
	$(CC) $(SAN_FLAGS) $^ -o $@ -lpthread -lm

# ---- running ----------------------------------------------------------------
deps:
	@scripts/deps.sh

# Models verified by `make models` go on the image too, under \models, next to
# the default model (MODELS_ON_IMAGE=0 leaves them off).
WITH_DOWNLOADS = EXTRA="$(EXTRA) $$(scripts/models.sh --image-files)"

image: deps efi
	@$(WITH_DOWNLOADS) scripts/mkimage.sh $(BUILD)/disk.img

# NET_PORT=8080: a network card too, the app's HTTP API on 127.0.0.1:8080.
run: deps efi
	@$(WITH_DOWNLOADS) scripts/mkimage.sh $(BUILD)/disk.img && NET_PORT=$(NET_PORT) scripts/qemu.sh $(BUILD)/disk.img

# The models of scripts/models.list (all, or MODELS="stories15M.bin tokenizer.bin"),
# checksummed and resumable, into models/downloads/ (scripts/models.sh).
models:
	@scripts/deps.sh && scripts/models.sh $(MODELS)

unit: $(BUILD)/san/unit_tests
	LLM_MODELS=$(MODELS_DIR) $(BUILD)/san/unit_tests

test: deps
	@$(MAKE) --no-print-directory all
	@MODELS_DIR=$(MODELS_DIR) scripts/run_tests.sh

# Speed: decode/prefill tok/s against the bandwidth roofline, host and QEMU
# (not a test; scripts/bench.sh lists the knobs, e.g. BENCH_SHAPES=stories15M).
bench: $(BUILD)/llm $(BUILD)/llm.efi
	@scripts/bench.sh

# The same next to llama.cpp (node-llama-cpp) on the same files; rewrites BENCHMARKS.md.
bench-compare: $(BUILD)/llm $(BUILD)/llm.efi
	@scripts/bench.sh --compare

# The HTTP API's cost: console vs API decode tok/s and the first streamed
# token's latency, in QEMU (scripts/bench_api.sh, build/bench/api.md).
bench-api: $(BUILD)/llm.efi
	@scripts/bench_api.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzzing ------------------------------------------------------------------
# libFuzzer targets for every parser of untrusted input (needs clang and
# libclang-rt-14-dev: scripts/deps.sh --test). Also runs inside `make test`
# as tests/host_fuzz.sh. FUZZ_SECONDS per target (default 20).
FUZZ_SECONDS ?= 20
.PHONY: fuzz
fuzz:
	@DEPS_TEST=1 scripts/deps.sh
	@FUZZ_SECONDS=$(FUZZ_SECONDS) MODELS_DIR=$(MODELS_DIR) bash tests/host_fuzz.sh
