#!/usr/bin/env bash
# The release agrees with itself (issue 14): the version lives in the
# control file; META.json, the CHANGELOG's newest section and the upgrade
# scripts agree with it; META.json validates against the PGXN meta spec
# 1.0.0 (required keys and their forms); `make dist` produces a zip that
# carries META.json, the control file, the install script's source and
# every upgrade script.
set -euo pipefail
cd "$(dirname "$0")/.."
n=0; failures=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failures=$((failures + 1)); fi; }
command -v git >/dev/null && command -v unzip >/dev/null || bash scripts/install-deps.sh unzip >/dev/null \
  || { echo "not ok - release: unzip is not available"; exit 1; }

VERSION="$(make -s print-version)"
ok "$([ -n "$VERSION" ] && echo 0 || echo 1)" "the control file names the version ($VERSION)"
out="$(/usr/bin/python3 - "$VERSION" <<'PY'
import json, re, sys
version = sys.argv[1]
errors = []
try:
    m = json.load(open("META.json"))
except Exception as e:
    print("META.json is not JSON: %s" % e); sys.exit(0)
semver = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z-]+)?$")
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    if key not in m:
        errors.append("missing required key %s" % key)
if m.get("meta-spec", {}).get("version") != "1.0.0":
    errors.append("meta-spec.version must be 1.0.0")
if not semver.match(str(m.get("version", ""))):
    errors.append("version is not semantic: %r" % m.get("version"))
if m.get("version") != version:
    errors.append("META.json version %s, control file %s" % (m.get("version"), version))
if not isinstance(m.get("maintainer"), (str, list)) or not m.get("maintainer"):
    errors.append("maintainer must be a string or a non-empty list")
if not re.match(r"^[A-Za-z0-9_-]{2,}$", str(m.get("name", ""))):
    errors.append("name is not a valid PGXN name")
licenses = {"postgresql", "bsd", "mit", "gpl_3", "apache_2_0", "unrestricted", "open_source"}
lic = m.get("license")
if not (isinstance(lic, str) and lic in licenses or isinstance(lic, dict)):
    errors.append("license %r is not a PGXN license name" % lic)
for ext, p in m.get("provides", {}).items():
    if "file" not in p or "version" not in p:
        errors.append("provides.%s needs file and version" % ext)
        continue
    if p["version"] != version:
        errors.append("provides.%s.version %s, control file %s" % (ext, p["version"], version))
    try:
        open(p["file"])
    except OSError:
        errors.append("provides.%s.file %s does not exist" % (ext, p["file"]))
for phase in m.get("prereqs", {}).values():
    for rel in phase.values():
        for name, v in rel.items():
            if not semver.match(str(v)) and v != 0:
                errors.append("prereq %s version %r is not semantic" % (name, v))
print("\n".join(errors))
PY
)"
ok "$([ -z "$out" ] && echo 0 || echo 1)" "META.json validates against the PGXN meta spec 1.0.0 and names $VERSION${out:+: $out}"
top="$(sed -n 's/^## \([0-9][0-9.]*\).*/\1/p' CHANGELOG.md | head -1)"
ok "$([ "$top" = "$VERSION" ] && echo 0 || echo 1)" "the CHANGELOG's newest section is $VERSION (got ${top:-none})"
prev="$(sed -n 's/^## \([0-9][0-9.]*\).*/\1/p' CHANGELOG.md | sed -n 2p)"
ok "$([ -z "$prev" ] || [ -f "src/sql/pg_queryset--$prev--$VERSION.sql" ] && echo 0 || echo 1)" "an upgrade script from the previous release ${prev:-none} to $VERSION exists"

zip="pg_queryset-$VERSION.zip"
rm -f "$zip"
if make -s dist >/dev/null 2>&1 && [ -f "$zip" ]; then
  listing="$(unzip -Z1 "$zip")"
  missing=""
  for f in META.json pg_queryset.control src/sql/pg_queryset.sql Makefile README.md $(ls src/sql/pg_queryset--*--*.sql); do
    echo "$listing" | grep -qx "pg_queryset-$VERSION/$f" || missing="$missing $f"
  done
  ok "$([ -z "$missing" ] && echo 0 || echo 1)" "make dist produced $zip with META.json, the control file, the install script and the upgrade scripts${missing:+ (missing:$missing)}"
  rm -f "$zip"
else
  ok 1 "make dist produced $zip"
fi
echo "1..$n"
if [ "$failures" = 0 ]; then echo "# release: all $n tests passed"; else echo "# release: $failures of $n tests FAILED"; exit 1; fi
