// Command cnnc compiles, runs and inspects convolutional neural networks.
//
// Usage:
//
//	cnnc <command> [arguments]
//
// The commands are:
//
//	compile   compile a model to a .cnnc plan file or a Go package
//	run       run a model on input tensors
//	bench     measure a model's latency, throughput and memory
//	summary   list a model's layers, or a compiled plan's steps
//	train     train a model on a data set
//	eval      measure a classifier's accuracy and latency on a data set's test images
//	zoo       list the built-in models with their parameters and MACs
//	export    write a model as an ONNX file
//	version   print the cnnc and Go versions
//	help      print help about a command
//
// A model is an ONNX file, zoo:NAME for a model of the built-in zoo, or,
// for run, bench and summary, a .cnnc plan file that compile wrote:
//
//	cnnc compile zoo:resnet18 -v            # writes resnet18.cnnc
//	cnnc run resnet18.cnnc --input x.pb
//	cnnc bench resnet18.cnnc --threads 2
//	cnnc bench zoo:resnet18 --engine reference
//
// run and bench run models compiled (runtime.Compile, one Session) unless
// --engine reference selects the reference interpreter, the slow and exact
// oracle.
//
// Flags may come before or after a command's positional arguments:
// "cnnc run model.onnx --input x=in.pb" works. "cnnc help COMMAND" or
// "cnnc COMMAND -h" describes a command and its flags.
//
// The exit status is 0 on success, 1 when a model or an input is bad or
// cannot be read (the reason is printed on standard error, prefixed
// "cnnc: "), and 2 on wrong usage (the usage is printed on standard error).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the model, an input or an output file is bad
	exitUsage = 2 // the command line is wrong
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand of cnnc.
type command struct {
	name  string
	args  string // synopsis of the arguments after the name
	short string // one line for the command list
	long  string // the description "cnnc help NAME" prints
	// setup defines the command's flags on fs and returns the function
	// that runs the command once they are parsed, given the positional
	// arguments. That function returns the exit status.
	setup func(fs *flag.FlagSet) func(e *env, pos []string) int
}

// env is what a running command writes to.
type env struct {
	cmd            *command
	stdout, stderr io.Writer
}

// fail reports err (a bad model, input or file) and returns exitFail.
func (e *env) fail(err error) int {
	fmt.Fprintf(e.stderr, "cnnc: %v\n", err)
	return exitFail
}

// usage reports a command-line mistake and returns exitUsage.
func (e *env) usage(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "cnnc %s: %s\n", e.cmd.name, fmt.Sprintf(format, args...))
	fmt.Fprintf(e.stderr, "usage: cnnc %s %s\nRun 'cnnc help %s' for details.\n", e.cmd.name, e.cmd.args, e.cmd.name)
	return exitUsage
}

// commands returns the subcommands in the order "cnnc help" lists them.
func commands() []*command {
	return []*command{compileCommand, runCommand, benchCommand, summaryCommand, trainCommand, evalCommand, zooCommand, exportCommand, versionCommand}
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the whole program: it runs the command named by args[0] and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if name != "help" || len(args) == 1 {
			printUsage(stdout)
			return exitOK
		}
		if len(args) > 2 {
			fmt.Fprintf(stderr, "cnnc help: too many arguments\nusage: cnnc help [COMMAND]\n")
			return exitUsage
		}
		c := lookup(args[1])
		if c == nil {
			fmt.Fprintf(stderr, "cnnc help: unknown command %q\nRun 'cnnc help' for the list of commands.\n", args[1])
			return exitUsage
		}
		printHelp(stdout, c)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "cnnc: unknown command %q\nRun 'cnnc help' for the list of commands.\n", args[0])
		return exitUsage
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	body := c.setup(fs)
	e := &env{cmd: c, stdout: stdout, stderr: stderr}
	pos, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, c)
		return exitOK
	}
	if err != nil {
		return e.usage("%v", err)
	}
	return body(e, pos)
}

// parseInterleaved parses args with fs, allowing flags after positional
// arguments, and returns the positional ones in order. A "--" ends the
// flags: every argument after it is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `cnnc compiles, runs and inspects convolutional neural networks.

Usage:

	cnnc <command> [arguments]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-9s %s\n", c.name, c.short)
	}
	fmt.Fprint(w, `	help      print help about a command

Run 'cnnc help <command>' for the arguments and flags of a command.
Exit status: 0 on success, 1 when a model or an input is bad, 2 on wrong usage.
`)
}

// printHelp prints the usage, description and flags of c.
func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: cnnc %s %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.long))
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags (they may also follow the positional arguments):\n")
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		// flag prints "-name"; cnnc's documentation spells flags "--name".
		fmt.Fprint(w, strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")[1:])
	}
}

var versionCommand = &command{
	name:  "version",
	args:  "",
	short: "print the cnnc and Go versions",
	long:  "Version prints the version of the cnnc module this binary was built from and the Go version that built it.",
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		return func(e *env, pos []string) int {
			if len(pos) > 0 {
				return e.usage("takes no arguments")
			}
			version, goVersion := "(unknown)", "(unknown)"
			if bi, ok := debug.ReadBuildInfo(); ok {
				version, goVersion = bi.Main.Version, bi.GoVersion
			}
			if version == "" {
				version = "(devel)"
			}
			fmt.Fprintf(e.stdout, "cnnc %s %s\n", version, goVersion)
			return exitOK
		}
	},
}
