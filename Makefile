# pg_queryset -- PGXS build.  The version lives in pg_queryset.control only.
EXTENSION   = pg_queryset
EXTVERSION  = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big  = pg_queryset
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# the versioned install script is built from one source; upgrade scripts
# (src/sql/pg_queryset--A--B.sql) are installed as they are
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
DATA        = $(wildcard src/sql/$(EXTENSION)--*--*.sql)
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql results regression.diffs regression.out

# pg_regress: one file per area in sql/, expected output in expected/
# setup loads the demo schema and data (scale 1) and must run first
REGRESS      = setup extension queryset lookups terminals errors plancache cursor relations nested expressions aggregates writes bulkload reentrancy querystats managers tenant tenant_hardening django_semantics composite_keys set_operations pagination guards
REGRESS_OPTS = --inputdir=. --outputdir=. --dbname=qs_regression

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS  += -Wall -Wmissing-prototypes -Wpointer-arith -Wendif-labels \
              -Wformat-security -Wno-format-truncation -std=gnu99
# CI builds with WERROR=1 (scripts/test.sh): any warning fails the build
ifneq ($(filter 1 true yes,$(WERROR)),)
PG_CFLAGS  += -Werror
endif

# real header dependencies: the compiler writes src/<file>.d next to each
# object (-MMD; -MP keeps a removed header from breaking the build), so an
# edit to one module's header rebuilds only the files that include it
override PG_CFLAGS += -MMD -MP
EXTRA_CLEAN += src/*.d

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(wildcard src/*.d)

$(EXTENSION)--$(EXTVERSION).sql: src/sql/$(EXTENSION).sql $(EXTENSION).control
	cp $< $@

.PHONY: print-version
print-version:
	@echo $(EXTVERSION)

# The hardening suite (test/stress/run.sh): fuzzer, injection corpus,
# sqlsmith, memory growth, load, valgrind; needs the cluster of
# scripts/cluster.sh running and the extension installed.
.PHONY: stress
stress:
	bash test/stress/run.sh

# A PGXN-ready archive of the committed tree: pg_queryset-<version>.zip
# (test/release.sh checks it and META.json).
.PHONY: dist
dist:
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD
	@echo $(EXTENSION)-$(EXTVERSION).zip
