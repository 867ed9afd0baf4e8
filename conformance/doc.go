// Package conformance runs the ONNX backend test cases through the importer
// and the reference interpreter, and keeps the outcome in CONFORMANCE.md at
// the repository root.
//
// The test TestConformance runs, as subtests named suite/case:
//
//   - every case folder of the suites node, pytorch-converted,
//     pytorch-operator and simple of the ONNX 1.12 backend test data
//     (Debian package libonnx-testdata, /usr/share/libonnx-testdata/data,
//     or $CNNC_ONNX_TESTDATA): model.onnx and every test_data_set_N with its
//     input_K.pb and output_K.pb;
//   - suite onnx-light: the nine model-zoo graphs of onnx/onnx's
//     onnx/backend/test/data/light (../shared/onnx-light next to the
//     repository, or $CNNC_ONNX_LIGHT), fed the input of the ONNX runner's
//     generate_dummy_data (LightInput) and compared with the shipped
//     light_*_output_0.pb;
//   - suite onnx-light-varied: the same graphs with VaryWeights applied, fed
//     VariedInput, compared with ONNX Runtime's outputs in
//     testdata/onnx-light. The shipped outputs are degenerate (constant
//     weights make the softmax exactly uniform), so this suite is the one
//     that checks the numbers: swapping two input channels or shifting the
//     input by one element makes it fail, while the interpreter agrees with
//     ONNX Runtime to about 1e-7.
//
// A case whose model has an operator missing from importer.SupportedOps, or
// that the importer refuses as unsupported (ir.IsUnsupported), is excluded.
// Every other case must import, run, and match every expected output within
// Atol + Rtol*|want|, unless it is listed, with a reason, in the test's
// knownExceptions table; a failing case fails the test, and so does a known
// exception that passes.
//
// The test then renders the report (Report.Markdown: totals per suite,
// cases per operator, every excluded case and known exception with its
// reason) and compares it with the committed CONFORMANCE.md, writing
// CONFORMANCE.md.got on a difference. After a change that moves a case
// (an op lands, a case starts passing), regenerate it:
//
//	go test ./conformance -run TestConformance -update
//
// The report is only compared or written when every case ran: not with a
// -run filter that picks a subset, nor under -short, which skips the two
// light suites (minutes of interpreter time for 224x224 inputs). Under
// -short the test is also skipped if the data is missing; otherwise missing
// data fails it with installation instructions.
// To regenerate the onnx-light-varied expected outputs (only needed if
// VaryWeights or VariedInput change), run `go run ./tools/lightref`.
package conformance
