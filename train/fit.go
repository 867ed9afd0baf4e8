package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
)

// Config configures Fit. The zero value of a field takes its default.
type Config struct {
	// Epochs is the number of passes over the training set (default 1).
	Epochs int
	// Batch is the batch size (default 64). The graph's batch dimension is
	// set to it; the last partial batch of an epoch is skipped.
	Batch int
	// LR is the initial learning rate (default 0.01).
	LR float32
	// Schedule sets each epoch's rate from LR (nil: Constant).
	Schedule Schedule
	// Optimizer is an *ir.SGD or *ir.Adam with the hyperparameters (the
	// learning rate is LR); nil means SGD with momentum 0.9.
	Optimizer ir.Op
	// Loss is the loss (default cross-entropy).
	Loss passes.Loss
	// Frozen, when set, names the parameters that stay as they are (see
	// FrozenUpTo); the layers only they need get no backward work.
	Frozen func(name string) bool
	// Seed seeds the shuffling and the augmentations.
	Seed uint64
	// Resize, when > 0, resizes every image, training and test, to
	// Resize×Resize bilinearly (as torchvision's Resize with
	// antialias=False) as its batch is assembled: how architectures made
	// for 224×224 inputs train on 28×28 data without holding the data
	// set at that size. The model's input is then C×Resize×Resize.
	Resize int
	// Augment sets the random augmentations of the training images (none
	// by default), drawn from Seed, the epoch and the image's index: a
	// resumed run draws them again exactly.
	Augment Augment
	// Threads is the number of worker threads (0: GOMAXPROCS).
	Threads int
	// Progress, when set, is called after every training step and at the
	// end of every epoch.
	Progress func(Progress)
	// Checkpoint, when set, is a file Fit writes a Checkpoint to at the
	// end of every epoch and when ctx is canceled (then returning
	// ctx's error).
	Checkpoint string
	// Resume, when set, continues the training a Checkpoint recorded,
	// exactly: same parameters, optimizer states, order of the batches
	// and seeds. The model and the rest of the Config must be the ones it
	// was written with.
	Resume *Checkpoint
}

// Progress reports where Fit is: after a step (Step counts within the
// epoch, from 1) or, with Done, at the end of an epoch with its metrics.
type Progress struct {
	Epoch, Epochs int
	Step, Steps   int
	// Loss and Acc are the running means over the epoch's steps so far.
	Loss, Acc float64
	// Images is the number of images trained on in the epoch, Elapsed the
	// time it took.
	Images  int
	Elapsed time.Duration
	// Done marks the end of an epoch; Metrics then holds its line.
	Done    bool
	Metrics Metrics
}

// Metrics is one epoch's line of the training history.
type Metrics struct {
	Epoch               int
	TrainLoss, TrainAcc float64
	TestLoss, TestAcc   float64
	Seconds             float64
	LR                  float32
}

// Result is what Fit returns: the history and the trained model.
type Result struct {
	History []Metrics
	// Model is the inference graph with the trained weights as constants.
	Model *ir.Graph
}

// Fit trains the inference graph g (whose first output is the logits)
// on trainSet, evaluating on testSet (when non-nil) after each epoch, and
// returns the history and the trained model. It compiles one training
// step (passes.Backward) and runs it with the compiled runtime, each
// step's updated parameters fed into the next.
func Fit(ctx context.Context, g *ir.Graph, trainSet, testSet *Dataset, cfg Config) (*Result, error) {
	cfg.defaults()
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("train: the model has %d inputs, want 1 (the images)", len(g.Inputs))
	}
	h, w, resized := trainSet.H, trainSet.W, ""
	switch {
	case cfg.Resize < 0:
		return nil, fmt.Errorf("train: resize to %d, want > 0 (or 0: none)", cfg.Resize)
	case cfg.Resize > 0:
		h, w, resized = cfg.Resize, cfg.Resize, fmt.Sprintf(" resized to %d×%d", cfg.Resize, cfg.Resize)
	}
	if err := cfg.Augment.check(min(h, w)); err != nil {
		return nil, err
	}
	in := g.Inputs[0]
	if s := in.Type.Shape; len(s) != 4 || (s[1] >= 0 && s[1] != trainSet.C) || (s[2] >= 0 && s[2] != h) || (s[3] >= 0 && s[3] != w) {
		return nil, fmt.Errorf("train: model input %q is %v, and %s images are %d×%d×%d%s", in.Name, s, trainSet.Name, trainSet.C, trainSet.H, trainSet.W, resized)
	}
	if trainSet.N < cfg.Batch {
		return nil, fmt.Errorf("train: %d training images, fewer than a batch of %d", trainSet.N, cfg.Batch)
	}
	fixed, err := withBatch(g, cfg.Batch)
	if err != nil {
		return nil, err
	}
	if out := fixed.Outputs[0].Type.Shape; cfg.Loss == passes.LossCrossEntropy && (len(out) != 2 || out[1] != trainSet.Classes) {
		return nil, fmt.Errorf("train: the model's output is %v, and %s has %d classes (a new head: ReplaceHead, --num-classes)", out, trainSet.Name, trainSet.Classes)
	}
	step, err := passes.Backward(fixed, passes.TrainOptions{Loss: cfg.Loss, Optimizer: cfg.Optimizer, Frozen: cfg.Frozen})
	if err != nil {
		return nil, err
	}
	tr, err := newTrainer(step, cfg)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	if cfg.Frozen != nil {
		if tr.frozen, err = frozenParams(fixed, step, cfg.Loss); err != nil {
			return nil, err
		}
	}
	if cfg.Augment.Lighting > 0 {
		tr.pca = channelPCA(trainSet)
	}
	res := &Result{}
	order := newShuffler(trainSet.N, cfg.Seed)
	first := 1
	if ck := cfg.Resume; ck != nil {
		if err := tr.restore(ck, order); err != nil {
			return nil, err
		}
		first, res.History = ck.Epoch, append([]Metrics(nil), ck.History...)
	}
	for epoch := first; epoch <= cfg.Epochs; epoch++ {
		tr.feeds[step.LR].F32[0] = cfg.Schedule(epoch, cfg.LR, res.History)
		shuffled := order.state()
		m, err := tr.epoch(ctx, trainSet, order.next(), epoch)
		if err != nil {
			if ctx.Err() != nil && cfg.Checkpoint != "" {
				if werr := tr.checkpoint(epoch, shuffled, res.History).WriteFile(cfg.Checkpoint); werr != nil {
					return nil, errors.Join(err, werr)
				}
			}
			return nil, err
		}
		if testSet != nil {
			if m.TestLoss, m.TestAcc, err = tr.evaluate(testSet); err != nil {
				return nil, err
			}
		}
		res.History = append(res.History, m)
		if cfg.Checkpoint != "" {
			tr.resetEpoch()
			if err := tr.checkpoint(epoch+1, order.state(), res.History).WriteFile(cfg.Checkpoint); err != nil {
				return nil, err
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Done: true, Metrics: m})
		}
	}
	res.Model = tr.trained(g)
	return res, nil
}

func (c *Config) defaults() {
	if c.Epochs <= 0 {
		c.Epochs = 1
	}
	if c.Batch <= 0 {
		c.Batch = 64
	}
	if c.LR == 0 {
		c.LR = 0.01
	}
	if c.Optimizer == nil {
		c.Optimizer = &ir.SGD{Momentum: 0.9}
	}
	if c.Schedule == nil {
		c.Schedule = Constant()
	}
}

// withBatch returns g with its input's batch dimension set to n, shapes
// re-inferred.
func withBatch(g *ir.Graph, n int) (*ir.Graph, error) {
	c := g.Clone()
	s := c.Inputs[0].Type.Shape
	if s[0] >= 0 && s[0] != n {
		return nil, fmt.Errorf("train: the model's batch size is fixed at %d; build it with a symbolic batch (zoo: Batch -1) to train at %d", s[0], n)
	}
	s[0] = n
	c.Inputs[0].DimNames = nil
	if err := c.InferTypes(); err != nil {
		return nil, err
	}
	return c, nil
}

// trainer holds a compiled training step, the evaluation model and the
// current parameters and optimizer states.
type trainer struct {
	cfg        Config
	step       *passes.TrainStep
	sess, eval *runtime.Session
	models     []*runtime.Model
	feeds      []*ir.Tensor // the step's inputs, in order
	evalFeeds  []*ir.Tensor
	pca        *pca // the training set's channels, for Augment.Lighting
	// frozen are the parameters Config.Frozen keeps as they are, which
	// checkpoints record too so that they load into a model (LoadParams).
	frozen map[string]*ir.Tensor
	batch  int
	steps  int // optimizer steps taken (Adam's t)
	// The epoch under way: steps taken, and the running sums.
	epochStep     int
	lossSum       float64
	correct, seen int
}

// resetEpoch clears the running sums of an epoch.
func (t *trainer) resetEpoch() { t.epochStep, t.lossSum, t.correct, t.seen = 0, 0, 0, 0 }

// checkpoint returns the training state, in epoch with the shuffler's
// state before its order was drawn.
func (t *trainer) checkpoint(epoch int, shuffler []byte, history []Metrics) *Checkpoint {
	c := &Checkpoint{Epoch: epoch, Step: t.epochStep, Steps: t.steps, LossSum: t.lossSum, Correct: t.correct, Seen: t.seen,
		Shuffler: shuffler, History: append([]Metrics(nil), history...), Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	add := func(name string, x *ir.Tensor) {
		c.Tensors[name] = append([]float32(nil), x.F32...)
		c.Shapes[name] = x.Shape.Clone()
	}
	for _, p := range t.step.Params {
		add("param:"+p.Name, t.feeds[p.In])
		for k, s := range p.State {
			add(fmt.Sprintf("state:%s:%d", p.Name, k), t.feeds[s])
		}
	}
	for _, b := range t.step.Buffers {
		add("buffer:"+b.Name, t.feeds[b.In])
	}
	for name, x := range t.frozen {
		add("param:"+name, x)
	}
	return c
}

// frozenParams returns the parameters of g that step, built with
// Config.Frozen, does not train: those a step without it would.
func frozenParams(g *ir.Graph, step *passes.TrainStep, loss passes.Loss) (map[string]*ir.Tensor, error) {
	all, err := passes.Backward(g, passes.TrainOptions{Loss: loss})
	if err != nil {
		return nil, err
	}
	trained := map[string]bool{}
	for _, p := range step.Params {
		trained[p.Name] = true
	}
	frozen := map[string]*ir.Tensor{}
	for _, p := range all.Params {
		if !trained[p.Name] {
			frozen[p.Name] = p.Init
		}
	}
	return frozen, nil
}

// restore loads a checkpoint's state into the trainer and the shuffler,
// checking that it holds exactly this model's tensors.
func (t *trainer) restore(c *Checkpoint, order *shuffler) error {
	want := map[string]int{}
	for _, p := range t.step.Params {
		want["param:"+p.Name] = p.In
		for k, s := range p.State {
			want[fmt.Sprintf("state:%s:%d", p.Name, k)] = s
		}
	}
	for _, b := range t.step.Buffers {
		want["buffer:"+b.Name] = b.In
	}
	for name, in := range want {
		data, ok := c.Tensors[name]
		if !ok {
			return fmt.Errorf("train: the checkpoint has no %s: another model or optimizer", name)
		}
		if len(data) != len(t.feeds[in].F32) {
			return fmt.Errorf("train: the checkpoint's %s has %d floats, the model's %d", name, len(data), len(t.feeds[in].F32))
		}
		copy(t.feeds[in].F32, data)
	}
	frozen := 0 // the frozen parameters it records (none before they were)
	for name := range t.frozen {
		if _, ok := c.Tensors["param:"+name]; ok {
			frozen++
		}
	}
	if len(c.Tensors) != len(want)+frozen {
		return fmt.Errorf("train: the checkpoint has %d tensors, the model %d: another model or optimizer", len(c.Tensors), len(want)+len(t.frozen))
	}
	if err := order.restore(c.Shuffler); err != nil {
		return fmt.Errorf("train: the checkpoint's shuffler state: %w", err)
	}
	t.steps, t.epochStep, t.lossSum, t.correct, t.seen = c.Steps, c.Step, c.LossSum, c.Correct, c.Seen
	return nil
}

func newTrainer(step *passes.TrainStep, cfg Config) (*trainer, error) {
	t := &trainer{cfg: cfg, step: step, batch: cfg.Batch}
	m, err := runtime.Compile(step.Graph, runtime.CompileOptions{})
	if err != nil {
		return nil, fmt.Errorf("train: compiling the training step: %w", err)
	}
	t.models = append(t.models, m)
	if t.sess, err = m.NewSession(runtime.SessionOptions{Threads: cfg.Threads}); err != nil {
		t.close()
		return nil, err
	}
	for _, v := range step.Graph.Inputs {
		x, err := ir.NewTensor(v.Type.DType, v.Type.Shape)
		if err != nil {
			t.close()
			return nil, err
		}
		t.feeds = append(t.feeds, x)
	}
	for _, p := range step.Params {
		copy(t.feeds[p.In].F32, p.Init.F32)
	}
	for _, b := range step.Buffers {
		copy(t.feeds[b.In].F32, b.Init.F32)
	}
	t.feeds[step.LR].F32[0] = cfg.LR
	return t, nil
}

func (t *trainer) close() {
	for _, s := range []*runtime.Session{t.sess, t.eval} {
		if s != nil {
			s.Close()
		}
	}
	for _, m := range t.models {
		m.Close()
	}
}

// epoch trains on the batches of order and returns the epoch's metrics
// (without the test ones).
func (t *trainer) epoch(ctx context.Context, d *Dataset, order []int, epoch int) (Metrics, error) {
	start := time.Now()
	steps := len(order) / t.batch
	if t.epochStep > steps {
		return Metrics{}, fmt.Errorf("train: resuming at step %d of an epoch of %d: another data set or batch size", t.epochStep, steps)
	}
	x, y := t.feeds[0], t.feeds[t.step.Labels]
	stop := make(chan struct{})
	defer close(stop)
	skip := t.epochStep
	l := newLoader(d, t.cfg.Resize, t.cfg.Augment, t.pca, t.cfg.Seed, epoch)
	batches := prefetch(l, order[skip*t.batch:], t.batch, steps-skip, stop)
	for i := skip; i < steps; i++ {
		if err := ctx.Err(); err != nil {
			return Metrics{}, err
		}
		b := <-batches
		copy(x.F32, b.x)
		copy(y.F32, b.y)
		t.steps++
		if t.step.Step >= 0 {
			t.feeds[t.step.Step].F32[0] = float32(t.steps)
		}
		if t.step.Seed >= 0 {
			// A float32 holds integers exactly up to 2^24.
			t.feeds[t.step.Seed].F32[0] = float32((t.cfg.Seed*1000003 + uint64(t.steps)) % (1 << 24))
		}
		outs, err := t.sess.Run(ctx, t.feeds...)
		if err != nil {
			return Metrics{}, fmt.Errorf("train: step %d of epoch %d: %w", i+1, epoch, err)
		}
		loss := float64(outs[0].F32[0])
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return Metrics{}, fmt.Errorf("train: the loss is %v at step %d of epoch %d: lower the learning rate (%v)", loss, i+1, epoch, t.cfg.LR)
		}
		t.lossSum += loss
		t.correct += countCorrect(outs[1].F32, b.labels, d.Classes)
		t.seen += t.batch
		t.step.Advance(t.feeds, outs)
		t.epochStep = i + 1
		if t.cfg.Progress != nil {
			t.cfg.Progress(Progress{Epoch: epoch, Epochs: t.cfg.Epochs, Step: i + 1, Steps: steps,
				Loss: t.lossSum / float64(i+1), Acc: float64(t.correct) / float64(t.seen), Images: (i + 1 - skip) * t.batch, Elapsed: time.Since(start)})
		}
	}
	m := Metrics{Epoch: epoch, TrainLoss: t.lossSum / float64(max(steps, 1)), TrainAcc: float64(t.correct) / float64(max(t.seen, 1)),
		Seconds: time.Since(start).Seconds(), LR: t.feeds[t.step.LR].F32[0]}
	t.resetEpoch()
	return m, nil
}

// countCorrect counts the rows of logits whose largest entry (the first,
// on ties) is the label.
func countCorrect(logits []float32, labels []int64, classes int) int {
	n := 0
	for i, l := range labels {
		row := logits[i*classes : (i+1)*classes]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if int64(best) == l {
			n++
		}
	}
	return n
}

// evaluate returns the mean cross-entropy and the accuracy of the model
// as trained so far on d, in batches of the training batch size (the
// last one padded), its images resized as the training ones.
func (t *trainer) evaluate(d *Dataset) (loss, acc float64, err error) {
	if t.eval == nil {
		m, err := runtime.Compile(t.step.Eval, runtime.CompileOptions{Batch: t.batch})
		if err != nil {
			return 0, 0, fmt.Errorf("train: compiling the evaluation model: %w", err)
		}
		t.models = append(t.models, m)
		if t.eval, err = m.NewSession(runtime.SessionOptions{Threads: t.cfg.Threads}); err != nil {
			return 0, 0, err
		}
		for _, v := range t.step.Eval.Inputs {
			s := v.Type.Shape.Clone()
			if len(s) > 0 && s[0] < 0 {
				s[0] = t.batch
			}
			x, err := ir.NewTensor(v.Type.DType, s)
			if err != nil {
				return 0, 0, err
			}
			t.evalFeeds = append(t.evalFeeds, x)
		}
	}
	for i, p := range t.step.Params {
		copy(t.evalFeeds[2+i].F32, t.feeds[p.In].F32)
	}
	for i, b := range t.step.Buffers {
		copy(t.evalFeeds[2+len(t.step.Params)+i].F32, t.feeds[b.In].F32)
	}
	x, y := t.evalFeeds[0], t.evalFeeds[1]
	images := newLoader(d, t.cfg.Resize, Augment{}, nil, 0, 0)
	per := images.per()
	if per*t.batch != len(x.F32) {
		return 0, 0, fmt.Errorf("train: %s images are %d×%d×%d, the model's input %v", d.Name, d.C, images.h, images.w, x.Shape)
	}
	correct, total := 0, 0.0
	for i := 0; i < d.N; i += t.batch {
		n := min(t.batch, d.N-i)
		for k := 0; k < n; k++ {
			images.image(x.F32[k*per:(k+1)*per], i+k)
		}
		clear(x.F32[n*per:])
		clear(y.F32)
		for j, l := range d.Labels[i : i+n] {
			y.F32[j*d.Classes+int(l)] = 1
		}
		outs, err := t.eval.Run(context.Background(), t.evalFeeds...)
		if err != nil {
			return 0, 0, fmt.Errorf("train: evaluating on %s: %w", d.Name, err)
		}
		correct += countCorrect(outs[0].F32[:n*d.Classes], d.Labels[i:i+n], d.Classes)
		// The loss is the mean over the batch, padding rows adding 0.
		total += float64(outs[1].F32[0]) * float64(t.batch)
	}
	return total / float64(d.N), float64(correct) / float64(d.N), nil
}

// trained returns g with the current parameters as its constants.
func (t *trainer) trained(g *ir.Graph) *ir.Graph {
	c := g.Clone()
	w := ir.Weights(c)
	for _, p := range t.step.Params {
		w[p.Name] = t.feeds[p.In].Clone()
	}
	for _, b := range t.step.Buffers {
		w[b.Name] = t.feeds[b.In].Clone()
	}
	if err := ir.LoadWeights(c, w); err != nil {
		panic(errors.Join(errors.New("train: the trained weights do not fit their own model"), err))
	}
	return c
}
