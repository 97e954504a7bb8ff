#!/usr/bin/env bash
#
# Unpack the upstream nginx source that Debian ships in its nginx source
# package: the newest version whose number starts with VERSION_PREFIX
# (1.22 is Debian 12's, 1.26 is Debian 13's) goes to DESTDIR.
#
# Adds deb-src entries for Debian 12 and 13 if they are missing, then takes
# the upstream tarball (nginx_X.Y.Z.orig.tar.gz) with `apt-get source
# --download-only`; apt checks it against the signed source index. Tarballs
# are kept in build/sources/, so later runs need no network. An unpacked
# DESTDIR from the same tarball is left as it is (it may hold a build).

set -euo pipefail

usage() {
    printf 'usage: %s [-h] VERSION_PREFIX DESTDIR\n' "$(basename "$0")"
    printf 'example: %s 1.22 build/nginx-1.22-src\n' "$(basename "$0")"
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
esac

if [[ $# -ne 2 ]]; then
    usage >&2
    exit 2
fi

PREFIX="$1"
DEST="$2"

if [[ ! "$PREFIX" =~ ^[0-9]+(\.[0-9]+)*$ ]]; then
    usage >&2
    exit 2
fi

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE="$BUILD_DIR/sources"
SOURCES_FILE=/etc/apt/sources.list.d/palette-cert-deb-src.sources
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Archive and suites whose nginx source packages are used.
DEBIAN_URI=http://deb.debian.org/debian
SECURITY_URI=http://deb.debian.org/debian-security
DEBIAN_SUITES=(bookworm bookworm-updates trixie)
SECURITY_SUITES=(bookworm-security trixie-security)


# "URI SUITE" of every deb-src index apt is configured with, whether or not
# its lists were downloaded yet.
configured_deb_src() {
    # shellcheck disable=SC2016  # apt's own $(FIELD) placeholders
    apt-get indextargets --no-release-info \
        --format '$(TARGET_OF) $(REPO_URI) $(RELEASE)' \
        'Created-By: Sources' 2>/dev/null \
        | awk '$1 == "deb-src" { sub("/$", "", $2); print $2, $3 }' \
        | sort -u
}

# Add deb-src entries for the suites not yet configured; return 0 if any
# were added.
add_deb_src() {
    local configured uri suite
    local -a missing=()

    configured="$(configured_deb_src)"

    for suite in "${DEBIAN_SUITES[@]}"; do
        if ! grep -qxF "$DEBIAN_URI $suite" <<<"$configured"; then
            missing+=("$DEBIAN_URI $suite")
        fi
    done
    for suite in "${SECURITY_SUITES[@]}"; do
        if ! grep -qxF "$SECURITY_URI $suite" <<<"$configured"; then
            missing+=("$SECURITY_URI $suite")
        fi
    done

    if [[ "${#missing[@]}" -eq 0 ]]; then
        return 1
    fi

    need_root "adding deb-src entries"
    [[ -f "$KEYRING" ]] || need_packages debian-archive-keyring

    log "adding deb-src entries to $SOURCES_FILE: ${missing[*]}"
    for uri in "${missing[@]}"; do
        suite="${uri#* }"
        uri="${uri%% *}"
        if [[ -s "$SOURCES_FILE" ]]; then
            printf '\n' >> "$SOURCES_FILE"
        fi
        printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n%s\n' \
            "$uri" "$suite" "Signed-By: $KEYRING" >> "$SOURCES_FILE"
    done
    return 0
}

# The source versions of nginx that start with PREFIX, newest first.
matching_versions() {
    local -a versions=()
    local v i j t

    while read -r v; do
        if [[ "${v#*:}" == "$PREFIX" || "${v#*:}" == "$PREFIX".* \
              || "${v#*:}" == "$PREFIX"-* ]]
        then
            versions+=("$v")
        fi
    done < <(apt-cache showsrc nginx 2>/dev/null \
             | sed -n 's/^Version: //p' | sort -u)

    # Insertion sort, newest first, by dpkg's own ordering (only a few).
    for ((i = 1; i < ${#versions[@]}; i++)); do
        t="${versions[i]}"
        for ((j = i - 1; j >= 0; j--)); do
            if dpkg --compare-versions "${versions[j]}" ge "$t"; then
                break
            fi
            versions[j + 1]="${versions[j]}"
        done
        versions[j + 1]="$t"
    done

    if [[ "${#versions[@]}" -gt 0 ]]; then
        printf '%s\n' "${versions[@]}"
    fi
}

# Upstream version of a Debian version: no epoch, no Debian revision.
upstream_of() {
    local v="${1#*:}"
    printf '%s\n' "${v%-*}"
}

# Newest cached orig tarball for PREFIX, if any.
cached_tarball() {
    local f best="" bestv="" v

    for f in "$CACHE"/nginx_"$PREFIX".*.orig.tar.gz \
             "$CACHE"/nginx_"$PREFIX".orig.tar.gz
    do
        [[ -f "$f" ]] || continue
        v="${f##*/nginx_}"
        v="${v%.orig.tar.gz}"
        if [[ -z "$bestv" ]] || dpkg --compare-versions "$v" gt "$bestv"; then
            best="$f"
            bestv="$v"
        fi
    done

    [[ -n "$best" ]] && printf '%s\n' "$best"
}

# Try each matching version until apt delivers its orig tarball; print the
# tarball's path. The .dsc and .debian.tar.xz of some versions are gone from
# the archive (404) while the orig tarball is still there: that is enough.
download_tarball() {
    local v up orig tmp
    local -a versions

    mapfile -t versions < <(matching_versions)
    if [[ "${#versions[@]}" -eq 0 ]]; then
        return 1
    fi

    need_root "downloading source packages"
    mkdir -p "$CACHE"

    for v in "${versions[@]}"; do
        up="$(upstream_of "$v")"
        orig="nginx_$up.orig.tar.gz"

        if [[ -f "$CACHE/$orig" ]]; then
            printf '%s\n' "$CACHE/$orig"
            return 0
        fi

        log "apt-get source --download-only nginx=$v"
        tmp="$(mktemp -d "$CACHE/download.XXXXXX")"
        # apt drops privileges to _apt for downloads when it can write here.
        chown _apt "$tmp" 2>/dev/null || true

        (cd "$tmp" && apt-get source --download-only -qq "nginx=$v") \
            > "$tmp.log" 2>&1 || true

        if [[ -f "$tmp/$orig" ]]; then
            if grep -q '404' "$tmp.log"; then
                log "nginx=$v: $orig arrived (other files of the" \
                    "source package are gone from the archive: 404)"
            fi
            mv -f "$tmp/$orig" "$CACHE/$orig"
            rm -rf "$tmp" "$tmp.log"
            printf '%s\n' "$CACHE/$orig"
            return 0
        fi

        warn "nginx=$v: no $orig; apt said:"
        grep -E '^(E|W|Err):' "$tmp.log" | head -n 5 >&2 || true
        rm -rf "$tmp" "$tmp.log"
    done

    return 1
}


tarball="$(cached_tarball || true)"

if [[ -n "$tarball" ]]; then
    log "using cached $(basename "$tarball")"
else
    if add_deb_src; then
        apt_update
    fi

    if [[ -z "$(matching_versions)" ]]; then
        log "no nginx $PREFIX source package known to apt yet"
        apt_update
    fi

    if ! tarball="$(download_tarball)"; then
        if [[ -z "${PCERT_APT_UPDATED:-}" ]]; then
            apt_update
            tarball="$(download_tarball)" || tarball=""
        else
            tarball=""
        fi
    fi

    [[ -n "$tarball" ]] \
        || die "no nginx $PREFIX.* upstream tarball could be downloaded" \
               "(apt-cache showsrc nginx lists: $(apt-cache showsrc nginx \
               | sed -n 's/^Version: //p' | sort -u | tr '\n' ' '))"
fi

# Unpack, unless DESTDIR already holds this tarball's tree.
stamp="$DEST/.palette-source"
want="$(basename "$tarball")"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -x "$DEST/configure" ]]
then
    log "$DEST already holds $want"
    exit 0
fi

log "unpacking $want into $DEST"
rm -rf "$DEST"
mkdir -p "$DEST"
tar -xzf "$tarball" -C "$DEST" --strip-components=1
[[ -x "$DEST/configure" ]] || die "$want has no configure script"
printf '%s\n' "$want" > "$stamp"

log "nginx $(nginx_tree_version "$DEST") source in $DEST ($(elapsed))"
