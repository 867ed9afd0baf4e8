package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ortServer is a running "node tools/ort/bench.js": ONNX Runtime driven
// over its stdin and stdout, one request line and one reply line at a
// time (the protocol is described in bench.js).
type ortServer struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	Version string // ONNX Runtime's, from the "ready" line
}

// startORT starts script (tools/ort/bench.js) with node and waits for its
// "ready VERSION" line. Its stderr goes to ours.
func startORT(script string) (*ortServer, error) {
	cmd := exec.Command("node", script)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node %s: %w (is Node.js installed?)", script, err)
	}
	s := &ortServer{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := s.readLine()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("node %s: %w (does tools/ort need \"npm ci --ignore-scripts\"?)", script, err)
	}
	v, ok := strings.CutPrefix(line, "ready ")
	if !ok {
		s.Close()
		return nil, fmt.Errorf("node %s: first line %q, want \"ready VERSION\"", script, line)
	}
	s.Version = v
	return s, nil
}

func (s *ortServer) readLine() (string, error) {
	line, err := s.out.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			return "", fmt.Errorf("the ORT server exited")
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// call sends one request and returns the value of its "ok VALUE" reply.
func (s *ortServer) call(req string) (float64, error) {
	if _, err := io.WriteString(s.in, req+"\n"); err != nil {
		return 0, fmt.Errorf("ORT server: %w", err)
	}
	line, err := s.readLine()
	if err != nil {
		return 0, err
	}
	return parseReply(line)
}

// Load makes the server's session: model with threads intra-op threads,
// fed the raw float32 file input of shape dims. spin lets ORT's threads
// spin-wait between runs. It returns ORT's session creation time.
func (s *ortServer) Load(model, input string, dims []int, threads int, spin bool) (time.Duration, error) {
	req, err := loadRequest(model, input, dims, threads, spin)
	if err != nil {
		return 0, err
	}
	v, err := s.call(req)
	if err != nil {
		return 0, fmt.Errorf("ORT load %s: %w", model, err)
	}
	return fromMs(v), nil
}

// Run times one session.run, as measured inside node.
func (s *ortServer) Run() (time.Duration, error) {
	v, err := s.call("run")
	if err != nil {
		return 0, fmt.Errorf("ORT run: %w", err)
	}
	return fromMs(v), nil
}

// Close asks the server to quit and waits for it.
func (s *ortServer) Close() error {
	io.WriteString(s.in, "quit\n")
	s.in.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		return <-done
	}
}

// loadRequest formats a load request: tab-separated fields, so paths may
// hold spaces but not tabs or line breaks.
func loadRequest(model, input string, dims []int, threads int, spin bool) (string, error) {
	for _, p := range []string{model, input} {
		if p == "" || strings.ContainsAny(p, "\t\r\n") {
			return "", fmt.Errorf("path %q: the ORT server protocol needs a non-empty path without tabs or line breaks", p)
		}
	}
	if len(dims) == 0 || threads < 1 {
		return "", fmt.Errorf("load request with dims %v and %d threads", dims, threads)
	}
	ds := make([]string, len(dims))
	for i, d := range dims {
		if d < 0 {
			return "", fmt.Errorf("load request with dims %v", dims)
		}
		ds[i] = strconv.Itoa(d)
	}
	sp := "0"
	if spin {
		sp = "1"
	}
	return strings.Join([]string{"load", model, input, strings.Join(ds, ","), strconv.Itoa(threads), sp}, "\t"), nil
}

// parseReply reads a reply line: "ok VALUE" gives VALUE (a non-negative
// number of milliseconds), "err MESSAGE" the error MESSAGE.
func parseReply(line string) (float64, error) {
	if msg, ok := strings.CutPrefix(line, "err "); ok {
		return 0, fmt.Errorf("%s", msg)
	}
	v, ok := strings.CutPrefix(line, "ok ")
	if !ok {
		return 0, fmt.Errorf("reply %q, want \"ok VALUE\" or \"err MESSAGE\"", line)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f != f {
		return 0, fmt.Errorf("reply %q: want a non-negative number", line)
	}
	return f, nil
}
