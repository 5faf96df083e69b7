#!/usr/bin/env bash
# Provides lavapipe, Mesa's Vulkan driver on the CPU, for machines without a GPU: on two cores it trains
# several times faster than SwiftShader and has shader-f16. Dawn needs Mesa 24 or later; Debian 12's own Mesa
# (22.3) is refused, so the driver comes from the release's backports suite and is unpacked into
# .cache/lavapipe, not installed (the system's Vulkan drivers stay as they are). Prints the ICD file to use;
# the engine finds it there by itself (src/gpu/node-device.ts). Needs apt, and root or sudo for apt's download.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/.cache/lavapipe"
icd="$dest/lvp_icd.json"
if [ -f "$icd" ]; then echo "$icd"; exit 0; fi

say() { echo "lavapipe: $*" >&2; }
command -v apt-get >/dev/null || { say "needs a Debian-like system with apt-get"; exit 1; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# A system Mesa of 24 or later (Debian 13, Ubuntu 24.04) is already what Dawn needs.
system_version=$(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ -n "$system_version" ] && [ "${system_version%%.*}" -ge 24 ] 2>/dev/null; then
  system_icd=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -1)
  if [ -n "$system_icd" ]; then echo "$system_icd"; exit 0; fi
fi

# The driver's libraries (LLVM, libdrm, the X and Wayland client libraries) are the same as the release's own
# Mesa needs: installing that older driver brings them, and Dawn ignores it.
if [ -z "$system_version" ]; then
  say "installing the release's mesa-vulkan-drivers for the libraries lavapipe links"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers >/dev/null
fi

. /etc/os-release
codename="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"
# The Debian archive this machine already uses, read from its apt sources (deb822 or one-line).
archive=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
[ -n "$archive" ] || archive=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
[ -n "$archive" ] || { say "no Debian archive found in /etc/apt/sources.list*"; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { say "no $keyring (apt-get install debian-archive-keyring)"; exit 1; }

work=$(mktemp -d)
trap '$SUDO rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb [signed-by=$keyring] $archive $codename-backports main" > "$work/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
say "fetching mesa-vulkan-drivers from $codename-backports"
$SUDO apt-get "${apt_private[@]}" update -qq
version=$(apt-cache "${apt_private[@]}" show mesa-vulkan-drivers 2>/dev/null | awk '/^Version:/ {print $2; exit}')
[ -n "$version" ] || { say "$codename-backports has no mesa-vulkan-drivers"; exit 1; }
[ "${version%%.*}" -ge 24 ] || { say "$codename-backports has Mesa $version; Dawn needs 24 or later"; exit 1; }
(cd "$work/debs" && $SUDO apt-get "${apt_private[@]}" download -qq "mesa-vulkan-drivers=$version")

rm -rf "$dest.partial"
mkdir -p "$dest.partial"
dpkg-deb -x "$work"/debs/mesa-vulkan-drivers_*.deb "$dest.partial/root"
lib=$(find "$dest.partial/root" -name libvulkan_lvp.so | head -1)
[ -n "$lib" ] || { say "the package holds no libvulkan_lvp.so"; exit 1; }
# Only lavapipe is wanted: the package's GPU drivers and layers would take most of its 60 MB.
find "$dest.partial/root" -name '*.so*' ! -name libvulkan_lvp.so -delete
missing=$(ldd "$lib" | awk '/not found/ {print $1}')
[ -z "$missing" ] || { say "libvulkan_lvp.so needs libraries this machine lacks: $missing"; exit 1; }
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$(find "$dest.partial/root" -name 'lvp_icd*.json' | head -1)")
lib_final="$dest/${lib#"$dest.partial/"}"
cat > "$dest.partial/lvp_icd.json" <<EOF
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib_final", "api_version": "${api:-1.3.0}" } }
EOF
echo "Mesa $version (mesa-vulkan-drivers from Debian $codename-backports)" > "$dest.partial/VERSION"
rm -rf "$dest"
mv "$dest.partial" "$dest"
say "Mesa $version in $dest"
echo "$icd"
