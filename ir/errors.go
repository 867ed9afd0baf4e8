package ir

import (
	"errors"
	"fmt"
)

// ErrorKind tells an invalid model from a valid one that uses a feature cnnc
// does not implement.
type ErrorKind uint8

const (
	// KindInvalid marks a model that breaks the ONNX specification or its
	// own shapes: the file is wrong.
	KindInvalid ErrorKind = iota + 1
	// KindUnsupported marks a valid model that uses something cnnc does not
	// implement: cnnc is missing a feature.
	KindUnsupported
)

// Error is the error type of the importer, the IR and the interpreter. Node
// and Op locate it when it concerns one node; Msg says what is wrong.
type Error struct {
	Kind ErrorKind
	Node string // node name, empty when the error is not about one node
	Op   string // ONNX op type of that node
	Msg  string
}

// Error formats e as "invalid model: node "conv1" (Conv): msg" or
// "unsupported: ...".
func (e *Error) Error() string {
	prefix := "invalid model"
	if e.Kind == KindUnsupported {
		prefix = "unsupported"
	}
	switch {
	case e.Node != "" || e.Op != "":
		return fmt.Sprintf("%s: node %q (%s): %s", prefix, e.Node, e.Op, e.Msg)
	default:
		return prefix + ": " + e.Msg
	}
}

// Invalidf returns an Error of KindInvalid.
func Invalidf(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// Unsupportedf returns an Error of KindUnsupported.
func Unsupportedf(format string, args ...any) *Error {
	return &Error{Kind: KindUnsupported, Msg: fmt.Sprintf(format, args...)}
}

// IsUnsupported reports whether err is, or wraps, an Error of KindUnsupported.
func IsUnsupported(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindUnsupported
}

// AtNode returns err located at the node with the given name and op type.
// An *Error without a node gets them filled in (on a copy); any other error
// becomes an invalid-model Error wrapping its text.
func AtNode(err error, name, op string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Node != "" || e.Op != "" {
			return err
		}
		c := *e
		c.Node, c.Op = name, op
		return &c
	}
	return &Error{Kind: KindInvalid, Node: name, Op: op, Msg: err.Error()}
}

// Prefix returns err with context prepended to its message, keeping its
// kind and position; a non-*Error becomes an invalid-model Error.
func Prefix(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	ctx := fmt.Sprintf(format, args...)
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Msg = ctx + ": " + e.Msg
		return &c
	}
	return &Error{Kind: KindInvalid, Msg: ctx + ": " + err.Error()}
}
