# Sourced by scripts/build-site and scripts/test: install the Debian packages they need.
# ensure_debian_packages PACKAGE...  installs those not installed yet (apt-get; as root or with sudo).
# python3_packages                   prints python3 and python3-venv when Python cannot make a venv
#                                    (a bare Debian, e.g. the debian:bookworm image CI runs in).
ensure_debian_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

python3_packages() {
  if ! command -v python3 >/dev/null || ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    echo python3 python3-venv
  fi
}
