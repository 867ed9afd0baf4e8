#!/usr/bin/env bash
# Regenerates onnx.pb.go (Go protobuf bindings) from the official onnx.proto.
#
# Source: $ONNX_PROTO, default /usr/lib/python3/dist-packages/onnx/onnx.proto
# (Debian's python3-onnx package). The proto is copied next to the output as
# onnx.proto so the exact source of the bindings is recorded in the repo.
#
# Requirements: protoc (Debian protobuf-compiler) and
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
set -euo pipefail

ONNX_PROTO="${ONNX_PROTO:-/usr/lib/python3/dist-packages/onnx/onnx.proto}"
GO_PKG="github.com/cnnc/cnnc/importer/onnxpb"

cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ ! -f "$ONNX_PROTO" ]]; then
	echo "gen.sh: $ONNX_PROTO not found (apt-get install python3-onnx, or set ONNX_PROTO)" >&2
	exit 1
fi
command -v protoc >/dev/null || { echo "gen.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
PATH="$PATH:$(go env GOPATH)/bin"
command -v protoc-gen-go >/dev/null || {
	echo "gen.sh: protoc-gen-go not found (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12)" >&2
	exit 1
}

# Work out which ONNX release the proto came from.
src_dir="$(dirname "$ONNX_PROTO")"
onnx_version=""
if [[ -f "$src_dir/version.py" ]]; then
	onnx_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$src_dir/version.py")"
fi
if [[ -z "$onnx_version" ]] && command -v dpkg-query >/dev/null; then
	onnx_version="$(dpkg-query -W -f='${Version}' python3-onnx 2>/dev/null || true)"
fi
onnx_version="${onnx_version:-unknown}"
ir_version="$(sed -n 's/^ *IR_VERSION = \(0x[0-9a-fA-F]*\);.*/\1/p' "$ONNX_PROTO")"

# Copy the source proto next to the bindings (skip if it already is that file).
if [[ "$(realpath "$ONNX_PROTO")" != "$(realpath -m onnx.proto)" ]]; then
	cp "$ONNX_PROTO" onnx.proto
fi

protoc \
	--proto_path=. \
	--go_out=. \
	--go_opt=paths=source_relative \
	--go_opt="Monnx.proto=$GO_PKG;onnxpb" \
	onnx.proto

echo "gen.sh: generated onnx.pb.go from $ONNX_PROTO (onnx $onnx_version, IR_VERSION $((ir_version)); $(protoc --version), $(protoc-gen-go --version))"
