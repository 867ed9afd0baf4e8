package codegen

import (
	"bytes"
	_ "embed"
	"go/format"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"github.com/cnnc/cnnc/ir"
)

// gosrcTemplate is the Go source EmitGo writes, before gofmt.
//
//go:embed gosrc.tmpl
var gosrcTemplate string

var gosrc = template.Must(template.New("gosrc").Parse(gosrcTemplate))

// EmitGo writes a Go package named pkg that embeds p into dir (created if
// needed): dir/model.cnnc, p encoded (see Encode), and dir/model.go, which
// embeds it with go:embed and gives it a typed API over package
// github.com/cnnc/cnnc/runtime:
//
//	type Options struct{ Threads int }
//	func New(opts Options) (*Model, error)
//	func (m *Model) Run(ctx context.Context, <one []float32 per input>) (<one []float32 per output>, err error)
//	func (m *Model) NewSession() (*Session, error)
//	func (s *Session) Run(ctx context.Context, <inputs>, <outputs to fill>) error
//	func (m *Model) Close() error; func (s *Session) Close()
//
// Model.Run returns new slices and is safe for concurrent use; Session.Run
// allocates nothing. For each input and output, model.go declares the
// constants <X>Name (the value's name) and <X>Len (its element count) and
// the variable <X>Shape, where <X> is the name made a unique exported Go
// identifier ("input.1" gives Input1); the parameters of the Run methods
// are those identifiers in lower case.
//
// Every input and output must be float32 (an ir.Unsupportedf error
// otherwise), and p must have an output. The generated source is gofmt'ed
// and compiles against the module's runtime package.
func EmitGo(dir, pkg string, p *Plan) error {
	if !token.IsIdentifier(pkg) || pkg == "_" {
		return ir.Invalidf("emit go: package name %q is not a Go identifier", pkg)
	}
	if p == nil {
		return ir.Invalidf("emit go: nil plan")
	}
	data, err := newGosrcData(pkg, p)
	if err != nil {
		return err
	}
	var file bytes.Buffer
	if err := Encode(&file, p); err != nil {
		return err
	}
	var src bytes.Buffer
	if err := gosrc.Execute(&src, data); err != nil {
		return ir.Invalidf("emit go: %v", err)
	}
	out, err := format.Source(src.Bytes())
	if err != nil {
		// A bug of the template or of the identifiers: say where.
		return ir.Invalidf("emit go: the generated source does not parse: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "model.cnnc"), file.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "model.go"), out, 0o644)
}

// gosrcValue is an input or output as the template shows it.
type gosrcValue struct {
	Role  string // "input" or "output"
	Index int    // among the inputs or the outputs
	Name  string // the model's name
	Ident string // exported Go identifier, unique among the values
	Param string // the Run parameter, unique among the parameters
	Type  string // "f32[1,3,224,224]"
	Shape string // "[1,3,224,224]"
	Dims  string // "1, 3, 224, 224"
	Rank  int
	Len   int
}

// gosrcData is the template's data.
type gosrcData struct {
	Pkg, Name               string
	Steps                   int
	Arena, Weights          int64
	Inputs, Outputs, Values []gosrcValue
}

// newGosrcData checks that p's inputs and outputs are float32 and names them.
func newGosrcData(pkg string, p *Plan) (*gosrcData, error) {
	if len(p.Outputs) == 0 {
		return nil, ir.Invalidf("emit go: plan %q has no outputs", p.Name)
	}
	d := &gosrcData{Pkg: pkg, Name: p.Name, Steps: len(p.Steps), Arena: p.ArenaSize, Weights: int64(len(p.Weights))}
	idents := map[string]bool{}
	params := map[string]bool{}
	for _, r := range reservedParams {
		params[r] = true
	}
	add := func(role string, ops []Operand) ([]gosrcValue, error) {
		var vs []gosrcValue
		for i, o := range ops {
			if o.DType != ir.Float32 {
				return nil, ir.Unsupportedf("emit go: %s %d %q is %v; the generated Go API takes float32 inputs and outputs only", role, i, o.Name, ir.Type{DType: o.DType, Shape: o.Shape})
			}
			n := o.Shape.NumElements()
			if !o.Shape.Known() || n < 0 {
				return nil, ir.Invalidf("emit go: %s %d %q has shape %v, want a known shape", role, i, o.Name, o.Shape)
			}
			id := unique(goIdent(o.Name), idents)
			dims := make([]string, len(o.Shape))
			for j, x := range o.Shape {
				dims[j] = strconv.Itoa(x)
			}
			vs = append(vs, gosrcValue{Role: role, Index: i, Name: o.Name, Ident: id,
				Param: unique(lowerIdent(id), params), Type: ir.Type{DType: o.DType, Shape: o.Shape}.String(),
				Shape: o.Shape.String(), Dims: strings.Join(dims, ", "), Rank: len(o.Shape), Len: n})
		}
		return vs, nil
	}
	var err error
	if d.Inputs, err = add("input", p.Inputs); err != nil {
		return nil, err
	}
	if d.Outputs, err = add("output", p.Outputs); err != nil {
		return nil, err
	}
	d.Values = append(append([]gosrcValue{}, d.Inputs...), d.Outputs...)
	return d, nil
}

// reservedParams are the names a Run parameter must not take: the
// generated code's own names (receivers, locals, packages) and Go's
// predeclared identifiers. Keywords are lower-case too and are excluded by
// unique.
var reservedParams = []string{
	"ctx", "m", "s", "err", "outs", "rs", "closed", "idle", "n",
	"context", "errors", "fmt", "goruntime", "sync", "ir", "runtime",
	"modelFile", "errClosed",
	"any", "append", "bool", "byte", "cap", "clear", "close", "comparable", "complex",
	"complex64", "complex128", "copy", "delete", "error", "false", "float32", "float64",
	"imag", "int", "int8", "int16", "int32", "int64", "iota", "len", "make", "max", "min",
	"new", "nil", "panic", "print", "println", "real", "recover", "rune", "string",
	"true", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
}

// goIdent turns a value's name into an exported Go identifier: the ASCII
// letters and digits of name, each run after another character starting
// with a capital, prefixed with V when that leaves no leading letter
// ("input.1" -> "Input1", "conv1/relu:0" -> "Conv1Relu0", "495" -> "V495").
func goIdent(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if r >= unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "V" + s
	}
	return s
}

// lowerIdent lower-cases the leading capitals of an exported identifier,
// Go style: "Data" -> "data", "URL" -> "url", "XYZData" -> "xyzData".
func lowerIdent(s string) string {
	n := 0
	for n < len(s) && unicode.IsUpper(rune(s[n])) {
		n++
	}
	if n > 1 && n < len(s) && unicode.IsLower(rune(s[n])) {
		n-- // the last capital starts the next word
	}
	return strings.ToLower(s[:n]) + s[n:]
}

// unique returns s, or s with the smallest number from 2 appended (after
// an underscore when s ends in a digit), that is neither in used nor a Go
// keyword, and marks it used.
func unique(s string, used map[string]bool) string {
	sep := ""
	if c := s[len(s)-1]; c >= '0' && c <= '9' {
		sep = "_"
	}
	t := s
	for i := 2; used[t] || token.IsKeyword(t); i++ {
		t = s + sep + strconv.Itoa(i)
	}
	used[t] = true
	return t
}
