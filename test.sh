#!/usr/bin/env bash
# test.sh: installs what cnnc's tests need on a fresh Debian machine, then
# runs all of them: go vet, go test (with the full-size reference models),
# go test -tags noasm (the pure-Go kernels, every package in -short mode)
# and the race detector over every package in -short mode.
#
# Installs (only what is missing): libonnx-testdata (ONNX backend test data),
# dataset-fashion-mnist (training tests; MNIST comes from the Go module
# proxy through the go command), python3-torch, python3-torchvision, python3-onnx (reference models),
# ONNX Runtime 1.30 for Node.js (tools/ort). The full-size torchvision
# references are generated once into $CNNC_CACHE (default ~/.cache/cnnc).
set -euo pipefail
cd "$(dirname "$0")"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
pkgs=()
[ -d /usr/share/libonnx-testdata/data/node ] || pkgs+=(libonnx-testdata)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || pkgs+=(dataset-fashion-mnist)
/usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null || pkgs+=(python3-torch python3-torchvision python3-onnx)
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
if [ ${#pkgs[@]} -gt 0 ]; then
	echo "test.sh: installing ${pkgs[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
[ -f tools/ort/node_modules/onnxruntime-node/package.json ] ||
	(cd tools/ort && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
/usr/bin/python3 tools/refgen/refgen.py full

go vet ./...
go test -timeout 50m ./...
go test -tags noasm -short -timeout 30m ./...
go test -race -short -timeout 30m ./...
