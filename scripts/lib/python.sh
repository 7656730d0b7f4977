# Shared by the scripts: a virtualenv with the locked dependencies (uv.lock), made or refreshed as needed.
UV_VERSION=0.13.9

ensure_venv() {
    if ! command -v uv >/dev/null 2>&1; then
        echo "installing uv ${UV_VERSION} (the lock-file installer) from PyPI"
        python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
    fi
    uv sync --frozen --quiet
}
