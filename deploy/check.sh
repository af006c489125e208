#!/usr/bin/env bash
# Offline checks of everything in deploy/: shell syntax and lint, systemd unit syntax, YAML
# parsing and Kubernetes schemas. A missing optional tool is reported as skipped; pass --strict to
# make it a failure instead.
set -euo pipefail
cd "$(dirname "$0")"

strict=0
[ "${1:-}" = --strict ] && strict=1
failures=0
pass() { echo "ok       $*"; }
fail() { echo "FAILED   $*"; failures=$((failures + 1)); }
skip() {
    if [ "$strict" = 1 ]; then fail "$* (tool missing)"; else echo "skipped  $* (tool missing)"; fi
}

# Shell scripts.
for script in check.sh container/build-rootfs.sh; do
    if bash -n "$script"; then pass "bash -n $script"; else fail "bash -n $script"; fi
    if command -v shellcheck >/dev/null 2>&1; then
        if shellcheck "$script"; then pass "shellcheck $script"; else fail "shellcheck $script"; fi
    else
        skip "shellcheck $script (apt-get install shellcheck)"
    fi
done

# systemd units: verify needs ExecStart to exist, so check copies pointing at /bin/true.
if command -v systemd-analyze >/dev/null 2>&1; then
    units=$(mktemp -d)
    trap 'rm -rf "$units"' EXIT
    sed 's#/usr/local/bin/factory#/bin/true#' systemd/factory-coordinator.service \
        > "$units/factory-coordinator.service"
    sed 's#/usr/local/bin/factory#/bin/true#' systemd/factory-node@.service \
        > "$units/factory-node@check.service"
    if (cd "$units" && systemd-analyze verify ./factory-coordinator.service ./factory-node@check.service); then
        pass "systemd-analyze verify (unknown keys on systemd < 254 are expected warnings)"
    else
        fail "systemd-analyze verify"
    fi
else
    skip "systemd-analyze verify"
fi

# YAML: every file parses, every document has a kind.
if python3 -c 'import yaml' 2>/dev/null; then
    if python3 - kubernetes/*.yaml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for doc in docs:
        if "kind" not in doc:
            sys.exit(f"{path}: a document without kind")
PY
    then pass "yaml parse kubernetes/*.yaml"; else fail "yaml parse kubernetes/*.yaml"; fi
else
    skip "yaml parse (pip install pyyaml)"
fi

# Kubernetes schemas (kustomization.yaml is not a cluster resource).
if command -v kubernetes-validate >/dev/null 2>&1; then
    if kubernetes-validate --strict --quiet kubernetes/namespace.yaml kubernetes/telemetry.yaml \
        kubernetes/coordinator.yaml kubernetes/node.yaml; then
        pass "kubernetes-validate --strict"
    else
        fail "kubernetes-validate --strict"
    fi
else
    skip "kubernetes-validate (pip install kubernetes-validate)"
fi
if command -v kubectl >/dev/null 2>&1; then
    if kubectl kustomize kubernetes >/dev/null; then pass "kubectl kustomize"; else fail "kubectl kustomize"; fi
else
    skip "kubectl kustomize"
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
