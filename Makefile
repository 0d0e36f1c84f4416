# The two commands of the README: `make demo` and `make test`. Both set up what is
# missing (Debian packages when run as root, the venv, torch first, the package) and
# do no set-up work on a second run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
# Where torch comes from: PyTorch's CPU index when this machine has no NVIDIA GPU (the
# plain PyPI wheel is the CUDA build, several GB); the default index when it has one.
# TORCH_INDEX= (empty) forces the default index, or name another (e.g. .../whl/cu128).
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,https://download.pytorch.org/whl/cpu)
EXTRAS ?= model,data,scale,osworld,serve,dev
# bubblewrap: the episode sandbox; scrot: what pyautogui.screenshot() needs on X11
# (the peer of benchmarks/capture.py and overhead.py); tesseract-ocr: the OCR of
# OSWorld's compare_image_text.
APT_PACKAGES := xvfb xauth x11-utils xdotool wmctrl openbox xterm mousepad xdg-utils chromium fonts-dejavu-core bubblewrap scrot tesseract-ocr tmux libreoffice-calc libreoffice-writer libreoffice-impress gimp vlc thunderbird
STAMP := $(VENV)/.installed-$(shell echo '$(TORCH) $(TORCH_INDEX) $(EXTRAS)' | md5sum | cut -c1-8)

.PHONY: setup system demo test clean

setup: system $(STAMP)

# Debian packages: installed when root and missing, else the exact command is printed.
system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: otherwise transformers/accelerate pull whatever torch PyPI has (CUDA).
	@if [ -n "$(TORCH_INDEX)" ]; then \
	  echo "torch: $(TORCH) from $(TORCH_INDEX)"; \
	  $(BIN)/python -m pip install -q --timeout 20 --retries 1 --index-url $(TORCH_INDEX) $(TORCH) || { \
	    echo "torch: $(TORCH_INDEX) unreachable; installing $(TORCH) from the default index (on PyPI: the CUDA build)"; \
	    $(BIN)/python -m pip install -q $(TORCH); }; \
	else \
	  echo "torch: $(TORCH) from the default index"; $(BIN)/python -m pip install -q $(TORCH); \
	fi
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: setup
	$(BIN)/kimicua demo

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) runs .pytest_cache
