#!/usr/bin/env bash
# Helm, built from its Go module (the Go module proxy is reachable; helm's download site is not).
# Prints the path of a helm binary of HELM_VERSION; builds it only when none is there.
# usage: helm.sh   (env: MARKET_HELM_BIN_DIR, default $(go env GOPATH)/bin, which outlives a fresh clone)
set -euo pipefail

SERVICE=helm
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM_VERSION=v3.22.0
# The Kubernetes version helm assumes without a cluster (helm template, helm lint): its client-go's,
# as helm's own Makefile sets it (client-go v0.37 -> 1.37).
K8S_MAJOR=1 K8S_MINOR=37

version_of() { "$1" version --template '{{.Version}}' 2>/dev/null || true; }

if on_path="$(command -v helm)" && [[ "$(version_of "$on_path")" == "$HELM_VERSION" ]]; then
  echo "$on_path"
  exit 0
fi

require_cmd go "install Go 1.26 or later (helm $HELM_VERSION is built from source)"
bin_dir="${MARKET_HELM_BIN_DIR:-$(go env GOPATH)/bin}"
helm="$bin_dir/helm"
if [[ "$(version_of "$helm")" != "$HELM_VERSION" ]]; then
  log "building helm $HELM_VERSION into $bin_dir (3.5 minutes on 2 cores, the first time)" >&2
  mkdir -p "$bin_dir"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in chartutil lint/rules; do
    ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=$K8S_MAJOR"
    ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$K8S_MINOR"
  done
  # The lock serialises heavy jobs on this shared machine (builds, benchmarks).
  lock=(); command -v flock >/dev/null 2>&1 && lock=(flock /tmp/market-heavy.lock)
  GOBIN="$bin_dir" CGO_ENABLED=0 "${lock[@]}" go install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  [[ "$(version_of "$helm")" == "$HELM_VERSION" ]] || die "$helm does not report $HELM_VERSION after the build"
fi
echo "$helm"
