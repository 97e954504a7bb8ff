#!/usr/bin/env bash
#
# Install what building and testing the module needs, from Debian's
# packages: Debian's nginx and its development tree, the compiler and the
# libraries nginx's configure looks for, curl and openssl, the Perl
# modules the Test::Nginx suite uses, gdb, with which a test stops a
# worker at a chosen point, and Prometheus, whose promtool checks the
# metrics the module serves. Idempotent; quick when all is there.
#
# The stock nginx and prometheus services are stopped and disabled: the
# other scripts start their own instances, with their own prefixes and
# ports.

set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    say_usage '[-h]' 'Installs the Debian packages needed to build and test.'
}

no_arguments "$@"

BUILD_PACKAGES=(
    build-essential
    libssl-dev
    libpcre2-dev
    zlib1g-dev
)

TOOL_PACKAGES=(
    curl
    openssl
)

TEST_PACKAGES=(
    libtest-base-perl
    libipc-run-perl
    libio-socket-ssl-perl
    libnet-ssleay-perl
    libtest-longstring-perl
    libtext-diff-perl
    liblist-moreutils-perl
    libjson-pp-perl
    libhttp-message-perl
    gdb
    prometheus
)

need_debian_nginx
need_packages "${BUILD_PACKAGES[@]}" "${TOOL_PACKAGES[@]}" \
              "${TEST_PACKAGES[@]}"
prometheus_service_off

log "dependencies in place ($("$DEBIAN_NGINX" -v 2>&1 | sed 's/.*: //'))"
